"""The PostgreSQL event store passes the shipped contract, as any backend would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from datasetlog.store import EventStore, RawCommit, RawEvent
from datasetlog.store.postgres import PostgresEventStore
from datasetlog.testing import drop_schema_of, new_schema_location
from datasetlog.testing.contract import MakeStore
from datasetlog.testing.sql_contract import SQLStoreContract


def _rows(store: EventStore, query: str) -> list[tuple[Any, ...]]:
    """Rows read on a connection of their own, outside the store."""
    assert isinstance(store, PostgresEventStore)
    with psycopg.connect(store.url, autocommit=True) as conn:
        return conn.execute(query).fetchall()


class TestPostgresEventStore(SQLStoreContract):
    """The contract on PostgreSQL, in a fresh schema per test."""

    many = 600  # every commit is a round trip or three: past the read batch, not far past

    @pytest.fixture
    def make_store(self, postgres_url: str) -> Iterator[MakeStore]:
        """Handles on one fresh schema of the session's server."""
        location = new_schema_location(postgres_url)
        opened: list[PostgresEventStore] = []

        def make() -> EventStore:
            opened.append(PostgresEventStore(location))
            return opened[-1]

        yield make
        for store in opened:
            store.close()
        drop_schema_of(location)

    def raw_commits(self, store: EventStore) -> list[RawCommit]:
        """The ``dl_commits`` rows, read with psycopg."""
        query = (
            "SELECT position, stream_id, sequence, recorded_at, metadata, first_event, "
            "event_count, hash FROM dl_commits ORDER BY position"
        )
        return [RawCommit(*row) for row in _rows(store, query)]

    def raw_events(self, store: EventStore) -> list[RawEvent]:
        """The ``dl_events`` rows, read with psycopg."""
        query = (
            "SELECT position, commit_position, type, schema_version, payload, digest "
            "FROM dl_events ORDER BY position"
        )
        return [RawEvent(*row) for row in _rows(store, query)]
