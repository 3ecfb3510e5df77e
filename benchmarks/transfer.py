"""T1-T2: data in and out at the speed of the paths under them.

- T1: ``export_dataset`` of a 100k version to JSONL vs streaming the same
  version with ``iter_datapoints_json`` (pieces dropped): to a file object
  that keeps nothing (as a pipe), and to a file (written beside, fsync'd,
  renamed into place). Goal: >= 0.8x its speed, i.e. <= 1.25x its time.
- T2: ``import_datapoints`` of that JSONL file into a fresh dataset vs
  ``create_datapoint`` of the same 100k bodies already in memory, into a
  fresh dataset. Goal: >= 0.8x its rate, i.e. <= 1.25x its time.

Run: ``python -m benchmarks.transfer [--quick] [--size N] [--backend sqlite|postgres|both]
[--postgres-url URL]``
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

from benchmarks._backend_base import Backend
from benchmarks._backends import open_backends
from benchmarks._datasets import build_dataset
from benchmarks._environment import print_header
from benchmarks._files import workdir
from benchmarks._options import make_parser, parse, pick
from benchmarks._payloads import make_bodies
from benchmarks._tables import Table, fmt_count, fmt_timing, ratio_cells, verdict
from benchmarks._timing import Timing, consume, interleaved
from datasetlog.transfer import export_dataset, import_datapoints

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

    reference, to_object, to_file = interleaved(
        [stream, export_to_object, export_to_file], repeat=rounds
    )
    _row(tables["T1"], "T1", f"{fmt_count(n)}, to a file object", backend, reference, to_object)
    _row(tables["T1"], "T1", f"{fmt_count(n)}, to a file (fsync'd)", backend, reference, to_file)

    def create() -> None:
        db.create_datapoint(db.create_dataset(project_id="bench", name=next(names)).id, bodies)

    def load() -> None:
        fresh = db.create_dataset(project_id="bench", name=next(names)).id
        assert import_datapoints(db, fresh, path).added == n

    reference, ours = interleaved([create, load], repeat=rounds)
    _row(tables["T2"], "T2", fmt_count(n), backend, reference, ours)
    store.close()


class _Discard:
    """A binary file object that keeps nothing (as a pipe to another process would)."""

    def write(self, data: bytes) -> int:
        return len(data)


def _row(
    table: Table, target: str, label: str, backend: Backend, reference: Timing, ours: Timing
) -> None:
    ratio, cell = ratio_cells(ours, reference)
    table.add(
        target,
        label,
        backend.name,
        fmt_timing(reference),
        fmt_timing(ours),
        cell,
        f"<= {GOAL}x",
        verdict(ratio <= GOAL),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser("T1-T2: export and import")
    parser.add_argument("--size", type=int, default=None, help="datapoints (default 100k)")
    args = parse(parser, argv)
    n = pick(args.size, quick=args.quick, default=100_000, small=2_000)
    rounds = pick(args.repeat, quick=args.quick, default=5, small=2)
    with workdir() as tmp, open_backends(args, tmp) as backends:
        print_header(
            "transfer", f"T1-T2 at N={fmt_count(n)}, {rounds} paired rounds", backends.describe()
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
        }
        for backend in backends.chosen:
            transfer_rows(tables, backend, n, rounds, tmp)
        for table in tables.values():
            table.print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
