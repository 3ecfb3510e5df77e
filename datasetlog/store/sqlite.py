"""The SQLite event store (its migrations, run by sqlite-utils, are in ``sqlite_schema``).

One connection per thread (one shared, locked connection for ``:memory:``).
File databases run in WAL mode, so readers never block the writer and never
see a half-written commit.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from datasetlog.errors import DatasetLogError, ErrorDetail, StoreError, ValidationError
from datasetlog.store._sql import (
    CommitTableReads,
    CommitTables,
    TableTransaction,
    keyset_statement,
)
from datasetlog.store.base import EngineCheck, KeyedScan, StreamConflictError
from datasetlog.store.dialect import SQLITE, Dialect
from datasetlog.store.sqlite_schema import (
    APPLICATION_ID,
    MIGRATIONS,
    foreign_objects,
    migrate,
    missing_objects,
)

Durability = Literal["normal", "full"]
DURABILITIES: tuple[Durability, ...] = ("normal", "full")


def require_durability(value: object) -> Durability:
    """Return ``value`` if it names a durability.

    Raises:
        ValidationError: It does not (a typo must not silently weaken durability).
    """
    if value not in DURABILITIES:
        raise ValidationError(
            [ErrorDetail(("durability",), f"expected 'normal' or 'full', got {value!r}", "enum")]
        )
    return value


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


SQLiteTransaction = TableTransaction[SQLiteConnection]
"""A write transaction on one SQLite connection."""


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


class SQLiteEventStore(CommitTableReads):
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
        if not isinstance(path, str | Path):
            raise ValidationError(
                [ErrorDetail(("path",), f"expected a path, got {type(path).__name__}", "path")]
            )
        self.path = str(path)
        self.read_only = read_only
        self.durability = require_durability(durability)
        if type(busy_timeout) not in (int, float) or not 0 <= busy_timeout < 2**31:
            raise ValidationError(
                [ErrorDetail(("busy_timeout",), "expected seconds, >= 0", "busy_timeout")]
            )
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
        the file is empty or a datasetlog store. Every connection distrusts the
        file's schema (``trusted_schema = OFF``, as SQLite advises for files
        from elsewhere: https://sqlite.org/security.html).
        """
        try:
            raw = sqlite3.connect(
                self._location(),
                isolation_level=None,  # we issue BEGIN IMMEDIATE / COMMIT ourselves
                check_same_thread=False,
                timeout=self.busy_timeout,
                uri=not self._memory,
            )
            with self._lock:
                self._connections.append(raw)
            raw.execute("PRAGMA trusted_schema = OFF")
            raw.execute("SELECT count(*) FROM sqlite_schema").fetchone()
            if checked:
                self._configure(raw)
        except sqlite3.Error as error:
            raise StoreError(f"cannot open {self.path!r} as a datasetlog store: {error}") from error
        return SQLiteConnection(raw)

    def _location(self) -> str:
        """The URI to open: read-write, read-only, or immutable in a place nobody may write.

        A read-only store whose file or folder cannot be written (an archive, a
        read-only mount, a container image) is opened ``immutable``: SQLite
        then creates no ``-wal`` or ``-shm`` file, which it could not, and
        which would otherwise be left with modes that break a later writer.
        That is only safe when no commit waits in a ``-wal`` file beside it.
        """
        if self._memory:
            return self.path
        uri = f"file:{quote(self.path)}"
        if os.path.isdir(self.path):
            raise StoreError(f"{self.path!r} is a folder; give the path of a store file in it")
        if not self.read_only:
            return uri
        folder = os.path.dirname(os.path.abspath(self.path))
        if os.access(folder, os.W_OK) and os.access(self.path, os.W_OK):
            return f"{uri}?mode=ro"
        wal = Path(f"{self.path}-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise StoreError(
                f"{self.path!r} is in a place that cannot be written and has commits "
                "waiting in its -wal file; open it writable once (that checkpoints "
                "them) before archiving it"
            )
        return f"{uri}?mode=ro&immutable=1"

    def _configure(self, raw: sqlite3.Connection) -> None:
        if not (self._memory or self.read_only):
            mode = raw.execute("PRAGMA journal_mode").fetchone()[0]
            if mode != "wal":
                # A file we may not write keeps its journal mode; writes then fail clearly.
                with suppress(sqlite3.OperationalError):
                    raw.execute("PRAGMA journal_mode = WAL")
        raw.execute(f"PRAGMA synchronous = {self.durability.upper()}")
        # 64 MiB of page cache (the default is 2 MiB): the indexes of a
        # million-datapoint dataset then stay in memory between commits.
        raw.execute("PRAGMA cache_size = -65536")

    def _migrate(self, raw: sqlite3.Connection) -> None:
        """Check the file is empty or a store of ours, then bring it to the current format.

        Every check runs before the first change (the journal mode included),
        so a file that is refused is left byte for byte as it was.
        """
        application_id = raw.execute("PRAGMA application_id").fetchone()[0]
        applied = raw.execute("PRAGMA user_version").fetchone()[0]
        if application_id != APPLICATION_ID:
            if (
                application_id != 0
                or raw.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
            ):
                raise StoreError(f"{self.path!r} is an SQLite file but not a datasetlog store")
        elif applied > len(MIGRATIONS):
            raise StoreError(
                f"{self.path!r} has format {applied}, newer than this datasetlog "
                f"understands ({len(MIGRATIONS)}); upgrade datasetlog to open it"
            )
        else:
            foreign = foreign_objects(raw, applied)
            if foreign:
                raise StoreError(
                    f"{self.path!r} holds schema objects datasetlog did not make, which "
                    f"would run inside its transactions: {', '.join(foreign)}; refusing to open it"
                )
        try:
            self._configure(raw)
        except sqlite3.Error as error:
            raise StoreError(f"cannot open {self.path!r} as a datasetlog store: {error}") from error
        if applied == len(MIGRATIONS):
            return
        if self.read_only:
            raise StoreError(f"{self.path!r} needs upgrading; open it writable once")
        with self.write():
            applied = raw.execute("PRAGMA user_version").fetchone()[0]  # another may have begun
            migrate(raw, applied)
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

    def scan(
        self, scan: KeyedScan, *, start: int, size: int, as_bytes: bool = False
    ) -> Iterator[list[tuple[Any, ...]]]:
        """A scan's rows from key ``start`` on, in key order (see ``SQLStore.scan``).

        Keyset pages: each list is its own short query, resuming after the
        last key read, so no read holds a snapshot (and with it the WAL)
        open between lists while the caller works on them.
        """
        statement = keyset_statement(scan, limit=True)
        while True:
            parameters = (*scan.parameters, start, size)
            with self.reading() as conn:
                if as_bytes:
                    rows = conn.fetch_bytes(statement, parameters)
                else:
                    rows = conn.execute(statement, parameters).fetchall()
            if rows:
                yield rows
            if len(rows) < size:
                return
            start = rows[-1][0] + 1

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
        Whatever ends the transaction early (an error, Ctrl-C at any statement,
        BEGIN included) rolls it back; if even that fails, the connection is
        closed, which rolls back too, so the write lock never outlives the call.
        """
        if self.read_only:
            raise StoreError(f"{self.path!r} was opened read-only")
        with self._lock if self._memory else nullcontext():
            conn = self.connection()
            if conn.raw.in_transaction:
                self._abandon(conn)  # an earlier call was cut short inside a transaction
                conn = self.connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
                tx = SQLiteTransaction(conn, self._tables)
                yield tx
                tx.finish()
                try:
                    conn.execute("COMMIT")
                except BaseException as error:
                    # Ctrl-C during COMMIT is raised as it returns, once it has run: the
                    # transaction is then over and committed, unless SQLite failed it.
                    failed = isinstance(error, sqlite3.Error)
                    tx.committed = not failed and not conn.raw.in_transaction
                    raise
                tx.committed = True
            except BaseException as error:
                self._abandon(conn, interrupted=not isinstance(error, Exception))
                if isinstance(error, sqlite3.Error):
                    raise translate_error(error) from error
                raise

    def _abandon(self, conn: SQLiteConnection, *, interrupted: bool = False) -> None:
        """End a transaction that failed: roll it back, or close its connection.

        An interrupted one's connection is closed after the rollback too: the
        interrupt may have come between a query and its first fetch, and the
        traceback keeps that cursor alive, pinning the snapshot it read in WAL
        mode, so that the connection's next BEGIN IMMEDIATE would be refused
        as busy once another writer commits. Closing it releases the cursor.
        """
        try:
            if conn.raw.in_transaction:
                conn.raw.execute("ROLLBACK")
        except Exception:
            self._drop(conn)  # closing rolls back what the rollback could not
        except BaseException:  # interrupted again, while rolling back
            self._drop(conn)
            raise
        else:
            if interrupted:
                self._drop(conn)

    def _drop(self, conn: SQLiteConnection) -> None:
        """Close a connection whose transaction is in doubt (a ``:memory:`` store has only one)."""
        if self._memory:
            with suppress(sqlite3.Error):
                conn.raw.execute("ROLLBACK")
            return
        conn.raw.close()
        with self._lock:
            if conn.raw in self._connections:
                self._connections.remove(conn.raw)
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None

    def check_engine(self) -> EngineCheck:
        """SQLite's ``PRAGMA integrity_check`` (pages, records, every index against its
        table), and the schema objects the migrations made that the file lacks."""
        with self.reading() as conn:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
            missing = missing_objects(conn.raw, len(MIGRATIONS))
        problems = [str(row[0]) for row in rows if row[0] != "ok"]
        problems += [
            f"{name} is missing: the store was edited outside datasetlog" for name in missing
        ]
        return EngineCheck(problems=tuple(problems))

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._lock:
            self._closed = True
            for raw in self._connections:
                raw.close()
            self._connections.clear()
