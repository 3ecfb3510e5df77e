"""Data in and out: a version as a file, lock files that prove which version it is, and
files back into a dataset.

Built on the public API only. ``export_dataset`` writes a version as JSON
Lines, CSV or Parquet (see :mod:`datasetlog.transfer.export` for the columns)
and, with ``lock=True``, a lock manifest beside it; ``check_lock`` checks an
export against its lock, offline or against a store; ``import_datapoints``
commits a file's datapoints as one version, whatever its size. ``to_arrow``,
``to_pandas`` and ``to_hf`` give a version as a table (optional extras; see
:mod:`datasetlog.transfer.arrow`).

Added in 0.2.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, Literal, overload

import attrs

from datasetlog import DatasetLog, Diff, ErrorDetail, ValidationError, Version, VersionRef
from datasetlog.transfer.arrow import (
    COLUMNS,
    MissingDependencyError,
    record_batches,
    to_arrow,
    to_hf,
    to_pandas,
)
from datasetlog.transfer.export import (
    CSV_COLUMNS,
    FORMATS,
    BinaryWriter,
    Format,
    export_file,
    file_error,
    require_format,
    write_export,
)
from datasetlog.transfer.imports import (
    Batches,
    Unchanged,
    count_datapoints,
    file_records,
    refuse_other_formats,
    rewindable,
)
from datasetlog.transfer.locks import Lock, LockCheck, check_lock, export_with_lock, lock_path
from datasetlog.transfer.rows import table_count, table_kind, table_rows


@attrs.frozen
class Exported:
    """What an export wrote: the version, how many datapoints, and with ``lock=True`` the
    SHA-256 of its bytes and the lock written beside it (else None)."""

    version: Version
    datapoint_count: int
    sha256: str | None = None
    lock: Lock | None = None


def export_dataset(
    db: DatasetLog,
    dataset_id: str,
    dest: str | Path | BinaryWriter,
    *,
    version: VersionRef = None,
    format: str | None = None,
    lock: bool = False,
    progress: Callable[[int], object] | None = None,
) -> Exported:
    """Write a version (default: the latest) of a dataset to ``dest``, a path or binary file.

    ``format`` is ``"jsonl"``, ``"csv"`` or ``"parquet"``; by default the one
    ``dest``'s extension names (``.jsonl``/``.ndjson``, ``.csv``, ``.parquet``),
    JSON Lines for a file object.

    The same version gives the same bytes on every backend and machine. With
    ``lock=True`` (``dest`` a path) a lock manifest is written beside it,
    ``<dest>.lock.json``. ``progress``, if given, is called with how many more
    datapoints were written, as they are (a CSV header counts one).

    A path is written whole or not at all: through temporaries beside it,
    renamed into place export first, then lock (a process killed between the
    two leaves a lock that :func:`check_lock` reports as stale), keeping the
    permissions of the files replaced. Only a regular file is replaced, never
    a symlink, a folder or a file of the store.

    Raises:
        ValidationError: An unknown format, ``lock=True`` with a file object, or
            a destination (or its lock) that is a file of the store or not a
            regular file (``loc`` ``("dest",)``).
        NotFoundError: No such dataset or version.
        DatasetLogError: The disk failed (full, say); nothing was changed.
    """
    _require_file(dest, ("dest",), writing=True)
    fmt: Format = require_format(format, dest)
    if not isinstance(dest, str | Path):
        if lock:
            raise ValidationError(
                [ErrorDetail(("query", "lock"), "a lock needs a path to sit beside", "lock")]
            )
        found, _, count = write_export(
            db, dataset_id, dest, version=version, fmt=fmt, digest=False, progress=progress
        )
        return Exported(found, count)
    if not lock:
        found, _, count = export_file(
            db, dataset_id, Path(dest), version=version, fmt=fmt, progress=progress
        )
        return Exported(found, count)
    found, count, digest, made = export_with_lock(
        db, dataset_id, Path(dest), version=version, fmt=fmt, progress=progress
    )
    return Exported(found, count, digest, made)


@attrs.frozen
class Imported:
    """What an import did: the version it committed (or the latest, if nothing changed);
    ``changed`` counts what a keyed import updated in place."""

    version: Version
    added: int
    removed: int
    ignored: int
    committed: bool
    changed: int = 0


@overload
def import_datapoints(
    db: DatasetLog,
    dataset_id: str,
    source: str | Path | IO[bytes] | Any,
    *,
    format: str | None = None,
    action: str | None = None,
    key: str | None = None,
    dry_run: Literal[False] = False,
    allow_empty: bool = False,
    version_name: str | None = None,
    version_description: str | None = None,
    progress: Callable[[int], object] | None = None,
) -> Imported: ...


@overload
def import_datapoints(
    db: DatasetLog,
    dataset_id: str,
    source: str | Path | IO[bytes] | Any,
    *,
    format: str | None = None,
    action: str | None = None,
    key: str | None = None,
    dry_run: Literal[True],
    allow_empty: bool = False,
    version_name: str | None = None,
    version_description: str | None = None,
    progress: Callable[[int], object] | None = None,
) -> Diff: ...


@overload
def import_datapoints(
    db: DatasetLog,
    dataset_id: str,
    source: str | Path | IO[bytes] | Any,
    *,
    format: str | None = None,
    action: str | None = None,
    key: str | None = None,
    dry_run: bool = False,
    allow_empty: bool = False,
    version_name: str | None = None,
    version_description: str | None = None,
    progress: Callable[[int], object] | None = None,
) -> Imported | Diff: ...


def import_datapoints(
    db: DatasetLog,
    dataset_id: str,
    source: str | Path | IO[bytes] | Any,
    *,
    format: str | None = None,
    action: str | None = None,
    key: str | None = None,
    dry_run: bool = False,
    allow_empty: bool = False,
    version_name: str | None = None,
    version_description: str | None = None,
    progress: Callable[[int], object] | None = None,
) -> Imported | Diff:
    """Commit the datapoints of a JSONL, CSV or Parquet file (as exports write them), or of
    a table (a pyarrow Table, pandas DataFrame or Hugging Face dataset with the columns of
    :func:`to_arrow`), as one version.

    ``action=None`` adds every line, as ``create_datapoint`` does; ``"add"``,
    ``"set"`` or ``"remove"`` is the upsert of that action on the latest
    version. Either way the file is one version whatever its size, streamed
    in batches (see :meth:`DatasetLog.commit_datapoint_stream` and
    :meth:`DatasetLog.upsert_stream`). Only ``inputs``, ``messages`` and
    ``target`` are read from each line.
    ``progress``, if given, is called with how many more datapoints were stored.
    ``format`` defaults as for :func:`export_dataset`; a table needs none.
    ``key=`` (with an action) matches lines to datapoints by a key, updating in
    place (see :meth:`DatasetLog.upsert`); ``key="id"`` reads each line's
    ``id``. ``dry_run=True`` returns the :class:`~datasetlog.Diff` the import
    would make and writes nothing. A ``set`` from a source holding no
    datapoint is refused unless ``allow_empty=True``.

    JSON is read strictly (no object may hold a key twice), and a datapoint's
    text is at most :data:`~datasetlog.transfer.cells.MAX_LINE` bytes (64 MiB);
    a CSV cell loses the apostrophe an export puts before what would run as a
    formula. A file that changes while it is read is refused.

    Raises:
        ValidationError: A bad line (``loc`` ``("line", n, ...)``), format or
            action, or a file that changed while it was read (``("source",)``);
            nothing is written. It lists the first ``ValidationError.MAX_DETAILS``
            problems and counts the others.
        NotFoundError: No such dataset.
        DatasetLogError: Standard input could not be copied to a temporary file.
    """
    options = _ImportOptions(action, key, dry_run, allow_empty, version_name, version_description)
    if table_kind(source) is not None:
        batches = Batches(lambda: table_rows(source, with_id=key == "id"), "row")
        return _imported(db, dataset_id, batches, table_count(source), options, progress)
    _require_file(source, ("source",), writing=False)
    fmt: Format = require_format(format, source)
    with ExitStack() as stack:
        if isinstance(source, str | Path):
            path = source
            try:
                source = stack.enter_context(Path(path).open("rb"))
            except OSError as error:
                raise file_error(path, error, ("source",)) from error
        readable = rewindable(source, stack)
        refuse_other_formats(readable, fmt)
        unit = "row" if fmt == "parquet" else "line"
        records = file_records(readable, fmt, with_id=key == "id")
        batches = Batches(records, unit, unchanged=Unchanged(readable))
        count = count_datapoints(readable, fmt) if action is None else 0
        return _imported(db, dataset_id, batches, count, options, progress)


def _require_file(value: object, loc: tuple[str, ...], *, writing: bool) -> None:
    """Refuse what is neither a path nor a binary file object (a text file, say).

    Raises:
        ValidationError: At ``loc``, saying what to give instead.
    """
    if isinstance(value, str | Path):
        return
    method = "write" if writing else "read"
    if isinstance(value, io.TextIOBase):
        mode = "wb" if writing else "rb"
        message = f"a text file was given: open it in binary mode ({mode!r}), or give its path"
    elif not callable(getattr(value, method, None)):
        kind = type(value).__name__
        message = f"expected a path or a binary file object, got {kind}"
        if not writing:
            message += " (or a pyarrow Table, pandas DataFrame or Hugging Face Dataset)"
    else:
        return
    raise ValidationError([ErrorDetail(loc, message, "file")])


def datapoints_in(source: str | Path, *, format: str | None = None) -> int:
    """How many datapoints a file holds, if it is sound (what an import of it would add):
    for a progress bar's length, say.

    Raises:
        ValidationError: An unknown format, or a file that cannot be read.
    """
    fmt: Format = require_format(format, source)
    try:
        with Path(source).open("rb") as handle:
            return count_datapoints(handle, fmt)
    except OSError as error:
        raise file_error(source, error, ("source",)) from error


@attrs.frozen
class _ImportOptions:
    """What an import was asked to do besides reading its source."""

    action: str | None
    key: str | None
    dry_run: bool
    allow_empty: bool
    version_name: str | None
    version_description: str | None

    def problems(self) -> list[ErrorDetail]:
        """What is wrong with the options taken together (each alone is checked where used)."""
        if self.key is not None and self.action is None:
            message = "a key matches lines to datapoints: give an action (set, add or remove)"
            return [ErrorDetail(("query", "key"), message, "key")]
        return []


def _imported(
    db: DatasetLog,
    dataset_id: str,
    batches: Batches,
    count: int,
    options: _ImportOptions,
    progress: Callable[[int], object] | None,
) -> Imported | Diff:
    if problems := options.problems():
        raise ValidationError(problems)
    try:
        if options.action is None:
            return _added(db, dataset_id, batches, count, options, progress)
        result = db.upsert_stream(
            dataset_id,
            lambda: batches,
            action=options.action,
            key=options.key,
            dry_run=options.dry_run,
            allow_empty=options.allow_empty,
            version_name=options.version_name,
            version_description=options.version_description,
            progress=progress,
        )
    except ValidationError as error:
        if [d.type for d in error.details] == ["empty_set"]:
            message = (
                "it holds no datapoint, and a set from it would empty the dataset; "
                "pass allow_empty=True to mean it"
            )
            raise ValidationError([ErrorDetail(("source",), message, "empty_set")]) from error
        raise batches.at_lines(error) from error
    if isinstance(result, Diff):
        return result
    return Imported(
        result.version,
        result.added,
        result.removed,
        result.ignored,
        result.committed,
        result.changed,
    )


def _added(
    db: DatasetLog,
    dataset_id: str,
    batches: Batches,
    count: int,
    options: _ImportOptions,
    progress: Callable[[int], object] | None,
) -> Imported | Diff:
    if count == 0:
        for _ in batches:  # a file that could not be counted: reading it names its problem
            break
        raise ValidationError([ErrorDetail(("source",), "it holds no datapoint", "empty")])
    version = db.commit_datapoint_stream(
        dataset_id,
        batches,
        count=count,
        dry_run=options.dry_run,
        version_name=options.version_name,
        version_description=options.version_description,
        progress=progress,
    )
    if isinstance(version, Diff):
        return version
    return Imported(version, count, 0, 0, True)


__all__ = [
    "COLUMNS",
    "CSV_COLUMNS",
    "FORMATS",
    "Exported",
    "Imported",
    "Lock",
    "LockCheck",
    "MissingDependencyError",
    "check_lock",
    "datapoints_in",
    "export_dataset",
    "import_datapoints",
    "lock_path",
    "record_batches",
    "require_format",
    "to_arrow",
    "to_hf",
    "to_pandas",
]
