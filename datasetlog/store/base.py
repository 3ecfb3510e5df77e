"""The store contracts: the event log every backend keeps, and what SQL backends add to it.

:class:`EventStore` is the log: append-only, totally ordered, optimistically
concurrent. :class:`SQLStore` is what :class:`~datasetlog.DatasetLog` needs
on top: a dialect, connections and one-snapshot scans, through which the read
models and ``verify()`` reach the store without naming its tables.
``datasetlog.testing.contract.EventStoreContract`` checks every promise here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

import attrs

from datasetlog.errors import ConflictError
from datasetlog.store.dialect import Dialect
from datasetlog.store.records import EncodedEvent, NewCommit, RawCommit, RawEvent, StoredCommit


@attrs.frozen
class KeyedScan:
    """A long read a read model wants: rows of one query in the order of an integer key.

    The read model states the rows (``SELECT columns FROM source WHERE
    where``, ``?`` placeholders filled from ``parameters``, the key first among
    the columns); the store decides how to read them (see :meth:`SQLStore.scan`).
    """

    columns: str
    source: str
    where: str
    parameters: tuple[Any, ...]
    key: str


@attrs.frozen
class EngineCheck:
    """What the database engine's own integrity check found.

    Attributes:
        problems: Each damage it reported (empty when none).
        not_checked: What it could not check here, and why; None when all was.
    """

    problems: tuple[str, ...] = ()
    not_checked: str | None = None


class StreamConflictError(ConflictError):
    """Another writer appended to the stream first; re-reading and retrying is safe."""


class Cursor(Protocol):
    """The part of a DB-API cursor datasetlog uses."""

    def fetchone(self) -> Any:
        """The next row, or None."""

    def fetchall(self) -> list[Any]:
        """The remaining rows."""


class Connection(Protocol):
    """A store's connection as the read models use it: shared SQL with ``?`` placeholders."""

    def execute(self, statement: str, parameters: Sequence[Any] = (), /) -> Cursor:
        """Run one statement."""

    def insert_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert rows into a table, as fast as the backend loads many rows."""

    def fetch_bytes(self, statement: str, parameters: Sequence[Any] = (), /) -> list[Any]:
        """Run a query and return all its rows, each text value as its UTF-8 bytes."""


class Transaction(Protocol):
    """A write transaction of an event store; what it appends lands when it commits."""

    def append(self, commits: Sequence[NewCommit]) -> list[StoredCommit]:
        """Append commits, chaining each one's hash to its stream parent.

        Returns:
            The commits as stored, in the order given.

        Raises:
            StreamConflictError: A commit's sequence is not one past its stream's last.
        """


class OpenCommit(Protocol):
    """A commit whose events are being appended in batches (see ``SQLTransaction.open_commit``)."""

    position: int
    """The global position the commit takes."""

    def append(self, events: Sequence[EncodedEvent]) -> int:
        """Add events to the commit, after those before; return the first one's global position.

        Raises:
            StoreError: The commit is closed.
        """

    def close(self) -> StoredCommit:
        """Record the commit, its hash chained to its stream parent's.

        Returns:
            The commit as stored, with ``events`` empty (they are not held twice).
        """


class SQLTransaction(Transaction, Protocol):
    """A write transaction of an SQL store; the read models run their statements on it."""

    committed: bool
    """True once the transaction's COMMIT has succeeded: what it appended is stored, even
    if the ``write()`` block is then interrupted before it returns."""

    @property
    def connection(self) -> Connection:
        """The connection the transaction runs on."""

    def open_commit(self, commit: NewCommit) -> OpenCommit:
        """Begin a commit of any size: ``commit.events`` first, then whatever is appended to it.

        The events are stored as they come and the hash is computed as they
        come, so the commit never needs to be held whole. It joins the log when
        closed; the transaction then commits it like any other. A transaction
        that ends with a commit still open raises StoreError and stores none of
        it, and no other commit may be appended while one is open.

        Raises:
            StreamConflictError: ``commit.sequence`` is not one past its stream's last.
            StoreError: Another commit is open in the transaction.
        """


class EventStore(Protocol):
    """An append-only, totally ordered log of commits grouped in streams.

    Guarantees every backend gives:

    - Atomic transactions: all commits appended in one :meth:`write`
      transaction are stored, or none is, together with whatever else ran in
      the same transaction.
    - Optimistic concurrency: a commit whose ``sequence`` is not exactly one
      past its stream's last raises :class:`StreamConflictError`, and nothing
      of the transaction is stored.
    - Ordering: global positions start at 1, have no gaps, and rise in commit
      order, so a reader that saw position ``p`` has seen every commit before
      it; so do event positions, and each stream's sequences. Events keep the
      order they were given in.
    - Isolation: a reader sees whole commits only.
    - Fidelity: every text given is read back exactly, byte for byte.
    - Immutability: nothing stored is ever updated or deleted.
    """

    read_only: bool
    """True if the store was opened for reading only: :meth:`write` then raises StoreError."""

    def write(self) -> AbstractContextManager[Transaction]:
        """Open a write transaction; it commits on normal exit and rolls back otherwise.

        Everything appended in one transaction lands together or not at all.

        Raises:
            StreamConflictError: The store stayed busy beyond its timeout.
            StoreError: The store is read-only or closed, or the driver failed.
        """

    def read_stream(
        self, stream_id: str, *, after: int = 0, upto: int | None = None
    ) -> Iterator[StoredCommit]:
        """Yield a stream's commits with ``after < sequence <= upto``, in order."""

    def read_all(self, *, after: int = 0, limit: int | None = None) -> Iterator[StoredCommit]:
        """Yield up to ``limit`` commits of every stream with position above ``after``, in order."""

    def close(self) -> None:
        """Release every connection; the store cannot be used afterwards (StoreError)."""


