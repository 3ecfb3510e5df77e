"""Smoke test of the benchmark suite: every script runs with ``--quick`` and prints its tables.

Only the eventsourcing comparison may be skipped (when the optional
``eventsourcing`` package is missing); the script must still exit 0.

Every script runs on both backends when a PostgreSQL server can be had (one
server for the whole module, handed to the scripts with ``--postgres-url``),
and on SQLite alone otherwise, silently, unless ``DATASETLOG_REQUIRE_POSTGRES=1``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from benchmarks._tables import fmt_speedup
from benchmarks.checkouts import CALLS
from datasetlog.testing import PostgresUnavailableError, postgres_server

ROOT = Path(__file__).resolve().parent.parent
HAVE_EVENTSOURCING = importlib.util.find_spec("eventsourcing") is not None
TABLE_HEADER = "| target | N |"
SCRIPTS = [
    ("reads", ("P1", "P2", "P3", "P8")),
    ("pages", ("P4",)),
    ("writes", ("P5", "P6", "P7")),
    ("large", ("P1", "P2", "P8")),
    ("history", ("H1", "H2", "H3", "H4", "H5")),
    ("upserts", ("U1", "U2", "U1 bytes")),
    ("forks", ("F1", "F2", "F3")),
    ("transfer", ("T1", "T2", "T3", "T4")),
    ("verify", ("V1", "V2", "V3")),
    ("baseline_eventsourcing", ("P9",)),
]
SQLITE_ONLY = {"baseline_eventsourcing"}


@pytest.fixture(scope="module")
def backend_options() -> Iterator[list[str]]:
    """``--backend both --postgres-url URL`` with a server for the module, else SQLite only."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(postgres_server())
        except PostgresUnavailableError as error:
            if os.environ.get("DATASETLOG_REQUIRE_POSTGRES") == "1":
                pytest.fail(f"PostgreSQL is required here: {error}")
            yield ["--backend", "sqlite"]
            return
        yield ["--backend", "both", "--postgres-url", url]


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


def _row_prefix(target: str, out: str, backend: str) -> bool:
    """Whether a row of ``target`` on ``backend`` was printed."""
    return any(_is_row(target, line) and f" | {backend} | " in line for line in out.splitlines())


def _is_row(target: str, line: str) -> bool:
    """Whether a table line is a row of ``target`` (``| P2 |`` or ``| P2 bytes |``)."""
    return line.startswith((f"| {target} |", f"| {target} ")) and line.count("|") > 2


@pytest.mark.parametrize(("script", "targets"), SCRIPTS)
def test_script_runs_quick_and_prints_its_tables(
    script: str, targets: tuple[str, ...], backend_options: list[str]
) -> None:
    out = run_quick(script, *backend_options)
    if script == "baseline_eventsourcing" and not HAVE_EVENTSOURCING:
        assert "skipped" in out
        return
    assert TABLE_HEADER in out
    assert "durability=normal" in out
    postgres = "both" in backend_options and script not in SQLITE_ONLY
    for target in targets:
        assert f"### {target} " in out
        assert any(_is_row(target, line) for line in out.splitlines()), target
        if script not in SQLITE_ONLY:
            assert _row_prefix(target, out, "sqlite"), target
        if postgres:
            assert _row_prefix(target, out, "postgres"), target
    assert "| not judged |" in out  # quick sizes prove nothing, and the tables say so
    assert "| PASS |" not in out
    assert "| MISS |" not in out
    assert "far too small to judge any target" in out
    if postgres:
        assert "PostgreSQL" in out
        assert "fsync=" in out


def test_run_all_runs_the_chosen_scripts(backend_options: list[str]) -> None:
    out = run_quick("run_all", "--only", "pages", *backend_options)
    assert "### P4 " in out
    assert "Quick run: the sizes are far too small to judge any target" in out
    assert TABLE_HEADER in out
    assert "benchmarks.pages: ok" in out
    if "both" in backend_options:
        assert _row_prefix("P4", out, "postgres")


def test_backend_sqlite_measures_sqlite_only() -> None:
    """``--backend sqlite`` starts no server and prints no PostgreSQL rows."""
    out = run_quick("pages", "--backend", "sqlite")
    assert _row_prefix("P4", out, "sqlite")
    assert not _row_prefix("P4", out, "postgres")
    assert "PostgreSQL not measured (--backend sqlite)" in out


@pytest.mark.parametrize(
    ("times", "said"), [(2.5, "2.50x faster"), (1.0, "1.00x faster"), (0.8, "1.25x slower")]
)
def test_speedups_below_one_read_as_slower(times: float, said: str) -> None:
    """A ratio below 1 is written as slower, never as "0.83x faster"."""
    assert fmt_speedup(times) == said


def test_checkouts_times_every_call_on_both_checkouts() -> None:
    """``benchmarks.checkouts`` runs each checkout in its own processes and tables every call."""
    out = run_quick("checkouts", str(ROOT), str(ROOT))
    rows = [line for line in out.splitlines() if line.startswith("| ") and "| 300 |" in line]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows] == [t for _, t in CALLS]
    assert all(row.endswith("| - | not judged |") for row in rows)
    assert "far too small to judge any target" in out


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        ("tests", "tests: no datasetlog package in this folder"),
        ("no-such-revision", "no-such-revision: neither a checkout folder nor a git revision"),
    ],
)
def test_checkouts_refuses_what_is_no_checkout(spec: str, said: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.checkouts", str(ROOT), spec, "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr == f"error: {said}\n"
