"""Event store backends and the contract they share."""

from __future__ import annotations

from pathlib import Path

from datasetlog.errors import StoreError
from datasetlog.store.base import (
    EncodedEvent,
    EventStore,
    NewCommit,
    StoredCommit,
    VersionConflictError,
    commit_hash,
)
from datasetlog.store.sqlite import Durability, SQLiteEventStore


def open_store(url: str | Path, *, durability: Durability = "normal") -> SQLiteEventStore:
    """Open the store a URL or path names: ``sqlite:///path``, a bare path, or ``:memory:``.

    Raises:
        StoreError: The URL names a backend this installation does not have.
    """
    text = str(url)
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
    "VersionConflictError",
    "commit_hash",
    "open_store",
]
