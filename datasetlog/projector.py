"""The reference read path: a pure fold of a dataset's commits into its state.

Whatever faster path the library reads through must return exactly what this
fold returns, for every version: datapoints, names, tags, and the diffs and
datapoint histories derived from them here. It takes decoded commits and
never touches a store.

A state's records are in dataset order (by ordinal) after every commit. A
datapoint restored at its old place is put back there once per commit, by
one sort, however many the commit restores.

``verify()`` folds a whole store with a leaner fold of its own, which keeps
digests instead of records and does not copy a fork's inherited datapoints
(:mod:`datasetlog.integrity.fold`); it is checked against this one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

import attrs

from datasetlog.content import content_key, content_of, field_changes
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
    DatasetForked,
    DatasetMerged,
    DatasetUpdated,
    TagDeleted,
    TagSet,
    VersionNamed,
)
from datasetlog.ids import derived_id, root_id
from datasetlog.models import (
    Change,
    Datapoint,
    Dataset,
    ForkPoint,
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
    forked_from: ForkPoint | None = None
    merges: list[Merged] = attrs.Factory(list)

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
            forked_from=self.forked_from,
        )


@attrs.frozen
class Merged:
    """A merge into a dataset: its source, the source version merged, and the version made."""

    source_id: str
    source_version: int
    version: int


SourceStates = Callable[[str, int], "DatasetState"]
"""The state of a dataset at a version: how a fork's creation is folded."""


def apply(
    state: DatasetState | None, commit: Commit, *, sources: SourceStates | None = None
) -> DatasetState:
    """Fold one commit into a dataset's state (mutating and returning it).

    A fork's first commit needs ``sources``, which gives the forked version's state.
    """
    moved_back = False  # a datapoint restored at its old place: order the records once, after
    for event in commit.events:
        if isinstance(event, DatasetCreated | DatasetForked):
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
            if isinstance(event, DatasetForked):
                _fork(state, event, sources)
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
            if event.id not in state.records:  # back at its old place, once ordered
                if event.id not in state.ordinals:
                    raise KeyError(event.id)  # it never had a place: as the sort would say
                moved_back = True
            state.records[event.id] = event
        elif isinstance(event, DatapointsDeleted):
            for datapoint_id in event.datapoint_ids:
                del state.records[datapoint_id]
        elif isinstance(event, TagSet | TagDeleted):
            _move_tag(state, event, commit.recorded_at)
        elif isinstance(event, DatasetMerged) and commit.version is not None:
            merged = Merged(event.source_id, event.source_version, commit.version.number)
            state.merges.append(merged)
    if state is None:
        raise StoreError(f"commit {commit.sequence} of {commit.dataset_id} holds no events")
    if moved_back:
        # One sort per commit, not per restored datapoint (a restore of k was k sorts).
        order = sorted(state.records.values(), key=lambda r: state.ordinals[r.id])
        state.records = {record.id: record for record in order}
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


def _fork(state: DatasetState, event: DatasetForked, sources: SourceStates | None) -> None:
    """Give a new fork the datapoints of the version it forks, under their ids in the fork."""
    if sources is None:
        raise StoreError(f"dataset {state.id} is a fork: folding it needs its source's states")
    source = sources(event.source_id, event.source_version)
    for record in source.records.values():
        mine = attrs.evolve(record, id=derived_id(record.id, state.id))
        state.ordinals[mine.id] = len(state.ordinals)
        state.records[mine.id] = mine
    state.forked_from = ForkPoint(event.source_id, event.source_version)


def _move_tag(state: DatasetState, event: TagSet | TagDeleted, at: datetime) -> None:
    before = state.tags.pop(event.name, None)
    to = event.version if isinstance(event, TagSet) else None
    was = before.version if before else None
    state.tag_moves.append(TagMove(event.name, at, from_version=was, to_version=to))
    if to is not None:
        state.tags[event.name] = Tag(event.name, to, at)


def project(
    commits: Iterable[Commit], *, version: int | None = None, sources: SourceStates | None = None
) -> DatasetState:
    """Rebuild a dataset from its commits, up to content ``version`` (default: all).

    ``sources`` gives a fork the state of the version it forks (see :func:`apply`).

    Raises:
        NotFoundError: The commits never reach ``version``, or hold no dataset.
    """
    state: DatasetState | None = None
    for commit in commits:
        state = apply(state, commit, sources=sources)
        if version is not None and commit.version is not None and commit.version.number == version:
            return state
    if state is None or version is not None:
        raise NotFoundError(f"no version {version} in these commits")
    return state


