"""What SQL backends share: the append and read logic over two tables.

Subclasses bring connections, transactions, migrations and error translation;
SQL here uses ``?`` placeholders, which a backend's connection adapts.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from datasetlog.store.base import (
    GENESIS_HASH,
    Connection,
    EncodedEvent,
    NewCommit,
    StoredCommit,
    Transaction,
    VersionConflictError,
    commit_hash,
    event_digest,
)

_COMMIT_COLUMNS = "position, stream_id, stream_version, recorded_at, metadata, hash"
_SELECT_STREAM = (
    f"SELECT {_COMMIT_COLUMNS}, first_event, event_count FROM dl_commits "
    "WHERE stream_id = ? AND stream_version > ? AND stream_version <= ? ORDER BY stream_version"
)
_SELECT_ALL = (
    f"SELECT {_COMMIT_COLUMNS}, first_event, event_count FROM dl_commits "
    "WHERE position > ? ORDER BY position LIMIT ?"
)
_SELECT_EVENTS = (
    "SELECT type, schema_version, payload FROM dl_events "
    "WHERE position >= ? AND position < ? ORDER BY position"
)
_SELECT_LAST_POSITIONS = (
    "SELECT (SELECT coalesce(max(position), 0) FROM dl_commits), "
    "(SELECT coalesce(max(position), 0) FROM dl_events)"
)
_SELECT_HEAD = (
    "SELECT stream_version, hash FROM dl_commits WHERE stream_id = ? "
    "ORDER BY stream_version DESC LIMIT 1"
)
_INSERT_COMMIT = (
    "INSERT INTO dl_commits (position, stream_id, stream_version, recorded_at, metadata, "
    "first_event, event_count, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_EVENT = (
    "INSERT INTO dl_events (position, commit_position, type, schema_version, payload, digest) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)


class SQLEventStore:
    """The :class:`~datasetlog.store.base.EventStore` logic shared by SQL backends.

    Tables: ``dl_commits`` (one row a commit: global ``position``, per-stream
    ``stream_version``, time, metadata, event range, chained ``hash``) and
    ``dl_events`` (one row an event: ``position``, ``commit_position``, type,
    schema version, JSON payload).
    """

    def reading(self) -> AbstractContextManager[Connection]:
        """Give a connection for a short read."""
        raise NotImplementedError

    def write(self) -> AbstractContextManager[Transaction]:
        """Open a write transaction that holds the store's append lock."""
        raise NotImplementedError

    def append(self, tx: Transaction, commits: Sequence[NewCommit]) -> list[StoredCommit]:
        """Append commits inside ``tx``; see :class:`~datasetlog.store.base.EventStore`."""
        conn = tx.connection
        stored = []
        position, event_position = conn.execute(_SELECT_LAST_POSITIONS).fetchone()
        for commit in commits:
            row = conn.execute(_SELECT_HEAD, (commit.stream_id,)).fetchone()
            head, parent_hash = row if row else (0, GENESIS_HASH)
            if commit.stream_version != head + 1:
                raise VersionConflictError(
                    f"stream {commit.stream_id} is at {head}, "
                    f"not {commit.stream_version - 1} as the writer read"
                )
            position += 1
            digest = commit_hash(parent_hash, commit)
            first_event = event_position + 1
            conn.executemany(
                _INSERT_EVENT,
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
                    commit.stream_version,
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
                    stream_version=commit.stream_version,
                    recorded_at=commit.recorded_at,
                    metadata=commit.metadata,
                    events=commit.events,
                    hash=digest,
                    first_event=first_event,
                )
            )
        return stored

    def _load(self, conn: Connection, rows: list[Any]) -> list[StoredCommit]:
        commits = []
        for position, stream_id, version, recorded_at, metadata, digest, first, count in rows:
            events = conn.execute(_SELECT_EVENTS, (first, first + count)).fetchall()
            commits.append(
                StoredCommit(
                    position=position,
                    stream_id=stream_id,
                    stream_version=version,
                    recorded_at=recorded_at,
                    metadata=metadata,
                    events=tuple(EncodedEvent(*event) for event in events),
                    hash=digest,
                    first_event=first,
                )
            )
        return commits

    def read_stream(
        self, stream_id: str, *, after: int = 0, upto: int | None = None, batch: int = 500
    ) -> Iterator[StoredCommit]:
        """Yield a stream's commits with ``after < stream_version <= upto``, in order."""
        last = upto if upto is not None else 2**62
        while True:
            with self.reading() as conn:
                rows = conn.execute(
                    _SELECT_STREAM + " LIMIT ?", (stream_id, after, last, batch)
                ).fetchall()
                commits = self._load(conn, rows)
            yield from commits
            if len(rows) < batch:
                return
            after = commits[-1].stream_version

    def read_all(self, *, after: int = 0, limit: int | None = None) -> Iterator[StoredCommit]:
        """Yield all commits with global position above ``after``, in order."""
        remaining = limit if limit is not None else 2**62
        while remaining > 0:
            with self.reading() as conn:
                rows = conn.execute(_SELECT_ALL, (after, min(remaining, 500))).fetchall()
                commits = self._load(conn, rows)
            yield from commits
            if not rows:
                return
            remaining -= len(rows)
            after = commits[-1].position

    def head(self, stream_id: str) -> int:
        """Return the stream's last stream version, 0 for a stream never written."""
        with self.reading() as conn:
            row = conn.execute(_SELECT_HEAD, (stream_id,)).fetchone()
        return int(row[0]) if row else 0
