"""Files into a dataset: the JSONL and CSV of :mod:`datasetlog.transfer.export`, read as a stream.

Each line (CSV record) gives one datapoint's ``inputs``, ``messages`` and
``target``; any other field an export holds (its id, timestamps, source log)
is left out, so an export imported into another dataset gives the same
contents under new ids. A bad line is a :class:`ValidationError` whose
``loc`` starts with ``("line", n)`` (1 for the first line; CSV counts its
header as line 1) and, for CSV, names the column. Parquet files give the
same three columns as JSON text (see :mod:`datasetlog.transfer.arrow`), and
their problems are at ``("row", n, column)``.

A file is read twice: once to count its datapoints (the version's message
states the count; an upsert validates and plans), then in batches as they
are committed. Only a batch is ever held, so a file of any size is read in
constant memory; a source that cannot seek (a pipe) is spooled to a
temporary file first.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from array import array
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import IO, Any

import orjson

from datasetlog import ErrorDetail, ValidationError
from datasetlog.transfer.arrow import MissingDependencyError, parquet_rows, require
from datasetlog.transfer.export import CSV_COLUMNS, Format

CONTENT = ("inputs", "messages", "target")
BATCH = 5_000
"""Datapoints read, validated and stored at a time (a few MB of them)."""
_CSV_CONTENT = frozenset(CONTENT)


def rewindable(source: IO[bytes], stack: ExitStack) -> IO[bytes]:
    """``source`` if it can seek back to where it is, else a spooled copy of what is left."""
    try:
        if source.seekable():
            return source
    except (AttributeError, ValueError):
        pass
    spool = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 (the stack closes it)
    shutil.copyfileobj(source, spool, 1 << 20)
    spool.seek(0)
    return spool


def count_datapoints(source: IO[bytes], fmt: Format) -> int:
    """How many datapoints the file holds if it is sound, reading from where it is and back.

    A JSONL count is its non-blank lines; a CSV count its records after the
    header. A file that is not sound is refused when read in batches.
    """
    start = source.tell()
    try:
        if fmt == "parquet":
            return _parquet_count(source)
        if fmt == "jsonl":
            return sum(1 for raw in _capped_lines(source) if raw.strip())
        with _text(source) as text:
            return max(sum(1 for _ in csv.reader(text)) - 1, 0)
    except (csv.Error, UnicodeDecodeError):
        return 0  # reading it in batches names the line
    finally:
        source.seek(start)


def _parquet_count(source: IO[bytes]) -> int:
    pq = require("pyarrow.parquet", "arrow")
    try:
        return int(pq.ParquetFile(source).metadata.num_rows)
    except MissingDependencyError:
        raise
    except Exception:  # not Parquet: reading it in batches says so
        return 0


Records = Iterator[tuple[int, Any, list[ErrorDetail]]]
"""Each datapoint of a source: its line (row) number, its body, and its problems."""


def file_records(source: IO[bytes], fmt: Format) -> Callable[[], Records]:
    """A file's records, read from where it is now each time they are asked for."""
    start = source.tell()
    readers = {"jsonl": _jsonl, "csv": _csv, "parquet": parquet_rows}

    def records() -> Records:
        source.seek(start)
        return readers[fmt](source)

    return records


class Batches:
    """A source's datapoint bodies in batches, remembering the line each one starts on.

    Args:
        records: Gives the source's records from its start (each iteration asks again).
        unit: What a record's number counts: ``"line"`` or ``"row"``.
    """

    def __init__(self, records: Callable[[], Records], unit: str) -> None:
        self._records = records
        self._lines = array("Q")  # the line (row) of every body yielded, in order
        self.unit = unit

    def __iter__(self) -> Iterator[list[Any]]:
        """Read the source from its start (each iteration reads it again)."""
        self._lines = array("Q")
        records = self._records()
        try:
            yield from self._batches(records)
        finally:
            close = getattr(records, "close", None)
            if close is not None:  # while the source is open: a reader may clean up on it
                close()

    def _batches(self, records: Records) -> Iterator[list[Any]]:
        batch: list[Any] = []
        problems: list[ErrorDetail] = []
        for line, body, found in records:
            if found:
                problems += found
                continue
            batch.append(body)
            self._lines.append(line)
            if len(batch) == BATCH:
                if problems:
                    raise ValidationError(problems)
                yield batch
                batch = []
        if problems:
            raise ValidationError(problems)
        if batch:
            yield batch

    def at_lines(self, error: ValidationError) -> ValidationError:
        """A write's validation error, its ``("body", i, ...)`` locations as file lines
        (Parquet rows)."""
        lines = self._lines
        details = []
        for detail in error.details:
            loc = detail.loc
            at = loc[1] if len(loc) >= 2 and loc[0] == "body" else None
            if isinstance(at, int) and at < len(lines):
                loc = (self.unit, lines[at], *loc[2:])
            details.append(ErrorDetail(loc, detail.msg, detail.type))
        return ValidationError(details)


