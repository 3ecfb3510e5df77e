"""The reference read path: a pure fold of a dataset's commits into its state.

Whatever faster path the library reads through must return exactly what this
fold returns, for every version. It takes decoded commits and never touches a
store.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import attrs

from datasetlog.errors import NotFoundError, StoreError
from datasetlog.events import (
    Commit,
    DatapointAdded,
    DatapointRecord,
    DatapointsDeleted,
    DatapointUpdated,
    DatasetCreated,
    DatasetDeleted,
    DatasetUpdated,
)
from datasetlog.models import Datapoint, Dataset, Version, make_version
from datasetlog.serialization.decode import datapoint_from_record


@attrs.define
class DatasetState:
    """A dataset as of one commit: its metadata, versions and ordered datapoints."""

    id: str
    project_id: str
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime
    deleted: bool = False
    versions: list[Version] = attrs.Factory(list)
    records: dict[str, DatapointRecord] = attrs.Factory(dict)

    @property
    def version(self) -> Version:
        """The latest content version reached."""
        return self.versions[-1]

    def datapoints(self) -> list[Datapoint]:
        """The datapoints of the latest version reached, in dataset order."""
        return [datapoint_from_record(self.id, record) for record in self.records.values()]

    def dataset(self) -> Dataset:
        """The dataset as :meth:`DatasetLog.get_dataset` shows it."""
        return Dataset(
            id=self.id,
            project_id=self.project_id,
            name=self.name,
            description=self.description,
            datapoint_count=len(self.records),
            created_at=self.created_at,
            updated_at=self.updated_at,
        )


def apply(state: DatasetState | None, commit: Commit) -> DatasetState:
    """Fold one commit into a dataset's state (mutating and returning it)."""
    for event in commit.events:
        if isinstance(event, DatasetCreated):
            if state is not None:
                raise StoreError(f"dataset {commit.dataset_id} created twice")
            state = DatasetState(
                id=commit.dataset_id,
                project_id=event.project_id,
                name=event.name,
                description=event.description,
                created_at=commit.recorded_at,
                updated_at=commit.recorded_at,
            )
            continue
        if state is None:
            raise StoreError(f"dataset {commit.dataset_id} changed before it was created")
        if isinstance(event, DatasetUpdated):
            state.name = event.name if event.name is not None else state.name
            if event.description is not None:
                state.description = event.description
        elif isinstance(event, DatasetDeleted):
            state.deleted = True
        elif isinstance(event, DatapointAdded | DatapointUpdated):
            state.records[event.id] = event
        elif isinstance(event, DatapointsDeleted):
            for datapoint_id in event.datapoint_ids:
                del state.records[datapoint_id]
    if state is None:
        raise StoreError(f"commit {commit.sequence} of {commit.dataset_id} holds no events")
    state.updated_at = commit.recorded_at
    if commit.version is not None:
        state.versions.append(
            make_version(
                dataset_id=state.id,
                number=commit.version.number,
                id=commit.version.id,
                message=commit.version.message,
                created_at=commit.recorded_at,
                datapoint_count=len(state.records),
            )
        )
    return state


def project(commits: Iterable[Commit], *, version: int | None = None) -> DatasetState:
    """Rebuild a dataset from its commits, up to content ``version`` (default: all).

    Raises:
        NotFoundError: The commits never reach ``version``, or hold no dataset.
    """
    state: DatasetState | None = None
    for commit in commits:
        state = apply(state, commit)
        if version is not None and commit.version is not None and commit.version.number == version:
            return state
    if state is None or version is not None:
        raise NotFoundError(f"no version {version} in these commits")
    return state
