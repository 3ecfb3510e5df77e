"""Smoke test of the benchmark suite: every script runs with ``--quick`` and prints its tables.

Only the eventsourcing comparison may be skipped (when the optional
``eventsourcing`` package is missing); the script must still exit 0.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HAVE_EVENTSOURCING = importlib.util.find_spec("eventsourcing") is not None
TABLE_HEADER = "| target | N |"
SCRIPTS = [
    ("reads", ("P1", "P2", "P3", "P8")),
    ("pages", ("P4",)),
    ("writes", ("P5", "P6", "P7")),
    ("large", ("P1", "P2", "P8")),
    ("baseline_eventsourcing", ("P9",)),
]


def run_quick(script: str, *extra: str) -> str:
    """Run ``python -m benchmarks.<script> --quick`` from the repository root; return stdout."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", f"benchmarks.{script}", "--quick", *extra],
            cwd=ROOT,
            check=True,
            timeout=120,
            capture_output=True,
            text=True,
        )
    except subprocess.CalledProcessError as error:
        pytest.fail(f"{script} exited {error.returncode}:\n{error.stdout}\n{error.stderr}")
    assert done.returncode == 0
    return done.stdout


@pytest.mark.parametrize(("script", "targets"), SCRIPTS)
def test_script_runs_quick_and_prints_its_tables(script: str, targets: tuple[str, ...]) -> None:
    out = run_quick(script)
    if script == "baseline_eventsourcing" and not HAVE_EVENTSOURCING:
        assert "skipped" in out
        return
    assert TABLE_HEADER in out
    assert "durability=normal" in out
    for target in targets:
        assert f"### {target} " in out
        assert f"| {target} |" in out
    assert "| PASS |" in out or "| MISS |" in out


def test_run_all_runs_the_chosen_scripts() -> None:
    out = run_quick("run_all", "--only", "pages")
    assert "### P4 " in out
    assert TABLE_HEADER in out
    assert "benchmarks.pages: ok" in out
