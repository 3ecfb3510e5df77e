"""Event store backends, the contracts they share, and :func:`open_store`."""

from __future__ import annotations

from pathlib import Path

from datasetlog.errors import StoreError
from datasetlog.store.base import (
    Connection,
    EventStore,
    KeyedScan,
    SQLStore,
    SQLTransaction,
    StreamConflictError,
    Transaction,
)
from datasetlog.store.chain import GENESIS_HASH, commit_hash, event_digest
from datasetlog.store.dialect import Dialect
from datasetlog.store.records import EncodedEvent, NewCommit, RawCommit, RawEvent, StoredCommit
from datasetlog.store.sqlite import Durability, SQLiteEventStore, require_durability


def open_store(url: str | Path, *, durability: Durability = "normal") -> SQLStore:
    """Open the store a URL or path names.

    ``postgresql://…`` (or ``postgres://…``) opens a PostgreSQL store (needs the
    ``datasetlog[postgres]`` extra); ``sqlite:///path``, a bare path or
    ``:memory:`` an SQLite one, with the given durability.

    Raises:
        ValidationError: ``durability`` is not ``"normal"`` or ``"full"``.
        StoreError: The URL names a backend this installation does not have.
    """
    require_durability(durability)
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
    "GENESIS_HASH",
    "Connection",
    "Dialect",
    "Durability",
    "EncodedEvent",
    "EventStore",
    "KeyedScan",
    "NewCommit",
    "RawCommit",
    "RawEvent",
    "SQLStore",
    "SQLTransaction",
    "SQLiteEventStore",
    "StoredCommit",
    "StreamConflictError",
    "Transaction",
    "commit_hash",
    "event_digest",
    "open_store",
]
