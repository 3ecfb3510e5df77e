"""P9: rebuilding a version, datasetlog vs the ``eventsourcing`` library (SQLite persistence).

Both hold the same history: a dataset created, then ``--commits`` commits of
``--per-commit`` datapoints each (one event each on the eventsourcing side, on a
``Dataset`` aggregate whose state is a dict of datapoint records). The figure is
how much faster datasetlog reads content version ``commits / 2`` than
``Repository.get(id, version=...)`` rebuilds it, without and with snapshotting.

This module also holds the eventsourcing application the other scripts use as
baseline (c). eventsourcing is optional (``pip install datasetlog[bench]``);
without it the comparison is skipped and the script still exits 0.

P9 runs on SQLite only (``--backend postgres`` skips it; no server is started).

Run: ``python -m benchmarks.baseline_eventsourcing [--quick] [--commits N]``
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from benchmarks._common import (
    DURABILITY,
    SKIPPED_ES,
    Body,
    Floor,
    Table,
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
    replay_datapoints,
    stored_payloads,
    verdict,
    workdir,
)

try:
    import eventsourcing.sqlite as es_sqlite
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event

    HAVE_ES = True
except ImportError:  # pragma: no cover - depends on the optional extra
    HAVE_ES = False

if HAVE_ES:

    class EsDataset(Aggregate):
        """A dataset as an eventsourcing aggregate: datapoint records by id, in order."""

        @event("Created")
        def __init__(self, name: str) -> None:
            self.name = name
            self.datapoints: dict[str, Body] = {}

        @event("DatapointsAdded")
        def add_datapoints(self, datapoints: list[Body]) -> None:
            for record in datapoints:
                self.datapoints[record["id"]] = record

        @event("DatapointUpdated")
        def update_datapoint(self, datapoint: Body) -> None:
            self.datapoints[datapoint["id"]] = datapoint

        @event("DatapointsDeleted")
        def delete_datapoints(self, datapoint_ids: list[str]) -> None:
            for datapoint_id in datapoint_ids:
                del self.datapoints[datapoint_id]

    class DatasetsApp(Application[Any]):
        """The eventsourcing application holding ``EsDataset`` aggregates."""

    _original_connect = es_sqlite.SQLiteConnectionPool._create_connection

    def _connect_with_durability(pool: Any) -> Any:
        """eventsourcing's own connection, set to the benchmark durability (its default
        is SQLite's FULL), so that both sides sync alike."""
        connection = _original_connect(pool)
        connection._sqlite_conn.execute(f"PRAGMA synchronous = {DURABILITY.upper()}")
        return connection

    setattr(  # noqa: B010 - assigning a method; mypy rejects the plain form
        es_sqlite.SQLiteConnectionPool, "_create_connection", _connect_with_durability
    )


class EsStore:
    """One eventsourcing application in its own SQLite file, holding one dataset aggregate.

    ``versions[k]`` is the aggregate version that equals datasetlog content
    version ``k`` (version 0 is the creation).
    """

    def __init__(self, path: Path, *, snapshot_interval: int | None = None) -> None:
        if not HAVE_ES:
            raise RuntimeError(SKIPPED_ES)
        cls: type[DatasetsApp] = DatasetsApp
        if snapshot_interval:
            cls = type(
                f"SnapshottingDatasets{snapshot_interval}",
                (DatasetsApp,),
                {"snapshotting_intervals": {EsDataset: snapshot_interval}},
            )
        self.path = path
        self.app = cls(
            env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
        )
        self.aggregate = EsDataset("bench")
        self.app.save(self.aggregate)
        self.versions = [self.aggregate.version]
        self.sealed = False

    def seal(self) -> None:
        """Drop the records the in-memory aggregate holds; no writes afterwards.

        Its state is in the database and :meth:`get` rebuilds it. Without this
        the process carries every record while other reads are timed, and live
        objects slow allocation-heavy loops through the garbage collector: 1M
        records alive made ``iter_datapoints`` 10% slower against the floor.
        """
        self.aggregate.datapoints = {}
        self.sealed = True

    def _saved(self) -> None:
        assert not self.sealed, "EsStore.seal() was called: no more writes"
        self.app.save(self.aggregate)
        self.versions.append(self.aggregate.version)

    def add(self, records: list[Body]) -> None:
        self.aggregate.add_datapoints(records)
        self._saved()

    def update(self, record: Body) -> None:
        self.aggregate.update_datapoint(record)
        self._saved()

    def delete(self, datapoint_ids: list[str]) -> None:
        self.aggregate.delete_datapoints(datapoint_ids)
        self._saved()

    def get(self, version: int) -> EsDataset:
        """``Repository.get(id, version=...)`` of datasetlog content version ``version``."""
        aggregate: EsDataset = self.app.repository.get(
            self.aggregate.id, version=self.versions[version]
        )
        return aggregate

    def read(self, version: int) -> int:
        """Rebuild a version and walk its datapoints (dicts, as the aggregate holds them)."""
        return consume(self.get(version).datapoints.values())

    def checkpoint(self) -> None:
        with sqlite3.connect(self.path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        conn.close()

    def close(self) -> None:
        self.app.close()


def build_es(path: Path, chunks: Sequence[tuple[int, int]], *, seed: int, **kw: Any) -> EsStore:
    """An EsStore with one ``DatapointsAdded`` event per ``(start, count)`` chunk, sealed."""
    store = EsStore(path, **kw)
    for start, count in chunks:
        store.add(make_records(make_bodies(seed, start, count), start))
    store.seal()
    return store


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
    args = parser.parse_args(argv)
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
        log = open_log(tmp / "datasetlog.db")
        start = time.perf_counter()
        built = build_dataset(log, commits * per, seed=9, chunk=per)
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
        floor = Floor(tmp / "floor.db", stored_payloads(log, ds, target))

        def floor_read() -> None:
            assert floor.read() == expected

        def ours() -> None:
            assert consume(log.iter_datapoints(ds, version=target)) == expected

        def ours_v4() -> None:
            assert consume(log.iter_datapoints_v4(ds, version=target)) == expected

        head = b'{"dataset_id":' + orjson.dumps(ds)  # begins each record, nothing else here
        rendered = b"".join(log.iter_datapoints_json(ds, version=target))
        assert rendered.count(head) == expected
        rendered_bytes = len(rendered)
        del rendered

        def ours_json() -> None:
            assert sum(map(len, log.iter_datapoints_json(ds, version=target))) == rendered_bytes

        def es_plain() -> None:
            assert plain.read(target) == expected

        def es_snap() -> None:
            assert snap.read(target) == expected

        t_floor, t_ours, t_v4, t_json, t_plain, t_snap = interleaved(
            [floor_read, ours, ours_v4, ours_json, es_plain, es_snap], repeat=repeat
        )
        t_replay = best_of(lambda: replay_datapoints(log, ds, target), max(1, repeat // 2))
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
                    f"{speedup:.2f}x faster (med {es_time.median / ours_time.median:.2f}x)",
                    ">= 10x faster" if goal > 1 else "faster (ahead)",
                    verdict(speedup >= goal if goal > 1 else speedup > goal),
                    fmt_timing(t_floor),
                    f"{es_time.best / t_floor.best:.2f}x faster",
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
        log.close()
        plain.close()
        snap.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
