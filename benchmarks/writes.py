"""P5, P6 and P7: the cost of writing, on each backend chosen (``--backend``).

- P5: p50 latency of a one-datapoint ``create_datapoint`` on a dataset of 1M
  datapoints vs one of 1k (each in its own store: file or schema; calls interleaved).
- P6: bytes the store grows per one-datapoint commit (over ``--commits`` commits)
  vs the payload size, the compact JSON of the datapoint body; broken down by
  table and index. SQLite: file + WAL, checkpointed and truncated before and
  after; PostgreSQL: ``pg_total_relation_size`` of the ``dl_`` tables after VACUUM.
- P7: 100k datapoints in one ``create_datapoint`` vs the raw rate of the same
  backend: orjson-encode each body and ``executemany`` into a plain table in one
  transaction (PostgreSQL: ``COPY`` beside it).

Run: ``python -m benchmarks.writes [--quick] [--size N] [--commits C] [--rows R]
[--backend sqlite|postgres|both] [--postgres-url URL]``
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from pathlib import Path

import orjson

from benchmarks import _eventsourcing as es
from benchmarks._backend_base import ObjectSize
from benchmarks._backends import Backends, open_backends
from benchmarks._baselines import CopyOnCommit
from benchmarks._datasets import build_dataset
from benchmarks._environment import print_header
from benchmarks._files import checkpoint, file_bytes, workdir
from benchmarks._options import make_parser, parse, pick
from benchmarks._payloads import Body, body_bytes, make_bodies, make_records
from benchmarks._tables import Table, fmt_bytes, fmt_count, fmt_time, verdict
from benchmarks._timing import Timing, interleaved
from datasetlog import DatasetLog

P5_GOAL = 1.5
P6_OVERHEAD = {"sqlite": 400, "postgres": 700}
"""Bytes a one-datapoint commit may add beyond twice its payload, per backend: PostgreSQL's
row headers and line pointers are accepted at 700 B (#11), with no change of its tables."""
P7_GOAL = 0.25
"""P7's floor, restated in #11 for an event-sourced, validating writer that keeps cattrs
as its one (un)structuring library."""
EVENT_LOG_TABLES = ("dl_commits", "dl_events")


def _creator(
    db: DatasetLog, dataset_id: str, bodies: list[dict[str, object]]
) -> Callable[[], None]:
    it = iter(bodies)

    def create() -> None:
        db.create_datapoint(dataset_id, next(it))

    return create


# -- P5 ------------------------------------------------------------------------------------


def _p5_copy_on_commit(folder: Path, small: int, big: int, body: Body) -> tuple[Timing, Timing]:
    """Baseline (a): one commit of one datapoint on a copy-on-commit table of each size."""
    coc_small = CopyOnCommit(folder / "coc-small.db")
    coc_big = CopyOnCommit(folder / "coc-big.db")
    for coc, n in ((coc_small, small), (coc_big, big)):
        records = make_records(make_bodies(5, 0, n), 0)
        coc.commit(add=[orjson.dumps(r).decode() for r in records])
    one = [orjson.dumps(r).decode() for r in make_records([body], big)]
    c_small, c_big = interleaved(
        [lambda: coc_small.commit(add=one), lambda: coc_big.commit(add=one)],
        repeat=3 if big >= 100_000 else 10,
        warmup=0,
    )
    coc_small.close()
    coc_big.close()
    return c_small, c_big


def p5_table(backends: Backends, small: int, big: int, *, rounds: int) -> Table:
    table = Table(
        f"P5 one-datapoint create_datapoint p50: dataset of {fmt_count(big)} vs {fmt_count(small)}",
        floor=f"p50 at {fmt_count(small)}",
        ours=f"p50 at {fmt_count(big)}",
        extras=[
            "p90 small -> big",
            "best small -> big",
            "copy-on-commit (a) p50 small -> big",
        ],
        backend=True,
    )
    bodies = make_bodies(55, 0, 2 * (rounds + 5))
    coc_commits = 0
    for backend in backends.chosen:
        small_store = backend.new_store("p5/small")
        small_ds = build_dataset(small_store.db, small, seed=5).dataset_id
        big_store = backend.new_store("p5/big")
        big_ds = build_dataset(big_store.db, big, seed=5).dataset_id
        for store in (small_store, big_store):
            backend.after_build(store.location)
        t_small, t_big = interleaved(
            [
                _creator(small_store.db, small_ds, bodies[0::2]),
                _creator(big_store.db, big_ds, bodies[1::2]),
            ],
            repeat=rounds,
            warmup=5,
            collect=False,
        )
        small_store.close()
        big_store.close()
        coc_cell = "-"
        if backend is backends.sqlite:
            c_small, c_big = _p5_copy_on_commit(backend.folder / "p5", small, big, bodies[0])
            coc_commits = len(c_big.samples)
            coc_cell = (
                f"{fmt_time(c_small.median)} -> {fmt_time(c_big.median)} "
                f"({c_big.median / c_small.median:.0f}x)"
            )
        ratio = t_big.median / t_small.median
        table.add(
            "P5",
            f"{fmt_count(small)} vs {fmt_count(big)}",
            backend.name,
            fmt_time(t_small.median),
            fmt_time(t_big.median),
            f"{ratio:.2f}x (best {t_big.best / t_small.best:.2f}x)",
            f"<= {P5_GOAL}x (p50)",
            verdict(ratio <= P5_GOAL),
            f"{fmt_time(t_small.quantile(0.9))} -> {fmt_time(t_big.quantile(0.9))}",
            f"{fmt_time(t_small.best)} -> {fmt_time(t_big.best)}",
            coc_cell,
        )
    table.note(
        f"{rounds} interleaved pairs of calls (after 5 warm-up pairs), each store in its own "
        "file or schema; the figure compares the medians (p50), as the target does."
    )
    if coc_commits:
        table.note(
            "copy-on-commit (a), SQLite only: every commit copies all rows of the parent "
            f"version ({coc_commits} commits at each size). eventsourcing (c) is not run here: "
            "a command must first rebuild the aggregate (Repository.get), which for 1M "
            "datapoints takes seconds (see P9 for the rebuild cost at 50k)."
        )
    if backends.postgres is not None:
        table.note("postgres: VACUUM (ANALYZE) of both schemas after the builds.")
    return table


# -- P6 ------------------------------------------------------------------------------------


def _growth(before: list[ObjectSize], after: list[ObjectSize]) -> dict[tuple[str, str], int]:
    growth: dict[tuple[str, str], int] = {}
    for sign, objects in ((-1, before), (1, after)):
        for name, table, size in objects:
            growth[name, table] = growth.get((name, table), 0) + sign * size
    return growth


def _p6_baselines(folder: Path, base: int, bodies: list[Body], payload: float) -> list[str]:
    """Baselines (a) copy-on-commit and (c) eventsourcing: file growth per commit."""
    commits = len(bodies)
    coc_commits = max(5, commits // 40)
    coc = CopyOnCommit(folder / "copy-on-commit.db")
    records = make_records(make_bodies(6, 0, base), 0)
    coc.commit(add=[orjson.dumps(r).decode() for r in records])
    checkpoint(coc.path)
    coc0 = file_bytes(coc.path)
    for record in make_records(bodies[:coc_commits], base):
        coc.commit(add=[orjson.dumps(record).decode()])
    checkpoint(coc.path)
    coc_per_commit = (file_bytes(coc.path) - coc0) / coc_commits
    coc.close()
    coc_cell = f"{fmt_bytes(coc_per_commit)} ({coc_per_commit / payload:.0f}x payload)"

    es_cell = "skipped"
    if es.HAVE_ES:
        store = es.EsStore(folder / "eventsourcing.db")
        store.add(make_records(make_bodies(6, 0, base), 0))
        checkpoint(store.path)
        es0 = file_bytes(store.path)
        for i, body in enumerate(bodies):
            store.add(make_records([body], base + i))
        checkpoint(store.path)
        es_per_commit = (file_bytes(store.path) - es0) / commits
        store.close()
        es_cell = f"{fmt_bytes(es_per_commit)} ({es_per_commit / payload:.2f}x payload)"
    return [coc_cell, es_cell]


def p6_table(backends: Backends, commits: int, *, base: int) -> Table:
    bodies = make_bodies(66, 0, commits)
    payload = statistics.mean(body_bytes(b) for b in bodies)
    table = Table(
        "P6 store bytes added per one-datapoint commit vs payload",
        floor="payload (body JSON)",
        ours="datasetlog bytes/commit",
        extras=["event log only (b)", "copy-on-commit (a)", "eventsourcing (c)"],
        backend=True,
    )
    for backend in backends.chosen:
        overhead = P6_OVERHEAD[backend.name]
        goal = 2 * payload + overhead
        store = backend.new_store("p6/datasetlog")
        ds = build_dataset(store.db, base, seed=6).dataset_id
        backend.settle(store.location)
        size0, objects0 = backend.total_bytes(store.location), backend.objects(store.location)
        for body in bodies:
            store.db.create_datapoint(ds, body)
        backend.settle(store.location)
        size1, objects1 = backend.total_bytes(store.location), backend.objects(store.location)
        store.close()
        per_commit = (size1 - size0) / commits
        growth = _growth(objects0, objects1)
        event_log = sum(v for (_, t), v in growth.items() if t in EVENT_LOG_TABLES) / commits
        baselines = ["-", "-"]
        if backend is backends.sqlite:
            baselines = _p6_baselines(backend.folder / "p6", base, bodies, payload)
        table.add(
            "P6",
            f"{commits} commits on {fmt_count(base)}",
            backend.name,
            f"{payload:.0f} B",
            f"{per_commit:.0f} B",
            f"{per_commit / payload:.2f}x payload",
            f"<= 2 x payload + {overhead} B = {goal:.0f} B",
            verdict(per_commit <= goal),
            f"{event_log:.0f} B ({event_log / payload:.2f}x payload)",
            *baselines,
        )
        parts = sorted(growth.items(), key=lambda kv: -kv[1])
        table.note(
            f"{backend.name}: growth per commit by table/index: "
            + ", ".join(f"{name} {value / commits:.0f} B" for (name, _), value in parts if value)
        )
    table.note(
        "sqlite: file + WAL size after PRAGMA wal_checkpoint(TRUNCATE), before and after the "
        "commits, broken down with dbstat. postgres: pg_total_relation_size summed over the "
        "dl_ tables (heap, TOAST, free-space and visibility maps, indexes) after VACUUM, "
        "before and after; WAL is not counted on either (SQLite's is folded in and truncated)."
    )
    table.note(
        "event log only (b) = dl_commits and dl_events with their indexes, i.e. a store "
        f"without read models. Baselines are SQLite only; copy-on-commit measured over "
        f"{max(5, commits // 40)} commits."
    )
    if not es.HAVE_ES:
        table.note(es.SKIPPED_ES)
    return table


# -- P7 ------------------------------------------------------------------------------------


def _bulk_creator(db: DatasetLog, bodies: list[Body], rounds: int) -> Callable[[], None]:
    """Each call adds all ``bodies`` in one create_datapoint, to a fresh dataset."""
    datasets = iter(
        [db.create_dataset(project_id="bench", name=f"p7-{i}").id for i in range(rounds + 1)]
    )

    def create() -> None:
        assert len(db.create_datapoint(next(datasets), bodies)) == len(bodies)

    return create


def p7_table(backends: Backends, rows: int, *, rounds: int) -> Table:
    bodies = make_bodies(7, 0, rows)
    table = Table(
        f"P7 {fmt_count(rows)} datapoints in one create_datapoint vs raw executemany",
        floor="raw executemany (same backend)",
        ours="datasetlog create_datapoint",
        extras=["raw COPY (same backend)", "eventsourcing (c) one event"],
        backend=True,
    )

    def rate(timing: Timing) -> str:
        return f"{fmt_time(timing.best)} = {rows / timing.best / 1000:.0f}k rows/s"

    for backend in backends.chosen:
        store = backend.new_store("p7/datasetlog")
        raws = backend.raw_inserts("p7/raw", bodies)
        ours = _bulk_creator(store.db, bodies, rounds)
        *t_raws, t_ours = interleaved([fn for _, fn in raws] + [ours], repeat=rounds, warmup=0)
        store.close()
        t_raw = t_raws[0]
        copy_cell = rate(t_raws[1]) if len(t_raws) > 1 else "-"
        es_cell = "-"
        if backend is backends.sqlite:
            es_cell = _p7_eventsourcing(backend.folder / "p7", bodies, rounds)
        ratio = t_raw.best / t_ours.best
        table.add(
            "P7",
            fmt_count(rows),
            backend.name,
            rate(t_raw),
            f"{fmt_time(t_ours.best)} = {rows / t_ours.best / 1000:.1f}k rows/s",
            f"{ratio:.3f}x raw rows/s (med {t_raw.median / t_ours.median:.3f}x)",
            f">= {P7_GOAL}x raw rows/s",
            verdict(ratio >= P7_GOAL),
            copy_cell,
            es_cell,
        )
    table.note(
        f"best of {rounds} interleaved rounds; each round writes a fresh table / dataset; "
        "raw = orjson.dumps per body + executemany into a plain table (SQLite: id INTEGER "
        "PRIMARY KEY, payload TEXT; PostgreSQL: id BIGINT identity PRIMARY KEY, payload TEXT; "
        "psycopg pipelines executemany), one transaction, on the same backend and settings; "
        "the ratio is judged against it. raw COPY: the same rows with COPY FROM STDIN."
    )
    if not es.HAVE_ES:
        table.note(es.SKIPPED_ES)
    return table


def _p7_eventsourcing(folder: Path, bodies: list[Body], rounds: int) -> str:
    """Baseline (c): the same rows as one eventsourcing event, in a fresh SQLite file each."""
    if not es.HAVE_ES:
        return "skipped"
    times = []
    for i in range(max(1, rounds - 1)):
        store = es.EsStore(folder / f"eventsourcing-{i}.db")

        def es_insert(store: es.EsStore = store) -> None:
            store.add(make_records(bodies, 0))

        times.append(interleaved([es_insert], repeat=1, warmup=0)[0].best)
        store.close()
    t_es = Timing(tuple(times))
    return f"{fmt_time(t_es.best)} = {len(bodies) / t_es.best / 1000:.0f}k rows/s"


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser("P5, P6, P7: writes")
    parser.add_argument("--size", type=int, default=None, help="P5 big dataset (1M)")
    parser.add_argument("--commits", type=int, default=None, help="P6 commits (2000)")
    parser.add_argument("--rows", type=int, default=None, help="P7 rows (100k)")
    args = parse(parser, argv)
    big = pick(args.size, quick=args.quick, default=1_000_000, small=5_000)
    small = 100 if args.quick else 1_000
    commits = pick(args.commits, quick=args.quick, default=2_000, small=50)
    rows = pick(args.rows, quick=args.quick, default=100_000, small=2_000)
    rounds_p5 = pick(args.repeat, quick=args.quick, default=200, small=20)
    rounds_p7 = 2 if args.quick else 3
    with workdir() as tmp, open_backends(args, tmp) as backends:
        print_header(
            "writes",
            f"P5 at {fmt_count(small)} vs {fmt_count(big)} ({rounds_p5} pairs); "
            f"P6 over {commits} commits; P7 with {fmt_count(rows)} rows",
            backends.describe(),
        )
        p7_table(backends, rows, rounds=rounds_p7).print()
        p6_table(backends, commits, base=small).print()
        p5_table(backends, small, big, rounds=rounds_p5).print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
