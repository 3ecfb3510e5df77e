"""The event store contract every backend fulfils, and its record types.

Stores persist already-encoded events; they never import events, models or
serialization, so a new backend never touches cattrs.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar, Protocol, runtime_checkable

import attrs

from datasetlog.errors import ConflictError

GENESIS_HASH = "0" * 64
"""The parent hash of a stream's first commit."""


class VersionConflictError(ConflictError):
    """Another writer appended to the stream first; re-reading and retrying is safe."""


@attrs.frozen
class EncodedEvent:
    """An event as stored: a stable type tag, its schema version and a JSON payload."""

    type: str
    schema_version: int
    payload: str


@attrs.frozen
class NewCommit:
    """A commit to append: events for one stream at an expected stream position.

    ``stream_version`` is the position this commit takes in its stream: one
    more than the stream's head when the caller read it.
    """

    stream_id: str
    stream_version: int
    recorded_at: str
    metadata: str
    events: tuple[EncodedEvent, ...]


@attrs.frozen
class StoredCommit:
    """A commit as read back, with its global position and chained hash.

    Its events hold the global event positions ``first_event`` onwards, in order.
    """

    position: int
    stream_id: str
    stream_version: int
    recorded_at: str
    metadata: str
    events: tuple[EncodedEvent, ...]
    hash: str
    first_event: int


def commit_hash(parent_hash: str, commit: NewCommit | StoredCommit) -> str:
    """Hash a commit's content together with its stream parent's hash.

    The chain runs per stream (per dataset): each commit's hash covers its
    stream id and version, time, metadata and every event's type, schema
    version and payload, plus the previous commit's hash in the same stream.
    """
    digest = hashlib.sha256()
    for part in (
        parent_hash,
        commit.stream_id,
        str(commit.stream_version),
        commit.recorded_at,
        commit.metadata,
    ):
        digest.update(part.encode())
        digest.update(b"\x00")
    for event in commit.events:
        digest.update(_event_header(event.type, event.schema_version))
        digest.update(event.payload.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def event_digest(event: EncodedEvent) -> str:
    """A short digest of one stored event, kept beside it to name an edited event.

    The commit hash is what protects the log; these 64-bit digests only let
    :func:`~datasetlog.DatasetLog.verify` say which event of a commit changed.
    """
    digest = _header_digest(event.type, event.schema_version).copy()
    digest.update(event.payload.encode())
    return digest.hexdigest()[:16]


@functools.cache
def _event_header(type_: str, schema_version: int) -> bytes:
    return f"{type_}\x00{schema_version}\x00".encode()


@functools.cache
def _header_digest(type_: str, schema_version: int) -> hashlib._Hash:
    """A SHA-256 that has taken an event header in, to copy for each event of that kind."""
    return hashlib.sha256(_event_header(type_, schema_version))


class Cursor(Protocol):
    """The part of a DB-API cursor datasetlog uses."""

    def fetchone(self) -> Any:
        """The next row, or None."""

    def fetchall(self) -> list[Any]:
        """The remaining rows."""


class Connection(Protocol):
    """A connection that takes SQL with ``?`` placeholders (sqlite3's, or an adapter)."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor:
        """Run one statement."""

    def executemany(self, sql: str, parameters: Any, /) -> Any:
        """Run one statement once per parameter row."""


class Transaction(Protocol):
    """A write transaction; read models run their own statements on it."""

    @property
    def connection(self) -> Connection:
        """The connection the transaction runs on."""


class EventStore(Protocol):
    """An append-only, totally ordered log of commits grouped in streams.

    Guarantees every backend gives:

    - Atomic append: all commits given to one :meth:`append` are stored, or
      none is, together with whatever else ran in the same transaction.
    - Optimistic concurrency: a commit whose ``stream_version`` is not exactly
      one past its stream's head raises :class:`VersionConflictError` and
      nothing of the transaction is stored.
    - Ordering: global positions start at 1, have no gaps, and rise in commit
      order, so a reader that saw position ``p`` has seen every commit before
      it; events keep the order they were given in.
    - Immutability: nothing stored is ever updated or deleted.
    """

    dialect: ClassVar[str]
    """The SQL its connections speak, for the read models: ``"sqlite"`` or ``"postgres"``."""

    read_only: bool
    """True if the store was opened for reading only: :meth:`write` then raises StoreError."""

    def reading(self) -> AbstractContextManager[Connection]:
        """Give a connection for a short read; every statement sees whole commits only."""

    def write(self) -> AbstractContextManager[Transaction]:
        """Open a write transaction; it commits on normal exit, rolls back on error.

        Raises:
            VersionConflictError: The store stayed busy beyond its timeout.
            StoreError: The store is read-only or the driver failed.
        """

    def append(self, tx: Transaction, commits: Sequence[NewCommit]) -> list[StoredCommit]:
        """Append commits inside ``tx``, chaining each one's hash to its stream parent.

        Raises:
            VersionConflictError: A stream moved past the expected version.
        """

    def read_stream(
        self, stream_id: str, *, after: int = 0, upto: int | None = None
    ) -> Iterator[StoredCommit]:
        """Yield a stream's commits with ``after < stream_version <= upto``, in order."""

    def read_all(self, *, after: int = 0, limit: int | None = None) -> Iterator[StoredCommit]:
        """Yield every stream's commits with global position above ``after``, in order."""

    def head(self, stream_id: str) -> int:
        """Return the stream's last stream version, 0 for a stream never written."""

    def close(self) -> None:
        """Release every connection; the store cannot be used afterwards."""


@runtime_checkable
class StreamingStore(Protocol):
    """A store that streams a long read from one query on a connection of its own.

    Stores without it (SQLite) read long results in short keyset-paged
    queries instead, so no read holds a snapshot open between chunks.
    """

    def stream(
        self, statement: str, parameters: Sequence[Any], *, size: int, as_bytes: bool = False
    ) -> Iterator[list[Any]]:
        """Yield the first column of one query's rows, in lists of up to ``size``."""
