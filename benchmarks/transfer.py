"""T1-T4: data in and out at the speed of the paths under them, in constant memory.

- T1: ``export_dataset`` of a 100k version to JSONL vs streaming the same
  version with ``iter_datapoints_json`` (pieces dropped): to a file object
  that keeps nothing (as a pipe), and to a file (written beside, fsync'd,
  renamed into place). Goal: >= 0.8x its speed, i.e. <= 1.25x its time. The
  file is also set against its own floor: the same stream written to a file
  by hand and fsync'd (goal <= 1.1x).
- T2: ``import_datapoints`` of that JSONL file into a fresh dataset vs
  ``create_datapoint`` of the same 100k bodies already in memory, into a
  fresh dataset. Goal: >= 0.8x its rate, i.e. <= 1.25x its time.
- T3: ``import_datapoints`` of a 1M-line JSONL file of ~500-byte datapoints
  as one version, in a fresh process: its peak RSS (goal <= 300 MB) and rate;
  then ``action="set"`` of the same file onto that version (nothing to
  commit), of the file with 1% of its lines changed, and (``key=
  "inputs.task_id"``) of the first file again: 1% updated in place.
- T4: ``to_arrow`` of the 100k version vs building the same table from
  ``iter_datapoints_v4`` dicts in Python (``pyarrow.Table.from_pylist``).
  Goal: faster (< 1.0x its time).

Run: ``python -m benchmarks.transfer [--quick] [--size N] [--import-size N]
[--backend sqlite|postgres|both] [--postgres-url URL]``
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import orjson

from benchmarks._backend_base import Backend
from benchmarks._backends import open_backends
from benchmarks._config import REPO_ROOT
from benchmarks._datasets import build_dataset, open_db
from benchmarks._environment import print_header
from benchmarks._files import workdir
from benchmarks._memory import reset_peak_rss, status_kib
from benchmarks._options import make_parser, parse, pick
from benchmarks._payloads import make_bodies
from benchmarks._tables import Table, fmt_count, fmt_timing, ratio_cells, verdict
from benchmarks._timing import Timing, consume, interleaved
from datasetlog.transfer import export_dataset, import_datapoints, to_arrow

GOAL = 1.25
"""Time of ours over time of the reference: >= 0.8x its speed."""


def transfer_rows(
    tables: dict[str, Table], backend: Backend, n: int, rounds: int, folder: Path
) -> None:
    """T1 and T2 on one backend (the export is written in ``folder``)."""
    store = backend.new_store(f"transfer-{n}/datasetlog")
    db = store.db
    built = build_dataset(db, n, seed=51)
    backend.after_build(store.location)
    ds = built.dataset_id
    path = folder / f"export-{backend.name}.jsonl"
    bodies = make_bodies(51, 0, n)
    names = (f"copy-{i}" for i in itertools.count())

    def stream() -> None:
        consume(db.iter_datapoints_json(ds))

    def export_to_object() -> None:
        assert export_dataset(db, ds, _Discard()).datapoint_count == n

    def export_to_file() -> None:
        assert export_dataset(db, ds, path).datapoint_count == n

    def write_by_hand() -> None:
        with (folder / "by-hand.jsonl").open("wb") as out:
            for piece in db.iter_datapoints_json(ds, lines=True):
                out.write(piece)
            out.flush()
            os.fsync(out.fileno())

    reference, to_object, to_file, by_hand = interleaved(
        [stream, export_to_object, export_to_file, write_by_hand], repeat=rounds
    )
    _row(tables["T1"], "T1", f"{fmt_count(n)}, to a file object", backend, reference, to_object)
    _row(tables["T1"], "T1", f"{fmt_count(n)}, to a file (fsync'd)", backend, reference, to_file)
    _row(
        tables["T1"],
        "T1",
        f"{fmt_count(n)}, to a file, vs the same written by hand and fsync'd",
        backend,
        by_hand,
        to_file,
        goal=1.1,
    )

    def create() -> None:
        db.create_datapoint(db.create_dataset(project_id="bench", name=next(names)).id, bodies)

    def load() -> None:
        fresh = db.create_dataset(project_id="bench", name=next(names)).id
        assert import_datapoints(db, fresh, path).added == n

    reference, ours = interleaved([create, load], repeat=rounds)
    _row(tables["T2"], "T2", fmt_count(n), backend, reference, ours)

    import pyarrow as pa  # here, so that T3's fresh processes do not load it

    def by_rows() -> None:
        pa.Table.from_pylist(list(db.iter_datapoints_v4(ds)))

    def by_columns() -> None:
        assert to_arrow(db, ds).num_rows == n

    reference, ours = interleaved([by_rows, by_columns], repeat=rounds)
    _row(tables["T4"], "T4", fmt_count(n), backend, reference, ours, goal=1.0)
    store.close()


def big_import_rows(table: Table, backend: Backend, n: int, folder: Path) -> None:
    """T3: fresh processes import an n-line file of ~500-byte datapoints as one version, then
    upsert it again (``set``) onto that version, once as it is and once with 1% changed."""
    path = folder / f"big-{n}.jsonl"
    changed = folder / f"big-{n}-changed.jsonl"
    if not path.exists():
        _write_big_file(path, n, changed)
    store = backend.new_store(f"big-import-{n}/datasetlog")
    location = store.location
    ds = store.db.create_dataset(project_id="bench", name="big").id
    store.close()
    for label, file, action, key, expect in (
        ("add every line", path, None, None, (n, 0, 0, True)),
        ("set, the same file onto it", path, "set", None, (0, 0, 0, False)),
        ("set, 1% of lines changed", changed, "set", None, (n // 100, n // 100, 0, True)),
        ("keyed set (inputs.task_id), 1% changed", path, "set", KEY, (0, 0, n // 100, True)),
    ):
        spec = json.dumps(
            {"store": location, "dataset": ds, "file": str(file), "action": action, "key": key}
        )
        done = subprocess.run(
            [sys.executable, "-c", _PROBE, spec],
            cwd=REPO_ROOT,
            check=True,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        found = json.loads(done.stdout.strip().splitlines()[-1])
        counts = (found["added"], found["removed"], found["changed"], found["committed"])
        assert counts == expect, found
        peak = found["peak_rss_mb"]
        table.add(
            "T3",
            f"{fmt_count(n)}, {label}",
            backend.name,
            f"{file.stat().st_size / 1e6:.0f} MB file",
            f"{found['seconds']:.1f} s ({n / found['seconds']:,.0f} lines/s)",
            f"{peak:.0f} MB peak RSS ({found['before_mb']:.0f} MB before it began)",
            f"<= {PEAK_RSS_MB} MB",
            verdict(peak <= PEAK_RSS_MB),
        )


PEAK_RSS_MB = 300
KEY = "inputs.task_id"
"""The key of T3's keyed sync: every line holds one, and the changed file keeps them."""
_PROBE = "from benchmarks.transfer import import_probe_main; import_probe_main()"
_PAD = "lorem ipsum dolor sit amet " * 6


