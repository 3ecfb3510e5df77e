"""Resolve a version reference: the one place that turns what a caller names into a version."""

from __future__ import annotations

from datasetlog.errors import ErrorDetail, NotFoundError, ValidationError
from datasetlog.readmodels.lookups import Lookups
from datasetlog.readmodels.rows import DatasetRow, VersionRow
from datasetlog.store.base import Connection
from datasetlog.store.dialect import MAX_STORED_INT
from datasetlog.validation.fields import require_id

VersionRef = int | str | None
"""A version by number, by ``dsv_…`` id, or ``"latest"`` (or None) for the latest."""

LATEST = "latest"

_LOC = ("query", "version")


def resolve_version(
    lookups: Lookups, conn: Connection, dataset: DatasetRow, ref: VersionRef
) -> VersionRow:
    """The committed version of ``dataset`` that ``ref`` names.

    Raises:
        ValidationError: ``ref`` is neither a number, an id nor None.
        NotFoundError: The dataset has no such version.
    """
    if ref is None or ref == LATEST:
        ref = dataset.version
    if isinstance(ref, str):
        found = lookups.version_by_id(conn, dataset.key, require_id(ref, _LOC))
    elif type(ref) is int:
        in_range = 0 <= ref <= MAX_STORED_INT
        found = lookups.version(conn, dataset.key, ref) if in_range else None
    else:
        raise ValidationError([ErrorDetail(_LOC, "expected a number or id", "version")])
    if found is None:
        raise NotFoundError(f"dataset {dataset.id!r} has no version {ref!r}")
    return found