MAX_LINE = 64 << 20
"""The longest line read, in bytes: a longer one is refused, not held (no datapoint needs it)."""


def _capped_lines(source: IO[bytes]) -> Iterator[bytes]:
    """A binary file's lines, each cut at ``MAX_LINE + 1`` bytes (so a longer one shows)."""
    return iter(lambda: source.readline(MAX_LINE + 1), b"")


def _jsonl(source: IO[bytes]) -> Iterator[tuple[int, Any, list[ErrorDetail]]]:
    loads, content = orjson.loads, CONTENT
    lines = _capped_lines(source)
    for number, raw in enumerate(lines, start=1):
        if len(raw) > MAX_LINE:
            message = f"longer than {MAX_LINE:,} bytes"
            yield number, None, [ErrorDetail(("line", number), message, "too_long")]
            return
        try:
            record = loads(raw)
        except orjson.JSONDecodeError as error:
            if raw.strip():
                yield number, None, [ErrorDetail(("line", number), not_json(error), "json")]
            continue
        if type(record) is not dict:
            yield number, None, [ErrorDetail(("line", number), "expected a JSON object", "object")]
            continue
        unknown = [key for key in record if key not in KNOWN_FIELDS]
        if unknown:
            yield number, None, [_unknown(("line", number, key)) for key in unknown]
            continue
        yield number, {key: record[key] for key in content if key in record}, []


def not_json(error: orjson.JSONDecodeError) -> str:
    """A JSON error's message, placed within its line or cell (from character 1)."""
    return f"not JSON: {error.msg} (at character {error.pos + 1})"


KNOWN_FIELDS = frozenset({"dataset_id", *CSV_COLUMNS})
"""What a line may hold: the fields an export writes. Only the content ones are read; any
other key (a typo, say ``input``) is refused rather than dropped."""


def _unknown(loc: tuple[Any, ...]) -> ErrorDetail:
    known = ", ".join(sorted(KNOWN_FIELDS))
    return ErrorDetail(loc, f"unknown field (an export holds {known})", "extra_forbidden")


class _text:
    """A UTF-8 text view of a binary file, detached (the file left open) when done."""

    def __init__(self, source: IO[bytes]) -> None:
        self._wrapper = io.TextIOWrapper(source, encoding="utf-8", newline="")

    def __enter__(self) -> io.TextIOWrapper:
        return self._wrapper

    def __exit__(self, *_: object) -> None:
        if not self._wrapper.closed:
            self._wrapper.detach()


def _csv(source: IO[bytes]) -> Iterator[tuple[int, Any, list[ErrorDetail]]]:
    # The csv module refuses cells over 128 KiB unless told (a process-wide limit, only raised).
    csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE))
    with _text(source) as text:
        yield from _csv_records(csv.reader(text))


def _csv_records(reader: Any) -> Iterator[tuple[int, Any, list[ErrorDetail]]]:
    try:
        header = next(reader, None)
    except (csv.Error, UnicodeDecodeError) as error:
        yield 1, None, [ErrorDetail(("line", 1), f"not CSV: {error}", "csv")]
        return
    if header is None:
        return
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown or len(set(header)) != len(header):
        message = f"expected columns among {', '.join(CSV_COLUMNS)} once each, got {header}"
        yield 1, None, [ErrorDetail(("line", 1), message, "header")]
        return
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader, None)
        except (csv.Error, UnicodeDecodeError) as error:
            yield line, None, [ErrorDetail(("line", line), f"not CSV: {error}", "csv")]
            return
        if row is None:
            return
        if len(row) != len(header):
            message = f"{len(row)} cells for {len(header)} columns"
            yield line, None, [ErrorDetail(("line", line), message, "cells")]
            continue
        body: dict[str, Any] = {}
        problems: list[ErrorDetail] = []
        for column, cell in zip(header, row, strict=True):
            if column not in _CSV_CONTENT or cell == "":
                continue
            try:
                body[column] = orjson.loads(cell)
            except orjson.JSONDecodeError as error:
                problems.append(ErrorDetail(("line", line, column), not_json(error), "json"))
        yield line, body, problems