def _write_big_file(path: Path, n: int, changed: Path) -> None:
    """n JSONL datapoints of about 500 bytes each, written a batch at a time; and the same
    file with every hundredth line's content changed."""
    with path.open("wb") as out, changed.open("wb") as other:
        for start in range(0, n, 10_000):
            for number, body in enumerate(make_bodies(53, start, min(10_000, n - start)), start):
                body["inputs"]["task_id"] = f"T/{number}"
                body["inputs"]["notes"] = f"{number} {_PAD}"
                out.write(orjson.dumps(body) + b"\n")
                if number % 100 == 0:
                    body["inputs"]["notes"] = f"{number} changed"
                other.write(orjson.dumps(body) + b"\n")


def import_probe_main() -> None:
    """The subprocess side of T3: import a file into a dataset, report time and peak RSS.

    The peak is the kernel's ``VmHWM`` after resetting it at the start (a
    child's ``ru_maxrss`` counts its parent's memory at the fork).
    """
    spec = json.loads(sys.argv[1])
    db = open_db(spec["store"])
    gc.collect()
    reset = reset_peak_rss()
    before_kib = status_kib("VmRSS") or 0
    start = time.perf_counter()
    done = import_datapoints(
        db, spec["dataset"], spec["file"], action=spec["action"], key=spec.get("key")
    )
    elapsed = time.perf_counter() - start
    peak_kib = (status_kib("VmHWM") if reset else None) or resource.getrusage(
        resource.RUSAGE_SELF
    ).ru_maxrss
    result = {
        "added": done.added,
        "removed": done.removed,
        "changed": done.changed,
        "committed": done.committed,
        "seconds": elapsed,
        "peak_rss_mb": peak_kib * 1024 / 1e6,
        "before_mb": before_kib * 1024 / 1e6,
    }
    print(json.dumps(result))


class _Discard:
    """A binary file object that keeps nothing (as a pipe to another process would)."""

    def write(self, data: bytes) -> int:
        return len(data)


def _row(
    table: Table,
    target: str,
    label: str,
    backend: Backend,
    reference: Timing,
    ours: Timing,
    *,
    goal: float = GOAL,
) -> None:
    ratio, cell = ratio_cells(ours, reference)
    table.add(
        target,
        label,
        backend.name,
        fmt_timing(reference),
        fmt_timing(ours),
        cell,
        f"<= {goal}x" if goal != 1.0 else "< 1.0x",
        verdict(ratio <= goal if goal != 1.0 else ratio < goal),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser("T1-T4: export, import and tables")
    parser.add_argument("--size", type=int, default=None, help="datapoints (default 100k)")
    parser.add_argument(
        "--import-size", type=int, default=None, help="T3's file, in lines (default 1M)"
    )
    args = parse(parser, argv)
    n = pick(args.size, quick=args.quick, default=100_000, small=2_000)
    big = pick(args.import_size, quick=args.quick, default=1_000_000, small=20_000)
    rounds = pick(args.repeat, quick=args.quick, default=5, small=2)
    with workdir() as tmp, open_backends(args, tmp) as backends:
        print_header(
            "transfer", f"T1-T4 at N={fmt_count(n)}, {rounds} paired rounds", backends.describe()
        )
        tables = {
            "T1": Table(
                f"T1 export_dataset to JSONL vs iter_datapoints_json, {fmt_count(n)}",
                floor="iter_datapoints_json",
                ours="export (JSONL file)",
                extras=[],
                backend=True,
            ),
            "T2": Table(
                f"T2 import_datapoints of a {fmt_count(n)}-line JSONL file vs create_datapoint "
                "of the same bodies in memory",
                floor="create_datapoint",
                ours="import",
                extras=[],
                backend=True,
            ),
            "T3": Table(
                f"T3 import_datapoints of a {fmt_count(big)}-line JSONL file as one version, "
                "each in a fresh process",
                floor="file",
                ours="time",
                ratio="memory",
                extras=[],
                backend=True,
            ),
            "T4": Table(
                f"T4 to_arrow vs pyarrow.Table.from_pylist of iter_datapoints_v4, {fmt_count(n)}",
                floor="from_pylist(iter_datapoints_v4)",
                ours="to_arrow",
                extras=[],
                backend=True,
            ),
        }
        for backend in backends.chosen:
            transfer_rows(tables, backend, n, rounds, tmp)
            big_import_rows(tables["T3"], backend, big, tmp)
        for table in tables.values():
            table.print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
