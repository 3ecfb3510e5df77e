"""verify()'s fold of a whole store: each dataset's state as the projector folds it, kept lean.

The projector (:mod:`datasetlog.projector`) is the reference read path: it
holds every datapoint's record, and gives a fork a copy of its source's.
``verify()`` folds every dataset of a store in one pass, so this fold keeps
only what the projection check compares (:mod:`.projection`):

- per dataset: its fields, and its datapoint count and ordinal bound at
  each content version;
- per datapoint it added: its ordinal and a digest of the stored JSON of the
  event that states its live content (:data:`NOT_LIVE` once deleted): 8 bytes
  in an array, the id and ordinal on disk (:mod:`.added`);
- per inherited datapoint a fork changed: the same, at its inherited ordinal;
- per datapoint ever deleted or restored: the versions at which it was, so
  that a fork of an older version knows what was live there.

A fork starts as a reference to its source at the version it forks and holds
only what it changes, so it costs what it stores, however many forks share a
source. Ordinals are shared down a chain of forks, as in the read models: a
fork's own datapoints come after its source's ordinal bound at the fork, an
inherited one keeps its source's ordinal, and a dataset's datapoints in
ordinal order are in the order the projector gives them.

Each event does here what :func:`datasetlog.projector.apply` does to a
:class:`~datasetlog.projector.DatasetState`; ``tests/test_verify_fold.py``
checks on generated histories (forks of forks and of older versions,
merges, restores, upserts) that both agree on every dataset: its fields, its
latest version, its datapoint count, and the id and content of every
datapoint it holds itself. Where a log is malformed the projector may fold it
leniently (an update of a datapoint that is not live makes it live again);
this fold raises :class:`~datasetlog.errors.StoreError` there, which
``verify()`` reports as a projection problem.
"""

from __future__ import annotations

import hashlib
from array import array
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import Final

from datasetlog.errors import StoreError
from datasetlog.events import (
    Commit,
    DatapointAdded,
    DatapointRestored,
    DatapointsDeleted,
    DatapointUpdated,
    DatasetCreated,
    DatasetDeleted,
    DatasetForked,
    DatasetUpdated,
    Event,
    VersionNamed,
)
from datasetlog.ids import derived_id, root_id
from datasetlog.integrity.added import AddedIds
from datasetlog.models import Dataset, ForkPoint, Version, make_version
from datasetlog.store.base import Connection

NOT_LIVE: Final = 0
"""The content digest of a datapoint that is not live (no digest is 0)."""


def content_digest(payload: object) -> int:
    """A nonzero 64-bit digest of a datapoint's stored JSON (text, or its UTF-8 bytes)."""
    data = payload if isinstance(payload, bytes) else str(payload).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest()) | 1


