"""P1, P2, P3 and P8: reading a whole version, against the floor and the baselines.

- P1: ``iter_datapoints(ds, version=k)`` fully consumed (Datapoint objects) vs the floor.
- P2: ``iter_datapoints_v4(ds, version=k)`` fully consumed (dicts) vs the floor.
- P3: reading a version of N datapoints reached by a long history (10,000 commits,
  20% of them updates or deletes) vs the same N committed at once.
- P8: peak memory growth while iterating the largest version (in a subprocess).

Each is measured with datasetlog on every backend chosen (``--backend``), one row
per backend. The floor: the same payloads (the JSON text datasetlog stores for
each datapoint) as rows of ``floor(id INTEGER PRIMARY KEY, payload TEXT)`` in an
SQLite file, read with one ``SELECT payload FROM floor ORDER BY id`` and decoded
with ``orjson.loads``, each row consumed and dropped. It is the reference of P1,
P2 and P8 on every backend; each other backend's own floor (the same table and
SELECT there) is printed beside it. P3 compares each backend with itself.

Run: ``python -m benchmarks.reads [--quick] [--size N] [--history COMMITS]
[--backend sqlite|postgres|both] [--postgres-url URL]``
(the 1M-row figures of P1, P2 and P8 are in ``benchmarks.large``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from benchmarks import _eventsourcing as es
from benchmarks._backend_base import FloorTable, Store
from benchmarks._backends import Backends, open_backends
from benchmarks._baselines import CopyOnCommit, Floor, replay_datapoints
from benchmarks._config import MAX_PER_REQUEST
from benchmarks._datasets import Built, build_dataset, stored_payloads
from benchmarks._environment import print_header
from benchmarks._files import workdir
from benchmarks._memory import probe_memory
from benchmarks._options import make_parser, parse, pick
from benchmarks._payloads import make_bodies, make_records
from benchmarks._postgres import STREAM_ROWS
from benchmarks._tables import Table, fmt_count, fmt_time, fmt_timing, ratio_cells, verdict
from benchmarks._timing import Timing, best_of, consume, interleaved
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
class Subject:
    """datasetlog on one backend, holding the version read, and that backend's own floor."""

    store: Store
    built: Built
    own_floor: FloorTable

    @property
    def backend(self) -> str:
        return self.store.backend.name


@dataclass
class Prepared:
    """A version of ``n`` datapoints on each backend, the SQLite floor and the baselines."""

    n: int
    floor: Floor
    subjects: list[Subject]
    coc: CopyOnCommit | None
    es_store: es.EsStore | None

    def close(self) -> None:
        for subject in self.subjects:
            subject.store.close()
            if subject.own_floor is not self.floor:
                subject.own_floor.close()
        self.floor.close()
        if self.coc is not None:
            self.coc.close()
        if self.es_store is not None:
            self.es_store.close()


def prepare(backends: Backends, n: int, *, seed: int) -> Prepared:
    """Build ``n`` datapoints with ``create_datapoint`` (100k per call) on each backend, and
    the same history in the copy-on-commit and eventsourcing baselines (SQLite only); copy
    the payloads to the SQLite floor, and from it to each other backend's floor."""
    stores: list[tuple[Store, Built]] = []
    for backend in backends.chosen:
        store = backend.new_store(f"read-{n}/datasetlog")
        built = build_dataset(store.db, n, seed=seed)
        backend.after_build(store.location)
        stores.append((store, built))
    first, first_built = stores[0]
    floor = backends.sqlite.floor(
        f"read-{n}/floor", stored_payloads(first.db, first_built.dataset_id, first_built.version)
    )
    subjects = [
        Subject(
            store,
            built,
            floor
            if store.backend is backends.sqlite
            else store.backend.floor(f"read-{n}/floor", floor.payloads()),
        )
        for store, built in stores
    ]
    coc = es_store = None
    if backends.has_sqlite:
        db, built = subjects[0].store.db, subjects[0].built
        coc = CopyOnCommit(backends.sqlite.folder / f"read-{n}" / "copy-on-commit.db")
        chunk: list[str] = []
        for payload in stored_payloads(db, built.dataset_id, built.version):
            chunk.append(payload)
            if len(chunk) == MAX_PER_REQUEST:
                coc.commit(add=chunk)
                chunk = []
        if chunk:
            coc.commit(add=chunk)
        assert coc.version == built.version
        if es.HAVE_ES:
            chunks = [(s, min(MAX_PER_REQUEST, n - s)) for s in range(0, n, MAX_PER_REQUEST)]
            es_path = backends.sqlite.folder / f"read-{n}" / "eventsourcing.db"
            es_store = es.build_es(es_path, chunks, seed=seed)
    return Prepared(n, floor, subjects, coc, es_store)


