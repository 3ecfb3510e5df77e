"""Resolve a version reference: the one place that turns what a caller names into a version."""

from __future__ import annotations

from datetime import datetime

from datasetlog.errors import ErrorDetail, NotFoundError, ValidationError
from datasetlog.ids import VERSION_PREFIX
from datasetlog.readmodels.lookups import Lookups
from datasetlog.readmodels.rows import DatasetRow, VersionRow, instant_us
from datasetlog.store.base import Connection
from datasetlog.store.dialect import MAX_STORED_INT
from datasetlog.validation.fields import require_id

VersionRef = int | str | None
"""A version by number, ``dsv_…`` id, name or tag; ``"latest"`` (or None) is the latest."""

LATEST = "latest"

_LOC = ("query", "version")
_AS_OF = ("query", "as_of")


def resolve_version(
    lookups: Lookups,
    conn: Connection,
    dataset: DatasetRow,
    ref: VersionRef,
    *,
    as_of: datetime | None = None,
    loc: tuple[str, ...] = _LOC,
) -> VersionRow:
    """The committed version of ``dataset`` that ``ref`` (or ``as_of``) names.

    A string is ``"latest"``, a version id (``dsv_…``), a version number
    written in digits, or else a version name or tag. ``as_of`` (an aware
    datetime) names the version that was the latest at that instant: the one
    with the latest commit time at or before it.

    Raises:
        ValidationError: ``ref`` is neither a number, a string nor None;
            ``as_of`` is not an aware datetime, or is given with ``ref``.
        NotFoundError: The dataset has no such version.
    """
    if as_of is not None:
        if ref is not None:
            raise ValidationError([ErrorDetail(_AS_OF, "give version or as_of, not both", "as_of")])
        return _as_of(conn, dataset, as_of)
    if ref is None or ref == LATEST:
        ref = dataset.version
    if isinstance(ref, str) and ref.isascii() and ref.isdigit():
        ref = int(ref)
    if isinstance(ref, str):
        require_id(ref, loc)
        if ref.startswith(VERSION_PREFIX):
            found = lookups.version_by_id(conn, dataset.key, ref)
        else:
            found = lookups.version_by_label(conn, dataset.key, ref)
    elif type(ref) is int:
        in_range = 0 <= ref <= MAX_STORED_INT
        found = lookups.version(conn, dataset.key, ref) if in_range else None
    else:
        raise ValidationError([ErrorDetail(loc, "expected a number, id, name or tag", "version")])
    if found is None:
        raise NotFoundError(f"dataset {dataset.id!r} has no version {ref!r}")
    return found


def _as_of(conn: Connection, dataset: DatasetRow, as_of: datetime) -> VersionRow:
    if not isinstance(as_of, datetime) or as_of.utcoffset() is None:
        raise ValidationError(
            [ErrorDetail(_AS_OF, "expected an aware datetime (with a time zone)", "as_of")]
        )
    found = Lookups.version_at(conn, dataset.key, instant_us(as_of))
    if found is None:
        raise NotFoundError(f"dataset {dataset.id!r} has no version at or before {as_of}")
    return found
