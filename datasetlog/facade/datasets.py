"""Datasets: create, list, get, rename and delete."""

from __future__ import annotations

from datasetlog.models import (
    Dataset,
)
from datasetlog.reads.datasets import DatasetReads
from datasetlog.writes.datasets import DatasetWrites


class DatasetOperations:
    """The dataset operations of :class:`~datasetlog.DatasetLog`."""

    _dataset_reads: DatasetReads
    _dataset_writes: DatasetWrites

    def create_dataset(
        self, *, project_id: str, name: str, description: str | None = None
    ) -> Dataset:
        """Create an empty dataset (version 0) in a project.

        Raises:
            ValidationError: A field is empty or not a string.
            ConflictError: The project already has a live dataset of that name.
        """
        return self._dataset_writes.create(
            project_id=project_id, name=name, description=description
        )

    def list_datasets(self, project_id: str | None) -> list[Dataset]:
        """Return a project's live datasets, oldest first; every project's if ``project_id``
        is None.

        Raises:
            ValidationError: ``project_id`` is not None or a non-empty string.
        """
        return self._dataset_reads.list_datasets(project_id)

    def get_dataset(self, dataset_id: str) -> Dataset:
        """Return a live dataset and the size of its latest version.

        Raises:
            NotFoundError: No live dataset has this id.
        """
        return self._dataset_reads.get_dataset(dataset_id)

    def update_dataset(
        self, dataset_id: str, *, name: str | None = None, description: str | None = None
    ) -> Dataset:
        """Rename and/or redescribe a dataset; its content versions are unchanged.

        Raises:
            ValidationError: Neither field given, or one is empty or not a string.
            NotFoundError: No live dataset has this id.
            ConflictError: The new name is taken in the project.
        """
        return self._dataset_writes.update(dataset_id, name=name, description=description)

    def delete_dataset(self, dataset_id: str) -> None:
        """Delete a dataset: it is no longer listed or found; its history stays in the log.

        Raises:
            NotFoundError: No live dataset has this id.
        """
        self._dataset_writes.delete(dataset_id)
