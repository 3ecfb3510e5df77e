"""Event store backends and the contract they share."""

from __future__ import annotations

from pathlib import Path

from datasetlog.errors import StoreError
from datasetlog.store.base import (
    EncodedEvent,
    EventStore,
    NewCommit,
    StoredCommit,
    StreamingStore,
    VersionConflictError,
    commit_hash,
)
from datasetlog.store.sqlite import Durability, SQLiteEventStore


def open_store(url: str | Path, *, durability: Durability = "normal") -> EventStore:
    """Open the store a URL or path names.

    ``postgresql://…`` (or ``postgres://…``) opens a PostgreSQL store (needs the
    ``datasetlog[postgres]`` extra); ``sqlite:///path``, a bare path or
    ``:memory:`` an SQLite one, with the given durability.

    Raises:
        StoreError: The URL names a backend this installation does not have.
    """
    text = str(url)
    if text.startswith(("postgresql://", "postgres://")):
        try:
            from datasetlog.store.postgres import PostgresEventStore
        except ImportError as error:
            raise StoreError(
                "PostgreSQL needs psycopg: pip install 'datasetlog[postgres]'"
            ) from error
        return PostgresEventStore(text)
    if text.startswith("sqlite:///"):
        return SQLiteEventStore(text.removeprefix("sqlite:///"), durability=durability)
    if "://" in text:
        raise StoreError(f"no store backend for {text.split('://')[0]!r} URLs")
    return SQLiteEventStore(text, durability=durability)


__all__ = [
    "Durability",
    "EncodedEvent",
    "EventStore",
    "NewCommit",
    "SQLiteEventStore",
    "StoredCommit",
    "StreamingStore",
    "VersionConflictError",
    "commit_hash",
    "open_store",
]
