"""Lock files: a manifest beside an export that proves which version it holds.

A lock names the dataset, the version (number, id, name), the datapoint
count, the SHA-256 of the export's bytes and the dataset's hash-chain head at
that version (the hash of the commit that made it). :func:`check_lock`
re-derives the digest from the export alone, and, given a store, confirms
that the version exists there with that content and that chain head.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Any

import attrs
import orjson

from datasetlog import DatasetLog, DatasetLogError, ErrorDetail, ValidationError
from datasetlog.transfer.arrow import MissingDependencyError, require
from datasetlog.transfer.export import Format, require_format, write_export

LOCK_SUFFIX = ".lock.json"
LOCK_KIND = "datasetlog-lock/1"


@attrs.frozen
class Lock:
    """What a lock file states about the export beside it (``file``, relative to the lock)."""

    file: str
    format: Format
    dataset_id: str
    dataset_name: str
    version: int
    version_id: str
    datapoint_count: int
    sha256: str
    chain_head: str
    version_name: str | None = None


@attrs.frozen
class LockCheck:
    """The outcome of :func:`check_lock`: ``problems`` is empty when everything matched."""

    lock: Lock
    problems: list[str]
    against_store: bool

    @property
    def ok(self) -> bool:
        """Whether every check passed."""
        return not self.problems


def lock_path(export: Path) -> Path:
    """Where the lock of an export goes: beside it, ``<name>.lock.json``."""
    return export.with_name(export.name + LOCK_SUFFIX)


def write_lock(path: Path, lock: Lock) -> None:
    """Write a lock file (sorted keys, one trailing newline: the same bytes for the same lock)."""
    data = {"kind": LOCK_KIND, **attrs.asdict(lock)}
    path.write_bytes(orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n")


def read_lock(path: str | Path) -> Lock:
    """Read a lock file, checking every field (it may come from anywhere).

    Raises:
        ValidationError: It is not a datasetlog lock file; ``loc`` names the field.
    """
    try:
        data = orjson.loads(Path(path).read_bytes())
    except (OSError, orjson.JSONDecodeError) as error:
        raise _bad(("lock",), f"cannot read {str(path)!r} as JSON: {error}") from error
    if not isinstance(data, dict) or data.get("kind") != LOCK_KIND:
        raise _bad(("lock", "kind"), f"not a datasetlog lock file (expected kind {LOCK_KIND!r})")
    fields: dict[str, Any] = {}
    for field in attrs.fields(Lock):
        value = data.get(field.name)
        wanted = int if field.name in ("version", "datapoint_count") else str
        optional = field.default is None
        if (value is None and not optional) or (value is not None and (type(value) is not wanted)):
            raise _bad(("lock", field.name), f"expected {wanted.__name__}, got {value!r}")
        fields[field.name] = value
    require_format(fields["format"])
    if Path(fields["file"]).name != fields["file"]:
        raise _bad(("lock", "file"), "the export must sit beside its lock (a bare file name)")
    return Lock(**fields)


def check_lock(manifest: str | Path, db: DatasetLog | None = None) -> LockCheck:
    """Check an export against its lock: offline from the file alone, or also against a store.

    Offline, the export's SHA-256 and datapoint count must match the lock.
    With ``db`` the dataset must hold that version (same id and chain head),
    and exporting it again must give the same bytes.

    Raises:
        ValidationError: The lock file is not one (see :func:`read_lock`).
    """
    lock = read_lock(manifest)
    problems: list[str] = []
    export = Path(manifest).with_name(lock.file)
    try:
        digest, count = _digest_file(export, lock.format)
    except OSError as error:
        problems.append(f"cannot read the export {str(export)!r}: {error.strerror or error}")
    else:
        if digest != lock.sha256:
            problems.append(f"the export's SHA-256 is {digest}, the lock says {lock.sha256}")
        if count != lock.datapoint_count:
            problems.append(
                f"the export holds {count} datapoints, the lock says {lock.datapoint_count}"
            )
    if db is not None:
        problems += _against_store(db, lock)
    return LockCheck(lock, problems, against_store=db is not None)


def _against_store(db: DatasetLog, lock: Lock) -> list[str]:
    try:
        version = db.get_version(lock.dataset_id, lock.version)
        head = db.chain_head(lock.dataset_id, lock.version)
    except DatasetLogError as error:
        return [f"the store does not hold version {lock.version} of {lock.dataset_id!r}: {error}"]
    problems = []
    if version.id != lock.version_id:
        problems.append(
            f"version {lock.version} is {version.id} there, the lock says {lock.version_id}"
        )
    if head != lock.chain_head:
        problems.append(f"the chain head there is {head}, the lock says {lock.chain_head}")
    _, digest, _ = write_export(
        db, lock.dataset_id, _Discard(), version=version.number, fmt=lock.format, digest=True
    )
    if digest != lock.sha256:
        problems.append("exporting that version again gives other bytes than the lock's SHA-256")
    return problems


def _digest_file(path: Path, fmt: Format) -> tuple[str, int]:
    """The SHA-256 of a file and how many datapoints it holds (lines; CSV records less the
    header, read as CSV since a quoted cell may span lines)."""
    digest, lines = hashlib.sha256(), 0
    with path.open("rb") as handle:
        for line in handle:
            digest.update(line)
            lines += 1
    if fmt == "csv":
        with path.open(newline="", encoding="utf-8", errors="replace") as text:
            lines = max(0, sum(1 for _ in csv.reader(text)) - 1)
    elif fmt == "parquet":
        try:
            lines = require("pyarrow.parquet", "arrow").ParquetFile(path).metadata.num_rows
        except MissingDependencyError:
            raise
        except Exception:  # not Parquet: its digest already tells it is not the export
            lines = 0
    return digest.hexdigest(), lines


class _Discard:
    """A binary writer that keeps nothing: an export is hashed, not stored."""

    def write(self, data: bytes, /) -> int:
        return len(data)


def _bad(loc: tuple[str, ...], message: str) -> ValidationError:
    return ValidationError([ErrorDetail(loc, message, "lock")])
