"""Files into a dataset: the JSONL and CSV of :mod:`datasetlog.transfer.export`, and Parquet
(:mod:`datasetlog.transfer.rows`), read as a stream.

Each line (CSV record) gives one datapoint's ``inputs``, ``messages`` and
``target``; any other field an export holds (its id, timestamps, source log)
is left out, so an export imported into another dataset gives the same
contents under new ids. JSON is read strictly, no key twice in an object,
and a CSV cell without the apostrophe an export puts before a formula (see
:mod:`datasetlog.transfer.cells`). A bad line is a :class:`ValidationError`
whose ``loc`` starts with ``("line", n)`` (1 for the first line; CSV counts
its header as line 1) and, for CSV, names the column. Parquet files give the
same three columns as JSON text (see :mod:`datasetlog.transfer.arrow`), and
their problems are at ``("row", n, column)``. Reading stops at the end of
the batch holding the first bad line, and the error lists the first
``ValidationError.MAX_DETAILS`` problems read and counts the others. Every
datapoint read is checked by the validation every write uses, so a file
is refused exactly where ``create_datapoint`` would refuse its values, with
the same error types. A UTF-8 byte-order mark where a JSONL or CSV file
starts (as some editors and spreadsheets write) is skipped.

A file is read twice: once to count its datapoints (the version's message
states the count; an upsert validates and plans), then in batches as they
are committed. Only a batch is ever held (at most ``BATCH`` datapoints and
``BATCH_BYTES`` of their text), so a file of any size is read in bounded
memory; a source that cannot seek (a pipe) is spooled to a temporary file
first. A file rewritten while it is read must not commit a version that is
half the old file and half the new: its size, modification time and CRC-32
are taken before it is first read and checked after each reading, before
anything is committed (two more readings, at about 3 GB/s).
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import shutil
import tempfile
import zlib
from array import array
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import IO, Any

import orjson

from datasetlog import DatasetLogError, ErrorDetail, ValidationError
from datasetlog.transfer.arrow import CONTENT, MissingDependencyError, require
from datasetlog.transfer.cells import MAX_LINE, DuplicateKeyError, cell_text, json_value, not_json
from datasetlog.transfer.export import CSV_COLUMNS, Format
from datasetlog.transfer.rows import Record, parquet_rows

BATCH = 5_000
"""Datapoints read, validated and stored at a time, at most (a few MB of most)."""
BATCH_BYTES = 8 << 20
"""Bytes of datapoint text read at a time, at most: a batch of datapoints of megabytes each
holds a few of them."""
_CSV_CONTENT = frozenset(CONTENT)


def rewindable(source: IO[bytes], stack: ExitStack) -> IO[bytes]:
    """``source`` if it can seek back to where it is, else a spooled copy of what is left.

    Raises:
        DatasetLogError: The temporary file could not be made or written (a full disk).
    """
    try:
        if source.seekable():
            return source
    except (AttributeError, ValueError):
        pass
    try:
        spool = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 (the stack closes it)
        shutil.copyfileobj(source, spool, 1 << 20)
    except OSError as error:
        reason = error.strerror or str(error)
        raise DatasetLogError(
            f"cannot copy the input to a temporary file in {tempfile.gettempdir()!r} "
            f"(set TMPDIR to a folder with room): {reason}; nothing was changed"
        ) from error
    spool.seek(0)
    return spool


_OTHER_FORMATS = (
    (b"PAR1", "a Parquet file (it starts with PAR1): give format='parquet'"),
    (b"\x1f\x8b", "gzip-compressed: decompress it first"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook, say): save or extract it as CSV or JSONL"),
    (b"SQLite format 3\x00", "an SQLite database: export a dataset from it first"),
)
"""How a file of another format begins, and what to do with it."""


def refuse_other_formats(source: IO[bytes], fmt: Format) -> None:
    """Refuse a file read as JSONL or CSV that begins as a binary format does, in one
    error rather than one per line (it is read from where it is, and left there).

    Raises:
        ValidationError: At ``("source",)``, naming the format and what to do.
    """
    if fmt == "parquet":
        return
    start = source.tell()
    head = source.read(16)
    source.seek(start)
    for magic, what in _OTHER_FORMATS:
        if head.startswith(magic):
            message = f"not {fmt.upper()}: this is {what}"
            raise ValidationError([ErrorDetail(("source",), message, "format")])


class Unchanged:
    """A check that a file still holds what it held when this was made, from where it was.

    Args:
        source: A seekable binary file; it is read from where it is to its end now, and
            again at each check.
    """

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self._start = source.tell()
        self._taken = _fingerprint(source, self._start)

    def __call__(self) -> None:
        """Raise if the file changed since.

        Raises:
            ValidationError: Its size, modification time or content changed.
        """
        if _fingerprint(self._source, self._start) != self._taken:
            message = "the file changed while it was read (rewritten in place?)"
            raise ValidationError([ErrorDetail(("source",), message, "changed")])


def _fingerprint(source: IO[bytes], start: int) -> tuple[int, int, int | None]:
    """How many bytes a file holds from ``start``, their CRC-32 and when it was modified
    (None for a file object of no file); it is left where it was."""
    was = source.tell()
    source.seek(start)
    size = crc = 0
    for chunk in iter(lambda: source.read(1 << 20), b""):
        size += len(chunk)
        crc = zlib.crc32(chunk, crc)
    source.seek(was)
    try:
        modified: int | None = os.fstat(source.fileno()).st_mtime_ns
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        modified = None
    return size, crc, modified


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
            return max(sum(1 for _ in _csv_reader(text)) - 1, 0)
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


Records = Iterator[Record]
"""Each datapoint of a source: its line (row) number, body, problems and size in bytes."""


def file_records(source: IO[bytes], fmt: Format, *, with_id: bool = False) -> Callable[[], Records]:
    """A file's records, read from where it is now each time they are asked for (with each
    datapoint's ``id``, for a sync keyed by id)."""
    start = source.tell()
    readers = {"jsonl": _jsonl, "csv": _csv, "parquet": parquet_rows}

    def records() -> Records:
        source.seek(start)
        return readers[fmt](source, with_id=with_id)

    return records


