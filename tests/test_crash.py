"""Crashes and failures mid-commit: acknowledged commits survive whole, nothing else half-exists.

A child process appends in a loop and prints each acknowledged commit as a JSON
line once ``commit_datapoints`` returned; the parent SIGKILLs it at random
moments and checks the file after each kill. By default 40 children are killed
(well under a minute); ``DATASETLOG_STRESS=1`` kills 300.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import attrs
import pytest

from datasetlog import DatasetLog, StoreError
from datasetlog.readmodels.apply import CommitApplication
from datasetlog.store._sql import OpenedCommit

STRESS = os.environ.get("DATASETLOG_STRESS") == "1"
KILLS = 300 if STRESS else 40

CHILD = """
import json, random, sys
from datasetlog import DatasetLog

path, dataset_id, seed, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
with DatasetLog(path) as db:
    print(json.dumps({"ready": True}), flush=True)
    for commit in range(limit):
        inputs = {"seed": str(seed), "commit": str(commit)}
        body = [
            {"inputs": inputs, "target": {"pad": "x" * rng.randint(0, 4000)}}
            for _ in range(rng.randint(1, 5))
        ]
        version, added = db.commit_datapoints(dataset_id, body)
        print(json.dumps({"version": version.number, "ids": [d.id for d in added]}), flush=True)
"""


@attrs.frozen
class Run:
    """What one child acknowledged before it ended."""

    acks: dict[int, list[str]]
    returncode: int


def _run_child(
    path: Path, dataset_id: str, seed: int, *, kill_after: int | None, errors: Path
) -> Run:
    """Run a writer child; SIGKILL it after ``kill_after`` acknowledgements (None: let it end)."""
    rng = random.Random(seed)
    limit = 10**9 if kill_after is not None else 3
    with errors.open("w") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), dataset_id, str(seed), str(limit)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    assert child.stdout is not None
    with child:
        lines: list[str] = []
        if kill_after is not None:
            # Now and then kill it while it starts and opens the store, else after acks.
            wanted = kill_after + 1 if rng.random() < 0.9 else 0
            while len(lines) < wanted and (line := child.stdout.readline()):
                lines.append(line)
            time.sleep(rng.choice([0, 0, rng.random() / 500]))  # a random moment mid-commit
            child.send_signal(signal.SIGKILL)
        lines += child.stdout.readlines()  # what it acknowledged before the kill landed
    if kill_after is None or child.returncode != -signal.SIGKILL:
        assert child.returncode == 0, errors.read_text()
    acks = {}
    for line in lines:
        if line.endswith("\n") and "version" in (data := json.loads(line)):
            acks[data["version"]] = data["ids"]
    return Run(acks, child.returncode)


def _check_after_crash(path: Path, dataset_id: str, checked: int, run: Run) -> int:
    """Check the file after a child ended; return the latest version, now checked."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()
    with DatasetLog(path) as db:
        versions = db.list_versions(dataset_id)
        latest = versions[-1].number
        assert [v.number for v in versions] == list(range(latest + 1))
        acked = sorted(run.acks)
        assert acked == list(range(checked + 1, checked + 1 + len(acked)))
        assert latest - checked - len(acked) in (0, 1), "more than one unacknowledged commit"
        ids = [d["id"] for d in db.iter_datapoints_v4(dataset_id)]
        for version in versions[checked:]:
            held = [d.id for d in db.iter_datapoints(dataset_id, version=version.number)]
            assert held == ids[: version.datapoint_count]
            if version.number in run.acks:
                before = versions[version.number - 1].datapoint_count
                assert held[before:] == run.acks[version.number]
        report = db.verify()
        assert report, str(report)
    return latest


