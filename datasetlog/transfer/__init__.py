"""Data in and out: a version as a file, and lock files that prove which version it is.

Built on the public API only. ``export_dataset`` writes a version as JSON
Lines or CSV (see :mod:`datasetlog.transfer.export` for the columns) and, with
``lock=True``, a lock manifest beside it; ``check_lock`` checks an export
against its lock, offline or against a store.

Added in 0.2.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

from datasetlog import DatasetLog, ErrorDetail, ValidationError, VersionRef
from datasetlog.transfer.export import CSV_COLUMNS, FORMATS, Format, require_format, write_export
from datasetlog.transfer.locks import Lock, LockCheck, chain_head, check_lock, lock_path, write_lock


def export_dataset(
    db: DatasetLog,
    dataset_id: str,
    dest: str | Path | IO[bytes],
    *,
    version: VersionRef = None,
    format: str = "jsonl",
    lock: bool = False,
) -> Lock:
    """Write a version (default: the latest) of a dataset to ``dest``, a path or binary file.

    The same version gives the same bytes on every backend and machine. With
    ``lock=True`` (``dest`` a path) a lock manifest is written beside it,
    ``<dest>.lock.json``. Returns what the lock states (written or not).

    Raises:
        ValidationError: An unknown format, or ``lock=True`` with a file object.
        NotFoundError: No such dataset or version.
    """
    fmt: Format = require_format(format)
    if lock and not isinstance(dest, str | Path):
        raise ValidationError(
            [ErrorDetail(("query", "lock"), "a lock needs a path to sit beside", "lock")]
        )
    found, digest, count = write_export(db, dataset_id, dest, version=version, fmt=fmt)
    made = Lock(
        file=Path(dest).name if isinstance(dest, str | Path) else "",
        format=fmt,
        dataset_id=dataset_id,
        dataset_name=db.get_dataset(dataset_id).name,
        version=found.number,
        version_id=found.id,
        version_name=found.name,
        datapoint_count=count,
        sha256=digest,
        chain_head=chain_head(db, dataset_id, found.number),
    )
    if lock:
        write_lock(lock_path(Path(dest)), made)  # type: ignore[arg-type]
    return made


__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "Lock",
    "LockCheck",
    "check_lock",
    "export_dataset",
    "lock_path",
]