class Batches:
    """A source's datapoint bodies in batches, remembering the line each one starts on.

    Args:
        records: Gives the source's records from its start (each iteration asks again).
        unit: What a record's number counts: ``"line"`` or ``"row"``.
        unchanged: Called after each whole reading, to raise if the source changed.
    """

    def __init__(
        self,
        records: Callable[[], Records],
        unit: str,
        *,
        unchanged: Callable[[], None] | None = None,
    ) -> None:
        self._records = records
        self._lines = array("Q")  # the line (row) of every body yielded, in order
        self._unchanged = unchanged
        self.unit = unit

    def __iter__(self) -> Iterator[list[Any]]:
        """Read the source from its start (each iteration reads it again).

        Raises:
            ValidationError: A bad record, after at most the batch it is in; or,
                once all is read, a source that changed.
        """
        self._lines = array("Q")
        records = self._records()
        try:
            yield from self._batches(records)
            if self._unchanged is not None:  # before the caller commits what it was given
                self._unchanged()
        finally:
            close = getattr(records, "close", None)
            if close is not None:  # while the source is open: a reader may clean up on it
                close()

    def _batches(self, records: Records) -> Iterator[list[Any]]:
        """The bodies in batches of at most ``BATCH`` records and ``BATCH_BYTES`` of text.

        A bad record counts towards its batch like a good one, and the problems
        found are raised where the batch would be given: so reading stops within
        a batch of the first bad record, however many follow.
        """
        batch: list[Any] = []
        records_in_batch = held = 0
        problems = _Problems()
        for line, body, found, size in records:
            if records_in_batch and (records_in_batch == BATCH or held + size > BATCH_BYTES):
                problems.raise_any()
                yield batch
                batch, records_in_batch, held = [], 0, 0
            records_in_batch += 1
            held += size
            if found:
                problems.add(found)
                continue
            batch.append(body)
            self._lines.append(line)
        problems.raise_any()
        if batch:
            yield batch

    def at_lines(self, error: ValidationError) -> ValidationError:
        """A write's validation error, its ``("body", i, ...)`` locations as file lines
        (Parquet rows)."""
        lines = self._lines
        details = []
        for detail in error.listed:
            loc = detail.loc
            at = loc[1] if len(loc) >= 2 and loc[0] == "body" else None
            if isinstance(at, int) and at < len(lines):
                loc = (self.unit, lines[at], *loc[2:])
            details.append(ErrorDetail(loc, detail.msg, detail.type))
        return ValidationError(details, omitted=error.omitted)


class _Problems:
    """A batch's problems: the first ``ValidationError.MAX_DETAILS``, and how many others
    (a line of a million unknown keys is counted, not held)."""

    def __init__(self) -> None:
        self.listed: list[ErrorDetail] = []
        self.omitted = 0

    def add(self, found: list[ErrorDetail]) -> None:
        room = ValidationError.MAX_DETAILS - len(self.listed)
        self.listed += found[:room]
        self.omitted += max(len(found) - room, 0)

    def raise_any(self) -> None:
        """Raise the problems found, if any.

        Raises:
            ValidationError: Listing them.
        """
        if self.listed:
            raise ValidationError(self.listed, omitted=self.omitted)


def _capped_lines(source: IO[bytes]) -> Iterator[bytes]:
    """A binary file's lines from where it is, each cut at ``MAX_LINE + 1`` bytes (so a
    longer one shows), a UTF-8 byte-order mark where they start skipped (the first line
    is read at once)."""
    lines = iter(lambda: source.readline(MAX_LINE + 1), b"")
    first = next(lines, None)
    if first is None:
        return iter(())
    return itertools.chain((first.removeprefix(codecs.BOM_UTF8),), lines)  # no frame a line


