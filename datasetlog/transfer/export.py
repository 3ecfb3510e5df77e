"""A version as a file: JSON Lines or CSV, the same bytes for the same version on any backend.

Both formats hold each datapoint's v4 fields but ``dataset_id``, in dataset
order:

- **JSONL**: one datapoint's v4 JSON per line, ``dataset_id`` first, then
  its fields as stored (unset ones left out): the stored JSON copied, not
  re-encoded, so an export reads as fast as ``iter_datapoints_json``.
- **CSV** (RFC 4180, ``\\r\\n`` line ends): the header ``id, created_at,
  updated_at, inputs, messages, target, source_project_data_id``; ``inputs``,
  ``messages`` and ``target`` hold compact JSON (keys sorted), so that a
  missing field (an empty cell) stays apart from ``{}`` or ``null``.

Exports are written to a temporary file beside the destination and renamed
into place, so an interrupted export never leaves a partial file under the
destination's name.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

import orjson

from datasetlog import DatasetLog, ErrorDetail, ValidationError, Version, VersionRef

Format = Literal["jsonl", "csv"]
FORMATS: tuple[str, ...] = get_args(Format)
CSV_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "inputs",
    "messages",
    "target",
    "source_project_data_id",
)
_JSON_COLUMNS = frozenset({"inputs", "messages", "target"})


class BinaryWriter(Protocol):
    """Where an export can go besides a path: anything with ``write(bytes)`` (a binary file)."""

    def write(self, data: bytes, /) -> object:
        """Write ``data``."""


_BATCH = 2000


def require_format(value: object) -> Format:
    """Return ``value`` if it is a format this module writes.

    Raises:
        ValidationError: It is not (``loc`` ``("query", "format")``).
    """
    if value not in FORMATS:
        choices = ", ".join(repr(choice) for choice in FORMATS)
        raise ValidationError(
            [ErrorDetail(("query", "format"), f"expected one of {choices}, got {value!r}", "enum")]
        )
    return value  # type: ignore[return-value]


def export_lines(db: DatasetLog, dataset_id: str, version: Version, fmt: Format) -> Iterator[bytes]:
    """The bytes of an export of one version: chunks of JSON Lines, or CSV rows."""
    if fmt == "jsonl":
        yield from db.iter_datapoints_json(
            dataset_id, version=version.number, batch=_BATCH, lines=True
        )
        return
    records = db.iter_datapoints_v4(dataset_id, version=version.number, batch=_BATCH)
    yield _csv_row(CSV_COLUMNS)
    for record in records:
        yield _csv_row(_csv_cell(column, record.get(column)) for column in CSV_COLUMNS)


def _csv_cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column in _JSON_COLUMNS:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    return str(value)


def _csv_row(cells: Any) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerow(list(cells))
    return text.getvalue().encode()


def write_export(
    db: DatasetLog,
    dataset_id: str,
    dest: str | Path | BinaryWriter,
    *,
    version: VersionRef,
    fmt: Format,
    digest: bool,
    progress: Callable[[int], object] | None = None,
) -> tuple[Version, str | None, int]:
    """Write an export; return the version written, the SHA-256 of its bytes (if asked:
    hashing costs about as much as the export) and how many datapoints it holds.
    ``progress`` is called with how many more datapoints each piece wrote."""
    found = db.get_version(dataset_id, version)
    hashed = hashlib.sha256() if digest else None
    count = 0

    def pieces() -> Iterator[bytes]:
        nonlocal count
        for piece in export_lines(db, dataset_id, found, fmt):
            if hashed is not None:
                hashed.update(piece)
            # JSON escapes the newlines of its strings: a JSONL piece's newlines end its
            # lines; a CSV piece is one record.
            written = piece.count(b"\n") if fmt == "jsonl" else 1
            count += written
            yield piece
            if progress is not None:
                progress(written)

    if isinstance(dest, str | Path):
        _write_file(Path(dest), pieces())
    else:
        for piece in pieces():
            dest.write(piece)
    rows = count - 1 if fmt == "csv" else count
    return found, hashed.hexdigest() if hashed is not None else None, rows


def _umask() -> int:
    """The process's file mode creation mask (read by setting it, then putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_file(path: Path, lines: Iterator[bytes]) -> None:
    """Write lines to a temporary file beside ``path``, then rename it into place."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.chmod(temporary, 0o666 & ~_umask())  # as open() would make it, not mkstemp's 0600
        with os.fdopen(handle, "wb") as out:
            for line in lines:
                out.write(line)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