@dataclass
class ReadTimes:
    """One row of P1/P2: the reads of one backend, its floors and (SQLite) the baselines."""

    n: int
    backend: str
    floor: Timing
    own_floor: Timing
    ours: Timing
    ours_v4: Timing
    ours_json: Timing
    coc: Timing | None = None
    coc_dicts: Timing | None = None
    replay: Timing | None = None
    es: Timing | None = None


def _counted(read: Callable[[], int], n: int) -> Callable[[], None]:
    def run() -> None:
        assert read() == n

    return run


def _reader(subject: Subject, n: int, *, v4: bool) -> Callable[[], None]:
    """Read the subject's version with iter_datapoints (or _v4), checking the count."""
    db, ds, version = subject.store.db, subject.built.dataset_id, subject.built.version
    method = db.iter_datapoints_v4 if v4 else db.iter_datapoints

    def read() -> None:
        assert consume(method(ds, version=version)) == n

    return read


def _json_reader(subject: Subject, n: int) -> Callable[[], None]:
    """Stream the subject's version with iter_datapoints_json, checking the byte count
    against an untimed read that counts its records."""
    db, ds, version = subject.store.db, subject.built.dataset_id, subject.built.version
    head = b'{"dataset_id":' + orjson.dumps(ds)  # begins each record, nothing else here
    pieces = list(db.iter_datapoints_json(ds, version=version))
    assert sum(piece.count(head) for piece in pieces) == n
    expected = sum(map(len, pieces))
    del pieces

    def read() -> None:
        assert sum(map(len, db.iter_datapoints_json(ds, version=version))) == expected

    return read


def measure_reads(prep: Prepared, *, repeat: int | None) -> list[ReadTimes]:
    """The SQLite floor, then per backend iter_datapoints, iter_datapoints_v4,
    iter_datapoints_json and (if not SQLite) its own floor, all interleaved in the same
    rounds; baselines after."""
    rounds, baseline_rounds = repeats(prep.n)
    rounds = repeat or rounds
    n = prep.n
    fns = [_counted(prep.floor.read, n)]
    for subject in prep.subjects:
        fns.append(_reader(subject, n, v4=False))
        fns.append(_reader(subject, n, v4=True))
        fns.append(_json_reader(subject, n))
        if subject.own_floor is not prep.floor:
            fns.append(_counted(subject.own_floor.read, n))
    # Above 200k a full read takes seconds: no untimed warm-up round, best-of covers it.
    warmup = 1 if n <= 200_000 else 0
    timings = iter(interleaved(fns, repeat=rounds, warmup=warmup))
    t_floor = next(timings)
    results = []
    for subject in prep.subjects:
        t_ours, t_v4, t_json = next(timings), next(timings), next(timings)
        t_own = next(timings) if subject.own_floor is not prep.floor else t_floor
        results.append(ReadTimes(n, subject.backend, t_floor, t_own, t_ours, t_v4, t_json))
    if prep.coc is not None:
        sqlite = results[0]
        ds, version, db = (
            prep.subjects[0].built.dataset_id,
            prep.subjects[0].built.version,
            prep.subjects[0].store.db,
        )
        coc = prep.coc
        sqlite.coc = best_of(lambda: coc.read_datapoints(ds, version), baseline_rounds)
        sqlite.coc_dicts = best_of(lambda: coc.read_dicts(ds, version), baseline_rounds)
        sqlite.replay = best_of(lambda: replay_datapoints(db, ds, version), baseline_rounds)
        if prep.es_store is not None:
            store = prep.es_store
            sqlite.es = best_of(lambda: store.read(version), baseline_rounds)
    return results


def _vs_floor(timing: Timing | None, floor: Timing, *, baseline: bool = True) -> str:
    if timing is None:
        return "skipped" if baseline else "-"
    return f"{fmt_time(timing.best)} ({timing.best / floor.best:.1f}x floor)"


