"""A version as a file: JSON Lines, CSV or Parquet, the same bytes for the same version on
any backend.

Every format holds each datapoint's v4 fields but ``dataset_id``, in dataset
order:

- **JSONL**: one datapoint's v4 JSON per line, ``dataset_id`` first, then
  its fields as stored (unset ones left out): the stored JSON copied, not
  re-encoded, so an export reads as fast as ``iter_datapoints_json``.
- **CSV** (RFC 4180, ``\\r\\n`` line ends): the header ``id, created_at,
  updated_at, inputs, messages, target, source_project_data_id``; ``inputs``,
  ``messages`` and ``target`` hold compact JSON (keys sorted), so that a
  missing field (an empty cell) stays apart from ``{}`` or ``null``. A cell
  that a spreadsheet would run as a formula (it starts with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return) is written with an apostrophe
  before it, as is one that starts with an apostrophe; an import takes it off
  again (see :mod:`datasetlog.transfer.cells`).
- **Parquet**: the columns of :mod:`datasetlog.transfer.arrow` (the CSV's,
  with timestamps as ``timestamp[us, UTC]``), a row group per 10,000 rows,
  zstd-compressed; the same bytes for the same pyarrow version.

An export to a path is written to a temporary file beside it and renamed
into place with its lock (see :func:`export_file`), so an interrupted export
never leaves a partial file under the destination's name.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Literal, Protocol, get_args

import orjson

from datasetlog import (
    DatasetLog,
    DatasetLogError,
    ErrorDetail,
    SQLiteEventStore,
    SQLiteLogSource,
    ValidationError,
    Version,
    VersionRef,
)
from datasetlog.transfer.arrow import COLUMNS, record_batches, write_parquet
from datasetlog.transfer.cells import inert_cell
from datasetlog.transfer.files import Staging, require_replaceable

Format = Literal["jsonl", "csv", "parquet"]
FORMATS: tuple[str, ...] = get_args(Format)
CSV_COLUMNS = COLUMNS
_JSON_COLUMNS = frozenset({"inputs", "messages", "target"})


class BinaryWriter(Protocol):
    """Where an export can go besides a path: anything with ``write(bytes)`` (a binary file)."""

    def write(self, data: bytes, /) -> object:
        """Write ``data``."""


_BATCH = 2000


EXTENSIONS: dict[str, Format] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
}
"""The file extensions a format is told by."""


def require_format(value: object, path: object = None) -> Format:
    """Return ``value`` if it is a format this module writes; with None, the format that
    ``path``'s extension names (JSON Lines for a file object).

    Raises:
        ValidationError: It is not a format (``loc`` ``("query", "format")``), or None
            with a path whose extension names none.
    """
    if value is None:
        if not isinstance(path, str | Path):
            return "jsonl"
        found = EXTENSIONS.get(Path(path).suffix.lower())
        if found is None:
            known = ", ".join(EXTENSIONS)
            message = f"cannot tell the format of {str(path)!r} (known extensions: {known})"
            raise ValidationError([ErrorDetail(("query", "format"), message, "format")])
        return found
    if value not in FORMATS:
        choices = ", ".join(repr(choice) for choice in FORMATS)
        raise ValidationError(
            [ErrorDetail(("query", "format"), f"expected one of {choices}, got {value!r}", "enum")]
        )
    return value  # type: ignore[return-value]


def export_lines(
    db: DatasetLog, dataset_id: str, version: Version, fmt: Literal["jsonl", "csv"]
) -> Iterator[bytes]:
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
        return inert_cell(orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode())
    return inert_cell(str(value))


def _csv_row(cells: Any) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerow(list(cells))
    return text.getvalue().encode()


def write_export(
    db: DatasetLog,
    dataset_id: str,
    out: BinaryWriter,
    *,
    version: VersionRef,
    fmt: Format,
    digest: bool,
    progress: Callable[[int], object] | None = None,
) -> tuple[Version, str | None, int]:
    """Write an export to a binary writer; return the version written, the SHA-256 of its
    bytes (if asked: hashing costs about as much as the export) and how many datapoints it
    holds. ``progress`` is called with how many more datapoints each piece wrote."""
    found = db.get_version(dataset_id, version)
    hashed = hashlib.sha256() if digest else None
    advance = progress or (lambda count: None)
    sink = _Sink(out, hashed)
    if fmt == "parquet":
        rows = 0
        for written in write_parquet(record_batches(db, dataset_id, version=found.number), sink):
            rows += written
            advance(written)
    else:
        count = 0
        for piece in export_lines(db, dataset_id, found, fmt):
            sink.write(piece)
            # JSON escapes the newlines of its strings: a JSONL piece's newlines end its
            # lines; a CSV piece is one record.
            written = piece.count(b"\n") if fmt == "jsonl" else 1
            count += written
            advance(written)
        rows = count - 1 if fmt == "csv" else count
    return found, hashed.hexdigest() if hashed is not None else None, rows


LockMaker = Callable[[Version, str, int], bytes]
"""What makes an export's lock: given the version, the export's SHA-256 and its datapoint
count, the lock's bytes."""


