"""Merge: what a dataset changed since the merge base, applied to a related dataset as one commit.

Datapoints are matched by identity: the root of their ids (see
:func:`datasetlog.ids.root_id`), which a datapoint keeps in every fork and
merge. The merge is three-way, per datapoint, on content (``inputs``,
``messages``, ``target``):

- **base**: the source version the target last took in (its last merge from
  the source, else the fork point); for a datapoint that a merge from the
  target into the source touched since, what that merge gave it;
- **source**: the source's latest version; **target**: the target's.

Only datapoints the source changed since the base are looked at, so a merge
reads what changed, not the datasets.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import get_args

import attrs

from datasetlog import messages
from datasetlog.content import content_key, content_of, field_changes
from datasetlog.errors import ErrorDetail, MergeConflictError, StoreError, ValidationError
from datasetlog.events import (
    DatapointAdded,
    DatapointRestored,
    DatapointsDeleted,
    DatapointUpdated,
    DatasetMerged,
    Event,
)
from datasetlog.ids import derived_id, root_id
from datasetlog.models import (
    Change,
    Datapoint,
    DiffCounts,
    MergeConflict,
    MergeResult,
    OnConflict,
)
from datasetlog.readmodels.history import DiffPlan, History
from datasetlog.readmodels.rows import DatasetRow, VersionRow
from datasetlog.serialization.converter import converter
from datasetlog.serialization.decode import datapoint_from_json, datapoint_from_record
from datasetlog.store.base import Connection
from datasetlog.validation.fields import DATASET_ID, require_id
from datasetlog.writes.commits import VersionName, content_commit, stating
from datasetlog.writes.loop import WriteContext, Writer, collector_paused

ON_CONFLICT: tuple[str, ...] = get_args(OnConflict)


@attrs.define
class _Proposal:
    """A datapoint the source changed since the base: its base and source states, by root."""

    base: Datapoint | None
    source: Datapoint | None


@attrs.frozen
class _Target:
    """A datapoint as the target holds it: its id there, and its content if it is live."""

    id: str
    datapoint: Datapoint | None


class MergeWrites:
    """``DatasetLog.merge``."""

    def __init__(self, writer: Writer, history: History) -> None:
        self._writer = writer
        self._history = history

    def merge(
        self,
        source_id: str,
        into: str,
        *,
        dry_run: bool,
        on_conflict: str,
        name: VersionName | None,
    ) -> MergeResult:
        """Apply the source's changes since the merge base to ``into``; see ``DatasetLog.merge``."""
        require_id(source_id, DATASET_ID)
        require_id(into, ("query", "into"))
        if on_conflict not in ON_CONFLICT:
            allowed = ", ".join(repr(choice) for choice in ON_CONFLICT)
            raise ValidationError(
                [ErrorDetail(("query", "on_conflict"), f"expected one of {allowed}", "enum")]
            )
        if type(dry_run) is not bool:
            raise ValidationError([ErrorDetail(("query", "dry_run"), "expected a bool", "bool")])
        if source_id == into:
            raise ValidationError(
                [ErrorDetail(("query", "into"), "a dataset cannot merge into itself", "same")]
            )

        def write(tx: WriteContext) -> MergeResult:
            source, target = tx.live(source_id), tx.live(into)
            base = _version(tx, source, merge_base(tx, source, target))
            head = _version(tx, source, source.version)
            latest = _version(tx, target, target.version)
            proposals = self._proposals(tx, source, base, head, target)
            held = _held(tx, target, proposals)
            events: list[Event] = []
            deleted: list[str] = []
            changes: list[Change] = []
            conflicts: list[MergeConflict] = []
            for root, proposal in proposals.items():
                there = held.get(root)
                now = there.datapoint if there else None
                if _key(now) == _key(proposal.base):
                    take = True
                elif _key(now) == _key(proposal.source):
                    take = False
                else:
                    shown = there.id if there else _id_of(proposal)
                    conflicts.append(MergeConflict(shown, proposal.base, proposal.source, now))
                    take = on_conflict == "source"
                if take:
                    _apply(target, root, proposal.source, there, events, deleted, changes)
            if deleted:
                events.append(DatapointsDeleted(deleted))
            if conflicts and on_conflict == "fail" and not dry_run:
                raise MergeConflictError(_conflict_message(source, target, conflicts), conflicts)
            added = [c.after for c in changes if c.kind == "added" and c.after is not None]
            removed = [c.before for c in changes if c.kind == "removed" and c.before is not None]
            changed = [c for c in changes if c.kind == "changed"]
            counts = DiffCounts(len(added), len(removed), len(changed))
            result = MergeResult(
                version=latest.to_version(target.id),
                source=head.to_version(source.id),
                base=base.to_version(source.id),
                added=added,
                removed=removed,
                changed=changed,
                counts=counts,
                conflicts=conflicts,
                committed=False,
            )
            if dry_run or not events:
                return result
            message = messages.merge(
                source.name, head.number, counts.added, counts.removed, counts.changed
            )
            merged = [*events, DatasetMerged(source.id, head.number)]
            made = tx.commit(content_commit(tx, target, merged, message, name=name))
            return attrs.evolve(result, version=made.made_version(), committed=True)

        with collector_paused():
            return self._writer.run(write)

    def _proposals(
        self,
        tx: WriteContext,
        source: DatasetRow,
        base: VersionRow,
        head: VersionRow,
        target: DatasetRow,
    ) -> dict[str, _Proposal]:
        """What the source changed since the base, by root, in the source's order.

        A merge from the target into the source since the base gave some
        datapoints content the target had: for those, that content is the
        base, so taking the target's changes back is not a change of the source.
        """

        def reading() -> AbstractContextManager[Connection]:  # reads inside this write
            return nullcontext(tx.conn)

        proposals = {
            root_id(change.datapoint_id): _Proposal(change.before, change.after)
            for change in self._history.changes(reading, DiffPlan(source, base, head))
        }
        synced: dict[str, tuple[str, Datapoint | None]] = {}  # root -> (id here, content)
        for merged in tx.lookups.merges(tx.conn, source.key, target.id):
            if merged.version > base.number:
                before = _version(tx, source, merged.version - 1)
                plan = DiffPlan(source, before, _version(tx, source, merged.version))
                for change in self._history.changes(reading, plan):
                    synced[root_id(change.datapoint_id)] = (change.datapoint_id, change.after)
        unread = [here for root, (here, _) in synced.items() if root not in proposals]
        held = tx.lookups.held(tx.conn, source.key, unread)
        for root, (here, synced_to) in synced.items():
            proposal = proposals.get(root)
            if proposal is None:  # the same at the base and now: read it as it is now
                state = held.get(here)
                current = state.payload if state is not None and state.live else None
                decoded = datapoint_from_json(source.id, current) if current is not None else None
                proposals[root] = proposal = _Proposal(None, decoded)
            proposal.base = synced_to
        return {
            root: proposal
            for root, proposal in proposals.items()
            if _key(proposal.base) != _key(proposal.source)
        }


