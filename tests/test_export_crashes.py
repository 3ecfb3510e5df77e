"""Ctrl-C or SIGKILL at any moment of an export leaves the old export and lock, or the new
pair, and the next export to that path leaves nothing else behind.

A child process exports a dataset with its lock to one path in a loop, versions 1 and 2 in
turn, and says when each export is done; the parent interrupts it at a random moment,
then checks the folder and the lock, then exports once more. SIGINT must never split the
pair (the export and lock temporaries are removed, and the renames hold Ctrl-C off).
SIGKILL can land between the two renames: then the new export stands beside the old lock
and the new lock's temporary, and check_lock says so plainly. By default 8 children are
interrupted per signal and backend; ``DATASETLOG_STRESS=1`` interrupts 50.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from datasetlog import DatasetLog
from datasetlog.transfer import check_lock, export_dataset, lock_path

ROUNDS = 50 if os.environ.get("DATASETLOG_STRESS") == "1" else 8
PARTIAL = ".datasetlog-partial"

CHILD = """
import signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started ignoring it
from datasetlog import DatasetLog
from datasetlog.transfer import export_dataset

location, dataset, dest = sys.argv[1:4]
with DatasetLog(location) as db:
    for turn in range(10**9):
        export_dataset(db, dataset, dest, version=1 + turn % 2, lock=True)
        print("done", flush=True)
"""


def _fill(location: str) -> str:
    """A dataset whose versions 1 and 2 take a while to export and differ."""
    with DatasetLog(location) as db:
        dataset = db.create_dataset(project_id="pr", name="qa").id
        db.create_datapoint(
            dataset, [{"inputs": {"q": f"{n}", "pad": "p" * 200}} for n in range(3000)]
        )
        db.create_datapoint(dataset, {"inputs": {"q": "last"}})
    return dataset


def _interrupt(location: str, dataset: str, dest: Path, number: signal.Signals, seed: int) -> None:
    """Run an exporting child; send it ``number`` at a random moment after its first export."""
    rng = random.Random(seed)
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, location, dataset, str(dest)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as child:
        assert child.stdout is not None
        for _ in range(rng.randint(1, 3)):
            assert child.stdout.readline() == "done\n"
        time.sleep(rng.random() / 20)  # a random moment of the next export
        child.send_signal(number)
        child.communicate(timeout=120)
    assert child.returncode != 0


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(PARTIAL))


@pytest.mark.slow
@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name)
def test_an_interrupted_export_leaves_a_whole_pair_and_no_debris(
    location: str, tmp_path: Path, number: signal.Signals
) -> None:
    """After each interruption the export and lock in place belong together (or, after a
    SIGKILL between the renames, check_lock says the lock is stale); the next export leaves
    only the export and its lock."""
    dataset = _fill(location)
    folder = tmp_path / "out"
    folder.mkdir()
    dest = folder / "qa.jsonl"
    with DatasetLog(location) as db:
        for seed in range(ROUNDS):
            _interrupt(location, dataset, dest, number, seed)
            checked = check_lock(lock_path(dest))
            if number == signal.SIGINT:
                assert checked.ok, (seed, checked.problems)
                assert _temporaries(folder) == [], seed
            elif not checked.ok:
                assert any("export again" in p for p in checked.problems), checked.problems
                assert _temporaries(folder), seed
            export_dataset(db, dataset, dest, version=1 + seed % 2, lock=True)
            assert sorted(p.name for p in folder.iterdir()) == ["qa.jsonl", "qa.jsonl.lock.json"]
            assert check_lock(lock_path(dest), db).ok
