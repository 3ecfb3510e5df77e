"""What only the PostgreSQL backend has: URLs, schemas, lost connections, streams, errors.

Everything else runs against PostgreSQL through the backend-parametrized
fixtures of conftest.py, in the same tests as SQLite.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

from datasetlog import DatasetLog, StoreError
from datasetlog.readmodels.apply import CommitApplication
from datasetlog.store import postgres_streams
from datasetlog.store.postgres import COPY_ABOVE, PostgresEventStore
from datasetlog.store.postgres_streams import KEEP_IDLE_STREAMS


@pytest.fixture
def schema(postgres_url: str) -> Iterator[str]:
    """A fresh schema name, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def _event_count(db: DatasetLog) -> int:
    return sum(len(commit.events) for commit in db.store.read_all())


def test_a_postgresql_url_selects_the_postgres_store(postgres_url: str) -> None:
    """DatasetLog("postgresql://…") opens a PostgresEventStore and works as with SQLite."""
    with DatasetLog(postgres_url) as db:
        assert isinstance(db.store, PostgresEventStore)
        dataset = db.create_dataset(project_id=f"pr_{uuid.uuid4().hex}", name="qa")
        [datapoint] = db.create_datapoint(dataset.id, {"inputs": {"q": "2+2?"}})
        assert db.get_datapoint(datapoint.id) == datapoint


def test_large_commits_go_as_copy_and_read_back_exactly(
    postgres_url: str, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Commits past COPY_ABOVE rows load by COPY: the same rows, chain and reads as inserts."""
    awkward = 'tab\there, line\nbreak, back\\slash, quote" and \u00e9\U0001f600 \\N'
    bodies = [{"inputs": {"q": f"{awkward} {i}"}, "target": {"n": i}} for i in range(COPY_ABOVE)]
    copies: list[str] = []
    copy = psycopg.Cursor.copy

    def spy(cursor: psycopg.Cursor[Any], statement: Any, *args: Any, **kwargs: Any) -> Any:
        copies.append(str(statement))
        return copy(cursor, statement, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "copy", spy)
    with DatasetLog(PostgresEventStore(postgres_url, schema=schema)) as db:
        dataset = db.create_dataset(project_id="p", name="copy")
        copied = db.create_datapoint(dataset.id, bodies)
        assert [c.split(" (")[0] for c in copies] == ["COPY dl_events", "COPY dl_rows"]
        inserted = db.create_datapoint(dataset.id, bodies[:2])
        assert len(copies) == 2  # two rows go as plain inserts
        assert list(db.iter_datapoints(dataset.id)) == copied + inserted
        assert copied[0].inputs == {"q": f"{awkward} 0"}
        assert db.verify()


def test_an_unreachable_server_is_a_store_error() -> None:
    """Nothing listening at the URL gives a StoreError naming the failure."""
    with pytest.raises(StoreError, match="cannot connect"):
        PostgresEventStore("postgresql://postgres@127.0.0.1:9/x", connect_timeout=2)


def test_a_newer_schema_is_refused(postgres_url: str, schema: str) -> None:
    """A schema with more migrations than this datasetlog knows is a clear StoreError."""
    PostgresEventStore(postgres_url, schema=schema).close()
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"INSERT INTO {schema}.dl_migrations VALUES (99, '0099_future')")
    with pytest.raises(StoreError, match="newer"):
        PostgresEventStore(postgres_url, schema=schema)


def test_a_connection_killed_mid_commit_leaves_nothing_and_recovers(
    postgres_url: str, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pg_terminate_backend during a commit: StoreError, no trace of it, next write works."""
    db = DatasetLog(PostgresEventStore(postgres_url, schema=schema))
    dataset = db.create_dataset(project_id="pr_x", name="qa")
    db.create_datapoint(dataset.id, [{"inputs": {"q": str(n)}} for n in range(3)])
    before = (db.list_versions(dataset.id), _event_count(db))
    original = CommitApplication.finish

    def killed(self: CommitApplication, position: int) -> Any:
        pid = self.conn.raw.info.backend_pid  # type: ignore[attr-defined]
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        return original(self, position)

    monkeypatch.setattr(CommitApplication, "finish", killed)
    with pytest.raises(StoreError, match="connection"):
        db.create_datapoint(dataset.id, [{"inputs": {"q": "lost"}}] * 5)
    monkeypatch.setattr(CommitApplication, "finish", original)
    assert (db.list_versions(dataset.id), _event_count(db)) == before
    db.create_datapoint(dataset.id, {"inputs": {"q": "after"}})
    assert [v.datapoint_count for v in db.list_versions(dataset.id)] == [0, 3, 4]
    assert db.verify()
    db.close()


def test_writers_survive_connections_killed_at_random(postgres_url: str, schema: str) -> None:
    """Backends terminated while a writer commits: every acknowledged commit stays whole."""
    store = PostgresEventStore(postgres_url, schema=schema)
    db = DatasetLog(store)
    dataset = db.create_dataset(project_id="pr_x", name="qa")
    acknowledged: list[list[str]] = []
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            try:
                made = db.create_datapoint(dataset.id, [{"inputs": {"q": "x" * 200}}] * 20)
            except StoreError:
                continue
            acknowledged.append([d.id for d in made])

    writer = threading.Thread(target=write)
    writer.start()
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        for _ in range(15):
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND datname = current_database() "
                "AND application_name = ''"
            )
            stop.wait(0.05)
    stop.set()
    writer.join()
    versions = db.list_versions(dataset.id)
    assert [v.number for v in versions] == list(range(len(versions)))
    # A kill after the commit but before its answer leaves a whole, unacknowledged version.
    assert len(acknowledged) <= len(versions) - 1 <= len(acknowledged) + 15
    latest = {d.id for d in db.iter_datapoints(dataset.id)}
    assert {i for ids in acknowledged for i in ids} <= latest
    assert all(v.datapoint_count == 20 * v.number for v in versions)
    assert db.verify()
    db.close()


