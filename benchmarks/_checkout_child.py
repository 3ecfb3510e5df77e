"""One side of ``benchmarks.checkouts``: time the main calls of the datasetlog on ``PYTHONPATH``.

Run as a script (``python _checkout_child.py BODIES FOLDER REPEAT``), never imported, so
that the datasetlog it measures is the checkout's own. It needs only the API every
release since the first upsert has: ``create_datapoint``, the three reads, ``upsert``,
``export_dataset`` and ``import_datapoints``. It prints one JSON object: each call's
samples in seconds.
"""

from __future__ import annotations

import gc
import io
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from datasetlog import DatasetLog
from datasetlog.transfer import export_dataset, import_datapoints

MAX_PER_REQUEST = 100_000


def timed(fn: Callable[[], object]) -> float:
    """Run ``fn`` once after a garbage collection; return its wall time in seconds."""
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(bodies: list[dict[str, object]], folder: Path, repeat: int) -> dict[str, list[float]]:
    """Each call ``repeat`` times on a fresh SQLite store in ``folder``."""
    db = DatasetLog(str(folder / "store.db"), durability="normal")
    samples: dict[str, list[float]] = {}

    def sample(name: str, call: Callable[..., object], *args: Any, **options: Any) -> None:
        samples.setdefault(name, []).append(timed(lambda: call(*args, **options)))

    def create(dataset_id: str) -> None:
        for start in range(0, len(bodies), MAX_PER_REQUEST):
            db.create_datapoint(dataset_id, bodies[start : start + MAX_PER_REQUEST])

    def read(method: Callable[[str], Iterable[object]], dataset_id: str) -> None:
        for _ in method(dataset_id):
            pass

    dataset_id = ""
    for round_ in range(repeat):
        dataset_id = db.create_dataset(project_id="bench", name=f"created-{round_}").id
        sample("create_datapoint", create, dataset_id)
    sink = io.BytesIO()
    for _ in range(repeat):
        sample("iter_datapoints", read, db.iter_datapoints, dataset_id)
        sample("iter_datapoints_v4", read, db.iter_datapoints_v4, dataset_id)
        sample("iter_datapoints_json", read, db.iter_datapoints_json, dataset_id)
        sink = io.BytesIO()
        sample("export_dataset", export_dataset, db, dataset_id, sink, format="jsonl")
    exported = folder / "exported.jsonl"
    exported.write_bytes(sink.getvalue())
    for round_ in range(repeat):
        target = db.create_dataset(project_id="bench", name=f"imported-{round_}").id
        sample("import_datapoints", import_datapoints, db, target, exported)
    changed = [
        {**body, "target": {"changed": True}} if i % 100 == 0 else body
        for i, body in enumerate(bodies)
    ]
    for round_ in range(repeat):  # alternately 1% changed and back, so each call changes 1%
        sample("upsert", db.upsert, dataset_id, changed if round_ % 2 == 0 else bodies)
    db.close()
    return samples


def main(argv: list[str]) -> int:
    bodies_path, folder, repeat = argv
    bodies = [orjson.loads(line) for line in Path(bodies_path).read_bytes().splitlines()]
    print(orjson.dumps(measure(bodies, Path(folder), int(repeat))).decode(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
