"""The reference read path: a pure fold of a dataset's commits into its state.

Whatever faster path the library reads through must return exactly what this
fold returns, for every version: datapoints, names, tags, and the diffs and
datapoint histories derived from them here. It takes decoded commits and
never touches a store.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

import attrs

from datasetlog.content import content_of, field_changes
from datasetlog.errors import NotFoundError, StoreError
from datasetlog.events import (
    Commit,
    DatapointAdded,
    DatapointRecord,
    DatapointRestored,
    DatapointsDeleted,
    DatapointUpdated,
    DatasetCreated,
    DatasetDeleted,
    DatasetUpdated,
    TagDeleted,
    TagSet,
    VersionNamed,
)
from datasetlog.models import (
    Change,
    Datapoint,
    Dataset,
    Revision,
    RevisionKind,
    Tag,
    TagMove,
    Version,
    make_version,
)
from datasetlog.serialization.converter import converter
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
    ordinals: dict[str, int] = attrs.Factory(dict)
    tags: dict[str, Tag] = attrs.Factory(dict)
    tag_moves: list[TagMove] = attrs.Factory(list)

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
        elif isinstance(event, DatapointAdded):
            state.ordinals[event.id] = len(state.ordinals)
            state.records[event.id] = event
        elif isinstance(event, DatapointUpdated):
            state.records[event.id] = event
        elif isinstance(event, DatapointRestored):
            was_live = event.id in state.records
            state.records[event.id] = event
            if not was_live:  # back at its old place
                order = sorted(state.records.values(), key=lambda r: state.ordinals[r.id])
                state.records = {record.id: record for record in order}
        elif isinstance(event, DatapointsDeleted):
            for datapoint_id in event.datapoint_ids:
                del state.records[datapoint_id]
        elif isinstance(event, TagSet | TagDeleted):
            _move_tag(state, event, commit.recorded_at)
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
    for event in commit.events:  # after the version it may name exists
        if isinstance(event, VersionNamed):
            named = state.versions[event.version]
            state.versions[event.version] = attrs.evolve(
                named, name=event.name, description=event.description
            )
    return state


def _move_tag(state: DatasetState, event: TagSet | TagDeleted, at: datetime) -> None:
    before = state.tags.pop(event.name, None)
    to = event.version if isinstance(event, TagSet) else None
    was = before.version if before else None
    state.tag_moves.append(TagMove(event.name, at, from_version=was, to_version=to))
    if to is not None:
        state.tags[event.name] = Tag(event.name, to, at)


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


def project_versions(commits: Iterable[Commit]) -> Iterator[tuple[int, DatasetState]]:
    """Fold commits, yielding the state at each content version reached, as it is reached.

    The state is the same object throughout, so copy what must outlive a step.
    """
    state: DatasetState | None = None
    for commit in commits:
        state = apply(state, commit)
        if commit.version is not None:
            yield commit.version.number, state


def reference_diff(
    base: DatasetState, target: DatasetState, ordinals: dict[str, int]
) -> list[Change]:
    """How to go from the datapoints of ``base`` to those of ``target``, in dataset order.

    ``ordinals`` places each datapoint ever added (a later state's
    ``ordinals`` covers both states).
    """
    changes: list[Change] = []
    for datapoint_id in sorted(
        base.records.keys() | target.records.keys(), key=ordinals.__getitem__
    ):
        old, new = base.records.get(datapoint_id), target.records.get(datapoint_id)
        before = datapoint_from_record(base.id, old) if old is not None else None
        after = datapoint_from_record(target.id, new) if new is not None else None
        if old is None:
            changes.append(Change("added", None, after))
        elif new is None:
            changes.append(Change("removed", before, None))
        else:
            fields = field_changes(_content(old), _content(new))
            if fields:
                changes.append(Change("changed", before, after, fields))
    return changes


def _content(record: DatapointRecord) -> dict[str, object]:
    return content_of(converter.unstructure(record, DatapointRecord))


REVISION_KINDS: dict[type[DatapointAdded | DatapointUpdated | DatapointRestored], RevisionKind] = {
    DatapointAdded: "added",
    DatapointUpdated: "changed",
    DatapointRestored: "restored",
}
"""What a datapoint event did to its datapoint, as ``datapoint_history`` names it."""


def reference_history(commits: Iterable[Commit], datapoint_id: str) -> list[Revision]:
    """Every version in which a datapoint was added, changed, deleted or restored, in order."""
    state: DatasetState | None = None
    found: list[tuple[int, RevisionKind, Datapoint | None]] = []
    for commit in commits:
        state = apply(state, commit)
        if commit.version is None:
            continue
        for event in commit.events:
            kind = REVISION_KINDS.get(type(event))  # type: ignore[arg-type]
            if kind is not None and event.id == datapoint_id:  # type: ignore[union-attr]
                datapoint = datapoint_from_record(state.id, state.records[datapoint_id])
                found.append((commit.version.number, kind, datapoint))
            elif isinstance(event, DatapointsDeleted) and datapoint_id in event.datapoint_ids:
                found.append((commit.version.number, "deleted", None))
    if state is None:
        return []
    return [Revision(state.versions[number], kind, dp) for number, kind, dp in found]
