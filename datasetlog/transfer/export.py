"""A version as a file: JSON Lines or CSV, the same bytes for the same version on any backend.

Both formats hold each datapoint's v4 fields but ``dataset_id``, in dataset
order:

- **JSONL**: one JSON object per line, keys sorted, unset fields left out.
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
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal, get_args

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
    """The bytes of an export of one version, a line (or CSV row) at a time."""
    records = db.iter_datapoints_v4(dataset_id, version=version.number, batch=_BATCH)
    if fmt == "jsonl":
        for record in records:
            del record["dataset_id"]
            yield orjson.dumps(record, option=orjson.OPT_SORT_KEYS) + b"\n"
        return
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
    dest: str | Path | IO[bytes],
    *,
    version: VersionRef,
    fmt: Format,
) -> tuple[Version, str, int]:
    """Write an export; return the version written, the SHA-256 of its bytes and its count."""
    found = db.get_version(dataset_id, version)
    digest, count = hashlib.sha256(), 0

    def lines() -> Iterator[bytes]:
        nonlocal count
        for line in export_lines(db, dataset_id, found, fmt):
            digest.update(line)
            count += 1
            yield line

    if isinstance(dest, str | Path):
        _write_file(Path(dest), lines())
    else:
        for line in lines():
            dest.write(line)
    rows = count - 1 if fmt == "csv" else count
    return found, digest.hexdigest(), rows


def _write_file(path: Path, lines: Iterator[bytes]) -> None:
    """Write lines to a temporary file beside ``path``, then rename it into place."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            for line in lines:
                out.write(line)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
