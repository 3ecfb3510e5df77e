"""The datasetlog command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from datasetlog import DatasetLog


def test_demo_commits_versions_and_rebuilds_an_early_one(tmp_path: Path) -> None:
    """`python -m datasetlog demo` writes six versions and prints the log and verification."""
    path = tmp_path / "demo.db"
    result = subprocess.run(
        [sys.executable, "-m", "datasetlog", "demo", "--db", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Add 2 datapoints from logs" in result.stdout
    assert "version 2 (rebuilt)" in result.stdout
    assert "diff first-batch (v2) -> prod (v5): 2 added, 2 removed, 1 changed" in result.stdout
    assert "target.checked: ABSENT -> True" in result.stdout
    assert "verify: ok" in result.stdout
    with DatasetLog(path) as db:
        [dataset] = db.list_datasets("pr_demo")
        counts = [v.datapoint_count for v in db.list_versions(dataset.id)]
    assert counts == [0, 1, 4, 6, 6, 4]


def test_demo_can_run_twice_on_one_file(tmp_path: Path) -> None:
    """A second demo run on the same file adds a second dataset beside the first."""
    path = tmp_path / "demo.db"
    for _ in range(2):
        subprocess.run(
            [sys.executable, "-m", "datasetlog", "demo", "--db", str(path)],
            capture_output=True,
            check=True,
        )
    with DatasetLog(path) as db:
        assert len(db.list_datasets("pr_demo")) == 2


def test_help_lists_the_demo_command() -> None:
    """`--help` documents the demo command."""
    result = subprocess.run(
        [sys.executable, "-m", "datasetlog", "--help"], capture_output=True, text=True, check=True
    )
    assert "demo" in result.stdout