class DatasetFold:
    """One dataset as verify folds it: its fields, and the datapoints it holds itself.

    Args:
        log: The store's fold, which keeps the ids of the datapoints added.
        commit: Its first commit.
        created: The event that created it.
        source: The fold of the dataset it forks, if it is a fork.

    Raises:
        StoreError: A fork names a version its source never reached.
    """

    def __init__(
        self,
        log: LogFold,
        commit: Commit,
        created: DatasetCreated | DatasetForked,
        source: DatasetFold | None,
    ) -> None:
        self.id = commit.dataset_id
        self.key = len(log.datasets)
        self._added = log.added
        self.project_id = created.project_id
        self.name = created.name
        self.description = created.description
        self.created_at = self.updated_at = commit.recorded_at
        self.deleted = False
        self.version: Version | None = None
        self.source = source
        self.source_version = -1
        self.forked_from: ForkPoint | None = None
        self.floor = self.count = 0
        if source is not None and isinstance(created, DatasetForked):
            mark = source.marks.get(created.source_version)
            if mark is None:
                raise StoreError(
                    f"dataset {self.id} forks version {created.source_version} of "
                    f"{source.id}, which it never reached"
                )
            self.source_version = created.source_version
            self.forked_from = ForkPoint(source.id, created.source_version)
            self.count, self.floor = mark
        self.marks: dict[int, tuple[int, int]] = {}
        """Per content version: its datapoint count and ordinal bound."""
        self.content = array("Q")
        """Per ordinal it added (from ``floor``): the digest of its live content, or NOT_LIVE."""
        self.claimed: dict[int, tuple[str, int]] = {}
        """Per inherited ordinal it changed: the datapoint's id here and content digest."""
        self.history: dict[int, list[tuple[int, bool]]] = {}
        """Per ordinal ever deleted or restored here: (version, live afterwards), in order."""

    def dataset(self) -> Dataset:
        """The dataset as :meth:`DatasetLog.get_dataset` shows it."""
        return Dataset(
            id=self.id,
            project_id=self.project_id,
            name=self.name,
            description=self.description,
            datapoint_count=self.count,
            created_at=self.created_at,
            updated_at=self.updated_at,
            forked_from=self.forked_from,
        )

    def own(self) -> Iterator[tuple[int, int]]:
        """The ordinal and content digest of each live datapoint it holds itself, in order.

        That is all of a dataset's datapoints, and of a fork's those it added
        or changed (inherited ordinals all come before its own).
        """
        for ordinal in sorted(self.claimed):
            digest = self.claimed[ordinal][1]
            if digest != NOT_LIVE:
                yield ordinal, digest
        for index, digest in enumerate(self.content):
            if digest != NOT_LIVE:
                yield self.floor + index, digest

    def datapoint_at(self, ordinal: int) -> str | None:
        """The id of the datapoint it holds itself at an ordinal (for reports: it may scan)."""
        if ordinal < self.floor:
            claim = self.claimed.get(ordinal)
            return claim[0] if claim is not None else None
        return self._added.at(self.key, ordinal)

    # -- the datapoint events --------------------------------------------------------------

    def add(self, datapoint_id: str, digest: int) -> None:
        """A datapoint added at the end."""
        self._added.add(self.key, datapoint_id, self.floor + len(self.content))
        self.content.append(digest)
        self.count += 1

    def update(self, datapoint_id: str, digest: int) -> None:
        """A live datapoint's content replaced, in its place."""
        ordinal = self._located(datapoint_id)
        if not self.live(ordinal):
            raise StoreError(f"dataset {self.id} updates datapoint {datapoint_id}, not live")
        self._hold(ordinal, datapoint_id, digest)

    def restore(self, datapoint_id: str, digest: int, version: int) -> None:
        """A datapoint it held given back its content, at its place, live."""
        ordinal = self._located(datapoint_id)
        was_live = self.live(ordinal)
        if not was_live and ordinal < self.floor and ordinal not in self.claimed:
            # Inherited, but deleted below before the fork: never one of this dataset's.
            raise StoreError(f"dataset {self.id} restores datapoint {datapoint_id}, never held")
        self._hold(ordinal, datapoint_id, digest)
        if not was_live:
            self.count += 1
            self.history.setdefault(ordinal, []).append((version, True))

    def delete(self, datapoint_ids: Sequence[str], version: int) -> None:
        """Live datapoints removed."""
        for datapoint_id in datapoint_ids:
            ordinal = self._located(datapoint_id)
            if not self.live(ordinal):
                raise StoreError(f"dataset {self.id} deletes datapoint {datapoint_id}, not live")
            self._hold(ordinal, datapoint_id, NOT_LIVE)
            self.count -= 1
            self.history.setdefault(ordinal, []).append((version, False))

    def finish(self, commit: Commit) -> None:
        """Record what a commit made of the dataset, once all its events are folded."""
        self.updated_at = commit.recorded_at
        if commit.version is not None:
            bound = self.floor + len(self.content)
            self.marks[commit.version.number] = (self.count, bound)
            self.version = make_version(
                dataset_id=self.id,
                number=commit.version.number,
                id=commit.version.id,
                message=commit.version.message,
                created_at=commit.recorded_at,
                datapoint_count=self.count,
            )

    # -- where a datapoint is, and whether it is live ---------------------------------------

    def live(self, ordinal: int) -> bool:
        """Whether the datapoint at an ordinal is live in the dataset now."""
        if ordinal >= self.floor:
            return self.content[ordinal - self.floor] != NOT_LIVE
        claim = self.claimed.get(ordinal)
        if claim is not None:
            return claim[1] != NOT_LIVE
        return self._live_below(ordinal)

    def live_at(self, ordinal: int, version: int) -> bool:
        """Whether the datapoint at an ordinal was live at a content version it reached."""
        changes = self.history.get(ordinal)
        if changes:
            last = bisect_right(changes, version, key=itemgetter(0))
            if last:
                return changes[last - 1][1]
        if ordinal >= self.floor:
            return ordinal < self.marks[version][1]
        return self._live_below(ordinal)

    def _live_below(self, ordinal: int) -> bool:
        """Whether an inherited ordinal was live in the version this fork forked."""
        return self.source is not None and self.source.live_at(ordinal, self.source_version)

    def _located(self, datapoint_id: str) -> int:
        """The ordinal of a datapoint it added or inherited.

        Raises:
            StoreError: The id names none of them.
        """
        ordinal = self._added.ordinal(self.key, datapoint_id)
        inherited = self.source is not None and datapoint_id == derived_id(datapoint_id, self.id)
        if ordinal is None and inherited and self.source is not None:
            ordinal = self.source.held(root_id(datapoint_id), self.floor)
        if ordinal is None:
            raise StoreError(f"dataset {self.id} names datapoint {datapoint_id}, never added")
        return ordinal

    def held(self, root: str, bound: int) -> int | None:
        """The ordinal below ``bound`` of the datapoint of a root here, or below: the topmost
        dataset that added it (under the root id or its own derived id) decides."""
        for candidate in (root, derived_id(root, self.id)):
            ordinal = self._added.ordinal(self.key, candidate)
            if ordinal is not None and ordinal < bound:
                return ordinal
        if self.source is None:
            return None
        return self.source.held(root, min(bound, self.floor))

    def _hold(self, ordinal: int, datapoint_id: str, digest: int) -> None:
        if ordinal >= self.floor:
            self.content[ordinal - self.floor] = digest
        else:
            self.claimed[ordinal] = (datapoint_id, digest)


