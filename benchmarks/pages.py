"""P4: ``list_datapoints(ds, page=p, size=50)``, last page vs first page of a 1M version.

Three versions of exactly N datapoints are paged: one built by adds only, one
after 0.1% of its datapoints were deleted (and as many added), one after 10%
were. Deletions are what a page lookup has to count past, so they are the hard
case. Baseline (a): the v4 copy-on-commit table read with ``LIMIT 50 OFFSET x``.
Measured on each backend chosen (``--backend``), each with its own dataset.

Run: ``python -m benchmarks.pages [--quick] [--size N] [--backend sqlite|postgres|both]
[--postgres-url URL]``
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks._backend_base import Backend
from benchmarks._backends import open_backends
from benchmarks._baselines import CopyOnCommit
from benchmarks._datasets import Built, build_dataset, stored_payloads
from benchmarks._environment import print_header
from benchmarks._files import workdir
from benchmarks._options import make_parser, parse, pick
from benchmarks._payloads import make_bodies
from benchmarks._tables import Table, fmt_count, fmt_time, fmt_timing, ratio_cells, verdict
from benchmarks._timing import interleaved
from datasetlog import DatasetLog

P4_GOAL = 3.0
PAGE_SIZE = 50


def _pager(db: DatasetLog, dataset_id: str, version: int, page: int) -> Callable[[], None]:
    def read() -> None:
        records = db.list_datapoints(dataset_id, page=page, size=PAGE_SIZE, version=version)
        assert len(records.records) == PAGE_SIZE

    return read


def p4_rows(
    table: Table,
    backend: Backend,
    n: int,
    *,
    rounds: int,
    copy_on_commit: Callable[[DatasetLog, Built], str] | None,
) -> None:
    """The P4 rows of one backend: build the version, then page it as deletions come in."""
    rng = random.Random(4)
    store = backend.new_store("pages/datasetlog")
    db = store.db
    built = build_dataset(db, n, seed=4, keep_ids=True)
    backend.after_build(store.location)
    ds = built.dataset_id
    coc_cell = copy_on_commit(db, built) if copy_on_commit is not None else "-"
    last = n // PAGE_SIZE
    middle = max(1, last // 2)

    def measure(label: str, number: int, baseline: str = "-") -> None:
        first, final, mid = interleaved(
            [
                _pager(db, ds, number, 1),
                _pager(db, ds, number, last),
                _pager(db, ds, number, middle),
            ],
            repeat=rounds,
            collect=False,
        )
        ratio, cell = ratio_cells(final, first)
        table.add(
            "P4",
            f"{fmt_count(n)}, v{number}: {label}",
            backend.name,
            fmt_timing(first),
            fmt_timing(final),
            cell,
            f"<= {P4_GOAL:.0f}x",
            verdict(ratio <= P4_GOAL),
            fmt_timing(mid),
            baseline,
        )

    measure("adds only, dataset never had deletions", built.version, coc_cell)
    live = list(built.ids)
    version = built.version
    added = n
    for share in (0.001, 0.1):
        extra = max(1, round(n * share)) - (added - n)  # deletions so far: added - n
        fresh = db.create_datapoint(ds, make_bodies(4, added, extra))
        added += extra
        live.extend(d.id for d in fresh)
        doomed = set(rng.sample(range(len(live)), extra))
        db.delete_datapoints([live[i] for i in doomed])
        live = [d for i, d in enumerate(live) if i not in doomed]
        version += 2
        assert len(live) == n
        backend.after_build(store.location)
        measure(f"{share:.1%} of datapoints deleted", version)
    measure(
        f"adds only, re-read after later versions deleted {added - n} datapoints",
        built.version,
    )
    store.close()


def copy_on_commit_pages(folder: Path, rounds: int) -> Callable[[DatasetLog, Built], str]:
    """Baseline (a): the adds-only version as copy-on-commit rows, first vs last page."""

    def measure(db: DatasetLog, built: Built) -> str:
        ds = built.dataset_id
        coc = CopyOnCommit(folder / "copy-on-commit.db")
        coc.commit(add=list(stored_payloads(db, ds, built.version)))
        last = coc.next_ordinal // PAGE_SIZE
        coc_first, coc_last = interleaved(
            [
                lambda: coc.page(ds, 1, 1, PAGE_SIZE),
                lambda: coc.page(ds, 1, last, PAGE_SIZE),
            ],
            repeat=max(3, rounds // 20),
            collect=False,
        )
        coc.close()
        return (
            f"{fmt_time(coc_first.best)} -> {fmt_time(coc_last.best)} "
            f"({coc_last.best / coc_first.best:.0f}x)"
        )

    return measure


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser("P4: first vs last page")
    parser.add_argument("--size", type=int, default=None, help="datapoints (default 1M)")
    args = parse(parser, argv)
    n = pick(args.size, quick=args.quick, default=1_000_000, small=5_000)
    n -= n % PAGE_SIZE
    rounds = pick(args.repeat, quick=args.quick, default=200, small=20)
    with workdir() as tmp, open_backends(args, tmp) as backends:
        print_header(
            "pages",
            f"P4 at N={fmt_count(n)}, page size {PAGE_SIZE}, {rounds} paired rounds",
            backends.describe(),
        )
        last = n // PAGE_SIZE
        table = Table(
            f"P4 list_datapoints size={PAGE_SIZE}: last page vs first page of a "
            f"{fmt_count(n)} version",
            floor="first page",
            ours=f"last page (p{last})",
            extras=[
                f"middle page (p{max(1, last // 2)})",
                "copy-on-commit (a) first -> last (OFFSET)",
            ],
            backend=True,
        )
        for backend in backends.chosen:
            baseline = copy_on_commit_pages(tmp, rounds) if backend is backends.sqlite else None
            p4_rows(table, backend, n, rounds=rounds, copy_on_commit=baseline)
        table.note(
            "one dataset per backend: each version paged holds exactly N datapoints; deleted "
            "ones were picked at random (the same on every backend) and as many were added "
            "first (one commit each)."
        )
        table.note(
            "copy-on-commit (a), SQLite only, holds the adds-only version as rows(version, "
            "ordinal, payload) and pages with LIMIT/OFFSET, as the v4 service did."
        )
        if backends.postgres is not None:
            table.note(
                "postgres: VACUUM (ANALYZE) of the schema after the build and after each round "
                "of deletions, before the pages are timed (as autovacuum would soon do)."
            )
        table.print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
