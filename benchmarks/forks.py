"""F1-F3: a fork costs nothing to make, reads like its source, and merges cost what changed.

Per backend, one big dataset (``--size``, 1M on SQLite; ``--pg-size``, 300k
on PostgreSQL, as ``benchmarks.large``) and one small one (``--small``, 1k).

- F1: ``fork`` of the big dataset's latest version vs reading that version
  (``iter_datapoints``, fully consumed). Aim: <= 5% (a fork copies nothing).
- F2: reading a fork of the big dataset (``iter_datapoints``) vs reading the
  version it forked: unchanged, and after the fork deleted 1% of it and
  updated 100 datapoints (evenly spread); beside them the SQLite floor of
  ``benchmarks.reads`` (the same payloads as rows of one table), against
  which P1 (<= 2.5x) holds.
- F3: ``merge(dry_run=True)`` of a fork that changed ``CHANGES`` datapoints
  (updates, deletes, adds) into its source, which changed ``CHANGES`` others:
  big vs small. Aim: <= 2x (a merge reads what changed, not the datasets).
  A dry run does all of a merge's reading and planning, and writes nothing,
  so rounds repeat it; one real merge per dataset then checks it commits.

Run: ``python -m benchmarks.forks [--quick] [--size N] [--pg-size N] [--small N]
[--backend sqlite|postgres|both] [--postgres-url URL]``
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from benchmarks._backend_base import Backend, Store
from benchmarks._backends import open_backends
from benchmarks._datasets import build_dataset, stored_payloads
from benchmarks._environment import print_header
from benchmarks._files import workdir
from benchmarks._options import make_parser, parse, pick
from benchmarks._payloads import make_bodies
from benchmarks._tables import Table, fmt_count, fmt_timing, ratio_cells, verdict
from benchmarks._timing import consume, interleaved
from benchmarks.large import PG_SIZE

GOALS = {"F1": 0.05, "F2": 1.05, "P1": 2.5, "F3": 2.0}
CHANGES = 100
"""Datapoints a fork changes on each side before F3's merge."""
CLAIMED = 0.01
"""The share of the datapoints F2's changed fork deletes (in one commit) ..."""
UPDATED = 100
"""... and how many it updates (one commit each), all evenly spread."""


def _reader(store: Store, dataset_id: str, n: int) -> Callable[[], None]:
    def read() -> None:
        assert consume(store.db.iter_datapoints(dataset_id)) == n

    return read