def sources_from(read: Callable[[str], Iterable[Commit]]) -> SourceStates:
    """The states of datasets at versions, folded from the commits ``read`` gives for an id."""

    def state_at(dataset_id: str, version: int) -> DatasetState:
        return project(read(dataset_id), version=version, sources=state_at)

    return state_at


def project_versions(
    commits: Iterable[Commit], *, sources: SourceStates | None = None
) -> Iterator[tuple[int, DatasetState]]:
    """Fold commits, yielding the state at each content version reached, as it is reached.

    The state is the same object throughout, so copy what must outlive a step.
    """
    state: DatasetState | None = None
    for commit in commits:
        state = apply(state, commit, sources=sources)
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


def reference_history(
    commits: Iterable[Commit], datapoint_id: str, *, sources: SourceStates | None = None
) -> list[Revision]:
    """Every version in which a datapoint was added, changed, deleted or restored, in order.

    A fork's version 0 adds the datapoints it starts with.
    """
    state: DatasetState | None = None
    found: list[tuple[int, RevisionKind, Datapoint | None]] = []
    for commit in commits:
        state = apply(state, commit, sources=sources)
        if commit.version is None:
            continue
        if commit.version.number == 0 and datapoint_id in state.records:
            datapoint = datapoint_from_record(state.id, state.records[datapoint_id])
            found.append((0, "added", datapoint))
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


@attrs.frozen
class MergeOutcome:
    """What a merge must do: the target's datapoints afterwards, and the conflicts it finds.

    ``content`` maps the id of each datapoint the target then holds to its
    content key; ``conflicts`` names each conflict's datapoint as
    :class:`~datasetlog.models.MergeConflict` does; ``changed`` says whether
    anything is applied.
    """

    content: dict[str, bytes]
    conflicts: list[str]
    changed: bool


def merge_base(source: DatasetState, target: DatasetState) -> int | None:
    """The source version the target last took in (last merge, else fork point), or None."""
    merged = [m.source_version for m in target.merges if m.source_id == source.id]
    if merged:
        return merged[-1]
    if source.forked_from is not None and source.forked_from.dataset_id == target.id:
        return 0
    if target.forked_from is not None and target.forked_from.dataset_id == source.id:
        return target.forked_from.version
    return None


def reference_merge(
    source_versions: list[dict[str, DatapointRecord]],
    source: DatasetState,
    target: DatasetState,
    on_conflict: str,
) -> MergeOutcome:
    """The three-way merge of ``source`` (its latest state, and its datapoints at every
    version, by number) into ``target``, matching datapoints by root id.

    Raises:
        ValueError: The two are not a fork and its source.
    """
    base = merge_base(source, target)
    if base is None:
        raise ValueError(f"{source.id} and {target.id} are not a fork and its source")
    before, now = _by_root(source_versions[base]), _by_root(source_versions[-1])
    proposals = {
        root: [before.get(root), now.get(root)]
        for root in before.keys() | now.keys()
        if _differ(before.get(root), now.get(root))
    }
    for merged in source.merges:
        if merged.source_id == target.id and merged.version > base:
            old = _by_root(source_versions[merged.version - 1])
            new = _by_root(source_versions[merged.version])
            for root in old.keys() | new.keys():
                if _differ(old.get(root), new.get(root)):
                    proposals.setdefault(root, [None, now.get(root)])[0] = new.get(root)
    live = _by_root(target.records)
    known = {root_id(datapoint_id): datapoint_id for datapoint_id in target.ordinals}
    content = {i: content_key(_content(r)) for i, r in target.records.items()}
    conflicts: list[str] = []
    changed = False
    for root, (was, wanted) in proposals.items():
        if _key(was) == _key(wanted):
            continue
        there = live.get(root)
        if _key(there) == _key(was):
            take = True
        elif _key(there) == _key(wanted):
            take = False
        else:
            either = wanted if wanted is not None else was
            conflicts.append(known.get(root) or either.id)  # type: ignore[union-attr]
            take = on_conflict == "source"
        if not take:
            continue
        changed = True
        if wanted is None:
            del content[known[root]]
        else:
            content[known.get(root) or derived_id(root, target.id)] = content_key(_content(wanted))
    return MergeOutcome(content, conflicts, changed)


def _by_root(records: dict[str, DatapointRecord]) -> dict[str, DatapointRecord]:
    return {root_id(datapoint_id): record for datapoint_id, record in records.items()}


def _differ(old: DatapointRecord | None, new: DatapointRecord | None) -> bool:
    """Whether a diff lists the datapoint: there on one side only, or with other content."""
    if old is None or new is None:
        return old is not new
    return bool(field_changes(_content(old), _content(new)))


def _key(record: DatapointRecord | None) -> bytes | None:
    return content_key(_content(record)) if record is not None else None