class LogFold:
    """The fold of every dataset of a store, commit by commit, each commit's events in parts.

    Args:
        scratch: A connection to an SQLite database of verify's own, where the
            ids of the datapoints added are kept (:mod:`.added`).
    """

    def __init__(self, scratch: Connection) -> None:
        self.added = AddedIds(scratch)
        self.datasets: dict[str, DatasetFold] = {}
        self.failed: set[str] = set()

    def folds(self, dataset_id: str) -> bool:
        """Whether a dataset is still being folded (its fold has not failed)."""
        return dataset_id not in self.failed

    def begin(self, commit: Commit) -> CommitFold:
        """Start folding a commit, of which only what it says of itself is read here."""
        return CommitFold(self, commit)

    def source(self, dataset_id: str, fork_id: str) -> DatasetFold:
        """The fold of a dataset a fork forks.

        Raises:
            StoreError: The log holds no such dataset before the fork, or its fold failed.
        """
        source = self.datasets.get(dataset_id)
        if source is None or dataset_id in self.failed:
            state = "whose fold failed" if source is not None else "not created before it"
            raise StoreError(f"dataset {fork_id} forks {dataset_id}, {state}")
        return source


class CommitFold:
    """One commit being folded into its dataset, its events fed in order, in batches.

    Args:
        log: The store's fold.
        commit: The commit; only what it says of itself is read here, not its events.
    """

    def __init__(self, log: LogFold, commit: Commit) -> None:
        self.log = log
        self.commit = commit
        self.state = log.datasets.get(commit.dataset_id)
        self._named: list[int] = []

    def _version(self) -> int:
        """The content version the commit's datapoint events belong to."""
        if self.commit.version is not None:
            return self.commit.version.number
        return self.state.version.number if self.state and self.state.version else -1

    def feed(self, events: Sequence[Event], payloads: Sequence[object]) -> None:
        """Fold the commit's next events, each with its stored JSON.

        Raises:
            StoreError: An event does not follow from the dataset as folded so far.
        """
        commit = self.commit
        for event, payload in zip(events, payloads, strict=True):
            if isinstance(event, DatasetCreated | DatasetForked):
                if self.state is not None:
                    raise StoreError(f"dataset {commit.dataset_id} created twice")
                source = None
                if isinstance(event, DatasetForked):
                    source = self.log.source(event.source_id, commit.dataset_id)
                self.state = DatasetFold(self.log, commit, event, source)
                self.log.datasets[commit.dataset_id] = self.state
                continue
            state = self.state
            if state is None:
                raise StoreError(f"dataset {commit.dataset_id} changed before it was created")
            if isinstance(event, DatasetUpdated):
                state.name = event.name if event.name is not None else state.name
                if event.description is not None:
                    state.description = event.description
            elif isinstance(event, DatasetDeleted):
                state.deleted = True
            elif isinstance(event, DatapointAdded):
                state.add(event.id, content_digest(payload))
            elif isinstance(event, DatapointUpdated):
                state.update(event.id, content_digest(payload))
            elif isinstance(event, DatapointRestored):
                state.restore(event.id, content_digest(payload), self._version())
            elif isinstance(event, DatapointsDeleted):
                state.delete(event.datapoint_ids, self._version())
            elif isinstance(event, VersionNamed):
                self._named.append(event.version)
            # Merges and tags change no datapoint and no field compared here.
        self.log.added.flush()  # so that a duplicate fails within its own commit

    def finish(self) -> None:
        """Record what the commit made of its dataset, once its last events are fed.

        Raises:
            StoreError: The commit created nothing, or names a version never reached.
        """
        commit, state = self.commit, self.state
        if state is None:
            raise StoreError(f"commit {commit.sequence} of {commit.dataset_id} holds no events")
        state.finish(commit)
        for number in self._named:
            if number not in state.marks:
                raise StoreError(f"dataset {state.id} names version {number}, never reached")
