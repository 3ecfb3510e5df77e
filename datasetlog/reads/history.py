"""Reads across versions: diffs, a datapoint's history, and a datapoint as some version had it.

Each costs what it returns, not what the dataset holds: see
:mod:`datasetlog.readmodels.history`.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from datasetlog.errors import NotFoundError, StoreError
from datasetlog.models import Change, Datapoint, Diff, Revision, RevisionKind, Version
from datasetlog.projector import REVISION_KINDS
from datasetlog.readmodels.access import ReadModels
from datasetlog.readmodels.history import DatapointSpan, DiffPlan
from datasetlog.readmodels.rows import DatasetRow, VersionRow
from datasetlog.reads.resolve import VersionRef, resolve_version
from datasetlog.serialization.decode import datapoint_from_json
from datasetlog.store.base import Connection, SQLStore
from datasetlog.validation.fields import DATASET_ID, require_batch, require_id

_DATAPOINT_ID = ("path", "datapoint_id")
_KINDS: dict[str, RevisionKind] = {cls.TYPE: kind for cls, kind in REVISION_KINDS.items()}
"""A span's revision kind, by the type tag of the event behind it."""


class HistoryReads:
    """Diffs and datapoint histories, as the read models of one store hold them."""

    def __init__(self, store: SQLStore, models: ReadModels) -> None:
        self._store = store
        self._lookups = models.lookups
        self._history = models.history

    def plan(self, dataset_id: str, base: VersionRef, target: VersionRef) -> DiffPlan:
        """Resolve the two versions of a diff (errors raise here, before any streaming).

        Raises:
            NotFoundError: No such dataset or version.
        """
        require_id(dataset_id, DATASET_ID)
        with self._store.reading() as conn:
            dataset = self._lookups.live(conn, dataset_id)
            found = resolve_version(self._lookups, conn, dataset, base, loc=("query", "base"))
            wanted = resolve_version(self._lookups, conn, dataset, target, loc=("query", "target"))
        return DiffPlan(dataset, found, wanted)

    def diff(self, dataset_id: str, base: VersionRef, target: VersionRef) -> Diff:
        """The whole diff; see ``DatasetLog.diff``."""
        return self._history.diff(self._store.reading, self.plan(dataset_id, base, target))

    def iter_diff(
        self, dataset_id: str, base: VersionRef, target: VersionRef, *, batch: int
    ) -> Generator[Change, None, None]:
        """The diff, streamed; see ``DatasetLog.iter_diff``."""
        require_batch(batch)
        plan = self.plan(dataset_id, base, target)
        return self._history.changes(self._store.reading, plan, batch=batch)

    def datapoint_history(self, datapoint_id: str) -> list[Revision]:
        """Every revision of a datapoint; see ``DatasetLog.datapoint_history``."""
        require_id(datapoint_id, _DATAPOINT_ID)
        with self._store.reading() as conn:
            found = self._history.of_datapoint(conn, datapoint_id)
            dataset = self._dataset_of(conn, datapoint_id, found)
            numbers = {s.span.added_in for s in found} | {
                s.span.removed_in for s in found if s.span.removed_in is not None
            }
            versions = self._lookups.versions_numbered(conn, dataset.key, sorted(numbers))
        revisions: list[Revision] = []
        starts = {s.span.added_in for s in found}
        for entry in found:
            if entry.datapoint_id != datapoint_id:
                raise StoreError(f"the store is damaged: spans of {datapoint_id!r} name another")
            span = entry.span
            datapoint = _datapoint(dataset.id, span.payload)
            kind = _KINDS.get(entry.event_type)
            if kind is None:
                raise StoreError(f"a span of {datapoint_id!r} points at a {entry.event_type} event")
            revisions.append(Revision(_version(versions, span.added_in, dataset), kind, datapoint))
            if span.removed_in is not None and span.removed_in not in starts:
                version = _version(versions, span.removed_in, dataset)
                revisions.append(Revision(version, "deleted", None))
        return revisions

    def _dataset_of(
        self, conn: Connection, datapoint_id: str, spans: list[DatapointSpan]
    ) -> DatasetRow:
        """The live dataset a datapoint's spans belong to (NotFoundError if none)."""
        dataset = self._lookups.dataset(conn, spans[0].dataset_id) if spans else None
        if dataset is None:
            raise _missing(datapoint_id)
        return dataset

    def get_datapoint(self, datapoint_id: str, version: VersionRef) -> Datapoint:
        """A datapoint as a version of its dataset holds it; see ``DatasetLog.get_datapoint``."""
        require_id(datapoint_id, _DATAPOINT_ID)
        with self._store.reading() as conn:
            found = self._history.of_datapoint(conn, datapoint_id)
            dataset = self._dataset_of(conn, datapoint_id, found)
            number = resolve_version(self._lookups, conn, dataset, version).number
        for entry in found:
            if entry.datapoint_id == datapoint_id and entry.span.live_at(number):
                return _datapoint(dataset.id, entry.span.payload)
        raise NotFoundError(f"datapoint {datapoint_id!r} is not in version {number}")


def _missing(datapoint_id: str) -> NotFoundError:
    return NotFoundError(f"no datapoint {datapoint_id!r}")


def _datapoint(dataset_id: str, payload: Any) -> Datapoint:
    return datapoint_from_json(dataset_id, payload)


def _version(versions: dict[int, VersionRow], number: int, dataset: DatasetRow) -> Version:
    row = versions.get(number)
    if row is None:
        raise StoreError(f"the read models lack version {number} of {dataset.id!r}; run verify()")
    return row.to_version(dataset.id)
