"""Parquet files and tables (pyarrow, pandas, Hugging Face) read as datapoint records, in
bounded memory.

Only the ``inputs``, ``messages`` and ``target`` columns are read, as JSON
text (see :mod:`datasetlog.transfer.cells`); a null cell leaves the field
unset. A column an export does not hold, or a name given twice, is refused
before any row is read.

A few hundred bytes of Parquet can decode to gigabytes: one value in a
column's dictionary, repeated by run-length encoding for every row. So the
text columns are read as dictionaries (a repeated value stays one value);
each row's size is measured before any of it becomes a Python string; a row
over :data:`~datasetlog.transfer.cells.MAX_LINE` bytes is refused unread;
and rows are decoded a few megabytes at a time. A row group whose columns
hold more than that as stored (before any dictionary is applied) is read
fewer rows at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import orjson

from datasetlog import ErrorDetail
from datasetlog.transfer.arrow import COLUMNS, CONTENT, ROWS_PER_BATCH, require
from datasetlog.transfer.cells import MAX_LINE, DuplicateKeyError, json_value, not_json

Record = tuple[int, Any, list[ErrorDetail], int]
"""A datapoint of a source: its line (row) number, its body, its problems, and its size in
bytes of text."""

DECODE_BYTES = 8 << 20
"""Bytes of cells turned into Python strings at a time."""


def parquet_rows(source: IO[bytes], *, with_id: bool = False) -> Iterator[Record]:
    """Each row of a Parquet file as a datapoint record (rows numbered from 1)."""
    pq = require("pyarrow.parquet", "arrow")
    start = source.tell()
    try:
        names = pq.ParquetFile(source).schema_arrow.names
    except Exception as error:  # pyarrow raises its own kinds for a file that is not Parquet
        yield 0, None, [ErrorDetail(("row",), f"not Parquet: {error}", "parquet")], 0
        return
    if problems := column_problems(names):
        yield 0, None, problems, 0
        return
    wanted = _wanted(names, with_id)
    source.seek(start)
    parquet = pq.ParquetFile(source, read_dictionary=wanted)  # only names it holds
    metadata = parquet.metadata
    first = 1
    for group in range(metadata.num_row_groups):
        rows = metadata.row_group(group)
        size = _rows_per_batch(rows, [names.index(name) for name in wanted])
        batches = parquet.iter_batches(batch_size=size, row_groups=[group], columns=wanted)
        yield from _records(batches, wanted, first)
        first += rows.num_rows


def _rows_per_batch(rows: Any, columns: list[int]) -> int:
    """How many rows of a row group to read at a time: fewer than ``ROWS_PER_BATCH`` when its
    columns hold more than ``DECODE_BYTES`` as stored."""
    stored = sum(int(rows.column(index).total_uncompressed_size) for index in columns)
    if stored <= DECODE_BYTES:
        return ROWS_PER_BATCH
    return max(1, min(ROWS_PER_BATCH, int(rows.num_rows) * DECODE_BYTES // stored))


def table_count(table: Any) -> int:
    """How many rows a pyarrow Table, pandas DataFrame or Hugging Face dataset holds."""
    return int(table.num_rows if table_kind(table) == "pyarrow" else len(table))


def table_rows(table: Any, *, with_id: bool = False) -> Iterator[Record]:
    """Each row of a pyarrow Table, pandas DataFrame or Hugging Face dataset with the columns
    of :func:`~datasetlog.transfer.arrow.to_arrow`, as :func:`parquet_rows` gives a file's."""
    kind = table_kind(table)
    names = [str(name) for name in table.columns] if kind == "pandas" else table.column_names
    if problems := column_problems(names):
        yield 0, None, problems, 0
        return
    wanted = _wanted(names, with_id)
    if kind == "pandas":
        yield from _frame_rows(table, wanted)
        return
    if kind == "datasets":  # the rows it shows (a selection or a shuffle maps indices)
        table = table.with_format("arrow")[:]
    yield from _records(iter(table.select(wanted).to_batches(ROWS_PER_BATCH)), wanted, 1)


def _frame_rows(frame: Any, wanted: list[str]) -> Iterator[Record]:
    """A pandas DataFrame's rows, turned into Arrow ``ROWS_PER_BATCH`` rows at a time."""
    pa = require("pyarrow", "arrow")
    for start in range(0, len(frame), ROWS_PER_BATCH):
        part = frame.iloc[start : start + ROWS_PER_BATCH][wanted]
        try:
            table = pa.Table.from_pandas(part, preserve_index=False)
        except pa.ArrowException as error:  # a column mixing text and numbers, say
            yield start + 1, None, _cells_not_text(part, start + 1, error), 0
            return
        yield from _records(iter(table.to_batches()), wanted, start + 1)


def _cells_not_text(frame: Any, first: int, error: Exception) -> list[ErrorDetail]:
    """Why a DataFrame did not turn into Arrow: each cell that is neither text nor missing."""
    pd = require("pandas", "pandas")
    problems = [
        _not_text(first + at, name, type(cell).__name__)
        for name in frame.columns
        for at, cell in enumerate(frame[name].tolist())
        if not isinstance(cell, str | bytes)
        and not (pd.api.types.is_scalar(cell) and pd.isna(cell))
    ]
    return problems or [ErrorDetail(("column",), f"cannot be read as a table: {error}", "column")]


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


