"""The commit and event tables, in SQL both backends share: append, read and scan.

Each backend brings its connections, transactions, migrations and error
translation, and delegates here; SQL here uses ``?`` placeholders, which a
backend's connection takes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

import attrs

from datasetlog.errors import StoreError
from datasetlog.store.base import Connection, StreamConflictError
from datasetlog.store.chain import (
    GENESIS_HASH,
    begin_hash,
    commit_hash,
    event_digest,
    hash_events,
)
from datasetlog.store.records import (
    EncodedEvent,
    NewCommit,
    RawCommit,
    RawEvent,
    StoredCommit,
)

COMMITS = "dl_commits"
EVENTS = "dl_events"
READ_BATCH = 500
"""Commits read per query by :meth:`CommitTables.read_stream` and ``read_all``."""

_COMMIT_COLUMNS = (
    "position, stream_id, sequence, recorded_at, metadata, first_event, event_count, hash"
)
_EVENT_COLUMNS = ("position", "commit_position", "type", "schema_version", "payload", "digest")
_SELECT_STREAM = (
    f"SELECT {_COMMIT_COLUMNS} FROM {COMMITS} "
    "WHERE stream_id = ? AND sequence > ? AND sequence <= ? ORDER BY sequence LIMIT ?"
)
_SELECT_ALL = (
    f"SELECT {_COMMIT_COLUMNS} FROM {COMMITS} WHERE position > ? ORDER BY position LIMIT ?"
)
_SELECT_EVENTS = (
    f"SELECT type, schema_version, payload FROM {EVENTS} "
    "WHERE position >= ? AND position < ? ORDER BY position"
)
_SCAN_EVENTS = (
    f"SELECT {', '.join(_EVENT_COLUMNS)} FROM {EVENTS} WHERE position > ? ORDER BY position LIMIT ?"
)
_SELECT_LAST_POSITIONS = (
    f"SELECT (SELECT coalesce(max(position), 0) FROM {COMMITS}), "
    f"(SELECT coalesce(max(position), 0) FROM {EVENTS})"
)
_SELECT_HEAD = (
    f"SELECT sequence, hash FROM {COMMITS} WHERE stream_id = ? ORDER BY sequence DESC LIMIT 1"
)
_INSERT_COMMIT = f"INSERT INTO {COMMITS} ({_COMMIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_UNBOUNDED = 2**62  # an upper bound above every position and sequence a store reaches


class CommitTables:
    """The log kept in two tables, over the connections a backend gives.

    ``dl_commits`` has one row a commit: its global ``position``, its
    ``sequence`` in its stream, time, metadata, event range and chained
    ``hash``; ``dl_events`` one row an event: ``position``, ``commit_position``,
    type, schema version, JSON payload and a short digest.

    Args:
        reading: Gives a connection for one short read (the backend's ``reading()``).
    """

    def __init__(self, reading: Callable[[], AbstractContextManager[Connection]]) -> None:
        self.reading = reading

    def append(self, conn: Connection, commits: Sequence[NewCommit]) -> list[StoredCommit]:
        """Append commits on a connection inside a write transaction (see EventStore)."""
        stored = []
        position, event_position = conn.execute(_SELECT_LAST_POSITIONS).fetchone()
        for commit in commits:
            parent_hash = _parent_hash(conn, commit)
            position += 1
            digest = commit_hash(parent_hash, commit)
            first_event = event_position + 1
            conn.insert_rows(
                EVENTS,
                _EVENT_COLUMNS,
                [
                    (
                        first_event + i,
                        position,
                        e.type,
                        e.schema_version,
                        e.payload,
                        event_digest(e),
                    )
                    for i, e in enumerate(commit.events)
                ],
            )
            event_position += len(commit.events)
            conn.execute(
                _INSERT_COMMIT,
                (
                    position,
                    commit.stream_id,
                    commit.sequence,
                    commit.recorded_at,
                    commit.metadata,
                    first_event,
                    len(commit.events),
                    digest,
                ),
            )
            stored.append(
                StoredCommit(
                    position=position,
                    stream_id=commit.stream_id,
                    sequence=commit.sequence,
                    recorded_at=commit.recorded_at,
                    metadata=commit.metadata,
                    events=commit.events,
                    hash=digest,
                    first_event=first_event,
                )
            )
        return stored

    def open_commit(self, conn: Connection, commit: NewCommit) -> StreamedCommit:
        """Begin one commit whose events come in batches (see ``SQLTransaction.open_commit``)."""
        position, event_position = conn.execute(_SELECT_LAST_POSITIONS).fetchone()
        parent_hash = _parent_hash(conn, commit)
        opened = StreamedCommit(conn, commit, position + 1, event_position + 1, parent_hash)
        opened.append(commit.events)
        return opened

    def read_stream(
        self, stream_id: str, *, after: int = 0, upto: int | None = None
    ) -> Iterator[StoredCommit]:
        """Yield a stream's commits with ``after < sequence <= upto``, in order."""
        last = _UNBOUNDED if upto is None else upto
        while True:
            with self.reading() as conn:
                rows = conn.execute(_SELECT_STREAM, (stream_id, after, last, READ_BATCH)).fetchall()
                commits = _load(conn, rows)
            yield from commits
            if len(rows) < READ_BATCH:
                return
            after = commits[-1].sequence

    def read_all(self, *, after: int = 0, limit: int | None = None) -> Iterator[StoredCommit]:
        """Yield up to ``limit`` commits with position above ``after``, in order."""
        remaining = _UNBOUNDED if limit is None else limit
        while remaining > 0:
            with self.reading() as conn:
                rows = conn.execute(_SELECT_ALL, (after, min(remaining, READ_BATCH))).fetchall()
                commits = _load(conn, rows)
            yield from commits
            if not rows:
                return
            remaining -= len(rows)
            after = commits[-1].position

    @staticmethod
    def scan_commits(conn: Connection, *, after: int, limit: int) -> list[RawCommit]:
        """Up to ``limit`` commit rows with position above ``after``, unchecked."""
        return [RawCommit(*row) for row in conn.execute(_SELECT_ALL, (after, limit)).fetchall()]

    @staticmethod
    def scan_events(conn: Connection, *, after: int, limit: int) -> list[RawEvent]:
        """Up to ``limit`` event rows with position above ``after``, unchecked."""
        return [RawEvent(*row) for row in conn.execute(_SCAN_EVENTS, (after, limit)).fetchall()]


class StreamedCommit:
    """One commit being appended in batches, inside a write transaction.

    Its events are inserted as they come and its hash is fed as they come, so
    a commit of any size is written in constant memory; the commit row goes
    in last, by :meth:`close`. Until then the commit is not in the log, and a
    transaction that ends without closing it stores none of it.
    """

    def __init__(
        self,
        conn: Connection,
        commit: NewCommit,
        position: int,
        first_event: int,
        parent_hash: str,
    ) -> None:
        self._conn = conn
        self._commit = commit
        self.position = position
        self.first_event = first_event
        self._next_event = first_event
        self._digest = begin_hash(parent_hash, commit)
        self.stored: StoredCommit | None = None

    def append(self, events: Sequence[EncodedEvent]) -> int:
        """Add events to the commit; return the global position of the first of them."""
        if self.stored is not None:
            raise StoreError("the commit is closed; open another to append")
        first = self._next_event
        hash_events(self._digest, events)
        self._conn.insert_rows(
            EVENTS,
            _EVENT_COLUMNS,
            [
                (first + i, self.position, e.type, e.schema_version, e.payload, event_digest(e))
                for i, e in enumerate(events)
            ],
        )
        self._next_event += len(events)
        return first

    def close(self) -> StoredCommit:
        """Record the commit, chained to its stream parent; its events are not held again.

        Returns:
            The commit as stored, with ``events`` empty: they are in the store.
        """
        if self.stored is not None:
            raise StoreError("the commit is already closed")
        commit = self._commit
        digest = self._digest.hexdigest()
        self._conn.execute(
            _INSERT_COMMIT,
            (
                self.position,
                commit.stream_id,
                commit.sequence,
                commit.recorded_at,
                commit.metadata,
                self.first_event,
                self._next_event - self.first_event,
                digest,
            ),
        )
        self.stored = StoredCommit(
            position=self.position,
            stream_id=commit.stream_id,
            sequence=commit.sequence,
            recorded_at=commit.recorded_at,
            metadata=commit.metadata,
            events=(),
            hash=digest,
            first_event=self.first_event,
        )
        return self.stored


C = TypeVar("C", bound=Connection)


@attrs.define
class TableTransaction(Generic[C]):
    """A write transaction on one connection of a backend; it remembers what it appended.

    A backend's ``write()`` calls :meth:`finish` before COMMIT.
    """

    connection: C
    tables: CommitTables
    appended: list[StoredCommit] = attrs.Factory(list)
    _open: StreamedCommit | None = None

    def append(self, commits: Sequence[NewCommit]) -> list[StoredCommit]:
        """Append commits (see ``store.base.Transaction``)."""
        self._refuse_open()
        stored = self.tables.append(self.connection, commits)
        self.appended.extend(stored)
        return stored

    def open_commit(self, commit: NewCommit) -> StreamedCommit:
        """Begin a commit appended in batches (see ``store.base.SQLTransaction``)."""
        self._refuse_open()
        self._open = self.tables.open_commit(self.connection, commit)
        return self._open

    def finish(self) -> None:
        """Check the transaction may commit: no commit of it is left open.

        Raises:
            StoreError: One is; the backend then rolls everything back.
        """
        self._refuse_open()

    def _refuse_open(self) -> None:
        opened = self._open
        if opened is None:
            return
        if opened.stored is None:
            raise StoreError(
                f"commit {opened.position} was opened and never closed; nothing is committed"
            )
        self.appended.append(opened.stored)
        self._open = None


class CommitTableReads:
    """The reads every SQL store answers from its :class:`CommitTables`, shared by mixing in.

    A store sets ``_tables`` in its ``__init__``.
    """

    _tables: CommitTables

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

    def last_event(self) -> int:
        """The global position of the last event stored (0 in an empty store)."""
        with self._tables.reading() as conn:
            return int(conn.execute(_SELECT_LAST_POSITIONS).fetchone()[1])

    def scan_events(self, conn: Connection, *, after: int, limit: int) -> list[RawEvent]:
        """Up to ``limit`` event rows with position above ``after``, unchecked."""
        return self._tables.scan_events(conn, after=after, limit=limit)


def _parent_hash(conn: Connection, commit: NewCommit) -> str:
    """The hash of the commit's stream parent, once its sequence is known to follow it.

    Raises:
        StreamConflictError: The sequence is not one past the stream's last.
    """
    row = conn.execute(_SELECT_HEAD, (commit.stream_id,)).fetchone()
    head, parent_hash = row if row else (0, GENESIS_HASH)
    if commit.sequence != head + 1:
        raise StreamConflictError(
            f"stream {commit.stream_id} is at {head}, not {commit.sequence - 1} as the writer read"
        )
    return str(parent_hash)


def _load(conn: Connection, rows: list[Any]) -> list[StoredCommit]:
    """The commits of ``dl_commits`` rows, each with its events."""
    commits = []
    for position, stream_id, sequence, recorded_at, metadata, first, count, digest in rows:
        events = conn.execute(_SELECT_EVENTS, (first, first + count)).fetchall()
        commits.append(
            StoredCommit(
                position=position,
                stream_id=stream_id,
                sequence=sequence,
                recorded_at=recorded_at,
                metadata=metadata,
                events=tuple(EncodedEvent(*event) for event in events),
                hash=digest,
                first_event=first,
            )
        )
    return commits
