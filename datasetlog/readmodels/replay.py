"""Deriving the read models from the event log: when a store opens, and on ``rebuild()``."""

from __future__ import annotations

from datasetlog.errors import StoreError
from datasetlog.readmodels.apply import apply_commit
from datasetlog.readmodels.schema import Schema
from datasetlog.serialization.codec import decode_commit
from datasetlog.store.base import Connection, SQLStore


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


def rebuild(store: SQLStore, schema: Schema) -> None:
    """Drop every read model and derive it again from the event log, atomically."""
    with store.write() as tx:
        schema.drop(tx.connection)
        schema.ensure(tx.connection)
        replay(store, tx.connection)


def replay(store: SQLStore, conn: Connection) -> None:
    """Apply every commit of the store, in order, on ``conn`` (inside its write transaction)."""
    for stored in store.read_all():
        apply_commit(conn, decode_commit(stored), stored.position, stored.first_event)
