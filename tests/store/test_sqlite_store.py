"""The SQLite event store passes the shipped contract, as any backend would."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from datasetlog.store import EventStore, RawCommit, RawEvent, SQLiteEventStore
from datasetlog.testing.contract import MakeStore
from datasetlog.testing.sql_contract import SQLStoreContract


def _rows(store: EventStore, query: str) -> list[Any]:
    """Rows read from the store's file on a connection of its own, read-only."""
    assert isinstance(store, SQLiteEventStore)
    with closing(sqlite3.connect(f"file:{store.path}?mode=ro", uri=True)) as conn:
        return conn.execute(query).fetchall()


class TestSQLiteEventStore(SQLStoreContract):
    """The contract on an SQLite file."""

    @pytest.fixture
    def make_store(self, tmp_path: Path) -> Iterator[MakeStore]:
        """Handles on one SQLite file in the test's folder."""
        opened: list[SQLiteEventStore] = []

        def make() -> EventStore:
            opened.append(SQLiteEventStore(tmp_path / "store.db"))
            return opened[-1]

        yield make
        for store in opened:
            store.close()

    def raw_commits(self, store: EventStore) -> list[RawCommit]:
        """The ``dl_commits`` rows, read with sqlite3."""
        query = (
            "SELECT position, stream_id, sequence, recorded_at, metadata, first_event, "
            "event_count, hash FROM dl_commits ORDER BY position"
        )
        return [RawCommit(*row) for row in _rows(store, query)]

    def raw_events(self, store: EventStore) -> list[RawEvent]:
        """The ``dl_events`` rows, read with sqlite3."""
        query = (
            "SELECT position, commit_position, type, schema_version, payload, digest "
            "FROM dl_events ORDER BY position"
        )
        return [RawEvent(*row) for row in _rows(store, query)]
