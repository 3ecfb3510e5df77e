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
from datasetlog.store.base import Connection, KeyedScan, StreamConflictError
from datasetlog.store.chain import GENESIS_HASH, begin_hash, event_digest, hash_events
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

    def open_commit(self, conn: Connection, commit: NewCommit) -> OpenedCommit:
        """Begin one commit inside a write transaction (see ``SQLTransaction.open_commit``).

        Every commit is written this way: a whole append is a commit opened
        with all its events and closed at once.

        Raises:
            StreamConflictError: ``commit.sequence`` is not one past its stream's last.
        """
        position, event_position = conn.execute(_SELECT_LAST_POSITIONS).fetchone()
        parent_hash = _parent_hash(conn, commit)
        opened = OpenedCommit(conn, commit, position + 1, event_position + 1, parent_hash)
        if commit.events:
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


class OpenedCommit:
    """One commit being written inside a write transaction: the only writer of log rows.

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
        """Add events to the commit; return the global position of the first of them.

        Raises:
            StoreError: The commit is closed.
        """
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

        Raises:
            StoreError: The commit is already closed.
        """
        if self.stored is not None:
            raise StoreError("the commit is already closed")
        commit = self._commit
        row = RawCommit(
            position=self.position,
            stream_id=commit.stream_id,
            sequence=commit.sequence,
            recorded_at=commit.recorded_at,
            metadata=commit.metadata,
            first_event=self.first_event,
            event_count=self._next_event - self.first_event,
            hash=self._digest.hexdigest(),
        )
        self._conn.execute(_INSERT_COMMIT, attrs.astuple(row))
        self.stored = row.stored()
        return self.stored


C = TypeVar("C", bound=Connection)


@attrs.define
class TableTransaction(Generic[C]):
    """A write transaction on one connection of a backend; it remembers what it appended.

    A backend's ``write()`` calls :meth:`finish` before COMMIT, and sets
    ``committed`` as soon as COMMIT has succeeded.
    """

    connection: C
    tables: CommitTables
    appended: list[StoredCommit] = attrs.Factory(list)
    committed: bool = False
    _open: OpenedCommit | None = None

    def append(self, commits: Sequence[NewCommit]) -> list[StoredCommit]:
        """Append whole commits (see ``store.base.Transaction``): each opened and closed at once."""
        stored = []
        for commit in commits:
            whole = attrs.evolve(self.open_commit(commit).close(), events=commit.events)
            self._open = None
            self.appended.append(whole)
            stored.append(whole)
        return stored

    def open_commit(self, commit: NewCommit) -> OpenedCommit:
        """Begin a commit appended in batches (see ``store.base.SQLTransaction``)."""
        self._take_closed()
        self._open = self.tables.open_commit(self.connection, commit)
        return self._open

    def finish(self) -> None:
        """Check the transaction may commit: no commit of it is left open.

        Raises:
            StoreError: One is; the backend then rolls everything back.
        """
        self._take_closed()

    def _take_closed(self) -> None:
        """Move the commit opened last into ``appended``, refusing one still open."""
        opened = self._open
        if opened is None:
            return
        if opened.stored is None:
            raise StoreError(
                f"commit {opened.position} was opened and never closed; nothing is committed"
            )
        self.appended.append(opened.stored)
        self._open = None


def keyset_statement(scan: KeyedScan, *, limit: bool) -> str:
    """The statement reading a scan's rows from a key on (a page of them, with ``limit``)."""
    return (
        f"SELECT {scan.columns} FROM {scan.source} WHERE {scan.where} AND {scan.key} >= ? "
        f"ORDER BY {scan.key}{' LIMIT ?' if limit else ''}"
    )


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
    for row in rows:
        raw = RawCommit(*row)
        events = conn.execute(_SELECT_EVENTS, (raw.first_event, raw.first_event + raw.event_count))
        commits.append(raw.stored(tuple(EncodedEvent(*event) for event in events.fetchall())))
    return commits
