"""The SQLite event store: the only module that speaks to SQLite through sqlite-utils.

One connection per thread (one shared, locked connection for ``:memory:``).
File databases run in WAL mode, so readers never block the writer and never
see a half-written commit.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import attrs
import sqlite_utils

from datasetlog.errors import DatasetLogError, StoreError
from datasetlog.store._sql import CommitTables
from datasetlog.store.base import Connection, StreamConflictError
from datasetlog.store.dialect import SQLITE, Dialect
from datasetlog.store.records import NewCommit, RawCommit, RawEvent, StoredCommit

APPLICATION_ID = 0x64736C67  # "dslg": marks a file as a datasetlog store
Durability = Literal["normal", "full"]


def _create_commits_and_events(db: sqlite_utils.Database) -> None:
    db.table("dl_commits").create(
        {
            "position": int,
            "stream_id": str,
            "stream_version": int,
            "recorded_at": str,
            "metadata": str,
            "first_event": int,
            "event_count": int,
            "hash": str,
        },
        pk="position",
        not_null={
            "stream_id",
            "stream_version",
            "recorded_at",
            "metadata",
            "first_event",
            "event_count",
            "hash",
        },
    )
    db.table("dl_commits").create_index(["stream_id", "stream_version"], unique=True)
    db.table("dl_events").create(
        {
            "position": int,
            "commit_position": int,
            "type": str,
            "schema_version": int,
            "payload": str,
        },
        pk="position",
        not_null={"commit_position", "type", "schema_version", "payload"},
    )


def _guard_append_only(db: sqlite_utils.Database) -> None:
    for table in ("dl_commits", "dl_events"):
        for action in ("UPDATE", "DELETE"):
            db.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def _add_event_digests(db: sqlite_utils.Database) -> None:
    # Events appended before this migration keep a NULL digest.
    db.table("dl_events").add_column("digest", str)


def _name_the_stream_sequence(db: sqlite_utils.Database) -> None:
    # "version" is the content version; a commit's place in its stream is its sequence.
    db.execute("ALTER TABLE dl_commits RENAME COLUMN stream_version TO sequence")
    db.execute("DROP INDEX idx_dl_commits_stream_id_stream_version")
    db.table("dl_commits").create_index(["stream_id", "sequence"], unique=True)


Migration = tuple[str, Callable[[sqlite_utils.Database], None]]
MIGRATIONS: tuple[Migration, ...] = (
    ("0001_commits_and_events", _create_commits_and_events),
    ("0002_append_only_guards", _guard_append_only),
    ("0003_event_digests", _add_event_digests),
    ("0004_stream_sequence", _name_the_stream_sequence),
)
"""Named schema migrations; ``PRAGMA user_version`` counts those applied (the format)."""


@functools.cache
def _insert_statement(table: str, columns: tuple[str, ...]) -> str:
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


class SQLiteConnection:
    """An sqlite3 connection as the read models use it (see ``store.base.Connection``)."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw
        self.execute = raw.execute  # bound once: the hot paths run many short statements

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert rows with one prepared statement."""
        self.raw.executemany(_insert_statement(table, tuple(columns)), rows)

    def fetch_bytes(self, statement: str, parameters: Sequence[Any] = (), /) -> list[Any]:
        """Run a query; text values arrive as their UTF-8 bytes, copied, never decoded."""
        self.raw.text_factory = bytes
        try:
            return self.raw.execute(statement, parameters).fetchall()
        finally:
            self.raw.text_factory = str


@attrs.frozen
class SQLiteTransaction:
    """A write transaction on one SQLite connection."""

    connection: SQLiteConnection
    tables: CommitTables

    def append(self, commits: Sequence[NewCommit]) -> list[StoredCommit]:
        """Append commits (see ``store.base.Transaction``)."""
        return self.tables.append(self.connection, commits)


def translate_error(error: sqlite3.Error) -> DatasetLogError:
    """Map a driver error to the datasetlog error a caller can act on."""
    text = str(error)
    if isinstance(error, sqlite3.IntegrityError) and "dl_commits.sequence" in text:
        return StreamConflictError("another writer committed to this dataset first")
    if isinstance(error, sqlite3.OperationalError) and "locked" in text:
        return StreamConflictError(f"the store stayed busy: {text}")
    if "readonly" in text:
        return StoreError(f"the store is read-only: {text}")
    return StoreError(f"SQLite failed: {text}")


class SQLiteEventStore:
    """An :class:`~datasetlog.store.base.SQLStore` in one SQLite file.

    Args:
        path: A file path, or ``":memory:"`` for a private in-memory store.
        durability: ``"normal"`` (default) keeps every acknowledged commit
            through a process crash; ``"full"`` also through power loss, at the
            cost of an fsync per commit.
        busy_timeout: Seconds a writer waits for another writer's lock.
        read_only: Open the file for reading only (SQLite's ``mode=ro``): every
            read works, every write raises :class:`StoreError`, and the file is
            never changed. The store must already be at the current format.

    Raises:
        StoreError: The file is not a datasetlog store, was written by a newer
            format, or cannot be opened.
    """

    dialect: Dialect = SQLITE

    def __init__(
        self,
        path: str | Path,
        *,
        durability: Durability = "normal",
        busy_timeout: float = 30.0,
        read_only: bool = False,
    ) -> None:
        self.path = str(path)
        self.read_only = read_only
        self.durability: Durability = durability
        self.busy_timeout = busy_timeout
        self._memory = self.path == ":memory:"
        self._local = threading.local()
        self._lock = threading.RLock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        self._shared: SQLiteConnection | None = None
        self._tables = CommitTables(self.reading)
        try:
            conn = self._connect(checked=False)
            if self._memory:
                self._shared = conn
            else:
                self._local.conn = conn
            self._migrate(conn.raw)
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"SQLiteEventStore({self.path!r})"

    def _connect(self, *, checked: bool = True) -> SQLiteConnection:
        """Open a connection; set it up only once the file is known to be ours.

        The first connection of a store is opened ``checked=False``: it changes
        nothing (not even the journal mode) until :meth:`_migrate` has seen that
        the file is empty or a datasetlog store.
        """
        try:
            read_only = self.read_only and not self._memory
            raw = sqlite3.connect(
                f"file:{quote(self.path)}?mode=ro" if read_only else self.path,
                isolation_level=None,  # we issue BEGIN IMMEDIATE / COMMIT ourselves
                check_same_thread=False,
                timeout=self.busy_timeout,
                uri=read_only,
            )
            with self._lock:
                self._connections.append(raw)
            raw.execute("SELECT count(*) FROM sqlite_schema").fetchone()
            if checked:
                self._configure(raw)
        except sqlite3.Error as error:
            raise StoreError(f"cannot open {self.path!r} as a datasetlog store: {error}") from error
        return SQLiteConnection(raw)

    def _configure(self, raw: sqlite3.Connection) -> None:
        if not (self._memory or self.read_only):
            mode = raw.execute("PRAGMA journal_mode").fetchone()[0]
            if mode != "wal":
                # A read-only file keeps its journal mode; writes then fail clearly.
                with suppress(sqlite3.OperationalError):
                    raw.execute("PRAGMA journal_mode = WAL")
        raw.execute(f"PRAGMA synchronous = {self.durability.upper()}")
        # 64 MiB of page cache (the default is 2 MiB): the indexes of a
        # million-datapoint dataset then stay in memory between commits.
        raw.execute("PRAGMA cache_size = -65536")

    def _migrate(self, raw: sqlite3.Connection) -> None:
        application_id = raw.execute("PRAGMA application_id").fetchone()[0]
        applied = raw.execute("PRAGMA user_version").fetchone()[0]
        if application_id != APPLICATION_ID:
            # Only tables of our own (a log source's dl_logs, say) may predate the store.
            tables = raw.execute(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
                "AND name NOT LIKE 'dl\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            ).fetchone()[0]
            if application_id != 0 or tables:
                raise StoreError(f"{self.path!r} is an SQLite file but not a datasetlog store")
        elif applied > len(MIGRATIONS):
            raise StoreError(
                f"{self.path!r} has format {applied}, newer than this datasetlog "
                f"understands ({len(MIGRATIONS)}); upgrade datasetlog to open it"
            )
        try:
            self._configure(raw)
        except sqlite3.Error as error:
            raise StoreError(f"cannot open {self.path!r} as a datasetlog store: {error}") from error
        if applied == len(MIGRATIONS):
            return
        if self.read_only:
            raise StoreError(f"{self.path!r} needs upgrading; open it writable once")
        db = sqlite_utils.Database(raw, execute_plugins=False, recursive_triggers=False)
        with self.write():
            for _name, migrate in MIGRATIONS[applied:]:
                migrate(db)
            raw.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            raw.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")

    def connection(self) -> SQLiteConnection:
        """Return this thread's connection, opening it on first use."""
        if self._closed:
            raise StoreError("the store is closed")
        if self._shared is not None:
            return self._shared
        conn: SQLiteConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @contextmanager
    def reading(self) -> Iterator[SQLiteConnection]:
        """Give a connection for a short read (holds the lock of a ``:memory:`` store)."""
        with self._lock if self._memory else nullcontext():
            try:
                yield self.connection()
            except sqlite3.Error as error:
                raise translate_error(error) from error

    @contextmanager
    def snapshot(self) -> Iterator[SQLiteConnection]:
        """Give a connection inside one deferred read transaction (its first read fixes it)."""
        with self.reading() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.raw.in_transaction:
                    conn.execute("ROLLBACK")  # it only read: nothing to keep

    @contextmanager
    def write(self) -> Iterator[SQLiteTransaction]:
        """Open a write transaction with ``BEGIN IMMEDIATE``.

        IMMEDIATE takes the write lock up front, so concurrent writers queue
        on the busy timeout instead of failing when a deferred transaction
        tries to upgrade its read lock (https://sqlite.org/lang_transaction.html).
        All driver errors inside become datasetlog errors here, and only here.
        """
        if self.read_only:
            raise StoreError(f"{self.path!r} was opened read-only")
        with self._lock if self._memory else nullcontext():
            conn = self.connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                raise translate_error(error) from error
            try:
                yield SQLiteTransaction(conn, self._tables)
                conn.execute("COMMIT")
            except BaseException as error:
                if conn.raw.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(error, sqlite3.Error):
                    raise translate_error(error) from error
                raise

    def read_stream(
        self, stream_id: str, *, after: int = 0, upto: int | None = None
    ) -> Iterator[StoredCommit]:
        """Yield a stream's commits with ``after < sequence <= upto``, in order."""
        return self._tables.read_stream(stream_id, after=after, upto=upto)

    def read_all(self, *, after: int = 0, limit: int | None = None) -> Iterator[StoredCommit]:
        """Yield up to ``limit`` commits with position above ``after``, in order."""
        return self._tables.read_all(after=after, limit=limit)

    def scan_commits(self, conn: Connection, *, after: int, limit: int) -> list[RawCommit]:
        """Up to ``limit`` commit rows with position above ``after``, unchecked."""
        return self._tables.scan_commits(conn, after=after, limit=limit)

    def scan_events(self, conn: Connection, *, after: int, limit: int) -> list[RawEvent]:
        """Up to ``limit`` event rows with position above ``after``, unchecked."""
        return self._tables.scan_events(conn, after=after, limit=limit)

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._lock:
            self._closed = True
            for raw in self._connections:
                raw.close()
            self._connections.clear()
