"""P1, P2, P3 and P8: reading a whole version, against the floor and the baselines.

- P1: ``iter_datapoints(ds, version=k)`` fully consumed (Datapoint objects) vs the floor.
- P2: ``iter_datapoints_v4(ds, version=k)`` fully consumed (dicts) vs the floor.
- P3: reading a version of N datapoints reached by a long history (10,000 commits,
  20% of them updates or deletes) vs the same N committed at once.
- P8: peak memory growth while iterating the largest version (in a subprocess).

The floor: the same payloads (the JSON text datasetlog stores for each
datapoint) as rows of ``floor(id INTEGER PRIMARY KEY, payload TEXT)`` in a file
beside the store, read with one ``SELECT payload FROM floor ORDER BY id`` and
decoded with ``orjson.loads``, each row consumed and dropped.

Run: ``python -m benchmarks.reads [--quick] [--size N] [--history COMMITS]``
(the 1M-row figures of P1, P2 and P8 are in ``benchmarks.large``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from benchmarks import baseline_eventsourcing as es
from benchmarks._common import (
    MAX_PER_REQUEST,
    SKIPPED_ES,
    Built,
    CopyOnCommit,
    Floor,
    Table,
    Timing,
    best_of,
    build_dataset,
    consume,
    fmt_count,
    fmt_time,
    fmt_timing,
    interleaved,
    make_bodies,
    make_parser,
    make_records,
    open_log,
    pick,
    print_header,
    probe_memory,
    ratio_cells,
    replay_datapoints,
    stored_payloads,
    verdict,
    workdir,
)
from datasetlog import DatasetLog

P1_GOAL = 2.5
P2_GOAL = 1.3
P3_GOAL = 1.25
P8_GOAL_MB = 100.0


def repeats(n: int) -> tuple[int, int]:
    """Paired rounds for the main figures and rounds for the slower baselines, by size."""
    if n <= 20_000:
        return 15, 5
    if n <= 200_000:
        return 5, 3
    return 4, 1


# -- P1 / P2 / P8 --------------------------------------------------------------------------


@dataclass
class Prepared:
    """A version of ``n`` datapoints in datasetlog, the floor and every baseline."""

    n: int
    store: Path
    log: DatasetLog
    built: Built
    floor: Floor
    coc: CopyOnCommit
    es_store: es.EsStore | None

    def close(self) -> None:
        self.log.close()
        self.floor.close()
        self.coc.close()
        if self.es_store is not None:
            self.es_store.close()


def prepare(tmp: Path, n: int, *, seed: int) -> Prepared:
    """Build ``n`` datapoints with ``create_datapoint`` (100k per call) and the same
    history in the copy-on-commit and eventsourcing baselines; copy the payloads to
    the floor table."""
    sub = tmp / f"read-{n}"
    sub.mkdir()
    store = sub / "datasetlog.db"
    log = open_log(store)
    built = build_dataset(log, n, seed=seed)
    floor = Floor(sub / "floor.db", stored_payloads(log, built.dataset_id, built.version))
    coc = CopyOnCommit(sub / "copy-on-commit.db")
    chunk: list[str] = []
    for payload in stored_payloads(log, built.dataset_id, built.version):
        chunk.append(payload)
        if len(chunk) == MAX_PER_REQUEST:
            coc.commit(add=chunk)
            chunk = []
    if chunk:
        coc.commit(add=chunk)
    assert coc.version == built.version
    es_store = None
    if es.HAVE_ES:
        chunks = [(s, min(MAX_PER_REQUEST, n - s)) for s in range(0, n, MAX_PER_REQUEST)]
        es_store = es.build_es(sub / "eventsourcing.db", chunks, seed=seed)
    return Prepared(n, store, log, built, floor, coc, es_store)


@dataclass
class ReadTimes:
    n: int
    floor: Timing
    ours: Timing
    ours_v4: Timing
    coc: Timing
    coc_dicts: Timing
    replay: Timing
    es: Timing | None


def measure_reads(prep: Prepared, *, repeat: int | None) -> ReadTimes:
    """Floor, iter_datapoints and iter_datapoints_v4 interleaved; baselines after."""
    rounds, baseline_rounds = repeats(prep.n)
    rounds = repeat or rounds
    ds, version, n, log = prep.built.dataset_id, prep.built.version, prep.n, prep.log

    def floor() -> None:
        assert prep.floor.read() == n

    def ours() -> None:
        assert consume(log.iter_datapoints(ds, version=version)) == n

    def ours_v4() -> None:
        assert consume(log.iter_datapoints_v4(ds, version=version)) == n

    # Above 200k a full read takes seconds: no untimed warm-up round, best-of covers it.
    warmup = 1 if n <= 200_000 else 0
    t_floor, t_ours, t_v4 = interleaved([floor, ours, ours_v4], repeat=rounds, warmup=warmup)
    t_coc = best_of(lambda: prep.coc.read_datapoints(ds, version), baseline_rounds)
    t_coc_dicts = best_of(lambda: prep.coc.read_dicts(ds, version), baseline_rounds)
    t_replay = best_of(lambda: replay_datapoints(log, ds, version), baseline_rounds)
    t_es = None
    if prep.es_store is not None:
        store = prep.es_store
        t_es = best_of(lambda: store.read(version), baseline_rounds)
    return ReadTimes(n, t_floor, t_ours, t_v4, t_coc, t_coc_dicts, t_replay, t_es)


def _vs_floor(timing: Timing | None, floor: Timing) -> str:
    if timing is None:
        return "skipped"
    return f"{fmt_time(timing.best)} ({timing.best / floor.best:.1f}x floor)"


def p1_p2_tables(results: Sequence[ReadTimes]) -> list[Table]:
    p1 = Table(
        "P1 iter_datapoints (Datapoint objects) vs floor",
        extras=["copy-on-commit (a)", "replay (b)", "eventsourcing (c)"],
    )
    p2 = Table(
        "P2 iter_datapoints_v4 (dicts) vs floor",
        extras=["copy-on-commit (a) dicts", "eventsourcing (c) dicts"],
    )
    for r in results:
        ratio, cell = ratio_cells(r.ours, r.floor)
        p1.add(
            "P1",
            fmt_count(r.n),
            fmt_timing(r.floor),
            fmt_timing(r.ours),
            cell,
            f"<= {P1_GOAL}x",
            verdict(ratio <= P1_GOAL),
            _vs_floor(r.coc, r.floor),
            _vs_floor(r.replay, r.floor),
            _vs_floor(r.es, r.floor),
        )
        ratio, cell = ratio_cells(r.ours_v4, r.floor)
        p2.add(
            "P2",
            fmt_count(r.n),
            fmt_timing(r.floor),
            fmt_timing(r.ours_v4),
            cell,
            f"<= {P2_GOAL}x",
            verdict(ratio <= P2_GOAL),
            _vs_floor(r.coc_dicts, r.floor),
            _vs_floor(r.es, r.floor),
        )
    for table in (p1, p2):
        table.note(
            "floor, datasetlog: best of interleaved rounds (median in brackets); "
            "ratio = best/best (med/med)."
        )
        table.note(
            "baselines hold the same history (one commit per 100k datapoints) and are "
            "timed after, best of fewer rounds; (a) copy-on-commit rows(version, ordinal, "
            "payload); (b) decode + fold every commit; (c) eventsourcing Repository.get."
        )
        if not es.HAVE_ES:
            table.note(SKIPPED_ES)
    return [p1, p2]


def p8_table(prep: Prepared) -> Table:
    """Peak memory growth while iterating the version, each in a fresh interpreter."""

    def probe(kind: str, *, trace: bool = False) -> dict[str, float]:
        return probe_memory(
            kind,
            store=prep.store,
            dataset_id=prep.built.dataset_id,
            version=prep.built.version,
            floor=prep.floor.path,
            trace=trace,
        )

    floor, ours, ours_v4, traced = (
        probe("floor"),
        probe("ours"),
        probe("ours_v4"),
        probe("ours", trace=True),
    )
    for result in (floor, ours, ours_v4, traced):
        assert result["count"] == prep.n
    table = Table(
        "P8 peak memory growth while iterating a version",
        floor="floor RSS growth",
        ours="iter_datapoints RSS growth",
        extras=["iter_datapoints_v4 RSS growth", "iter_datapoints tracemalloc peak"],
    )
    growth = ours["rss_growth_mb"]
    ratio = f"{growth / floor['rss_growth_mb']:.1f}x" if floor["rss_growth_mb"] >= 1 else "n/a"
    table.add(
        "P8",
        fmt_count(prep.n),
        f"{floor['rss_growth_mb']:.1f} MB",
        f"{growth:.1f} MB",
        ratio,
        f"<= {P8_GOAL_MB:.0f} MB",
        verdict(max(growth, ours_v4["rss_growth_mb"]) <= P8_GOAL_MB),
        f"{ours_v4['rss_growth_mb']:.1f} MB",
        f"{traced['traced_peak_mb']:.1f} MB",
    )
    table.note(
        "RSS growth = peak RSS during the full iteration (VmHWM, reset just before) less "
        "RSS just before it, in a fresh interpreter; tracemalloc counts Python "
        "allocations only."
    )
    table.note(
        f"datasetlog's connection has an SQLite page cache of up to "
        f"{ours.get('cache_size_mb', 0):.0f} MB (PRAGMA cache_size), filled as the version "
        "is read; the floor's connection has SQLite's default (~2 MB)."
    )
    return table


# -- P3 ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """One commit of a history: add ``count`` datapoints, or update/delete one ordinal."""

    kind: str
    count: int = 0
    ordinal: int = 0


def history(n: int, commits: int, *, churn: float = 0.2, seed: int = 3) -> list[Op]:
    """``commits`` commits ending in a version of exactly ``n`` datapoints; a ``churn``
    share of them update or delete one random live datapoint (half each), the rest add."""
    rng = random.Random(seed)
    churn_ops = round(commits * churn) if commits > 1 else 0
    deletes = churn_ops // 2
    kinds = ["update"] * (churn_ops - deletes) + ["delete"] * deletes
    rng.shuffle(kinds)
    churn_at = dict(zip(sorted(rng.sample(range(1, commits), churn_ops)), kinds, strict=True))
    adds = commits - churn_ops
    base, extra = divmod(n + deletes, adds)
    live: list[int] = []
    index: dict[int, int] = {}
    ops: list[Op] = []
    next_ordinal = 0
    for position in range(commits):
        kind = churn_at.get(position, "add")
        if kind == "add":
            count = base + (1 if extra > 0 else 0)
            extra -= 1
            for ordinal in range(next_ordinal, next_ordinal + count):
                index[ordinal] = len(live)
                live.append(ordinal)
            ops.append(Op("add", count=count))
            next_ordinal += count
            continue
        ordinal = live[rng.randrange(len(live))]
        if kind == "delete":
            last = live.pop()
            if last != ordinal:
                live[index[ordinal]] = last
                index[last] = index[ordinal]
            del index[ordinal]
        ops.append(Op(kind, ordinal=ordinal))
    assert len(live) == n
    assert len(ops) == commits
    return ops


_UPDATED_TARGET = {"answer": "a revised answer to the question", "score": 0.75}


def apply_history(log: DatasetLog, ops: Sequence[Op], *, seed: int, name: str) -> Built:
    dataset = log.create_dataset(project_id="bench", name=name)
    ids: list[str] = []
    for op in ops:
        if op.kind == "add":
            added = log.create_datapoint(dataset.id, make_bodies(seed, len(ids), op.count))
            ids.extend(datapoint.id for datapoint in added)
        elif op.kind == "update":
            log.update_datapoint(ids[op.ordinal], target=_UPDATED_TARGET)
        else:
            log.delete_datapoints([ids[op.ordinal]])
    return Built(dataset.id, len(ops))


def apply_history_es(store: es.EsStore, ops: Sequence[Op], *, seed: int) -> None:
    added = 0
    for op in ops:
        if op.kind == "add":
            store.add(make_records(make_bodies(seed, added, op.count), added))
            added += op.count
        else:
            datapoint_id = f"dp_{op.ordinal:024d}"
            if op.kind == "update":
                old = store.aggregate.datapoints[datapoint_id]
                store.update({**old, "target": _UPDATED_TARGET})
            else:
                store.delete([datapoint_id])


def apply_history_coc(coc: CopyOnCommit, ops: Sequence[Op], *, seed: int) -> None:
    added = 0
    for op in ops:
        if op.kind == "add":
            records = make_records(make_bodies(seed, added, op.count), added)
            coc.commit(add=[orjson.dumps(r).decode() for r in records])
            added += op.count
        elif op.kind == "update":
            record = make_records(make_bodies(seed, op.ordinal, 1), op.ordinal)[0]
            record["target"] = _UPDATED_TARGET
            coc.commit(update=[(op.ordinal, orjson.dumps(record).decode())])
        else:
            coc.commit(delete=[op.ordinal])


def _before_after(one: Timing | None, many: Timing | None) -> str:
    if one is None or many is None:
        return "skipped"
    return f"{fmt_time(one.best)} -> {fmt_time(many.best)} ({many.best / one.best:.2f}x)"


def p3_table(tmp: Path, n: int, commits: int, *, coc_commits: int, repeat: int | None) -> Table:
    rounds, baseline_rounds = repeats(n)
    rounds = repeat or rounds
    sub = tmp / "history"
    sub.mkdir()
    seed = 3
    long_ops = history(n, commits, seed=seed)
    one_log = open_log(sub / "one-commit.db")
    one = apply_history(one_log, history(n, 1), seed=seed, name="one")
    long_log = open_log(sub / "long-history.db")
    long = apply_history(long_log, long_ops, seed=seed, name="long")

    def reader(log: DatasetLog, built: Built, v4: bool) -> Callable[[], None]:
        def read() -> None:
            method = log.iter_datapoints_v4 if v4 else log.iter_datapoints
            assert consume(method(built.dataset_id, version=built.version)) == n

        return read

    t_one, t_long, t_one_v4, t_long_v4 = interleaved(
        [
            reader(one_log, one, False),
            reader(long_log, long, False),
            reader(one_log, one, True),
            reader(long_log, long, True),
        ],
        repeat=rounds,
    )
    r_one = best_of(lambda: replay_datapoints(one_log, one.dataset_id, 1), baseline_rounds)
    r_long = best_of(
        lambda: replay_datapoints(long_log, long.dataset_id, long.version), baseline_rounds
    )
    e_one = e_long = None
    if es.HAVE_ES:
        es_one = es.EsStore(sub / "es-one.db")
        apply_history_es(es_one, history(n, 1), seed=seed)
        es_long = es.EsStore(sub / "es-long.db")
        apply_history_es(es_long, long_ops, seed=seed)
        e_one = best_of(lambda: es_one.read(1), baseline_rounds)
        e_long = best_of(lambda: es_long.read(commits), baseline_rounds)
        es_one.close()
        es_long.close()
    coc_one = CopyOnCommit(sub / "coc-one.db")
    apply_history_coc(coc_one, history(n, 1), seed=seed)
    coc_long = CopyOnCommit(sub / "coc-long.db")
    apply_history_coc(coc_long, history(n, coc_commits, seed=seed), seed=seed)
    c_one = best_of(lambda: coc_one.read_datapoints("ds", 1), baseline_rounds)
    c_long = best_of(lambda: coc_long.read_datapoints("ds", coc_commits), baseline_rounds)
    coc_one.close()
    coc_long.close()

    table = Table(
        f"P3 read a {fmt_count(n)} version: {commits}-commit history vs 1 commit",
        floor="1-commit history",
        ours=f"{commits}-commit history",
        extras=[
            "replay (b) 1 -> long",
            "eventsourcing (c) 1 -> long",
            f"copy-on-commit (a) 1 -> {coc_commits} commits",
        ],
    )
    for label, short, longer in (
        ("P3", t_one, t_long),
        ("P3 (v4 dicts, info)", t_one_v4, t_long_v4),
    ):
        ratio, cell = ratio_cells(longer, short)
        table.add(
            label,
            fmt_count(n),
            fmt_timing(short),
            fmt_timing(longer),
            cell,
            f"<= {P3_GOAL}x",
            verdict(ratio <= P3_GOAL),
            _before_after(r_one, r_long),
            _before_after(e_one, e_long),
            _before_after(c_one, c_long),
        )
    churn = sum(op.kind != "add" for op in long_ops)
    table.note(
        f"long history: {commits} commits, {churn} of them updating or deleting one "
        f"datapoint; both histories end in a version of exactly {n} datapoints; each "
        "history in its own store file."
    )
    table.note(
        f"copy-on-commit (a) is run with a {coc_commits}-commit history: at {commits} commits "
        f"it would copy ~{fmt_count(n)} rows per commit ({commits * n:.1e} rows in all); "
        "its read cost does not depend on history length."
    )
    if not es.HAVE_ES:
        table.note(SKIPPED_ES)
    one_log.close()
    long_log.close()
    return table


# -- main ----------------------------------------------------------------------------------


def run_reads(tmp: Path, sizes: Sequence[int], *, repeat: int | None, memory: bool) -> list[Table]:
    """P1 and P2 for each size, then P8 on the largest."""
    results = []
    largest: Prepared | None = None
    for n in sorted(set(sizes)):
        prep = prepare(tmp, n, seed=1)
        results.append(measure_reads(prep, repeat=repeat))
        if largest is not None:
            largest.close()
        largest = prep
    tables = p1_p2_tables(results)
    if memory and largest is not None:
        tables.append(p8_table(largest))
    if largest is not None:
        largest.close()
    return tables


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser("P1, P2, P3, P8: reading versions")
    parser.add_argument("--size", type=int, default=None, help="largest N (default 100k)")
    parser.add_argument("--history", type=int, default=None, help="P3 commits (10,000)")
    args = parser.parse_args(argv)
    size = pick(args.size, quick=args.quick, default=100_000, small=2_000)
    sizes = [500, size] if args.quick else [min(10_000, size), size]
    commits = pick(args.history, quick=args.quick, default=10_000, small=100)
    coc_commits = 5 if args.quick else 20
    print_header(
        "reads",
        f"P1/P2 at N={', '.join(fmt_count(s) for s in sorted(set(sizes)))}; "
        f"P3 at N={fmt_count(size)} with {commits} commits; P8 at N={fmt_count(size)}",
    )
    with workdir() as tmp:
        for table in run_reads(tmp, sizes, repeat=args.repeat, memory=True):
            table.print()
        p3_table(tmp, size, commits, coc_commits=coc_commits, repeat=args.repeat).print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
