"""Lock files: a manifest beside an export that proves which version it holds.

A lock names the dataset, the version (number, id, name), the datapoint
count, the SHA-256 of the export's bytes and the dataset's hash-chain head at
that version (the hash of the commit that made it). :func:`check_lock`
re-derives the digest from the export alone, and, given a store, confirms
that the version exists there with that content and that chain head.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import attrs
import orjson

from datasetlog import (
    DatasetLog,
    DatasetLogError,
    ErrorDetail,
    ValidationError,
    Version,
    VersionRef,
)
from datasetlog.transfer.arrow import MissingDependencyError, require
from datasetlog.transfer.cells import DuplicateKeyError, json_value
from datasetlog.transfer.export import Format, export_file, require_format, write_export
from datasetlog.transfer.files import open_regular, pending_temporaries

LOCK_SUFFIX = ".lock.json"
LOCK_KIND = "datasetlog-lock/1"
LOCK_LIMIT = 1 << 20
"""The largest lock file read: a lock is well under a kilobyte, its names included."""
_SHA256 = re.compile(r"[0-9a-f]{64}")
_PIECE = 1 << 20


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


def lock_bytes(lock: Lock) -> bytes:
    """A lock file's bytes (sorted keys, one trailing newline: the same bytes for the same lock)."""
    data = {"kind": LOCK_KIND, **attrs.asdict(lock)}
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def export_with_lock(
    db: DatasetLog,
    dataset_id: str,
    path: Path,
    *,
    version: VersionRef,
    fmt: Format,
    progress: Callable[[int], object] | None = None,
) -> tuple[Version, int, str, Lock]:
    """Write an export and its lock, as a pair (see :func:`export_file`); return the
    version, the datapoint count, the export's SHA-256 and the lock."""
    made: list[Lock] = []

    def make_lock(found: Version, digest: str, count: int) -> bytes:
        made.append(
            Lock(
                file=path.name,
                format=fmt,
                dataset_id=dataset_id,
                dataset_name=db.get_dataset(dataset_id).name,
                version=found.number,
                version_id=found.id,
                version_name=found.name,
                datapoint_count=count,
                sha256=digest,
                chain_head=db.chain_head(dataset_id, found.number),
            )
        )
        return lock_bytes(made[0])

    found, digest, count = export_file(
        db,
        dataset_id,
        path,
        version=version,
        fmt=fmt,
        progress=progress,
        lock=(lock_path(path), make_lock),
    )
    assert digest is not None  # asked for with a lock
    return found, count, digest, made[0]


def read_lock(path: str | Path) -> Lock:
    """Read a lock file, checking every field (it may come from anywhere).

    The lock must be a regular file (it may be reached through a symlink) of
    at most ``LOCK_LIMIT`` bytes.

    Raises:
        ValidationError: It is not a datasetlog lock file; ``loc`` names the field.
    """
    try:
        with open_regular(Path(path), follow_symlinks=True) as handle:
            raw = handle.read(LOCK_LIMIT + 1)
    except OSError as error:
        raise _bad(("lock",), f"cannot read {str(path)!r}: {error.strerror or error}") from error
    if len(raw) > LOCK_LIMIT:
        raise _bad(("lock",), f"{str(path)!r} is over {LOCK_LIMIT} bytes: not a lock file")
    try:
        data = json_value(raw)
    except (orjson.JSONDecodeError, DuplicateKeyError) as error:
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
    if not _bare_name(fields["file"]):
        message = f"the export must sit beside its lock (a bare file name), got {fields['file']!r}"
        raise _bad(("lock", "file"), message)
    for name in ("sha256", "chain_head"):
        if not _SHA256.fullmatch(fields[name]):
            raise _bad(("lock", name), f"expected 64 hex digits, got {fields[name]!r}")
    return Lock(**fields)


def _bare_name(name: str) -> bool:
    """Whether ``name`` names a file in a folder, not a path nor the folder itself."""
    return name not in ("", ".", "..") and "/" not in name and "\0" not in name