def merge_base(tx: WriteContext, source: DatasetRow, target: DatasetRow) -> int:
    """The source version the target last took in: its last merge from it, or the fork point.

    Raises:
        ValidationError: Neither dataset is a fork of the other.
    """
    merges = tx.lookups.merges(tx.conn, target.key, source.id)
    if merges:
        return merges[-1].source_version
    if source.forked_from == target.id:
        return 0
    if target.forked_from == source.id and target.forked_at is not None:
        return target.forked_at
    raise ValidationError(
        [
            ErrorDetail(
                ("query", "into"),
                f"dataset {source.id!r} is neither a fork of {target.id!r} nor its source",
                "unrelated",
            )
        ]
    )


def _version(tx: WriteContext, dataset: DatasetRow, number: int) -> VersionRow:
    found = tx.lookups.version(tx.conn, dataset.key, number)
    if found is None:
        raise StoreError(f"the read models lack version {number} of {dataset.id!r}; run verify()")
    return found


def _key(datapoint: Datapoint | None) -> bytes | None:
    """A datapoint's content key, None where it is not there."""
    if datapoint is None:
        return None
    return content_key(converter.unstructure(datapoint))


def _id_of(proposal: _Proposal) -> str:
    either = proposal.source or proposal.base
    assert either is not None
    return either.id


def _held(
    tx: WriteContext, target: DatasetRow, proposals: dict[str, _Proposal]
) -> dict[str, _Target]:
    """Each proposal's datapoint as the target holds it (live or deleted), by root.

    A datapoint's id in the target is its root (it was made there) or the
    root under the target's suffix (it came from another dataset).
    """
    wanted = {candidate for root in proposals for candidate in (root, derived_id(root, target.id))}
    found: dict[str, _Target] = {}
    for datapoint_id, state in tx.lookups.held(tx.conn, target.key, sorted(wanted)).items():
        datapoint = datapoint_from_json(target.id, state.payload) if state.live else None
        found[root_id(datapoint_id)] = _Target(datapoint_id, datapoint)
    if target.forked_from is not None:  # what the target inherited and never changed
        for root in proposals.keys() - found.keys():
            datapoint_id = derived_id(root, target.id)
            inherited = tx.layering.inherited(tx.conn, datapoint_id)
            if inherited is not None and inherited[2] is not None:
                datapoint = datapoint_from_json(target.id, inherited[2])
                found[root] = _Target(datapoint_id, datapoint)
    return found


def _apply(
    target: DatasetRow,
    root: str,
    source: Datapoint | None,
    there: _Target | None,
    events: list[Event],
    deleted: list[str],
    changes: list[Change],
) -> None:
    """Give the target the source's state of one datapoint: the event, and the diff entry."""
    now = there.datapoint if there else None
    if source is None:
        if there is not None and now is not None:
            deleted.append(there.id)
            changes.append(Change("removed", now, None))
        return
    kind: type[DatapointAdded | DatapointRestored | DatapointUpdated]
    if there is None:
        kind, datapoint_id = DatapointAdded, derived_id(root, target.id)
    else:
        kind = DatapointRestored if now is None else DatapointUpdated
        datapoint_id = there.id
    event = stating(kind, datapoint_id, source)
    events.append(event)
    after = datapoint_from_record(target.id, event)
    if now is None:
        changes.append(Change("added", None, after))
    else:
        old, new = converter.unstructure(now), converter.unstructure(after)
        fields_changed = field_changes(content_of(old), content_of(new))
        changes.append(Change("changed", now, after, fields_changed))


def _conflict_message(
    source: DatasetRow, target: DatasetRow, conflicts: Iterable[MergeConflict]
) -> str:
    found = list(conflicts)
    shown = ", ".join(conflict.datapoint_id for conflict in found[:5])
    more = f" and {len(found) - 5} more" if len(found) > 5 else ""
    return (
        f"merging {source.id!r} into {target.id!r}: {len(found)} datapoint(s) changed on both "
        f"sides since the merge base: {shown}{more}; nothing was written (pass "
        "on_conflict='source' or 'target' to settle them)"
    )
