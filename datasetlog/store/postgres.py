"""The PostgreSQL event store: the only module that speaks to PostgreSQL (psycopg 3).

For services that outgrow one machine: many writers on many hosts share one
history, and the server brings replication and backups. One connection per
thread, opened lazily and reopened after a failure; long reads stream on
connections of their own.
"""

from __future__ import annotations

import re
import select
import threading
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager, suppress
from itertools import islice
from typing import Any, ClassVar

import attrs
import psycopg
import psycopg.errors
from psycopg import sql
from psycopg.rows import scalar_row
from psycopg.types.string import ByteaBinaryLoader

from datasetlog.errors import DatasetLogError, StoreError
from datasetlog.store._sql import SQLEventStore
from datasetlog.store.base import Cursor, VersionConflictError

_MIGRATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "0001_commits_and_events",
        (
            """CREATE TABLE dl_commits (
                position BIGINT PRIMARY KEY, stream_id TEXT NOT NULL,
                stream_version BIGINT NOT NULL, recorded_at TEXT NOT NULL,
                metadata TEXT NOT NULL, first_event BIGINT NOT NULL,
                event_count BIGINT NOT NULL, hash TEXT NOT NULL)""",
            "CREATE UNIQUE INDEX idx_dl_commits_stream_id_stream_version "
            "ON dl_commits (stream_id, stream_version)",
            """CREATE TABLE dl_events (
                position BIGINT PRIMARY KEY, commit_position BIGINT NOT NULL,
                type TEXT NOT NULL, schema_version BIGINT NOT NULL, payload TEXT NOT NULL)""",
        ),
    ),
    (
        "0002_append_only_guards",
        (
            """CREATE FUNCTION dl_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$""",
            "CREATE TRIGGER dl_commits_no_change BEFORE UPDATE OR DELETE ON dl_commits "
            "FOR EACH ROW EXECUTE FUNCTION dl_refuse_change()",
            "CREATE TRIGGER dl_events_no_change BEFORE UPDATE OR DELETE ON dl_events "
            "FOR EACH ROW EXECUTE FUNCTION dl_refuse_change()",
        ),
    ),
    ("0003_event_digests", ("ALTER TABLE dl_events ADD COLUMN digest TEXT",)),
)
"""Named schema migrations; ``dl_migrations`` records those applied."""

_MIGRATION_LOCK = 0x64736C67  # advisory lock key: one process migrates at a time
_PLACEHOLDER = re.compile(r"\?")
_PLAIN_INSERT = re.compile(r"INSERT INTO (\w+) \(([\w, ]+)\) VALUES \(\?(?:, \?)*\)")
COPY_ABOVE = 64
"""Inserts of at least this many rows go as COPY (fewer: COPY's set-up costs more)."""
CHUNKED_ROWS = psycopg.pq.version() >= 170000
"""Whether libpq streams rows in chunks (17+); older ones stream through a server-side cursor."""
KEEP_IDLE_STREAMS = 4
"""Idle streaming connections a store keeps for the next long read."""
_STREAM_SETTINGS = (
    # A stream's rows should leave as the server finds them: plans that must
    # finish first (a sort, a hash or merge join's build, a parallel gather) or
    # that compile (JIT) would hold back the first row until the last is found.
    "SET enable_sort = off",
    "SET enable_hashjoin = off",
    "SET enable_mergejoin = off",
    "SET max_parallel_workers_per_gather = 0",
    "SET jit = off",
    # Payloads read as bytes are the server's bytes: make them UTF-8.
    "SET client_encoding = 'UTF8'",
)


