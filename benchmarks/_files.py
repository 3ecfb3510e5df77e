"""Files of a run: its temporary folder, and SQLite files checkpointed and sized."""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    """A temporary directory for one script run, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="datasetlog-bench-") as name:
        yield Path(name)


def checkpoint(path: Path) -> None:
    """Fold the WAL into the main file and truncate it, from a separate connection."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for _ in range(100):
            busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return
            time.sleep(0.01)
    raise RuntimeError(f"could not checkpoint {path}")


def file_bytes(path: Path) -> int:
    """The size of an SQLite file plus its WAL, if any."""
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
