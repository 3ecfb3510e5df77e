"""What a run prints first: the script's heading and the environment line."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import shutil
import sqlite3
import subprocess
from pathlib import Path

import orjson

from benchmarks._config import DURABILITY, REPO_ROOT


def _memory_gib() -> str:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / (1 << 20):.1f} GiB"
    return "?"


def git(*args: str, cwd: Path = REPO_ROOT) -> str | None:
    """A git command's output, or None when git is missing or the command fails."""
    program = shutil.which("git")
    if program is None:
        return None
    done = subprocess.run(
        [program, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=300
    )
    return done.stdout.strip() if done.returncode == 0 else None


def code_revision() -> str:
    """The git commit of the code measured, marked ``+dirty`` if datasetlog/ has changes.

    ``DATASETLOG_BENCH_REVISION`` overrides it, for runs from an exported tree.
    """
    override = os.environ.get("DATASETLOG_BENCH_REVISION")
    if override:
        return override
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "datasetlog")
    return head + ("+dirty" if dirty else "")


def environment() -> str:
    """One line: date, machine, versions, the code revision and the durability setting."""
    now = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return (
        f"{now} | {platform.machine()} nproc={os.cpu_count()} mem={_memory_gib()} | "
        f"Python {platform.python_version()} | SQLite {sqlite3.sqlite_version} | "
        f"orjson {orjson.__version__} | datasetlog @ {code_revision()} | "
        f"durability={DURABILITY}"
    )


def print_header(script: str, settings: str, backends: str | None = None) -> None:
    """The script's heading, the environment line and, if given, the backends line."""
    lines = [f"## benchmarks.{script}: {settings}", "", environment()]
    if backends:
        lines.extend(["", backends])
    print("\n".join(lines) + "\n", flush=True)
