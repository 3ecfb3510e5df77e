"""The PostgreSQL event store: the only module that speaks to PostgreSQL (psycopg 3).

For services that outgrow one machine: many writers on many hosts share one
history, and the server brings replication and backups. One connection per
thread, opened lazily and reopened after a failure; long reads stream on
connections of their own (:mod:`datasetlog.store.postgres_streams`).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg.errors
from psycopg import sql
from psycopg.types.string import ByteaBinaryLoader

from datasetlog.errors import DatasetLogError, StoreError
from datasetlog.store._sql import (
    CommitTableReads,
    CommitTables,
    TableTransaction,
    keyset_statement,
)
from datasetlog.store.base import Cursor, EngineCheck, KeyedScan, StreamConflictError
from datasetlog.store.dialect import POSTGRES, Dialect
from datasetlog.store.postgres_outcome import CommitOutcome, settle
from datasetlog.store.postgres_schema import MIGRATIONS, check_with_amcheck
from datasetlog.store.postgres_streams import (
    PLACEHOLDER,
    RawConnection,
    StreamPool,
    idle_and_alive,
)
from datasetlog.store.records import StoredCommit

_MIGRATION_LOCK = 0x64736C67  # advisory lock key: one process migrates at a time
COPY_ABOVE = 64
"""Inserts of at least this many rows go as COPY (fewer: COPY's set-up costs more)."""


@functools.cache
def _statement(shared: str) -> str:
    """Shared SQL with ``?`` placeholders, as psycopg takes it (``%s``)."""
    return PLACEHOLDER.sub("%s", shared)


class PostgresConnection:
    """A psycopg connection as the read models use it (see ``store.base.Connection``)."""

    def __init__(self, raw: RawConnection) -> None:
        self.raw = raw

    def execute(self, statement: str, parameters: Sequence[Any] = (), /) -> Cursor:
        """Run one statement."""
        return self.raw.execute(_statement(statement), parameters or None)

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert rows: many as one ``COPY ... FROM STDIN``, a few as plain inserts.

        PostgreSQL loads a COPY several times faster than the pipelined
        statements psycopg sends otherwise; triggers and constraints apply to both.
        """
        names = ", ".join(columns)
        with self.raw.cursor() as cursor:
            if len(rows) >= COPY_ABOVE:
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            elif rows:
                marks = ", ".join("%s" for _ in columns)
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)

    def fetch_bytes(self, statement: str, parameters: Sequence[Any] = (), /) -> list[Any]:
        """Run a query; text values arrive as the server's UTF-8 bytes, never decoded."""
        with self.raw.cursor(binary=True) as cursor:
            cursor.adapters.register_loader("text", ByteaBinaryLoader)
            return cursor.execute(_statement(statement), parameters or None).fetchall()


PostgresTransaction = TableTransaction[PostgresConnection]
"""A write transaction on one PostgreSQL connection; it remembers what it appended."""


def connection_lost(error: psycopg.Error) -> bool:
    """Whether the error means the connection is gone (no SQLSTATE, or class 08 or 57P)."""
    lost = error.sqlstate is None or error.sqlstate.startswith(("08", "57P"))
    return isinstance(error, psycopg.OperationalError) and lost


def translate_error(error: psycopg.Error) -> DatasetLogError:
    """Map a driver error to the datasetlog error a caller can act on."""
    if isinstance(error, psycopg.errors.UniqueViolation):
        return StreamConflictError("another writer committed to this dataset first")
    if isinstance(error, psycopg.errors.LockNotAvailable | psycopg.errors.SerializationFailure):
        return StreamConflictError(f"the store stayed busy: {error}")
    if connection_lost(error):
        return StoreError(f"lost the PostgreSQL connection: {error}")
    return StoreError(f"PostgreSQL failed: {error}")


class PostgresEventStore(CommitTableReads):
    """An :class:`~datasetlog.store.base.SQLStore` in a PostgreSQL database.

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

    dialect: Dialect = POSTGRES
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
        self._connections: list[RawConnection] = []
        self._closed = False
        self._tables = CommitTables(self.reading)
        self._streams = StreamPool(self._connect, self._forget, translate_error)
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        schema = f", schema={self.schema!r}" if self.schema else ""
        return f"PostgresEventStore({_without_password(self.url)!r}{schema})"

    def _connect(self) -> RawConnection:
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
        return raw

    def _forget(self, raw: RawConnection) -> None:
        raw.close()
        with self._lock:
            if raw in self._connections:
                self._connections.remove(raw)

    def connection(self) -> PostgresConnection:
        """Return this thread's connection, reconnecting if the last one is gone."""
        if self._closed:
            raise StoreError("the store is closed")
        conn: PostgresConnection | None = getattr(self._local, "conn", None)
        if conn is None or not idle_and_alive(conn.raw):
            if conn is not None:
                self._forget(conn.raw)
            conn = self._local.conn = PostgresConnection(self._connect())
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
                if applied > len(MIGRATIONS):
                    raise StoreError(
                        f"the database has format {applied}, newer than this datasetlog "
                        f"understands ({len(MIGRATIONS)}); upgrade datasetlog to open it"
                    )
                for number, (name, statements) in enumerate(MIGRATIONS[applied:], applied + 1):
                    for statement in statements:
                        conn.raw.execute(statement)
                    conn.execute("INSERT INTO dl_migrations VALUES (?, ?)", (number, name))
        except psycopg.Error as error:
            raise translate_error(error) from error

    def scan(
        self, scan: KeyedScan, *, start: int, size: int, as_bytes: bool = False
    ) -> Iterator[list[tuple[Any, ...]]]:
        """A scan's rows from key ``start`` on, in key order (see ``SQLStore.scan``).

        One query on a pooled connection of its own, streamed as the server
        finds the rows, so it sends the next while the caller decodes (see
        :class:`~datasetlog.store.postgres_streams.StreamPool`).
        """
        return self._streams.stream(
            keyset_statement(scan, limit=False),
            (*scan.parameters, start),
            size=size,
            as_bytes=as_bytes,
        )

    @contextmanager
    def reading(self) -> Iterator[PostgresConnection]:
        """Give this thread's connection for a short read; each statement is one snapshot."""
        conn = self.connection()
        try:
            yield conn
        except psycopg.Error as error:
            raise translate_error(error) from error

    @contextmanager
    def snapshot(self) -> Iterator[PostgresConnection]:
        """Give this thread's connection inside one REPEATABLE READ, READ ONLY transaction."""
        with self.reading() as conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                yield conn
            finally:
                if conn.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    conn.execute("ROLLBACK")  # it only read: nothing to keep

    @contextmanager
    def write(self) -> Iterator[PostgresTransaction]:
        """Open a write transaction holding the append lock.

        Global positions must rise in commit order, with no gaps, for readers
        that follow the log by position: so every writer takes an EXCLUSIVE lock
        on ``dl_commits`` before it reads the head (plain reads still run; the
        eventsourcing library's ``_lock_table`` does the same). Writers queue on
        the lock for up to ``lock_timeout``.

        A connection lost before COMMIT was sent leaves nothing: the server
        rolls the transaction back. One lost while committing is settled
        before anything is reported (see
        :mod:`~datasetlog.store.postgres_outcome`): a commit that landed is a
        success, one that did not is a StoreError saying nothing was
        committed, and one that cannot be settled says its outcome is unknown.
        Any other interruption (Ctrl-C included) ends the transaction, and a
        connection left in doubt is dropped, so no lock outlives the call.
        """
        conn = self.connection()
        if conn.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self._drop(conn)  # an earlier call was cut short inside a transaction
            conn = self.connection()
        session = conn.raw.info.backend_pid
        tx = PostgresTransaction(conn, self._tables)
        committing = clean = False
        try:
            with conn.raw.transaction():
                conn.execute("LOCK TABLE dl_commits IN EXCLUSIVE MODE")
                yield tx
                tx.finish()
                committing = True
            tx.committed = clean = True
        except psycopg.Error as error:
            interrupted = error.__context__  # the ending of an interrupted write failed too
            if isinstance(interrupted, BaseException) and not isinstance(interrupted, Exception):
                self._settle_interrupted(conn, tx, session, committing=committing)
                raise interrupted from None  # Ctrl-C stays Ctrl-C; finally drops the connection
            if not connection_lost(error):
                raise translate_error(error) from error
            outcome = CommitOutcome.NOT_COMMITTED  # COMMIT was never sent, or had nothing to commit
            if committing and tx.appended:
                outcome = self._settle(tx.appended[0], session)
            if outcome is CommitOutcome.COMMITTED:
                tx.committed = clean = True
                return
            raise self._lost(error, outcome) from error
        except BaseException:  # Ctrl-C, maybe while COMMIT was on its way
            self._settle_interrupted(conn, tx, session, committing=committing)
            raise
        finally:
            if not clean and conn.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                self._drop(conn)  # the server rolls back what a dropped session left open

    def _settle_interrupted(
        self, conn: PostgresConnection, tx: PostgresTransaction, session: int, *, committing: bool
    ) -> None:
        """Mark ``tx`` committed if an interrupt that came while it committed came too late.

        The session is dropped first, so that a COMMIT it received either
        finishes or never happens before the commit is looked up.
        """
        if committing and tx.appended and not tx.committed:
            self._drop(conn)
            tx.committed = self._settle(tx.appended[0], session) is CommitOutcome.COMMITTED

    def _settle(self, first: StoredCommit, session: int) -> CommitOutcome:
        """Whether the write whose session ``session`` was lost committed ``first``."""
        return settle(self._connect, self._forget, first, session, wait=self.lock_timeout)

    @staticmethod
    def _lost(error: psycopg.Error, outcome: CommitOutcome) -> StoreError:
        if outcome is CommitOutcome.NOT_COMMITTED:
            return StoreError(f"lost the PostgreSQL connection; nothing was committed: {error}")
        return StoreError(
            "lost the PostgreSQL connection while committing; whether the commit landed "
            f"is unknown (the server could not tell in time): {error}. Check the dataset's "
            "versions, or repeat a create with the same idempotency key"
        )

    def _drop(self, conn: PostgresConnection) -> None:
        """Close a connection whose state is in doubt; the thread opens a fresh one next."""
        self._forget(conn.raw)
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None

    def check_engine(self) -> EngineCheck:
        """amcheck's checks of every table and index of the store, where amcheck is installed."""
        with self.reading() as conn:
            return check_with_amcheck(conn)

    def close(self) -> None:
        """Close every connection this store opened."""
        self._streams.close()
        with self._lock:
            self._closed = True
            for raw in self._connections:
                raw.close()
            self._connections.clear()


def _without_password(url: str) -> str:
    """The URL with any password masked, for reprs and messages."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.Error:
        return "<unparsable URL>"
    if "password" in info:
        info["password"] = "***"  # noqa: S105 - a mask, not a password
    return psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]
