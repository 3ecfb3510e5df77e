"""datasetlog as the benchmarks use it: opening a store, building a dataset, its payloads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from benchmarks._config import DURABILITY, MAX_PER_REQUEST
from benchmarks._payloads import make_bodies
from datasetlog import DatasetLog


def open_db(location: str | Path) -> DatasetLog:
    """Open a datasetlog store (an SQLite file, or a PostgreSQL URL) with the benchmark
    durability (which only SQLite stores take)."""
    return DatasetLog(location, durability=DURABILITY)


@dataclass
class Built:
    """A dataset built for a benchmark: its id, the version holding all rows, and row ids."""

    dataset_id: str
    version: int
    ids: list[str] = field(default_factory=list)


def build_dataset(
    db: DatasetLog,
    n: int,
    *,
    seed: int,
    name: str = "bench",
    chunk: int = MAX_PER_REQUEST,
    keep_ids: bool = False,
) -> Built:
    """Create a dataset and add ``n`` datapoints with ``create_datapoint``, ``chunk`` per call."""
    dataset = db.create_dataset(project_id="bench", name=name)
    built = Built(dataset.id, 0)
    for start in range(0, n, chunk):
        added = db.create_datapoint(dataset.id, make_bodies(seed, start, min(chunk, n - start)))
        built.version += 1
        if keep_ids:
            built.ids.extend(datapoint.id for datapoint in added)
    return built


def stored_payloads(db: DatasetLog, dataset_id: str, version: int) -> Iterator[str]:
    """The JSON text of a version's datapoints exactly as datasetlog stores each one."""
    for data in db.iter_datapoints_v4(dataset_id, version=version):
        del data["dataset_id"]
        yield orjson.dumps(data).decode()