class PostgresConnection:
    """A psycopg connection that takes the ``?`` placeholders of the shared SQL."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw
        self._translated: dict[str, str] = {}

    def _translate(self, statement: str) -> str:
        translated = self._translated.get(statement)
        if translated is None:
            translated = self._translated[statement] = _PLACEHOLDER.sub("%s", statement)
        return translated

    def execute(self, statement: str, parameters: Any = (), /) -> Cursor:
        """Run one statement."""
        return self.raw.execute(self._translate(statement), parameters or None)

    def executemany(self, statement: str, parameters: Any, /) -> None:
        """Run one statement once per parameter row.

        Many rows for a plain ``INSERT INTO t (columns) VALUES (?, ...)`` go as
        one ``COPY t (columns) FROM STDIN``, which PostgreSQL loads several
        times faster than the pipelined statements psycopg sends otherwise;
        triggers and constraints apply to both alike.
        """
        rows = list(parameters)
        insert = _PLAIN_INSERT.fullmatch(statement) if len(rows) >= COPY_ABOVE else None
        with self.raw.cursor() as cursor:
            if insert is not None:
                table, columns = insert.groups()
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            elif rows:
                cursor.executemany(self._translate(statement), rows)


def _idle_and_alive(raw: psycopg.Connection[Any]) -> bool:
    """Whether an idle connection is still usable, without a round trip.

    A server that ends a session (a restart, ``pg_terminate_backend``, an idle
    timeout) sends its goodbye and closes the socket, so an idle connection
    with anything to read is gone: finding out here, before a statement, lets
    the caller's next call simply reconnect instead of failing.
    """
    if raw.closed or raw.broken:
        return False
    readable, _, _ = select.select([raw.fileno()], [], [], 0)
    return not readable


@attrs.frozen
class PostgresTransaction:
    """A write transaction on one PostgreSQL connection."""

    connection: PostgresConnection


def translate_error(error: psycopg.Error) -> DatasetLogError:
    """Map a driver error to the datasetlog error a caller can act on."""
    if isinstance(error, psycopg.errors.UniqueViolation):
        return VersionConflictError("another writer committed to this dataset first")
    if isinstance(error, psycopg.errors.LockNotAvailable | psycopg.errors.SerializationFailure):
        return VersionConflictError(f"the store stayed busy: {error}")
    lost = error.sqlstate is None or error.sqlstate.startswith(("08", "57P"))  # gone, shut down
    if isinstance(error, psycopg.OperationalError) and lost:
        return StoreError(f"lost the PostgreSQL connection; nothing was committed: {error}")
    return StoreError(f"PostgreSQL failed: {error}")


class PostgresEventStore(SQLEventStore):
    """An :class:`~datasetlog.store.base.EventStore` in a PostgreSQL database.

    Args:
        url: A libpq URL or conninfo string, e.g. ``postgresql://user@host:5432/db``.
        schema: A schema to keep the tables in (created if missing); default:
            the connection's ``search_path``.
        connect_timeout: Seconds to wait for the server when connecting.
        lock_timeout: Seconds a writer waits for another writer's append lock
            before the write counts as a lost race (and is retried).

    Raises:
        StoreError: The server is unreachable, or the schema was written by a
            newer datasetlog.
    """

    dialect: ClassVar[str] = "postgres"
    read_only = False

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        connect_timeout: float = 10.0,
        lock_timeout: float = 30.0,
    ) -> None:
        self.url = url
        self.schema = schema
        self.connect_timeout = connect_timeout
        self.lock_timeout = lock_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[psycopg.Connection[Any]] = []
        self._idle_streams: list[psycopg.Connection[Any]] = []
        self._closed = False
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    def _connect(self) -> PostgresConnection:
        try:
            raw = psycopg.connect(
                self.url, autocommit=True, connect_timeout=max(1, round(self.connect_timeout))
            )
            if self.schema is not None:
                name = sql.Identifier(self.schema)
                raw.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name))
                raw.execute(sql.SQL("SET search_path TO {}").format(name))
            raw.execute(f"SET lock_timeout = {int(self.lock_timeout * 1000)}")
        except psycopg.Error as error:
            raise StoreError(f"cannot connect to PostgreSQL: {error}") from error
        with self._lock:
            self._connections.append(raw)
        return PostgresConnection(raw)

    def connection(self) -> PostgresConnection:
        """Return this thread's connection, reconnecting if the last one is gone."""
        if self._closed:
            raise StoreError("the store is closed")
        conn: PostgresConnection | None = getattr(self._local, "conn", None)
        if conn is None or not _idle_and_alive(conn.raw):
            if conn is not None:
                conn.raw.close()
            conn = self._local.conn = self._connect()
        return conn

    def _migrate(self) -> None:
        conn = self.connection()
        try:
            with conn.raw.transaction():
                conn.execute(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS dl_migrations "
                    "(number BIGINT PRIMARY KEY, name TEXT NOT NULL)"
                )
                applied = conn.execute("SELECT count(*) FROM dl_migrations").fetchone()[0]
                if applied > len(_MIGRATIONS):
                    raise StoreError(
                        f"the database has format {applied}, newer than this datasetlog "
                        f"understands ({len(_MIGRATIONS)}); upgrade datasetlog to open it"
                    )
                for number, (name, statements) in enumerate(_MIGRATIONS[applied:], applied + 1):
                    for statement in statements:
                        conn.raw.execute(statement)
                    conn.execute("INSERT INTO dl_migrations VALUES (?, ?)", (number, name))
        except psycopg.Error as error:
            raise translate_error(error) from error

    def stream(
        self, statement: str, parameters: Sequence[Any], *, size: int, as_bytes: bool = False
    ) -> Iterator[list[Any]]:
        """Yield the first column of one query's rows, in lists of up to ``size``.

        The query runs on a connection of its own (kept for the next stream
        when done), so the server sends rows while the caller works through
        earlier ones, and the caller may run other reads meanwhile. The whole
        stream is one snapshot. With ``as_bytes`` text arrives as its UTF-8
        bytes, never decoded. A stream dropped early cancels its query.
        """
        raw = self._streaming_connection()
        query = _PLACEHOLDER.sub("%s", statement)
        rows = self._stream_rows(raw, query, parameters, size, as_bytes)
        try:
            while chunk := list(islice(rows, size)):
                yield chunk
        except psycopg.Error as error:
            raise translate_error(error) from error
        finally:
            with suppress(psycopg.Error):
                rows.close()  # cancels an unfinished query, leaving the connection idle
            self._release_streaming_connection(raw)

    @staticmethod
    def _stream_rows(
        raw: psycopg.Connection[Any],
        query: str,
        parameters: Sequence[Any],
        size: int,
        as_bytes: bool,
    ) -> Generator[Any, None, None]:
        if CHUNKED_ROWS:
            with raw.cursor(row_factory=scalar_row) as cursor:
                if as_bytes:
                    cursor.adapters.register_loader("text", ByteaBinaryLoader)
                yield from cursor.stream(query, parameters, binary=True, size=size)
            return
        with raw.transaction(), raw.cursor("datasetlog_stream", row_factory=scalar_row) as named:
            if as_bytes:
                named.adapters.register_loader("text", ByteaBinaryLoader)
            named.itersize = size
            named.execute(query, parameters, binary=True)
            yield from named

    def _streaming_connection(self) -> psycopg.Connection[Any]:
        if self._closed:
            raise StoreError("the store is closed")
        while True:
            with self._lock:
                raw = self._idle_streams.pop() if self._idle_streams else None
            if raw is None:
                raw = self._connect().raw
                try:
                    for setting in _STREAM_SETTINGS:
                        raw.execute(setting)
                except psycopg.Error as error:
                    self._forget(raw)
                    raise translate_error(error) from error
                return raw
            if _idle_and_alive(raw):
                return raw
            self._forget(raw)

    def _release_streaming_connection(self, raw: psycopg.Connection[Any]) -> None:
        idle = not raw.closed and raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with self._lock:
            if idle and not self._closed and len(self._idle_streams) < KEEP_IDLE_STREAMS:
                self._idle_streams.append(raw)
                return
        self._forget(raw)

    def _forget(self, raw: psycopg.Connection[Any]) -> None:
        raw.close()
        with self._lock:
            if raw in self._connections:
                self._connections.remove(raw)

    @contextmanager
    def reading(self) -> Iterator[PostgresConnection]:
        """Give this thread's connection for a short read; each statement is one snapshot."""
        conn = self.connection()
        try:
            yield conn
        except psycopg.Error as error:
            raise translate_error(error) from error

    @contextmanager
    def write(self) -> Iterator[PostgresTransaction]:
        """Open a write transaction holding the append lock.

        Global positions must rise in commit order, with no gaps, for readers
        that follow the log by position: so every writer takes an EXCLUSIVE lock
        on ``dl_commits`` before it reads the head (plain reads still run; the
        eventsourcing library's ``_lock_table`` does the same). Writers queue on
        the lock for up to ``lock_timeout``. A connection lost mid-commit leaves
        nothing behind: the server rolls the transaction back.
        """
        conn = self.connection()
        try:
            with conn.raw.transaction():
                conn.execute("LOCK TABLE dl_commits IN EXCLUSIVE MODE")
                yield PostgresTransaction(conn)
        except psycopg.Error as error:
            raise translate_error(error) from error

    def close(self) -> None:
        """Close every connection this store opened."""
        with self._lock:
            self._closed = True
            for raw in self._connections:
                raw.close()
            self._connections.clear()
            self._idle_streams.clear()