def export_file(
    db: DatasetLog,
    dataset_id: str,
    path: Path,
    *,
    version: VersionRef,
    fmt: Format,
    progress: Callable[[int], object] | None = None,
    lock: tuple[Path, LockMaker] | None = None,
) -> tuple[Version, str | None, int]:
    """Write an export to a file, with its lock if given (where, and how to make it), whole
    or not at all; return as :func:`write_export` does (a digest with a lock only).

    The export, then the lock, is written to a temporary beside it; both are
    made durable, then renamed into place, the export first (see
    :class:`~datasetlog.transfer.files.Staging`). So at every instant the
    destination holds the old export and lock, or the new export and the old
    lock (only if the process is killed between the two renames; the lock's
    temporary then is still there, and :func:`check_lock` says the lock is
    stale), or the new pair. Temporaries of a killed export to the same
    destination are removed first.

    Raises:
        ValidationError: A destination that is one of the store's files, or
            is not a regular file, or a folder that cannot be written.
        DatasetLogError: The disk failed (full, say); nothing was changed.
    """
    targets = [(path, "the destination")] + ([(lock[0], "its lock")] if lock else [])
    refuse_store_files(db, targets)
    for target, what in targets:
        require_replaceable(target, ("dest",), what)
    writing = path
    try:
        with Staging(path.parent) as staging:
            for target, _ in targets:
                staging.remove_stale(target.name)
            export = staging.add(path.name)
            with _Flusher(export.handle) as out:
                found, digest, count = write_export(
                    db,
                    dataset_id,
                    out,
                    version=version,
                    fmt=fmt,
                    digest=bool(lock),
                    progress=progress,
                )
            export.finish()
            if lock is not None and digest is not None:
                writing, make_lock = lock
                content = make_lock(found, digest, count)
                staged = staging.add(writing.name, new_mode=export.mode)
                staged.handle.write(content)
                staged.finish()
            staging.commit()
    except OSError as error:
        raise file_error(writing, error, ("dest",)) from error
    return found, digest, count


_SQLITE_FILES = {
    "": "database file",
    "-wal": "write-ahead log",
    "-shm": "shared-memory index",
    "-journal": "rollback journal",
}


def refuse_store_files(db: DatasetLog, targets: list[tuple[Path, str]]) -> None:
    """Refuse to write over a file of ``db``'s SQLite store (or of its SQLite log source):
    the database or a file SQLite keeps beside it, however the path names it (relative,
    through a symlink or a hard link). A PostgreSQL store has no files to overwrite.

    Raises:
        ValidationError: A target is one (``loc`` ``("dest",)``).
    """
    owners = [("store", db.store), ("log source", db.logs)]
    for owner, holder in owners:
        if not isinstance(holder, SQLiteEventStore | SQLiteLogSource) or holder.path == ":memory:":
            continue
        names, identities = _sqlite_files(holder.path)
        for target, what in targets:
            found = names.get(os.path.abspath(target)) or names.get(os.path.realpath(target))
            try:
                seen = os.stat(target)
            except OSError:
                pass
            else:
                found = found or identities.get((seen.st_dev, seen.st_ino))
            if found:
                message = (
                    f"{what} {str(target)!r} is the {owner}'s {found} ({holder.path!r}): "
                    "writing there would destroy it; choose another path"
                )
                raise ValidationError([ErrorDetail(("dest",), message, "store_file")])


def _sqlite_files(database: str) -> tuple[dict[str, str], dict[tuple[int, int], str]]:
    """The paths of an SQLite database's files (as given and with symlinks resolved, as
    SQLite names its -wal) and the identities of those that exist (for hard links)."""
    names = {
        base + suffix: what
        for base in (os.path.abspath(database), os.path.realpath(database))
        for suffix, what in _SQLITE_FILES.items()
    }
    identities = {}
    for name, what in names.items():
        try:
            seen = os.stat(name)
        except OSError:
            continue
        identities[(seen.st_dev, seen.st_ino)] = what
    return names, identities


class _Sink:
    """A binary writer that hashes what passes (if asked) and knows its position, as
    Parquet writers need."""

    closed = False

    def __init__(self, out: BinaryWriter, hashed: Any) -> None:
        self._out = out
        self._hashed = hashed
        self._position = 0

    def write(self, data: bytes) -> int:
        if self._hashed is not None:
            self._hashed.update(data)
        self._out.write(data)
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        """Nothing is held here: the file flushes when it is closed."""


def file_error(path: str | Path, error: OSError, loc: tuple[str, ...]) -> DatasetLogError:
    """What to raise for a file that cannot be read or written: a ValidationError naming the
    argument when the path is wrong, a DatasetLogError when the disk failed."""
    reason = error.strerror or str(error)
    if isinstance(
        error, FileNotFoundError | NotADirectoryError | IsADirectoryError | PermissionError
    ):
        return ValidationError([ErrorDetail(loc, f"{str(path)!r}: {reason}", "path")])
    return DatasetLogError(f"cannot write or read {str(path)!r}: {reason}; nothing was changed")


class _Flusher:
    """A file writer that has the disk write back what it was given while more is made.

    Every ``FLUSH_EVERY`` bytes, a thread fsyncs what is written so far, so
    that the export's own work and the disk's overlap. An error of that fsync
    (a full disk, say) is raised by the next write, or on leaving the ``with``:
    the kernel reports it once, so it must not be lost with the thread.
    """

    FLUSH_EVERY = 8 << 20

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._since = 0
        self._pending: threading.Thread | None = None
        self._failure: OSError | None = None

    def __enter__(self) -> _Flusher:
        return self

    def write(self, data: bytes) -> int:
        self._raise_failure()
        self._out.write(data)
        self._since += len(data)
        if self._since >= self.FLUSH_EVERY and not (self._pending and self._pending.is_alive()):
            self._since = 0
            self._out.flush()
            self._pending = threading.Thread(target=self._sync, daemon=True)
            self._pending.start()
        return len(data)

    def _sync(self) -> None:
        try:
            os.fsync(self._out.fileno())
        except OSError as error:
            self._failure = error

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def __exit__(self, *failed: object) -> None:
        if self._pending is not None:
            self._pending.join()
        if failed[0] is None:
            self._raise_failure()
