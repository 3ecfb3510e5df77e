"""verify() costs what the store holds: forks, restores and big commits stay bounded.

Memory is measured in a fresh interpreter (tracemalloc's peak during the
call), and work as a count of function calls, never as time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from datasetlog import DatasetLog, verify

ROOT = Path(__file__).resolve().parent.parent
PEAK_SCRIPT = """
import json, sys, tracemalloc
from datasetlog import DatasetLog
with DatasetLog(sys.argv[1]) as db:
    tracemalloc.start()
    report = db.verify()
    peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"ok": bool(report), "commits": report.commits, "peak": peak}))
"""
MB = 1 << 20


def verify_peak(location: str) -> dict[str, Any]:
    """verify() of a store in a fresh interpreter: its report's gist and tracemalloc's peak."""
    done = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, location],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _bodies(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"inputs": {"q": f"question {i} " * 8}, "target": {"answer": f"answer {i} " * 8}}
        for i in range(start, start + count)
    ]


@pytest.fixture
def source(location: str) -> tuple[str, str]:
    """A store holding one dataset of 2,000 datapoints: where it is, and the dataset."""
    with DatasetLog(location) as db:
        dataset = db.create_dataset(project_id="pr", name="source").id
        db.create_datapoint(dataset, _bodies(2000))
    return location, dataset


def test_forks_add_next_to_nothing_to_verify_memory(source: tuple[str, str]) -> None:
    """100 forks of a 2,000-datapoint dataset raise verify's peak by under 2 MB (a fork
    costs what it stores; it used to be a copy of its source's datapoints, 100 times)."""
    location, dataset = source
    alone = verify_peak(location)
    with DatasetLog(location) as db:
        for i in range(100):
            db.fork(dataset, name=f"fork-{i}")
    forked = verify_peak(location)
    assert alone["ok"]
    assert forked["ok"]
    assert forked["commits"] == alone["commits"] + 100
    assert forked["peak"] - alone["peak"] < 2 * MB, (alone, forked)


def _one_commit_of(location: str, count: int) -> None:
    with DatasetLog(location) as db:
        dataset = db.create_dataset(project_id="pr", name=f"big-{count}").id
        batches = (_bodies(1000, start) for start in range(0, count, 1000))
        db.commit_datapoint_stream(dataset, batches, count=count)


def test_one_big_commit_is_verified_in_parts(location: str) -> None:
    """A commit of 40,000 datapoints added to a store holding one of 10,000 raises verify's
    Python memory peak by under 1 MB (under 6 MB in all): a commit's events are read,
    decoded, folded and replayed a batch at a time, and the fold keeps 8 bytes a
    datapoint in memory (the ids are on disk)."""
    _one_commit_of(location, 10_000)
    small = verify_peak(location)
    _one_commit_of(location, 40_000)
    large = verify_peak(location)
    assert small["ok"]
    assert large["ok"]
    assert large["peak"] - small["peak"] < 1 * MB, (small, large)
    assert large["peak"] < 6 * MB, large


def _calls_to_verify_a_restore(db: DatasetLog, restored: int) -> int:
    """The Python function calls verify() makes on a store whose last commit restores
    ``restored`` datapoints deleted in the version before."""
    dataset = db.create_dataset(project_id="pr", name=f"restore-{restored}").id
    added = db.create_datapoint(dataset, _bodies(restored))
    db.delete_datapoints([d.id for d in added])
    db.restore(dataset, 1)
    calls = 0

    def count(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        if event == "call":
            calls += 1

    sys.setprofile(count)
    try:
        report = verify(db.store)
    finally:
        sys.setprofile(None)
    assert report, str(report)
    return calls


def test_verify_work_grows_linearly_with_a_restore() -> None:
    """Restoring 4 times as many datapoints makes verify() do about 4 times the work,
    not 16 (every restored datapoint used to re-sort the whole dataset)."""
    with DatasetLog(":memory:") as small, DatasetLog(":memory:") as large:
        few = _calls_to_verify_a_restore(small, 150)
        many = _calls_to_verify_a_restore(large, 600)
    assert many < 6 * few, (few, many)


def test_verify_reads_forks_from_its_snapshot_only(
    source: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forks are folded from the one snapshot verify reads, never from other reads of the
    store (which could see later commits, and cost a round trip per fork on PostgreSQL)."""
    location, dataset = source
    with DatasetLog(location) as db:
        fork = db.fork(dataset, name="fork").id
        db.fork(fork, name="fork of a fork")

        def elsewhere(*args: object, **kwargs: object) -> Iterator[object]:
            raise AssertionError("verify read a stream outside its snapshot")

        monkeypatch.setattr(type(db.store), "read_stream", elsewhere)
        assert verify(db.store)
