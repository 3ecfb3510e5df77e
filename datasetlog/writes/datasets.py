"""Dataset writes: create (version 0), rename or redescribe, delete."""

from __future__ import annotations

from datasetlog import messages
from datasetlog.errors import ConflictError, ErrorDetail, ValidationError
from datasetlog.events import Commit, DatasetCreated, DatasetDeleted, DatasetUpdated, VersionStamp
from datasetlog.ids import DATASET_PREFIX, VERSION_PREFIX, new_id
from datasetlog.models import Dataset
from datasetlog.validation.fields import DATASET_ID, description_problems, require_id, text_problems
from datasetlog.writes.loop import WriteContext, Writer


class DatasetWrites:
    """The dataset operations of DatasetLog; each returns the dataset as its commit left it."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    def create(self, *, project_id: str, name: str, description: str | None) -> Dataset:
        """Create an empty dataset (version 0); see ``DatasetLog.create_dataset``."""
        problems = [
            *text_problems(project_id, ("body", "project_id")),
            *text_problems(name, ("body", "name")),
            *description_problems(description, ("body", "description")),
        ]
        if problems:
            raise ValidationError(problems)
        dataset_id = new_id(DATASET_PREFIX)

        def write(tx: WriteContext) -> Dataset:
            if tx.lookups.name_taken(tx.conn, project_id, name):
                raise ConflictError(f"project {project_id!r} already has a dataset {name!r}")
            event = DatasetCreated(project_id=project_id, name=name, description=description)
            stamp = VersionStamp(0, new_id(VERSION_PREFIX), messages.create_dataset())
            commit = Commit(dataset_id, 1, tx.now, (event,), version=stamp)
            return tx.commit(commit).dataset.to_dataset()

        return self._writer.run(write)

    def update(self, dataset_id: str, *, name: str | None, description: str | None) -> Dataset:
        """Rename and/or redescribe a dataset; see ``DatasetLog.update_dataset``."""
        problems = [
            *(text_problems(name, ("body", "name")) if name is not None else []),
            *description_problems(description, ("body", "description")),
        ]
        if name is None and description is None:
            problems.append(ErrorDetail(("body",), "give a name or a description", "missing"))
        if problems:
            raise ValidationError(problems)
        require_id(dataset_id, DATASET_ID)

        def write(tx: WriteContext) -> Dataset:
            row = tx.live(dataset_id)
            if name is not None and tx.lookups.name_taken(
                tx.conn, row.project_id, name, other_than=dataset_id
            ):
                raise ConflictError(f"project {row.project_id!r} already has a dataset {name!r}")
            event = DatasetUpdated(name=name, description=description)
            commit = Commit(dataset_id, row.sequence + 1, tx.now, (event,))
            return tx.commit(commit).dataset.to_dataset()

        return self._writer.run(write)

    def delete(self, dataset_id: str) -> None:
        """Delete a dataset; see ``DatasetLog.delete_dataset``."""
        require_id(dataset_id, DATASET_ID)

        def write(tx: WriteContext) -> None:
            row = tx.live(dataset_id)
            tx.commit(Commit(dataset_id, row.sequence + 1, tx.now, (DatasetDeleted(),)))

        self._writer.run(write)
