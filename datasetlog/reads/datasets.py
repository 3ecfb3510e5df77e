"""Reads of datasets and their versions."""

from __future__ import annotations

from datetime import datetime

from datasetlog.errors import StoreError
from datasetlog.models import Dataset, Version
from datasetlog.readmodels.access import ReadModels
from datasetlog.reads.resolve import VersionRef, resolve_version
from datasetlog.store.base import SQLStore
from datasetlog.validation.fields import DATASET_ID, require_id


class DatasetReads:
    """Datasets and versions, as the read models of one store hold them."""

    def __init__(self, store: SQLStore, models: ReadModels) -> None:
        self._store = store
        self._lookups = models.lookups

    def get_dataset(self, dataset_id: str) -> Dataset:
        """A live dataset; see ``DatasetLog.get_dataset``."""
        require_id(dataset_id, DATASET_ID)
        with self._store.reading() as conn:
            return self._lookups.live(conn, dataset_id).to_dataset()

    def list_datasets(self, project_id: str | None) -> list[Dataset]:
        """A project's live datasets; see ``DatasetLog.list_datasets``."""
        if project_id is not None:
            require_id(project_id, ("path", "project_id"))
        with self._store.reading() as conn:
            return [row.to_dataset() for row in self._lookups.datasets(conn, project_id)]

    def get_version(
        self, dataset_id: str, version: VersionRef, *, as_of: datetime | None = None
    ) -> Version:
        """One committed version; see ``DatasetLog.get_version``."""
        require_id(dataset_id, DATASET_ID)
        with self._store.reading() as conn:
            dataset = self._lookups.live(conn, dataset_id)
            found = resolve_version(self._lookups, conn, dataset, version, as_of=as_of)
            return found.to_version(dataset.id)

    def list_versions(self, dataset_id: str) -> list[Version]:
        """Every committed version; see ``DatasetLog.list_versions``."""
        require_id(dataset_id, DATASET_ID)
        with self._store.reading() as conn:
            dataset = self._lookups.live(conn, dataset_id)
            return [row.to_version(dataset.id) for row in self._lookups.versions(conn, dataset.key)]

    def chain_head(
        self, dataset_id: str, version: VersionRef, *, as_of: datetime | None = None
    ) -> str:
        """The hash of the commit that made a version; see ``DatasetLog.chain_head``."""
        require_id(dataset_id, DATASET_ID)
        with self._store.reading() as conn:
            dataset = self._lookups.live(conn, dataset_id)
            found = resolve_version(self._lookups, conn, dataset, version, as_of=as_of)
            rows = self._store.scan_commits(conn, after=found.commit_position - 1, limit=1)
        if not rows or (rows[0].position, rows[0].stream_id) != (found.commit_position, dataset.id):
            raise StoreError(
                f"the log holds no commit {found.commit_position} of {dataset.id!r}, which made "
                f"version {found.number}: the store is damaged; run verify()"
            )
        return str(rows[0].hash)