def p1_p2_tables(results: Sequence[ReadTimes]) -> list[Table]:
    own = ["its backend's floor", "ratio vs its backend's floor"]
    p1 = Table(
        "P1 iter_datapoints (Datapoint objects) vs floor",
        floor="SQLite floor",
        ratio="ratio vs SQLite floor",
        extras=[*own, "copy-on-commit (a)", "replay (b)", "eventsourcing (c)"],
        backend=True,
    )
    p2 = Table(
        "P2 v4 JSON reads: iter_datapoints_v4 (dicts), iter_datapoints_json (bytes) vs floor",
        floor="SQLite floor",
        ratio="ratio vs SQLite floor",
        extras=[*own, "copy-on-commit (a) dicts", "eventsourcing (c) dicts"],
        backend=True,
    )
    for r in results:
        sqlite = r.backend == "sqlite"
        for table, target, goal, ours in (
            (p1, "P1", P1_GOAL, r.ours),
            (p2, "P2 dicts", P2_GOAL, r.ours_v4),
            (p2, "P2 bytes", P2_GOAL, r.ours_json),
        ):
            ratio, cell = ratio_cells(ours, r.floor)
            if sqlite:
                baselines = (
                    [
                        _vs_floor(r.coc, r.floor),
                        _vs_floor(r.replay, r.floor),
                        _vs_floor(r.es, r.floor),
                    ]
                    if table is p1
                    else [_vs_floor(r.coc_dicts, r.floor), _vs_floor(r.es, r.floor)]
                )
                if r.coc is None or target == "P2 bytes":  # no baseline renders bytes
                    baselines = ["-"] * len(baselines)
            else:
                baselines = ["-"] * (3 if table is p1 else 2)
            table.add(
                target,
                fmt_count(r.n),
                r.backend,
                fmt_timing(r.floor),
                fmt_timing(ours),
                cell,
                f"<= {goal}x",
                verdict(ratio <= goal),
                fmt_timing(r.own_floor),
                ratio_cells(ours, r.own_floor)[1],
                *baselines,
            )
    for table in (p1, p2):
        table.note(
            "SQLite floor, datasetlog, its backend's floor: best of interleaved rounds (median "
            "in brackets), all in the same rounds; ratio = best/best (med/med). The goal is "
            "judged on the ratio vs the SQLite floor, for every backend."
        )
        table.note(
            "SQLite floor: the payloads in a plain SQLite file, one SELECT, orjson.loads per "
            "row. Its backend's floor: the same for that backend (for postgres: the same "
            f"payloads in a plain table, one SELECT streamed {STREAM_ROWS} rows at a time); "
            "for sqlite it is the SQLite floor."
        )
        table.note(
            "baselines (SQLite only) hold the same history (one commit per 100k datapoints) "
            "and are timed after, best of fewer rounds; (a) copy-on-commit rows(version, "
            "ordinal, payload); (b) decode + fold every commit; (c) eventsourcing "
            "Repository.get."
        )
        if not es.HAVE_ES:
            table.note(es.SKIPPED_ES)
    return [p1, p2]


def p8_table() -> Table:
    """The empty P8 table; :func:`p8_rows` adds the rows of each prepared version."""
    return Table(
        "P8 peak memory growth while iterating a version",
        floor="SQLite floor RSS growth",
        ours="iter_datapoints RSS growth",
        ratio="ratio vs SQLite floor",
        extras=[
            "iter_datapoints_v4 RSS growth",
            "iter_datapoints tracemalloc peak",
            "its backend's floor RSS growth",
        ],
        backend=True,
    )


def p8_notes(table: Table, cache_mb: float) -> None:
    table.note(
        "RSS growth = peak RSS during the full iteration (VmHWM, reset just before) less "
        "RSS just before it, in a fresh interpreter (for postgres: the client's memory, not "
        "the server's); tracemalloc counts Python allocations only."
    )
    if cache_mb:
        table.note(
            f"datasetlog's SQLite connection has a page cache of up to {cache_mb:.0f} MB "
            "(PRAGMA cache_size), filled as the version is read; the floor's connection has "
            "SQLite's default (~2 MB)."
        )


