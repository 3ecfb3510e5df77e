"""Concurrent writers and readers on one store, each with its own DatasetLog, on every backend.

By default the counts are small so this file runs in well under a minute:
8 threads and 4 spawned processes each commit 50 versions. Set
``DATASETLOG_STRESS=1`` for 250 versions per writer and longer reader runs.

Every writer stamps its commits with a shared logical clock. The facade reads
the clock inside the write transaction, so the times, read in position order,
must rise exactly when positions follow commit order.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import random
import sqlite3
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

import attrs
import pytest

from datasetlog import ConflictError, DatasetLog
from datasetlog.store import SQLiteEventStore, StreamConflictError
from datasetlog.store._sql import CommitTables

STRESS = os.environ.get("DATASETLOG_STRESS") == "1"
COMMITS = 250 if STRESS else 50
READS = 400 if STRESS else 40
EPOCH = datetime(2030, 1, 1, tzinfo=UTC)

Ack = tuple[int, list[str]]  # a committed version number and the datapoint ids it added


class SharedClock:
    """A logical clock for threads: each call is one microsecond after the last."""

    def __init__(self) -> None:
        self._ticks = itertools.count(1)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return EPOCH + timedelta(microseconds=next(self._ticks))


_process_ticks: Synchronized[int] | None = None


def _init_process(ticks: Synchronized[int]) -> None:
    global _process_ticks
    _process_ticks = ticks


def _process_clock() -> datetime:
    """A logical clock shared by the processes of a pool, through shared memory."""
    assert _process_ticks is not None
    with _process_ticks.get_lock():
        _process_ticks.value += 1
        return EPOCH + timedelta(microseconds=_process_ticks.value)


def _write(
    path: str, dataset_id: str, writer: int, commits: int, clock: Callable[[], datetime]
) -> list[Ack]:
    """Commit ``commits`` versions of 1-5 datapoints each; return what was acknowledged."""
    rng = random.Random(writer)
    acks = []
    with DatasetLog(path, clock=clock) as db:
        for commit in range(commits):
            size = rng.randint(1, 5)
            body = [
                {"inputs": {"writer": str(writer), "commit": str(commit), "size": str(size)}}
                for _ in range(size)
            ]
            version, added = db.commit_datapoints(dataset_id, body)
            acks.append((version.number, [d.id for d in added]))
    return acks


def _write_in_process(path: str, dataset_id: str, writer: int, commits: int) -> list[Ack]:
    return _write(path, dataset_id, writer, commits, _process_clock)


def _new_dataset(path: str, name: str = "shared") -> str:
    with DatasetLog(path) as db:
        return db.create_dataset(project_id="pr", name=name).id


def _ids(db: DatasetLog, dataset_id: str, version: int) -> list[str]:
    return [d["id"] for d in db.iter_datapoints_v4(dataset_id, version=version)]


def _check_history(path: str, dataset_id: str, per_writer: list[list[Ack]]) -> None:
    """Versions are gapless, each acknowledged once, and hold every earlier acknowledged id."""
    for acks in per_writer:
        assert [n for n, _ in acks] == sorted({n for n, _ in acks})
    added = dict(ack for acks in per_writer for ack in acks)
    total = sum(len(acks) for acks in per_writer)
    assert sorted(added) == list(range(1, total + 1))
    with DatasetLog(path) as db:
        versions = db.list_versions(dataset_id)
        assert [v.number for v in versions] == list(range(total + 1))
        expected: list[str] = []
        for version in versions:
            expected += added.get(version.number, [])
            assert version.datapoint_count == len(expected)
            assert _ids(db, dataset_id, version.number) == expected
        assert db.verify()


def _check_commit_order(path: str) -> None:
    """Positions are 1..n and rise in commit order: the logical times rise with them."""
    with DatasetLog(path) as db, db.store.reading() as conn:
        rows = conn.execute(
            "SELECT position, recorded_at FROM dl_commits WHERE recorded_at >= ? ORDER BY position",
            (EPOCH.isoformat(),),
        ).fetchall()
        count = conn.execute("SELECT count(*), max(position) FROM dl_commits").fetchone()
    assert count[0] == count[1]
    times = [datetime.fromisoformat(recorded_at) for _, recorded_at in rows]
    assert times == sorted(set(times))


def test_threads_committing_to_one_dataset_lose_nothing(location: str) -> None:
    """8 threads, each with its own DatasetLog, commit to one dataset: no gap, no loss."""
    path = location
    dataset_id = _new_dataset(path)
    clock = SharedClock()
    with ThreadPoolExecutor(8) as pool:
        futures = [
            pool.submit(_write, path, dataset_id, writer, COMMITS, clock) for writer in range(8)
        ]
        per_writer = [future.result() for future in futures]
    _check_history(path, dataset_id, per_writer)
    _check_commit_order(path)


def test_processes_committing_to_one_dataset_lose_nothing(location: str) -> None:
    """4 spawned processes, each with its own DatasetLog, commit to one dataset: no gap, no loss."""
    path = location
    dataset_id = _new_dataset(path)
    context = multiprocessing.get_context("spawn")
    ticks = context.Value("q", 0)
    with context.Pool(4, initializer=_init_process, initargs=(ticks,)) as pool:
        per_writer = pool.starmap(
            _write_in_process, [(path, dataset_id, writer, COMMITS) for writer in range(4)]
        )
    _check_history(path, dataset_id, per_writer)
    _check_commit_order(path)


def _check_whole_commits(db: DatasetLog, dataset_id: str) -> int:
    """Read the latest version a reader can see; assert it holds only whole commits."""
    version = db.list_versions(dataset_id)[-1]
    datapoints = list(db.iter_datapoints(dataset_id, version=version.number))
    assert len(datapoints) == version.datapoint_count
    assert db.get_version(dataset_id, version.id).datapoint_count == version.datapoint_count
    page = db.list_datapoints(dataset_id, version=version.number, size=1000)
    assert page.total == version.datapoint_count
    assert len(page.records) == min(1000, version.datapoint_count)
    commits = Counter(
        (d.inputs["writer"], d.inputs["commit"], d.inputs["size"])
        for d in datapoints
        if d.inputs is not None
    )
    assert all(count == int(size) for (_, _, size), count in commits.items())
    return version.number


def test_readers_never_see_half_a_commit(location: str) -> None:
    """While writers commit to shared and own datasets, readers only ever see whole commits."""
    path = location
    shared = _new_dataset(path)
    own = [_new_dataset(path, f"own-{i}") for i in range(2)]
    targets = [shared, shared, *own]
    done = threading.Event()
    clock = SharedClock()

    def read(reader: int) -> int:
        rng = random.Random(reader)
        seen = 0
        with DatasetLog(path) as db:
            while not done.is_set() or seen < READS:
                seen += 1
                _check_whole_commits(db, rng.choice([shared, *own]))
        return seen

    with ThreadPoolExecutor(7) as pool:
        readers = [pool.submit(read, reader) for reader in range(3)]
        writers = [
            pool.submit(_write, path, target, writer, COMMITS, clock)
            for writer, target in enumerate(targets)
        ]
        acks = [future.result() for future in writers]
        done.set()
        assert all(future.result() >= READS for future in readers)
    _check_history(path, shared, acks[:2])
    for target, writer_acks in zip(own, acks[2:], strict=True):
        _check_history(path, target, [writer_acks])
    _check_commit_order(path)


@attrs.define
class LostRaces:
    """How many of the next appends lose a race, and how many appends were tried."""

    to_lose: int = 0
    tried: int = 0


@pytest.fixture
def lost_races(monkeypatch: pytest.MonkeyPatch) -> LostRaces:
    """Make the store's next ``to_lose`` commits raise StreamConflictError, as a lost race."""
    races = LostRaces()
    open_commit = CommitTables.open_commit

    def flaky(self: CommitTables, conn: Any, commit: Any) -> Any:
        races.tried += 1
        if races.to_lose > 0:
            races.to_lose -= 1
            raise StreamConflictError("forced: another writer committed first")
        return open_commit(self, conn, commit)

    monkeypatch.setattr(CommitTables, "open_commit", flaky)
    return races