@runtime_checkable
class SQLStore(EventStore, Protocol):
    """An event store in an SQL database, which also hosts the read models.

    The read models keep their own tables beside the log, in the same
    transactions, and join the event table (named by :attr:`dialect`) to find
    a datapoint's JSON; ``verify()`` scans the raw rows in one snapshot.
    """

    dialect: Dialect
    """How this backend spells DDL and catalog queries, and where its events are."""

    def write(self) -> AbstractContextManager[SQLTransaction]:
        """Open a write transaction, whose connection the read models write on too."""

    def reading(self) -> AbstractContextManager[Connection]:
        """Give a connection for a short read; every statement sees whole commits only."""

    def snapshot(self) -> AbstractContextManager[Connection]:
        """Give a connection inside one read-only transaction: every statement sees one state."""

    def scan_commits(self, conn: Connection, *, after: int, limit: int) -> list[RawCommit]:
        """Up to ``limit`` commit rows with position above ``after``, as stored, in order."""

    def scan_events(self, conn: Connection, *, after: int, limit: int) -> list[RawEvent]:
        """Up to ``limit`` event rows with position above ``after``, as stored, in order."""

    def last_event(self) -> int:
        """The global position of the last event stored (0 in an empty store)."""

    def scan(
        self, scan: KeyedScan, *, start: int, size: int, as_bytes: bool = False
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Yield the rows of ``scan`` whose key is at least ``start``, in key order, in lists
        of up to ``size`` (with ``as_bytes``, text as its UTF-8 bytes, never decoded).

        How is the store's choice: in short keyset-paged queries that each see
        whole commits and hold no snapshot between lists (SQLite), or one
        query streamed from a connection of its own, as one snapshot
        (PostgreSQL). Either way the rows are those of committed, immutable
        versions, which no commit changes.
        """

    def check_engine(self) -> EngineCheck:
        """Run the database's own integrity check of the store's tables and indexes."""
