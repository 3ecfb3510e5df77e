"""The commit and event tables, in SQL both backends share: append, read and scan.

Each backend brings its connections, transactions, migrations and error
translation, and delegates here; SQL here uses ``?`` placeholders, which a
backend's connection takes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from datasetlog.store.base import Connection, StreamConflictError
from datasetlog.store.chain import GENESIS_HASH, commit_hash, event_digest
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
        self._reading = reading

    def append(self, conn: Connection, commits: Sequence[NewCommit]) -> list[StoredCommit]:
        """Append commits on a connection inside a write transaction (see EventStore)."""
        stored = []
        position, event_position = conn.execute(_SELECT_LAST_POSITIONS).fetchone()
        for commit in commits:
            row = conn.execute(_SELECT_HEAD, (commit.stream_id,)).fetchone()
            head, parent_hash = row if row else (0, GENESIS_HASH)
            if commit.sequence != head + 1:
                raise StreamConflictError(
                    f"stream {commit.stream_id} is at {head}, "
                    f"not {commit.sequence - 1} as the writer read"
                )
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

    def read_stream(
        self, stream_id: str, *, after: int = 0, upto: int | None = None
    ) -> Iterator[StoredCommit]:
        """Yield a stream's commits with ``after < sequence <= upto``, in order."""
        last = _UNBOUNDED if upto is None else upto
        while True:
            with self._reading() as conn:
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
            with self._reading() as conn:
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

    def scan_events(self, conn: Connection, *, after: int, limit: int) -> list[RawEvent]:
        """Up to ``limit`` event rows with position above ``after``, unchecked."""
        return self._tables.scan_events(conn, after=after, limit=limit)


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
