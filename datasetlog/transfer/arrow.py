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
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import IO, Any

import orjson

from datasetlog import DatasetLog, DatasetLogError, ErrorDetail, VersionRef

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


def parquet_rows(source: IO[bytes]) -> Iterator[tuple[int, Any, list[ErrorDetail]]]:
    """Each row of a Parquet file as a datapoint body: its number (from 1), body and problems.

    Only ``inputs``, ``messages`` and ``target`` are read, as JSON text, as
    the other formats do; a missing or null cell leaves the field unset.
    """
    pq = require("pyarrow.parquet", "arrow")
    try:
        parquet = pq.ParquetFile(source)
    except Exception as error:  # pyarrow raises its own kinds for a file that is not Parquet
        yield 0, None, [ErrorDetail(("row",), f"not Parquet: {error}", "parquet")]
        return
    names = parquet.schema_arrow.names
    if unknown := _unknown_columns(names):
        yield 0, None, unknown
        return
    wanted = [name for name in CONTENT if name in names]
    yield from _rows(parquet.iter_batches(batch_size=ROWS_PER_BATCH, columns=wanted), wanted)


def table_rows(table: Any) -> Iterator[tuple[int, Any, list[ErrorDetail]]]:
    """Each row of an Arrow table, pandas DataFrame or Hugging Face dataset with the columns
    of :func:`to_arrow`, as :func:`parquet_rows` gives a file's."""
    table = as_arrow_table(table)
    if unknown := _unknown_columns(table.column_names):
        yield 0, None, unknown
        return
    wanted = [name for name in CONTENT if name in table.column_names]
    yield from _rows(table.select(wanted).to_batches(max_chunksize=ROWS_PER_BATCH), wanted)


def as_arrow_table(table: Any) -> Any:
    """A pyarrow Table of an Arrow table, a pandas DataFrame or a Hugging Face dataset."""
    pa = require("pyarrow", "arrow")
    kind = table_kind(table)
    if kind == "datasets":
        return table.data.table  # a Hugging Face dataset holds an Arrow table
    if kind == "pandas":
        return pa.Table.from_pandas(table, preserve_index=False)
    return table


def table_kind(source: object) -> str | None:
    """``"pyarrow"``, ``"pandas"`` or ``"datasets"`` for a table of that library, else None.

    Told by the type's name, so that no library is imported to ask.
    """
    for base in type(source).__mro__:
        library = base.__module__.split(".")[0]
        if _TABLE_TYPES.get(library) == base.__qualname__:
            return library
    return None


_TABLE_TYPES = {"pyarrow": "Table", "pandas": "DataFrame", "datasets": "Dataset"}


def _unknown_columns(names: list[str]) -> list[ErrorDetail]:
    """A problem for each column an export does not hold (a typo is refused, not dropped)."""
    known = ", ".join(COLUMNS)
    return [
        ErrorDetail(("column", name), f"unknown column (an export holds {known})", "column")
        for name in names
        if name not in COLUMNS and name != "dataset_id"
    ]


def _rows(
    batches: Iterator[Any], wanted: list[str]
) -> Iterator[tuple[int, Any, list[ErrorDetail]]]:
    number = 0
    for batch in batches:
        cells = {name: batch.column(name).to_pylist() for name in wanted}
        for index in range(batch.num_rows):
            number += 1
            yield (number, *_body(number, {name: cells[name][index] for name in wanted}))


def _body(number: int, cells: dict[str, Any]) -> tuple[Any, list[ErrorDetail]]:
    body: dict[str, Any] = {}
    problems: list[ErrorDetail] = []
    for name, cell in cells.items():
        if cell is None:
            continue
        if not isinstance(cell, str | bytes):
            message = f"expected JSON text, got {type(cell).__name__}"
            problems.append(ErrorDetail(("row", number, name), message, "json"))
            continue
        try:
            body[name] = orjson.loads(cell)
        except orjson.JSONDecodeError as error:
            message = f"not JSON: {error.msg} (at character {error.pos + 1})"
            problems.append(ErrorDetail(("row", number, name), message, "json"))
    return body, problems