def test_sigkilled_writers_leave_only_whole_commits(tmp_path: Path) -> None:
    """After each SIGKILL the file is intact, acknowledged commits are whole, at most one more."""
    path, errors = tmp_path / "store.db", tmp_path / "stderr.txt"
    with DatasetLog(path) as db:
        dataset_id = db.create_dataset(project_id="pr", name="crash").id
    rng = random.Random(20260101)
    checked = 0
    kills = 0
    for seed in range(KILLS):
        run = _run_child(path, dataset_id, seed, kill_after=rng.randint(0, 6), errors=errors)
        kills += run.returncode == -signal.SIGKILL
        checked = _check_after_crash(path, dataset_id, checked, run)
    final = _run_child(path, dataset_id, KILLS, kill_after=None, errors=errors)
    assert sorted(final.acks) == [checked + 1, checked + 2, checked + 3]
    _check_after_crash(path, dataset_id, checked, final)
    assert kills >= KILLS * 3 // 4


def _counts(db: DatasetLog) -> tuple[int, int, int]:
    with db.store.reading() as conn:
        events = conn.execute("SELECT count(*) FROM dl_events").fetchone()[0]
        commits = conn.execute("SELECT count(*) FROM dl_commits").fetchone()[0]
        rows = conn.execute("SELECT count(*) FROM dl_rows").fetchone()[0]
    return int(events), int(commits), int(rows)


@pytest.fixture
def two_datasets(tmp_path: Path) -> tuple[DatasetLog, list[str], list[str]]:
    """A file store with two datasets of two datapoints each."""
    db = DatasetLog(tmp_path / "store.db")
    first = db.create_dataset(project_id="pr", name="one").id
    second = db.create_dataset(project_id="pr", name="two").id
    ids = [d.id for d in db.create_datapoint(first, [{}, {}])]
    ids += [d.id for d in db.create_datapoint(second, [{}, {}])]
    return db, [first, second], ids


def test_read_model_failure_after_append_commits_nothing(
    two_datasets: tuple[DatasetLog, list[str], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read model that fails after the events were appended rolls the whole commit back."""
    db, datasets, _ = two_datasets
    before = (_counts(db), db.list_versions(datasets[0]))
    finish = CommitApplication.finish

    def finish_then_fail(self: CommitApplication, position: int) -> Any:
        finish(self, position)
        raise RuntimeError("read model failed")

    monkeypatch.setattr(CommitApplication, "finish", finish_then_fail)
    with pytest.raises(RuntimeError, match="read model failed"):
        db.create_datapoint(datasets[0], [{}, {"inputs": {"a": "b"}}])
    monkeypatch.undo()
    assert (_counts(db), db.list_versions(datasets[0])) == before
    assert db.verify()
    db.create_datapoint(datasets[0], {})
    assert db.verify()
    db.close()


def test_failure_on_the_second_dataset_of_a_delete_commits_neither(
    two_datasets: tuple[DatasetLog, list[str], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delete spanning two datasets that fails on the second commits nothing to the first."""
    db, datasets, ids = two_datasets
    before = (_counts(db), [db.list_versions(d) for d in datasets])
    finish = CommitApplication.finish
    calls: list[int] = []

    def fail_second(self: CommitApplication, position: int) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("second read model update failed")
        return finish(self, position)

    monkeypatch.setattr(CommitApplication, "finish", fail_second)
    with pytest.raises(RuntimeError, match="second"):
        db.delete_datapoints([ids[0], ids[2]])
    monkeypatch.undo()
    assert (_counts(db), [db.list_versions(d) for d in datasets]) == before
    assert [db.get_dataset(d).datapoint_count for d in datasets] == [2, 2]
    assert db.verify()
    db.close()


def test_driver_failure_mid_append_is_a_store_error_and_commits_nothing(
    two_datasets: tuple[DatasetLog, list[str], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An SQLite error after the events were inserted is a StoreError, and nothing is kept."""
    db, datasets, _ = two_datasets
    before = (_counts(db), db.list_versions(datasets[1]))
    close = OpenedCommit.close

    def close_then_fail(self: OpenedCommit) -> Any:
        close(self)
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(OpenedCommit, "close", close_then_fail)
    with pytest.raises(StoreError, match="disk I/O error"):
        db.create_datapoint(datasets[1], {})
    monkeypatch.undo()
    assert (_counts(db), db.list_versions(datasets[1])) == before
    assert db.verify()
    db.close()
