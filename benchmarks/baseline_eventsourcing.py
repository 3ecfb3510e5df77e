"""P9: rebuilding a version, datasetlog vs the ``eventsourcing`` library (SQLite persistence).

Both hold the same history: a dataset created, then ``--commits`` commits of
``--per-commit`` datapoints each (one event each on the eventsourcing side, on a
``Dataset`` aggregate whose state is a dict of datapoint records). The figure is
how much faster datasetlog reads content version ``commits / 2`` than
``Repository.get(id, version=...)`` rebuilds it, without and with snapshotting.

The eventsourcing application (also baseline (c) of the other scripts) is in
``benchmarks._eventsourcing``. eventsourcing is optional (``pip install
datasetlog[bench]``); without it the comparison is skipped and the script still
exits 0.

P9 runs on SQLite only (``--backend postgres`` skips it; no server is started).

Run: ``python -m benchmarks.baseline_eventsourcing [--quick] [--commits N]``
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import orjson

from benchmarks._baselines import Floor, replay_datapoints
from benchmarks._config import DURABILITY
from benchmarks._datasets import build_dataset, open_db, stored_payloads
from benchmarks._environment import print_header
from benchmarks._eventsourcing import HAVE_ES, SKIPPED_ES, build_es
from benchmarks._files import workdir
from benchmarks._options import make_parser, parse, pick
from benchmarks._tables import Table, fmt_count, fmt_speedup, fmt_time, fmt_timing, verdict
from benchmarks._timing import best_of, consume, interleaved

P9_SQLITE_ONLY = (
    "P9 compares datasetlog with eventsourcing's SQLite persistence, so both run on SQLite "
    "files (--backend and --postgres-url are accepted for a uniform command line; no "
    "PostgreSQL server is started)"
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser(__doc__.split("\n")[0] if __doc__ else "P9")
    parser.add_argument("--commits", type=int, default=None, help="commits in the history")
    parser.add_argument("--per-commit", type=int, default=10, help="datapoints per commit")
    parser.add_argument("--snapshot-interval", type=int, default=None)
    args = parse(parser, argv)
    commits = pick(args.commits, quick=args.quick, default=10_000, small=200)
    interval = pick(args.snapshot_interval, quick=args.quick, default=1000, small=50)
    repeat = pick(args.repeat, quick=args.quick, default=15, small=2)
    per = args.per_commit
    target = commits // 2
    print_header(
        "baseline_eventsourcing",
        f"P9, {commits} commits x {per} datapoints, read version {target}, "
        f"snapshot interval {interval}, {repeat} paired rounds",
        f"backends: sqlite only: {P9_SQLITE_ONLY}",
    )
    if args.backend == "postgres":
        print("P9 skipped for --backend postgres: it measures SQLite stores only", flush=True)
        return 0
    if not HAVE_ES:
        print(f"P9 {SKIPPED_ES} (pip install 'datasetlog[bench]')", flush=True)
        return 0
    chunks = [(i * per, per) for i in range(commits)]
    with workdir() as tmp:
        db = open_db(tmp / "datasetlog.db")
        start = time.perf_counter()
        built = build_dataset(db, commits * per, seed=9, chunk=per)
        build_ours = time.perf_counter() - start
        start = time.perf_counter()
        plain = build_es(tmp / "es.db", chunks, seed=9)
        build_plain = time.perf_counter() - start
        start = time.perf_counter()
        snap = build_es(tmp / "es-snap.db", chunks, seed=9, snapshot_interval=interval)
        build_snap = time.perf_counter() - start
        assert built.version == commits == len(plain.versions) - 1
        expected = target * per
        ds = built.dataset_id
        floor = Floor(tmp / "floor.db", stored_payloads(db, ds, target))

        def floor_read() -> None:
            assert floor.read() == expected

        def ours() -> None:
            assert consume(db.iter_datapoints(ds, version=target)) == expected

        def ours_v4() -> None:
            assert consume(db.iter_datapoints_v4(ds, version=target)) == expected

        head = b'{"dataset_id":' + orjson.dumps(ds)  # begins each record, nothing else here
        rendered = b"".join(db.iter_datapoints_json(ds, version=target))
        assert rendered.count(head) == expected
        rendered_bytes = len(rendered)
        del rendered

        def ours_json() -> None:
            assert sum(map(len, db.iter_datapoints_json(ds, version=target))) == rendered_bytes

        def es_plain() -> None:
            assert plain.read(target) == expected

        def es_snap() -> None:
            assert snap.read(target) == expected

        t_floor, t_ours, t_v4, t_json, t_plain, t_snap = interleaved(
            [floor_read, ours, ours_v4, ours_json, es_plain, es_snap], repeat=repeat
        )
        t_replay = best_of(lambda: replay_datapoints(db, ds, target), max(1, repeat // 2))
        table = Table(
            f"P9 rebuild version {target} of {commits} commits: datasetlog vs eventsourcing",
            floor="eventsourcing Repository.get",
            ours="datasetlog",
            extras=["floor (plain table)", "floor speedup", "replay (b)"],
        )
        n_label = f"{fmt_count(expected)} dps, v{target}/{commits}"
        paths = (
            ("iter_datapoints_json (v4 JSON bytes)", t_json),
            ("iter_datapoints_v4 (dicts)", t_v4),
            ("iter_datapoints (Datapoint objects)", t_ours),
        )
        # The target: 10x faster than plain Repository.get, and ahead of it with snapshots.
        goals = (("no snapshots", t_plain, 10.0), (f"snapshots every {interval}", t_snap, 1.0))
        for label, es_time, goal in goals:
            for path, ours_time in paths:
                speedup = es_time.best / ours_time.best
                table.add(
                    f"P9 {path}",
                    n_label,
                    f"{label}: {fmt_timing(es_time)}",
                    fmt_timing(ours_time),
                    f"{fmt_speedup(speedup)} "
                    f"(med {fmt_speedup(es_time.median / ours_time.median)})",
                    ">= 10x faster" if goal > 1 else "faster (ahead)",
                    verdict(speedup >= goal if goal > 1 else speedup > goal),
                    fmt_timing(t_floor),
                    fmt_speedup(es_time.best / t_floor.best),
                    fmt_timing(t_replay),
                )
        table.note(
            f"build time: datasetlog {fmt_time(build_ours)}, eventsourcing "
            f"{fmt_time(build_plain)}, eventsourcing with snapshots {fmt_time(build_snap)} "
            f"({commits} commits each)"
        )
        table.note(
            "ratio = eventsourcing time / datasetlog time (best of each), all in the same "
            "interleaved rounds. eventsourcing's aggregate holds plain dicts; datasetlog is "
            "read three ways: the version as v4 JSON bytes (stored JSON copied, not decoded), "
            "as v4 dicts, as Datapoint objects. eventsourcing runs with synchronous="
            f"{DURABILITY.upper()} like datasetlog."
        )
        table.note(
            "floor = the version's stored payloads in a plain table, one SELECT + orjson.loads "
            "per row: the fastest a decoded read from SQLite gets, for scale."
        )
        table.print()
        floor.close()
        db.close()
        plain.close()
        snap.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
