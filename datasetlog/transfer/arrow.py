"""Versions as Arrow tables, pandas DataFrames, Hugging Face datasets and Parquet files.

Every one has the columns of a CSV export (:data:`COLUMNS`):

- ``id`` and ``source_project_data_id``: strings (the latter null when unset);
- ``created_at`` and ``updated_at``: ``timestamp[us, UTC]``;
- ``inputs``, ``messages`` and ``target``: compact JSON text, keys sorted,
  null when the datapoint leaves the field unset.

JSON text keeps every value exactly (``1``, ``1.0`` and ``true`` stay apart,
as do an unset field, ``{}`` and ``null``), which nested Arrow types cannot
promise for ``target``, whose values may be any JSON. Decode a column with
``df["target"].map(json.loads)``.

pyarrow (``pip install 'datasetlog[arrow]'``), pandas (``[pandas]``) and
datasets (``[hf]``) are optional: each is imported on first use, and a
missing one is a :class:`MissingDependencyError` naming the extra.

Reading such tables and files back is :mod:`datasetlog.transfer.rows`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import orjson

from datasetlog import DatasetLog, DatasetLogError, VersionRef

COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "inputs",
    "messages",
    "target",
    "source_project_data_id",
)
CONTENT = ("inputs", "messages", "target")
ROWS_PER_BATCH = 10_000
"""Rows per record batch, and per Parquet row group."""


class MissingDependencyError(DatasetLogError, ImportError):
    """An optional dependency that this call needs is not installed; the message names the extra."""


def require(module: str, extra: str) -> Any:
    """Import an optional dependency.

    Raises:
        MissingDependencyError: It is not installed.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingDependencyError(
            f"this needs {module.split('.')[0]}: pip install 'datasetlog[{extra}]' "
            f"(or '.[{extra}]' in a checkout of datasetlog)"
        ) from error


def schema() -> Any:
    """The Arrow schema of a version's table."""
    pa = require("pyarrow", "arrow")
    stamp = pa.timestamp("us", tz="UTC")
    types = (pa.string(), stamp, stamp, pa.string(), pa.string(), pa.string(), pa.string())
    return pa.schema(list(zip(COLUMNS, types, strict=True)))


def record_batches(db: DatasetLog, dataset_id: str, *, version: VersionRef = None) -> Iterator[Any]:
    """A version's datapoints as Arrow record batches of up to ``ROWS_PER_BATCH`` rows.

    Built from the stored JSON: each datapoint is parsed once and its content
    fields written back as compact JSON, with no model objects in between.
    """
    pa = require("pyarrow", "arrow")
    shape = schema()
    found = db.get_version(dataset_id, version)
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    loads, dumps, sort = orjson.loads, orjson.dumps, orjson.OPT_SORT_KEYS
    ids, created, updated = columns["id"], columns["created_at"], columns["updated_at"]
    content = [(name, columns[name]) for name in CONTENT]
    sources = columns["source_project_data_id"]
    chunks = db.iter_datapoints_json(
        dataset_id, version=found.number, batch=ROWS_PER_BATCH, lines=True
    )
    for chunk in chunks:
        for line in chunk.splitlines():
            record = loads(line)
            ids.append(record["id"])
            created.append(record["created_at"])
            updated.append(record["updated_at"])
            for name, column in content:
                value = record.get(name)
                column.append(None if value is None else dumps(value, option=sort).decode())
            sources.append(record.get("source_project_data_id"))
        yield _batch(pa, shape, columns)
        for column in columns.values():
            column.clear()


def _batch(pa: Any, shape: Any, columns: dict[str, list[Any]]) -> Any:
    arrays = [
        pa.array(columns[field.name], pa.string()).cast(field.type)
        if field.name in ("created_at", "updated_at")
        else pa.array(columns[field.name], field.type)
        for field in shape
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=shape)


def to_arrow(db: DatasetLog, dataset_id: str, *, version: VersionRef = None) -> Any:
    """A version (default: the latest) as a ``pyarrow.Table``; see the module for its columns.

    Raises:
        MissingDependencyError: pyarrow is not installed.
        NotFoundError: No such dataset or version.
    """
    pa = require("pyarrow", "arrow")
    return pa.Table.from_batches(list(record_batches(db, dataset_id, version=version)), schema())


def to_pandas(db: DatasetLog, dataset_id: str, *, version: VersionRef = None) -> Any:
    """A version as a ``pandas.DataFrame``, one row per datapoint (the columns of :func:`to_arrow`).

    Raises:
        MissingDependencyError: pyarrow or pandas is not installed.
        NotFoundError: No such dataset or version.
    """
    require("pandas", "pandas")
    return to_arrow(db, dataset_id, version=version).to_pandas()


def to_hf(db: DatasetLog, dataset_id: str, *, version: VersionRef = None) -> Any:
    """A version as a Hugging Face ``datasets.Dataset`` (the columns of :func:`to_arrow`).

    Raises:
        MissingDependencyError: datasets is not installed.
        NotFoundError: No such dataset or version.
    """
    datasets = require("datasets", "hf")
    return datasets.Dataset(to_arrow(db, dataset_id, version=version))


def write_parquet(batches: Iterator[Any], out: Any) -> Iterator[int]:
    """Write record batches to ``out`` (a binary file) as Parquet, one row group each.

    Yields each batch's row count once it is written. The bytes depend only on
    the rows and on the pyarrow version.
    """
    pq = require("pyarrow.parquet", "arrow")
    with pq.ParquetWriter(out, schema(), compression="zstd", write_statistics=False) as writer:
        for batch in batches:
            writer.write_batch(batch, row_group_size=ROWS_PER_BATCH)
            yield batch.num_rows
