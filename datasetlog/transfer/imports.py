"""Files into a dataset: the JSONL and CSV of :mod:`datasetlog.transfer.export`, as one version.

Each line (CSV record) gives one datapoint's ``inputs``, ``messages`` and
``target``; any other field an export holds (its id, timestamps, source log)
is left out, so an export imported into another dataset gives the same
contents under new ids. A bad line is a :class:`ValidationError` whose
``loc`` starts with ``("line", n)`` (1 for the first line; CSV counts its
header as line 1) and, for CSV, names the column; nothing is written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from datasetlog import ErrorDetail, ValidationError
from datasetlog.transfer.export import CSV_COLUMNS, Format

CONTENT = ("inputs", "messages", "target")
_CSV_CONTENT = frozenset(CONTENT)


def read_bodies(source: str | Path | IO[bytes], fmt: Format) -> tuple[list[Any], list[int]]:
    """The datapoint bodies a file holds, and the line each starts on.

    Raises:
        ValidationError: A line is not a datapoint (every such line is named).
    """
    if isinstance(source, str | Path):
        with Path(source).open("rb") as handle:
            return read_bodies(handle, fmt)
    if fmt == "jsonl":
        return _jsonl(source.read())
    bodies: list[Any] = []
    lines: list[int] = []
    problems: list[ErrorDetail] = []
    for line, body, found in _csv(source):
        problems += found
        if not found:
            bodies.append(body)
            lines.append(line)
    if problems:
        raise ValidationError(problems)
    return bodies, lines


def at_lines(error: ValidationError, lines: list[int]) -> ValidationError:
    """A request's validation error, its ``("body", i, ...)`` locations as file lines."""
    details = []
    for detail in error.details:
        loc = detail.loc
        if len(loc) >= 2 and loc[0] == "body" and isinstance(loc[1], int) and loc[1] < len(lines):
            loc = ("line", lines[loc[1]], *loc[2:])
        details.append(ErrorDetail(loc, detail.msg, detail.type))
    return ValidationError(details)


def _jsonl(data: bytes) -> tuple[list[Any], list[int]]:
    """The bodies of JSON Lines (read whole: an import is one request's size), one tight loop."""
    loads, content = orjson.loads, CONTENT
    bodies: list[Any] = []
    lines: list[int] = []
    problems: list[ErrorDetail] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            record = loads(raw)
        except orjson.JSONDecodeError as error:
            if raw.strip():
                problems.append(ErrorDetail(("line", number), f"not JSON: {error}", "json"))
            continue
        if type(record) is not dict:
            problems.append(ErrorDetail(("line", number), "expected a JSON object", "object"))
            continue
        bodies.append({key: record[key] for key in content if key in record})
        lines.append(number)
    if problems:
        raise ValidationError(problems)
    return bodies, lines


def _csv(source: IO[bytes]) -> Iterator[tuple[int, Any, list[ErrorDetail]]]:
    text = io.TextIOWrapper(source, encoding="utf-8", newline="")
    try:
        yield from _csv_records(csv.reader(text))
    finally:
        text.detach()  # the caller's file stays open


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
                problems.append(ErrorDetail(("line", line, column), f"not JSON: {error}", "json"))
        yield line, body, problems
