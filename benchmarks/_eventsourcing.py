"""Baseline (c): a dataset as an aggregate of the ``eventsourcing`` library, on SQLite.

eventsourcing is optional (``pip install datasetlog[bench]``); without it
``HAVE_ES`` is False and the scripts print ``SKIPPED_ES`` where its figures go.
P9 (``benchmarks.baseline_eventsourcing``) compares datasetlog with it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from benchmarks._config import DURABILITY
from benchmarks._payloads import Body, make_bodies, make_records
from benchmarks._timing import consume

SKIPPED_ES: Final = "eventsourcing baseline skipped: eventsourcing is not installed"

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