def p8_rows(table: Table, prep: Prepared) -> float:
    """Peak memory growth while iterating the version on each backend, each in a fresh
    interpreter; return the SQLite page cache size of datasetlog's connection (MB), if any."""

    def probe(
        kind: str, subject: Subject, *, trace: bool = False, floor: FloorTable | None = None
    ) -> dict[str, float]:
        floor = floor or prep.floor
        result = probe_memory(
            kind,
            store=subject.store.location,
            dataset_id=subject.built.dataset_id,
            version=subject.built.version,
            floor=floor.location,
            floor_kind=floor.backend,
            trace=trace,
        )
        assert result["count"] == prep.n
        return result

    floor = probe("floor", prep.subjects[0])
    base = floor["rss_growth_mb"]
    cache_mb = 0.0
    for subject in prep.subjects:
        ours, ours_v4 = probe("ours", subject), probe("ours_v4", subject)
        traced = probe("ours", subject, trace=True)
        own = (
            floor
            if subject.own_floor is prep.floor
            else probe("floor", subject, floor=subject.own_floor)
        )
        cache_mb = max(cache_mb, ours.get("cache_size_mb", 0))
        growth = ours["rss_growth_mb"]
        table.add(
            "P8",
            fmt_count(prep.n),
            subject.backend,
            f"{base:.1f} MB",
            f"{growth:.1f} MB",
            f"{growth / base:.1f}x" if base >= 1 else "n/a",
            f"<= {P8_GOAL_MB:.0f} MB",
            verdict(max(growth, ours_v4["rss_growth_mb"]) <= P8_GOAL_MB),
            f"{ours_v4['rss_growth_mb']:.1f} MB",
            f"{traced['traced_peak_mb']:.1f} MB",
            f"{own['rss_growth_mb']:.1f} MB",
        )
    return cache_mb


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


def apply_history(db: DatasetLog, ops: Sequence[Op], *, seed: int, name: str) -> Built:
    dataset = db.create_dataset(project_id="bench", name=name)
    ids: list[str] = []
    for op in ops:
        if op.kind == "add":
            added = db.create_datapoint(dataset.id, make_bodies(seed, len(ids), op.count))
            ids.extend(datapoint.id for datapoint in added)
        elif op.kind == "update":
            db.update_datapoint(ids[op.ordinal], target=_UPDATED_TARGET)
        else:
            db.delete_datapoints([ids[op.ordinal]])
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


def _p3_baselines(
    folder: Path,
    dbs: tuple[DatasetLog, DatasetLog],
    built: tuple[Built, Built],
    n: int,
    long_ops: Sequence[Op],
    *,
    coc_commits: int,
    rounds: int,
) -> list[str]:
    """The baseline cells of P3 (SQLite only): replay (b) of the datasetlog stores, then
    eventsourcing (c) and copy-on-commit (a) holding the same histories."""
    (one_db, long_db), (one, long) = dbs, built
    seed, commits = 3, len(long_ops)
    r_one = best_of(lambda: replay_datapoints(one_db, one.dataset_id, 1), rounds)
    r_long = best_of(lambda: replay_datapoints(long_db, long.dataset_id, long.version), rounds)
    e_one = e_long = None
    if es.HAVE_ES:
        es_one = es.EsStore(folder / "es-one.db")
        apply_history_es(es_one, history(n, 1), seed=seed)
        es_long = es.EsStore(folder / "es-long.db")
        apply_history_es(es_long, long_ops, seed=seed)
        es_one.seal()
        es_long.seal()
        e_one = best_of(lambda: es_one.read(1), rounds)
        e_long = best_of(lambda: es_long.read(commits), rounds)
        es_one.close()
        es_long.close()
    coc_one = CopyOnCommit(folder / "coc-one.db")
    apply_history_coc(coc_one, history(n, 1), seed=seed)
    coc_long = CopyOnCommit(folder / "coc-long.db")
    apply_history_coc(coc_long, history(n, coc_commits, seed=seed), seed=seed)
    c_one = best_of(lambda: coc_one.read_datapoints("ds", 1), rounds)
    c_long = best_of(lambda: coc_long.read_datapoints("ds", coc_commits), rounds)
    coc_one.close()
    coc_long.close()
    return [
        _before_after(r_one, r_long),
        _before_after(e_one, e_long),
        _before_after(c_one, c_long),
    ]


