"""P8's peak memory: a version iterated in a fresh interpreter, its memory growth measured."""

from __future__ import annotations

import contextlib
import gc
import json
import resource
import sqlite3
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import orjson

from benchmarks._baselines import FLOOR_SELECT
from benchmarks._config import REPO_ROOT
from benchmarks._datasets import open_db
from benchmarks._timing import consume
from datasetlog import SQLiteEventStore

_PROBE = "from benchmarks._memory import memory_probe_main; memory_probe_main()"


def status_kib(key: str) -> int | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux ``clear_refs``); False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def probe_memory(
    kind: str,
    *,
    store: str | Path,
    dataset_id: str,
    version: int,
    floor: str | Path,
    trace: bool,
    floor_kind: str = "sqlite",
) -> dict[str, float]:
    """Iterate a version in a fresh interpreter; return its memory growth and time.

    ``kind`` is ``ours`` (``iter_datapoints``), ``ours_v4`` (``iter_datapoints_v4``)
    or ``floor``; ``store`` is where the datasetlog store is (a file, or a PostgreSQL
    URL), ``floor`` where the floor table is, ``floor_kind`` which backend holds it
    (``sqlite`` or ``postgres``). ``rss_growth_mb`` is the peak RSS during the
    iteration (``VmHWM`` after resetting it, else ``ru_maxrss``) less the RSS just
    before it; with ``trace`` the tracemalloc peak is reported too.
    """
    spec = {
        "kind": kind,
        "store": str(store),
        "dataset_id": dataset_id,
        "version": version,
        "floor": str(floor),
        "floor_kind": floor_kind,
        "trace": trace,
    }
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(spec)],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def memory_probe_main() -> None:
    """The subprocess side of :func:`probe_memory`."""
    spec = json.loads(sys.argv[1])
    kind = spec["kind"]
    items: Iterator[object]
    cache_kib = 0.0
    if kind == "floor" and spec["floor_kind"] == "postgres":
        from benchmarks._postgres import pg_connect, pg_floor_payloads

        pg = pg_connect(spec["floor"])  # connected before the measured window, as SQLite is
        loads = orjson.loads
        items = (loads(payload) for payload in pg_floor_payloads(pg))
    elif kind == "floor":
        conn = sqlite3.connect(spec["floor"])
        loads = orjson.loads
        items = (loads(payload) for (payload,) in conn.execute(FLOOR_SELECT))
    else:
        db = open_db(spec["store"])
        if isinstance(db.store, SQLiteEventStore):  # its page cache setting, for the report
            with contextlib.suppress(Exception):
                pages = db.store.connection().execute("PRAGMA cache_size").fetchone()[0]
                cache_kib = -pages if pages < 0 else pages * 4
        if kind == "ours":
            items = db.iter_datapoints(spec["dataset_id"], version=spec["version"])
        else:
            items = db.iter_datapoints_v4(spec["dataset_id"], version=spec["version"])
    gc.collect()
    reset = reset_peak_rss()
    before = status_kib("VmRSS") or 0
    if spec["trace"]:
        tracemalloc.start()
    start = time.perf_counter()
    count = consume(items)
    elapsed = time.perf_counter() - start
    traced_peak = tracemalloc.get_traced_memory()[1] if spec["trace"] else 0
    peak = (status_kib("VmHWM") if reset else None) or resource.getrusage(
        resource.RUSAGE_SELF
    ).ru_maxrss
    print(
        json.dumps(
            {
                "count": count,
                "seconds": elapsed,
                "rss_growth_mb": max(0, peak - before) * 1024 / 1e6,
                "traced_peak_mb": traced_peak / 1e6,
                "cache_size_mb": cache_kib * 1024 / 1e6,
            }
        )
    )