def column_problems(names: list[str]) -> list[ErrorDetail]:
    """A problem for each column an export does not hold (a typo is refused, not dropped), and
    for each name given more than once."""
    known = ", ".join(COLUMNS)
    problems = [
        ErrorDetail(("column", name), f"unknown column (an export holds {known})", "column")
        for name in names
        if name not in COLUMNS and name != "dataset_id"
    ]
    twice = sorted({name for name in names if names.count(name) > 1})
    problems += [ErrorDetail(("column", name), "given more than once", "column") for name in twice]
    return problems


def _records(batches: Iterator[Any], wanted: list[str], first: int) -> Iterator[Record]:
    """The records of record batches of the wanted columns, rows numbered from ``first``."""
    pa = require("pyarrow", "arrow")
    number = first
    for batch in batches:
        columns = [batch.column(name) for name in wanted]
        sizes = [0] * batch.num_rows
        others = []  # the columns of a type other than text: each cell set in one is refused
        for name, column in zip(wanted, columns, strict=True):
            if _text(pa, column.type):
                sizes = [
                    size + cell for size, cell in zip(sizes, _cell_sizes(pa, column), strict=True)
                ]
            elif not pa.types.is_null(column.type):
                others.append((name, str(column.type), column.is_valid().to_pylist()))
        start = 0
        for end in _runs(sizes):
            if sizes[end - 1] > MAX_LINE:
                row = number + end - 1
                message = f"longer than {MAX_LINE:,} bytes"
                yield row, None, [ErrorDetail(("row", row), message, "too_long")], 0
                return
            cells = [_decoded(pa, column, start, end) for column in columns]
            for at in range(start, end):
                row = number + at
                body, problems = _body(row, wanted, [values[at - start] for values in cells])
                problems += [_not_text(row, name, kind) for name, kind, set_ in others if set_[at]]
                yield row, body, problems, sizes[at]
            start = end
        number += batch.num_rows


def _runs(sizes: list[int]) -> Iterator[int]:
    """Where each run of rows ends whose cells take at most ``DECODE_BYTES`` together; a row
    over ``MAX_LINE`` is a run of its own, and the last."""
    total = 0
    for at, size in enumerate(sizes):
        if size > MAX_LINE:
            if at:
                yield at
            yield at + 1
            return
        if total and total + size > DECODE_BYTES:
            yield at
            total = 0
        total += size
    if sizes:
        yield len(sizes)


def _text(pa: Any, kind: Any) -> bool:
    """Whether an Arrow type holds text: strings or bytes, or a dictionary of them."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    types = pa.types
    return bool(
        types.is_string(kind)
        or types.is_large_string(kind)
        or types.is_binary(kind)
        or types.is_large_binary(kind)
    )


def _cell_sizes(pa: Any, column: Any) -> list[int]:
    """Each cell's bytes (0 for a null), measured without decoding a dictionary column."""
    pc = require("pyarrow.compute", "arrow")
    if pa.types.is_dictionary(column.type):
        sizes = pc.binary_length(column.dictionary).take(column.indices)
    else:
        sizes = pc.binary_length(column)
    return sizes.fill_null(0).to_pylist()  # type: ignore[no-any-return]


def _decoded(pa: Any, column: Any, start: int, end: int) -> list[Any]:
    """Rows ``start`` to ``end`` of a column as Python text (None for a null, and for each
    cell of a column of another type, which is refused)."""
    if not _text(pa, column.type):
        return [None] * (end - start)
    part = column.slice(start, end - start)
    if pa.types.is_dictionary(part.type):
        part = part.dictionary.take(part.indices)  # plain text turns into Python faster
    return part.to_pylist()  # type: ignore[no-any-return]


def _not_text(row: int, name: str, kind: str) -> ErrorDetail:
    return ErrorDetail(("row", row, name), f"expected JSON text, got {kind}", "json")


def _wanted(names: list[str], with_id: bool) -> list[str]:
    """The columns read: the content ones a source holds, and its ``id`` if asked for."""
    return [name for name in CONTENT if name in names] + (
        ["id"] if with_id and "id" in names else []
    )


def _body(number: int, names: list[str], cells: list[Any]) -> tuple[Any, list[ErrorDetail]]:
    body: dict[str, Any] = {}
    problems: list[ErrorDetail] = []
    for name, cell in zip(names, cells, strict=True):
        if cell is None:
            continue
        if name == "id":  # text as it stands, not JSON
            body[name] = cell
            continue
        try:
            body[name] = json_value(cell)
        except DuplicateKeyError as error:
            problems.append(ErrorDetail(("row", number, name), str(error), "duplicate_key"))
        except orjson.JSONDecodeError as error:
            problems.append(ErrorDetail(("row", number, name), not_json(error), "json"))
    return body, problems