def _event_count(db: DatasetLog) -> int:
    with db.store.reading() as conn:
        return int(conn.execute("SELECT count(*) FROM dl_events").fetchone()[0])


def test_lost_race_without_retries_is_a_conflict_and_writes_nothing(
    location: str, lost_races: LostRaces
) -> None:
    """With max_retries=0, a lost race raises ConflictError and commits nothing."""
    with DatasetLog(location, max_retries=0) as db:
        dataset = db.create_dataset(project_id="pr", name="n")
        events = _event_count(db)
        lost_races.to_lose = 1
        with pytest.raises(ConflictError, match="retrying is safe"):
            db.create_datapoint(dataset.id, [{}, {}])
        assert _event_count(db) == events
        assert [v.number for v in db.list_versions(dataset.id)] == [0]
        assert db.verify()


def test_lost_races_within_the_retries_commit_once(location: str, lost_races: LostRaces) -> None:
    """With retries, lost races are retried and the datapoints are committed exactly once."""
    with DatasetLog(location, max_retries=2) as db:
        dataset = db.create_dataset(project_id="pr", name="n")
        lost_races.to_lose, lost_races.tried = 2, 0
        added = db.create_datapoint(dataset.id, [{}, {}])
        assert lost_races.tried == 3
        assert [v.number for v in db.list_versions(dataset.id)] == [0, 1]
        assert [d.id for d in db.iter_datapoints(dataset.id)] == [d.id for d in added]
        assert db.verify()


def test_writer_locked_out_beyond_its_timeout_gets_a_conflict(tmp_path: Path) -> None:
    """A writer that cannot take the write lock within busy_timeout gets ConflictError."""
    path = str(tmp_path / "store.db")
    dataset_id = _new_dataset(path)
    store = SQLiteEventStore(path, busy_timeout=0.05)
    with DatasetLog(store, max_retries=1) as db:
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(ConflictError):
                db.create_datapoint(dataset_id, {})
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert db.get_dataset(dataset_id).datapoint_count == 0
        db.create_datapoint(dataset_id, {})
        assert db.verify()


def test_postgres_writer_locked_out_beyond_its_timeout_gets_a_conflict(postgres_url: str) -> None:
    """On PostgreSQL, a writer kept from the append lock past lock_timeout gets ConflictError."""
    import psycopg

    from datasetlog.store.postgres import PostgresEventStore

    schema = f"t_{uuid.uuid4().hex[:12]}"
    store = PostgresEventStore(postgres_url, schema=schema, lock_timeout=0.05)
    with DatasetLog(store, max_retries=1) as db:
        dataset_id = db.create_dataset(project_id="pr", name="n").id
        with psycopg.connect(postgres_url) as blocker:
            blocker.execute(f"LOCK TABLE {schema}.dl_commits IN EXCLUSIVE MODE")
            with pytest.raises(ConflictError):
                db.create_datapoint(dataset_id, {})
            blocker.rollback()
        assert db.get_dataset(dataset_id).datapoint_count == 0
        db.create_datapoint(dataset_id, {})
        assert db.verify()