def p3_table(
    backends: Backends, n: int, commits: int, *, coc_commits: int, repeat: int | None
) -> Table:
    rounds, baseline_rounds = repeats(n)
    rounds = repeat or rounds
    seed = 3
    long_ops = history(n, commits, seed=seed)
    table = Table(
        f"P3 read a {fmt_count(n)} version: {commits}-commit history vs 1 commit",
        floor="1-commit history",
        ours=f"{commits}-commit history",
        extras=[
            "replay (b) 1 -> long",
            "eventsourcing (c) 1 -> long",
            f"copy-on-commit (a) 1 -> {coc_commits} commits",
        ],
        backend=True,
    )

    def reader(db: DatasetLog, built: Built, v4: bool) -> Callable[[], None]:
        def read() -> None:
            method = db.iter_datapoints_v4 if v4 else db.iter_datapoints
            assert consume(method(built.dataset_id, version=built.version)) == n

        return read

    for backend in backends.chosen:
        one_store = backend.new_store("history/one-commit")
        one = apply_history(one_store.db, history(n, 1), seed=seed, name="one")
        long_store = backend.new_store("history/long-history")
        long = apply_history(long_store.db, long_ops, seed=seed, name="long")
        for store in (one_store, long_store):
            backend.after_build(store.location)
        t_one, t_long, t_one_v4, t_long_v4 = interleaved(
            [
                reader(one_store.db, one, False),
                reader(long_store.db, long, False),
                reader(one_store.db, one, True),
                reader(long_store.db, long, True),
            ],
            repeat=rounds,
        )
        baselines = ["-"] * 3
        if backend is backends.sqlite:
            baselines = _p3_baselines(
                backends.sqlite.folder / "history",
                (one_store.db, long_store.db),
                (one, long),
                n,
                long_ops,
                coc_commits=coc_commits,
                rounds=baseline_rounds,
            )
        for label, short, longer in (
            ("P3", t_one, t_long),
            ("P3 (v4 dicts, info)", t_one_v4, t_long_v4),
        ):
            ratio, cell = ratio_cells(longer, short)
            table.add(
                label,
                fmt_count(n),
                backend.name,
                fmt_timing(short),
                fmt_timing(longer),
                cell,
                f"<= {P3_GOAL}x",
                verdict(ratio <= P3_GOAL),
                *baselines,
            )
        one_store.close()
        long_store.close()
    churn = sum(op.kind != "add" for op in long_ops)
    table.note(
        f"long history: {commits} commits, {churn} of them updating or deleting one "
        f"datapoint; both histories end in a version of exactly {n} datapoints; each "
        "history in its own store (SQLite file, PostgreSQL schema)."
    )
    table.note(
        f"baselines are SQLite only. copy-on-commit (a) is run with a {coc_commits}-commit "
        f"history: at {commits} commits it would copy ~{fmt_count(n)} rows per commit "
        f"({commits * n:.1e} rows in all); its read cost does not depend on history length."
    )
    if not es.HAVE_ES:
        table.note(es.SKIPPED_ES)
    return table


# -- main ----------------------------------------------------------------------------------


def run_reads(
    backends: Backends,
    sizes: Sequence[int],
    *,
    repeat: int | None,
    memory: bool,
    postgres_sizes: Sequence[int] | None = None,
) -> list[Table]:
    """P1 and P2 for each size, then P8 on the largest.

    With ``postgres_sizes`` (other than ``sizes``), PostgreSQL is measured at those
    sizes instead, in rounds of its own, against an SQLite floor of its size.
    """
    groups = [(backends, sizes)]
    if backends.postgres is not None and postgres_sizes and set(postgres_sizes) != set(sizes):
        groups = [
            (
                backends.restricted([b for b in backends.chosen if b is not backends.postgres]),
                sizes,
            ),
            (backends.restricted([backends.postgres]), postgres_sizes),
        ]
    results: list[ReadTimes] = []
    p8 = p8_table()
    cache_mb = 0.0
    for group, ns in groups:
        if not group.chosen:
            continue
        for n in sorted(set(ns)):
            prep = prepare(group, n, seed=1)
            results.extend(measure_reads(prep, repeat=repeat))
            if memory and n == max(ns):
                cache_mb = max(cache_mb, p8_rows(p8, prep))
            prep.close()
    tables = p1_p2_tables(results)
    if memory:
        p8_notes(p8, cache_mb)
        tables.append(p8)
    return tables


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser("P1, P2, P3, P8: reading versions")
    parser.add_argument("--size", type=int, default=None, help="largest N (default 100k)")
    parser.add_argument("--history", type=int, default=None, help="P3 commits (10,000)")
    args = parse(parser, argv)
    size = pick(args.size, quick=args.quick, default=100_000, small=2_000)
    sizes = [500, size] if args.quick else [min(10_000, size), size]
    commits = pick(args.history, quick=args.quick, default=10_000, small=100)
    coc_commits = 5 if args.quick else 20
    with workdir() as tmp, open_backends(args, tmp) as backends:
        print_header(
            "reads",
            f"P1/P2 at N={', '.join(fmt_count(s) for s in sorted(set(sizes)))}; "
            f"P3 at N={fmt_count(size)} with {commits} commits; P8 at N={fmt_count(size)}",
            backends.describe(),
        )
        for table in run_reads(backends, sizes, repeat=args.repeat, memory=True):
            table.print()
        p3_table(backends, size, commits, coc_commits=coc_commits, repeat=args.repeat).print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
