"""One DatasetLog object shared by threads, on every backend: writers and readers at once,
nothing lost or torn.

tests/test_concurrency.py gives each thread a DatasetLog of its own; here every
thread uses the same object (``db``: an in-memory store, an SQLite file and
PostgreSQL in turn), as a web service or a thread pool would.
"""

from __future__ import annotations

import os
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import orjson

from datasetlog import Dataset, DatasetLog

STRESS = os.environ.get("DATASETLOG_STRESS") == "1"
COMMITS = 100 if STRESS else 20  # per writer
READS = 200 if STRESS else 15  # per reader, at least

Ack = tuple[int, list[str]]  # a committed version number and the datapoint ids it added


def _write(db: DatasetLog, dataset_id: str, writer: int) -> list[Ack]:
    """Commit ``COMMITS`` versions of 1-8 datapoints, each stamped with its commit's size."""
    rng = random.Random(writer)
    acks = []
    for commit in range(COMMITS):
        size = rng.randint(1, 8)
        stamp = {"writer": str(writer), "commit": str(commit), "size": str(size)}
        version, added = db.commit_datapoints(dataset_id, [{"inputs": stamp}] * size)
        acks.append((version.number, [d.id for d in added]))
    return acks


def _check_whole(db: DatasetLog, dataset_id: str) -> None:
    """A version read while others commit holds whole commits only, read the same by every
    read path, however the reads interleave with the writes."""
    version = db.list_versions(dataset_id)[-1]
    streamed = db.iter_datapoints(dataset_id, version=version.number, batch=3)
    first = next(streamed, None)  # a stream left open while this thread and others go on
    assert db.get_version(dataset_id, version.id).datapoint_count == version.datapoint_count
    datapoints = [first, *streamed] if first is not None else []
    assert len(datapoints) == version.datapoint_count
    ids = [d.id for d in datapoints if d is not None]
    page = db.list_datapoints(dataset_id, version=version.number, size=1000)
    assert [d.id for d in page.records] == ids[:1000]
    as_json = orjson.loads(db.list_datapoints_json(dataset_id, version=version.number, size=1000))
    assert [d["id"] for d in as_json["records"]] == ids[:1000]
    lines = b"".join(db.iter_datapoints_json(dataset_id, version=version.number, lines=True))
    assert [orjson.loads(line)["id"] for line in lines.splitlines()] == ids
    sizes = Counter(
        (d.inputs["writer"], d.inputs["commit"], d.inputs["size"])
        for d in datapoints
        if d is not None and d.inputs is not None
    )
    assert all(count == int(size) for (_, _, size), count in sizes.items())
    if version.number:
        earlier = db.diff(dataset_id, version.number - 1, version.number)
        assert earlier.counts.removed == earlier.counts.changed == 0
        assert earlier.counts.added == version.datapoint_count - earlier.base.datapoint_count


def _check_history(db: DatasetLog, dataset_id: str, per_writer: list[list[Ack]]) -> None:
    """Versions run 0..n without a gap, each acknowledged once, each holding every datapoint
    acknowledged up to it, in commit order."""
    added = dict(ack for acks in per_writer for ack in acks)
    total = sum(len(acks) for acks in per_writer)
    assert sorted(added) == list(range(1, total + 1))
    expected: list[str] = []
    for version in db.list_versions(dataset_id):
        expected += added.get(version.number, [])
        assert [d["id"] for d in db.iter_datapoints_v4(dataset_id, version=version.number)] == (
            expected
        )


def test_one_object_shared_by_writer_and_reader_threads_loses_and_tears_nothing(
    db: DatasetLog, ds: Dataset
) -> None:
    """Four writer threads (two on one dataset, two on datasets of their own) and three
    reader threads share one DatasetLog: every read is a whole committed version, and no
    commit is lost, doubled or out of place."""
    own = [db.create_dataset(project_id="pr_1", name=f"own-{i}").id for i in range(2)]
    targets = [ds.id, ds.id, *own]
    done = threading.Event()

    def read(reader: int) -> int:
        rng = random.Random(100 + reader)
        seen = 0
        while not done.is_set() or seen < READS:
            seen += 1
            _check_whole(db, rng.choice([ds.id, *own]))
        return seen

    with ThreadPoolExecutor(len(targets) + 3) as pool:
        readers = [pool.submit(read, reader) for reader in range(3)]
        writers = [pool.submit(_write, db, target, w) for w, target in enumerate(targets)]
        try:
            acks = [future.result() for future in writers]
        finally:
            done.set()
        assert all(future.result() >= READS for future in readers)
    _check_history(db, ds.id, acks[:2])
    for target, writer_acks in zip(own, acks[2:], strict=True):
        _check_history(db, target, [writer_acks])
    assert db.verify()