def _backends_of(store: PostgresEventStore) -> int:
    """How many server sessions the store has open, as the server counts them."""
    with psycopg.connect(store.url, autocommit=True) as admin:
        pids = [raw.info.backend_pid for raw in store._connections if not raw.closed]
        row = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)
        ).fetchone()
        assert row is not None
        return int(row[0])


def test_long_reads_stream_on_a_few_reused_connections(postgres_url: str, schema: str) -> None:
    """Streams take pooled connections of their own, give them back idle, and cap the pool."""
    store = PostgresEventStore(postgres_url, schema=schema)
    with DatasetLog(store) as db:
        dataset = db.create_dataset(project_id="p", name="streams")
        created = db.create_datapoint(dataset.id, [{"inputs": {"q": f"{i}"}} for i in range(9)])
        streams = [db.iter_datapoints(dataset.id, batch=2) for _ in range(KEEP_IDLE_STREAMS + 3)]
        assert all(next(stream) == created[0] for stream in streams)  # all open at once
        assert all(len(list(stream)) == 8 for stream in streams)
        assert store._streams.idle == KEEP_IDLE_STREAMS
        for _ in range(20):
            assert [d.id for d in db.iter_datapoints(dataset.id)] == [d.id for d in created]
        assert _backends_of(store) == 1 + KEEP_IDLE_STREAMS  # the thread's, and the pool


def test_a_stream_whose_connection_the_server_closed_reconnects(
    postgres_url: str, schema: str
) -> None:
    """Idle streaming connections terminated by the server are replaced, not used."""
    store = PostgresEventStore(postgres_url, schema=schema)
    with DatasetLog(store) as db:
        dataset = db.create_dataset(project_id="p", name="streams")
        created = db.create_datapoint(dataset.id, [{"inputs": {"q": "x"}}] * 5)
        assert len(list(db.iter_datapoints(dataset.id))) == 5
        [idle] = store._streams._idle
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            # Waits until the backend has exited: its goodbye has then reached the socket.
            admin.execute("SELECT pg_terminate_backend(%s, 10000)", (idle.info.backend_pid,))
        assert list(db.iter_datapoints(dataset.id)) == created


@pytest.mark.parametrize("as_bytes", [False, True])
def test_without_chunked_rows_streams_go_through_a_server_side_cursor(
    postgres_url: str, schema: str, monkeypatch: pytest.MonkeyPatch, as_bytes: bool
) -> None:
    """With a libpq older than 17 the same reads stream through a named cursor."""
    store = PostgresEventStore(postgres_url, schema=schema)
    with DatasetLog(store) as db:
        dataset = db.create_dataset(project_id="p", name="cursor")
        created = db.create_datapoint(dataset.id, [{"inputs": {"q": f"é{i}"}} for i in range(7)])
        chunked = list(db.iter_datapoints_json(dataset.id, batch=3))
        monkeypatch.setattr(postgres_streams, "CHUNKED_ROWS", False)
        assert list(db.iter_datapoints(dataset.id, batch=3)) == created
        assert list(db.iter_datapoints_json(dataset.id, batch=3)) == chunked
        dropped = db.iter_datapoints(dataset.id, batch=2)
        assert next(dropped) == created[0]
        dropped.close()
        assert len(list(db.iter_datapoints_v4(dataset.id))) == 7


def test_threads_share_one_stores_streams(postgres_url: str, schema: str) -> None:
    """Threads streaming through one store each get whole versions; idle streams stay capped."""
    store = PostgresEventStore(postgres_url, schema=schema)
    with DatasetLog(store) as db:
        dataset = db.create_dataset(project_id="p", name="threads")
        first = db.create_datapoint(dataset.id, [{"inputs": {"q": f"{i}"}} for i in range(50)])
        second = db.create_datapoint(dataset.id, [{"inputs": {"q": "more"}}] * 30)
        expected = {1: [d.id for d in first], 2: [d.id for d in first + second]}
        barrier = threading.Barrier(6)

        def read(worker: int) -> list[bool]:
            barrier.wait()
            results = []
            for round_ in range(10):
                version = 1 + (worker + round_) % 2
                ids = [d.id for d in db.iter_datapoints(dataset.id, version=version, batch=7)]
                results.append(ids == expected[version])
            return results

        with ThreadPoolExecutor(6) as pool:
            outcomes = [result for done in pool.map(read, range(6)) for result in done]
        assert outcomes == [True] * 60
        assert store._streams.idle <= KEEP_IDLE_STREAMS