def _jsonl(source: IO[bytes], *, with_id: bool = False) -> Records:
    content = (*CONTENT, "id") if with_id else CONTENT
    for number, raw in enumerate(_capped_lines(source), start=1):
        if len(raw) > MAX_LINE:
            message = f"longer than {MAX_LINE:,} bytes"
            yield number, None, [ErrorDetail(("line", number), message, "too_long")], 0
            return
        try:
            record = json_value(raw)
        except orjson.JSONDecodeError as error:
            if raw.strip():
                problem = ErrorDetail(("line", number), not_json(error), "json")
                yield number, None, [problem], len(raw)
            continue
        except DuplicateKeyError as error:
            problem = ErrorDetail(("line", number), str(error), "duplicate_key")
            yield number, None, [problem], len(raw)
            continue
        if type(record) is not dict:
            problem = ErrorDetail(("line", number), "expected a JSON object", "object")
            yield number, None, [problem], len(raw)
            continue
        unknown = [key for key in record if key not in KNOWN_FIELDS]
        if unknown:
            yield number, None, [_unknown(("line", number, key)) for key in unknown], len(raw)
            continue
        yield number, {key: record[key] for key in content if key in record}, [], len(raw)


KNOWN_FIELDS = frozenset({"dataset_id", *CSV_COLUMNS})
"""What a line may hold: the fields an export writes. Only the content ones are read; any
other key (a typo, say ``input``) is refused rather than dropped."""


def _unknown(loc: tuple[Any, ...]) -> ErrorDetail:
    known = ", ".join(sorted(KNOWN_FIELDS))
    return ErrorDetail(loc, f"unknown field (an export holds {known})", "extra_forbidden")


class _text:
    """A UTF-8 text view of a binary file from where it is (a byte-order mark there
    skipped), detached (the file left open) when done."""

    def __init__(self, source: IO[bytes]) -> None:
        self._wrapper = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")

    def __enter__(self) -> io.TextIOWrapper:
        return self._wrapper

    def __exit__(self, *_: object) -> None:
        if not self._wrapper.closed:
            self._wrapper.detach()


def _csv_reader(text: io.TextIOWrapper) -> Any:
    """A CSV reader of a datapoint's cells, however long (up to ``MAX_LINE``)."""
    # The csv module refuses cells over 128 KiB unless told, in a limit of the whole process:
    # it is raised (never lowered) before every reading, counting included.
    csv.field_size_limit(max(csv.field_size_limit(), MAX_LINE))
    return csv.reader(text)


def _csv(source: IO[bytes], *, with_id: bool = False) -> Records:
    with _text(source) as text:
        yield from _csv_records(_csv_reader(text), with_id)


def _csv_records(reader: Any, with_id: bool) -> Records:
    try:
        header = next(reader, None)
    except (csv.Error, UnicodeDecodeError) as error:
        yield 1, None, [ErrorDetail(("line", 1), f"not CSV: {error}", "csv")], 0
        return
    if header is None:
        return
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown or len(set(header)) != len(header):
        message = f"expected columns among {', '.join(CSV_COLUMNS)} once each, got {header}"
        yield 1, None, [ErrorDetail(("line", 1), message, "header")], 0
        return
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader, None)
        except (csv.Error, UnicodeDecodeError) as error:
            yield line, None, [ErrorDetail(("line", line), f"not CSV: {error}", "csv")], 0
            return
        if row is None:
            return
        if len(row) != len(header):
            message = f"{len(row)} cells for {len(header)} columns"
            problem = ErrorDetail(("line", line), message, "cells")
            yield line, None, [problem], sum(map(len, row))
            continue
        yield (line, *_csv_body(line, header, row, with_id))


def _csv_body(
    line: int, header: list[str], row: list[str], with_id: bool
) -> tuple[Any, list[ErrorDetail], int]:
    """A CSV record's datapoint body, its problems and its size (characters of content)."""
    body: dict[str, Any] = {}
    problems: list[ErrorDetail] = []
    size = 0
    for column, cell in zip(header, row, strict=True):
        if with_id and column == "id" and cell:
            body["id"] = cell_text(cell)
            continue
        if column not in _CSV_CONTENT or cell == "":  # an empty cell: the field is unset
            continue
        size += len(cell)
        try:
            body[column] = json_value(cell_text(cell))
        except DuplicateKeyError as error:
            problems.append(ErrorDetail(("line", line, column), str(error), "duplicate_key"))
        except orjson.JSONDecodeError as error:
            problems.append(ErrorDetail(("line", line, column), not_json(error), "json"))
    return body, problems, size