def f1_f2_rows(
    tables: dict[str, Table], backend: Backend, sqlite: Backend, n: int, rounds: int
) -> tuple[Store, str]:
    """F1 and F2 on one backend's big dataset (F2 beside the SQLite floor of its payloads);
    returns the store and the dataset, for F3."""
    store = backend.new_store(f"forks-{n}/datasetlog")
    built = build_dataset(store.db, n, seed=21)
    backend.after_build(store.location)
    ds = built.dataset_id
    floor = sqlite.floor(
        f"forks-{backend.name}/floor", stored_payloads(store.db, ds, built.version)
    )
    names = (f"fork-{i}" for i in itertools.count())
    read_source = _reader(store, ds, n)
    read_floor = floor.read

    def fork() -> None:
        store.db.fork(ds, name=next(names))

    source_times, fork_times = interleaved([read_source, fork], repeat=rounds)
    ratio, cell = ratio_cells(fork_times, source_times)
    tables["F1"].add(
        "F1",
        fmt_count(n),
        backend.name,
        fmt_timing(source_times),
        fmt_timing(fork_times),
        cell,
        f"<= {GOALS['F1']:g}x",
        verdict(ratio <= GOALS["F1"]),
    )
    unchanged = store.db.fork(ds, name="unchanged").id
    changed = store.db.fork(ds, name="changed").id
    held = [d.id for d in store.db.iter_datapoints(changed)]
    step = round(1 / CLAIMED)
    store.db.delete_datapoints(held[::step])
    stride = step * max(1, n // UPDATED // step)  # never one of the deleted
    for i, datapoint_id in enumerate(held[step // 2 :: stride][:UPDATED]):
        store.db.update_datapoint(datapoint_id, target={"answer": f"forked {i}"})
    left = n - len(held[::step])
    for label, fork_id, size in (
        ("unchanged", unchanged, n),
        (f"{CLAIMED:.0%} deleted, {UPDATED} updated", changed, left),
    ):
        floor_times, source_times, fork_times = interleaved(
            [read_floor, read_source, _reader(store, fork_id, size)], repeat=rounds
        )
        ratio, cell = ratio_cells(fork_times, source_times)
        p1, p1_cell = ratio_cells(fork_times, floor_times)
        tables["F2"].add(
            "F2",
            f"{fmt_count(n)}, {label}",
            backend.name,
            fmt_timing(source_times),
            fmt_timing(fork_times),
            cell,
            f"<= {GOALS['F2']:g}x",
            verdict(ratio <= GOALS["F2"]),
            fmt_timing(floor_times),
            f"{p1_cell} ({verdict(p1 <= GOALS['P1'])} <= {GOALS['P1']:g}x)",
        )
    floor.close()
    return store, ds


def _proposal(store: Store, source: str, seed: int) -> tuple[str, str]:
    """A fork of a dataset, and ``CHANGES`` changes on each side."""
    db = store.db
    fork = db.fork(source, name=f"proposal-{seed}").id
    theirs = [d.id for d in db.list_datapoints(source, size=2 * CHANGES + 10)]
    mine = [d.id for d in db.list_datapoints(fork, size=2 * CHANGES + 10)]
    third = CHANGES // 4
    for i, datapoint_id in enumerate(mine[: CHANGES - 2 * third]):
        db.update_datapoint(datapoint_id, target={"answer": f"proposed {i}"})
    db.delete_datapoints(mine[CHANGES : CHANGES + third])
    db.create_datapoint(fork, make_bodies(seed + 1, 0, third))
    for i, datapoint_id in enumerate(theirs[CHANGES + third : 2 * CHANGES + third]):
        db.update_datapoint(datapoint_id, target={"answer": f"meanwhile {i}"})
    return source, fork


def f3_rows(
    tables: dict[str, Table],
    backend: Backend,
    store: Store,
    source: str,
    n: int,
    small: int,
    rounds: int,
) -> None:
    """F3 on one backend: the same merge onto the big dataset and onto a small one."""
    big = _proposal(store, source, 31)
    little_source = build_dataset(store.db, small, seed=41, name="small").dataset_id
    little = _proposal(store, little_source, 41)
    backend.after_build(store.location)

    def dry(pair: tuple[str, str]) -> Callable[[], None]:
        def run() -> None:
            result = store.db.merge(pair[1], into=pair[0], dry_run=True)
            assert sum((result.counts.added, result.counts.removed, result.counts.changed)) == (
                CHANGES
            )
            assert not result.conflicts

        return run

    slow, fast = interleaved([dry(little), dry(big)], repeat=3 * rounds, collect=False)
    ratio, cell = ratio_cells(fast, slow)
    tables["F3"].add(
        "F3",
        f"{fmt_count(n)} vs {fmt_count(small)}, {CHANGES} + {CHANGES} changed",
        backend.name,
        fmt_timing(slow),
        fmt_timing(fast),
        cell,
        f"<= {GOALS['F3']:g}x",
        verdict(ratio <= GOALS["F3"]),
    )
    for target, fork in (big, little):
        assert store.db.merge(fork, into=target).committed
    store.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser("F1-F3: forks and merges")
    parser.add_argument("--size", type=int, default=None, help="datapoints (default 1M)")
    parser.add_argument(
        "--pg-size", type=int, default=None, help="datapoints on PostgreSQL (default 300k)"
    )
    parser.add_argument("--small", type=int, default=None, help="the small dataset (default 1k)")
    args = parse(parser, argv)
    size = pick(args.size, quick=args.quick, default=1_000_000, small=3_000)
    pg_size = pick(args.pg_size, quick=args.quick, default=PG_SIZE, small=size)
    small = pick(args.small, quick=args.quick, default=1_000, small=300)
    rounds = pick(args.repeat, quick=args.quick, default=4, small=2)
    with workdir() as tmp, open_backends(args, tmp) as backends:
        print_header(
            "forks",
            f"F1-F3 at N={fmt_count(size)} (PostgreSQL {fmt_count(pg_size)}), "
            f"small {fmt_count(small)}, {rounds} paired rounds",
            backends.describe(),
        )
        tables = {
            "F1": Table(
                "F1 fork of a version vs reading that version (iter_datapoints)",
                floor="read the version",
                ours="fork",
                extras=[],
                backend=True,
            ),
            "F2": Table(
                "F2 reading a fork vs reading the version it forked (iter_datapoints)",
                floor="read the source",
                ours="read the fork",
                extras=["SQLite floor", "fork vs floor (P1)"],
                backend=True,
            ),
            "F3": Table(
                "F3 merge(dry_run=True) of the same changes onto a big vs a small source",
                floor="small",
                ours="big",
                extras=[],
                backend=True,
            ),
        }
        for backend in backends.chosen:
            n = pg_size if backend is backends.postgres else size
            store, big = f1_f2_rows(tables, backend, backends.sqlite, n, rounds)
            f3_rows(tables, backend, store, big, n, small, rounds)
        tables["F2"].note(
            f"the changed fork first deleted {CLAIMED:.0%} of the datapoints it inherited and "
            f"updated {UPDATED}, evenly spread: its reads merge its own spans into its source's."
        )
        for table in tables.values():
            table.print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