def check_lock(manifest: str | Path, db: DatasetLog | None = None) -> LockCheck:
    """Check an export against its lock: offline from the file alone, or also against a store.

    Offline, the export's SHA-256 and datapoint count must match the lock.
    With ``db`` the dataset must hold that version (same id and chain head),
    and exporting it again must give the same bytes. The export must be a
    regular file beside the lock, never a symlink: a lock from elsewhere
    cannot have another file, a FIFO or a device read. An export whose lock
    does not match it while an export to that path is under way or was killed
    (its temporaries are there) is said to be so: export again.

    Raises:
        ValidationError: The lock file is not one (see :func:`read_lock`), or
            ``manifest`` is not a path.
    """
    if not isinstance(manifest, str | Path):
        kind = type(manifest).__name__
        raise _bad(("lock",), f"expected the path of a lock file, got {kind}")
    lock = read_lock(manifest)
    problems: list[str] = []
    export = Path(manifest).with_name(lock.file)
    try:
        with open_regular(export, follow_symlinks=False) as handle:
            digest, count = _digest_file(handle, lock.format)
    except OSError as error:
        problems.append(f"cannot read the export {str(export)!r}: {error.strerror or error}")
    else:
        if digest != lock.sha256:
            problems.append(f"the export's SHA-256 is {digest}, the lock says {lock.sha256}")
        if count != lock.datapoint_count:
            problems.append(
                f"the export holds {count} datapoints, the lock says {lock.datapoint_count}"
            )
    if problems:
        problems += _interrupted(export, Path(manifest))
    if db is not None:
        problems += _against_store(db, lock)
    return LockCheck(lock, problems, against_store=db is not None)


def _interrupted(export: Path, manifest: Path) -> list[str]:
    """Why an export and its lock may not match: another export to them is under way, or
    was killed (between its two renames, or before), leaving its temporaries."""
    left = pending_temporaries(export.parent, export.name) + pending_temporaries(
        manifest.parent, manifest.name
    )
    if not left:
        return []
    return [
        f"an export to {str(export)!r} is under way or was interrupted (it left {left[0]!r}): "
        "this lock may be stale; export again"
    ]


def _against_store(db: DatasetLog, lock: Lock) -> list[str]:
    try:
        version = db.get_version(lock.dataset_id, lock.version)
        head = db.chain_head(lock.dataset_id, lock.version)
    except DatasetLogError as error:
        return [f"the store does not hold version {lock.version} of {lock.dataset_id!r}: {error}"]
    problems = []
    if version.id != lock.version_id:
        problems.append(
            f"version {lock.version} is {version.id} there, the lock says {lock.version_id!r}"
        )
    if head != lock.chain_head:
        problems.append(f"the chain head there is {head}, the lock says {lock.chain_head}")
    _, digest, _ = write_export(
        db, lock.dataset_id, _Discard(), version=version.number, fmt=lock.format, digest=True
    )
    if digest != lock.sha256:
        problems.append("exporting that version again gives other bytes than the lock's SHA-256")
    return problems


def _digest_file(handle: IO[bytes], fmt: Format) -> tuple[str, int]:
    """The SHA-256 of an open regular file and how many datapoints it holds (lines; CSV
    records less the header; Parquet rows), read once, in pieces, up to the size it had
    when opened.

    Raises:
        OSError: It cannot be read, or it grew while it was read.
    """
    digest, records = hashlib.sha256(), _Records(quoted=fmt == "csv")
    left = os.fstat(handle.fileno()).st_size
    while left > 0 and (piece := handle.read(min(_PIECE, left))):
        digest.update(piece)
        records.feed(piece)
        left -= len(piece)
    if handle.read(1):
        raise OSError(errno.EAGAIN, "it grew while it was read; check it again")
    count = records.total()
    if fmt == "csv":
        count = max(0, count - 1)
    elif fmt == "parquet":
        handle.seek(0)
        try:
            count = require("pyarrow.parquet", "arrow").ParquetFile(handle).metadata.num_rows
        except MissingDependencyError:
            raise
        except Exception:  # not Parquet: its digest already tells it is not the export
            count = 0
    return digest.hexdigest(), count


class _Records:
    """Counts records in bytes fed piece by piece: lines, or with ``quoted`` CSV records
    (RFC 4180: a newline inside double quotes is part of a cell). Unlike Python's csv
    module, it has no limit on the size of a cell."""

    def __init__(self, *, quoted: bool) -> None:
        self._quoted = quoted
        self._inside = False
        self._ended = 0
        self._last = b"\n"

    def feed(self, piece: bytes) -> None:
        self._last = piece[-1:]
        if not self._quoted or (b'"' not in piece and not self._inside):
            self._ended += piece.count(b"\n")
            return
        *lines, rest = piece.split(b"\n")
        for line in lines:
            self._inside ^= line.count(b'"') % 2 == 1
            self._ended += not self._inside
        self._inside ^= rest.count(b'"') % 2 == 1

    def total(self) -> int:
        """How many records the bytes fed hold, a last one without a newline included."""
        return self._ended + (self._last != b"\n")


class _Discard:
    """A binary writer that keeps nothing: an export is hashed, not stored."""

    def write(self, data: bytes, /) -> int:
        return len(data)


def _bad(loc: tuple[str, ...], message: str) -> ValidationError:
    return ValidationError([ErrorDetail(loc, message, "lock")])
