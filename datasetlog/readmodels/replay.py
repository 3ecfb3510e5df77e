"""Deriving the read models from the event log: when a store opens, and on ``rebuild()``."""

from __future__ import annotations

from collections.abc import Callable

from datasetlog.errors import StoreError
from datasetlog.readmodels.apply import CommitApplication
from datasetlog.readmodels.schema import Schema
from datasetlog.serialization.codec import decode_commit, decode_event
from datasetlog.store.base import Connection, SQLStore
from datasetlog.store.records import EncodedEvent, RawCommit


def open_read_models(store: SQLStore, schema: Schema) -> None:
    """Make sure a store's read models are current, deriving them from the events if not.

    Raises:
        StoreError: They are missing or outdated and the store is read-only.
    """
    with store.reading() as conn:
        if schema.current(conn):
            return
    if store.read_only:
        raise StoreError(
            "the store's read models are missing or outdated; open it writable once to rebuild them"
        )
    # Another process may be doing the same: ensure() checks again under the write lock.
    with store.write() as tx:
        if schema.ensure(tx.connection):
            replay(store, tx.connection)
            schema.refresh_statistics(tx.connection)


def rebuild(
    store: SQLStore, schema: Schema, progress: Callable[[int], object] | None = None
) -> None:
    """Drop every read model and derive it again from the event log, atomically.

    ``progress``, if given, is called with how many more events were applied.
    """
    with store.write() as tx:
        schema.drop(tx.connection)
        schema.ensure(tx.connection)
        replay(store, tx.connection, progress)
        schema.refresh_statistics(tx.connection)


REPLAY_BATCH = 10_000
"""Events read, decoded and applied at a time: a commit of any size replays in constant memory."""


def replay(
    store: SQLStore, conn: Connection, progress: Callable[[int], object] | None = None
) -> None:
    """Apply every commit of the store, in order, on ``conn`` (inside its write transaction).

    Each commit's events are read and applied in batches. ``progress``, if
    given, is called with how many more events were applied.

    Raises:
        StoreError: A commit does not decode or does not follow; run ``verify()``.
    """
    after = 0
    while commits := store.scan_commits(conn, after=after, limit=500):
        for row in commits:
            _replay_commit(store, conn, row, progress)
        after = commits[-1].position


def _replay_commit(
    store: SQLStore, conn: Connection, row: RawCommit, progress: Callable[[int], object] | None
) -> None:
    """Apply one commit, reading its events a batch at a time."""
    applying = CommitApplication.replaying(conn, decode_commit(row.stored()))
    first, end = row.first_event, row.first_event + row.event_count
    while first < end:
        rows = store.scan_events(conn, after=first - 1, limit=min(end - first, REPLAY_BATCH))
        if [(e.position, e.commit_position) for e in rows] != [
            (first + i, row.position) for i in range(len(rows))
        ] or not rows:
            raise StoreError(f"{_named(row)} lacks events from position {first}; run verify()")
        try:
            events = [decode_event(EncodedEvent(e.type, e.schema_version, e.payload)) for e in rows]
        except Exception as error:  # a damaged payload
            raise StoreError(f"{_named(row)} does not decode: {error!r}; run verify()") from error
        applying.feed(events, first)
        first += len(rows)
        if progress is not None:
            progress(len(rows))
    applying.finish(row.position)


def _named(row: RawCommit) -> str:
    return f"commit {row.position} ({row.stream_id} #{row.sequence})"
