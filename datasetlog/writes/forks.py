"""Fork: a new dataset whose version 0 holds a version of another, copying no datapoint."""

from __future__ import annotations

from datasetlog import messages
from datasetlog.errors import ConflictError, ValidationError
from datasetlog.events import Commit, DatasetForked, VersionStamp
from datasetlog.ids import DATASET_PREFIX, VERSION_PREFIX, new_id
from datasetlog.models import Dataset
from datasetlog.reads.resolve import VersionRef, resolve_version
from datasetlog.validation.fields import DATASET_ID, description_problems, require_id, text_problems
from datasetlog.writes.loop import WriteContext, Writer


class ForkWrites:
    """``DatasetLog.fork``."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    def fork(
        self, dataset_id: str, version: VersionRef, *, name: str, description: str | None
    ) -> Dataset:
        """Create a fork of a version of a dataset; see ``DatasetLog.fork``."""
        require_id(dataset_id, DATASET_ID)
        problems = [
            *text_problems(name, ("body", "name")),
            *description_problems(description, ("body", "description")),
        ]
        if problems:
            raise ValidationError(problems)
        fork_id = new_id(DATASET_PREFIX)

        def write(tx: WriteContext) -> Dataset:
            source = tx.live(dataset_id)
            forked = resolve_version(tx.lookups, tx.conn, source, version)
            if tx.lookups.name_taken(tx.conn, source.project_id, name):
                raise ConflictError(f"project {source.project_id!r} already has a dataset {name!r}")
            event = DatasetForked(
                project_id=source.project_id,
                name=name,
                source_id=source.id,
                source_version=forked.number,
                description=description,
            )
            message = messages.fork_dataset(source.name, forked.number)
            stamp = VersionStamp(0, new_id(VERSION_PREFIX), message)
            commit = Commit(fork_id, 1, tx.now, (event,), version=stamp)
            return tx.commit(commit).dataset.to_dataset()

        return self._writer.run(write)
