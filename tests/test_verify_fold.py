"""verify()'s lean fold (datasetlog.integrity.fold) agrees with the projector, forks included.

The fork machine (datasetlog.testing.forks) generates the histories: forks of
forks and of older versions, updates and deletes of inherited datapoints,
upserts, restores and merges. After every step the whole store is folded as
verify() folds it, and every dataset is compared with the projector's fold of
its commits: its fields, its latest version, its datapoint count, and the id
and stored JSON of every datapoint it holds itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import ClassVar

import pytest
from hypothesis import settings
from hypothesis.stateful import invariant, run_state_machine_as_test

from datasetlog import DatasetLog, NotFoundError, StoreError
from datasetlog.events import (
    Commit,
    DatapointAdded,
    DatapointRestored,
    DatapointsDeleted,
    DatapointUpdated,
    DatasetCreated,
    DatasetDeleted,
    DatasetForked,
    Event,
    VersionStamp,
)
from datasetlog.integrity.fold import DatasetFold, LogFold, content_digest
from datasetlog.integrity.report import Problems
from datasetlog.integrity.scan import LogScan
from datasetlog.projector import project, sources_from
from datasetlog.readmodels.schema import Schema
from datasetlog.serialization.codec import decode_commit, decode_event, encode_event
from datasetlog.store import SQLiteEventStore
from datasetlog.testing import drop_schema_of, new_schema_location
from datasetlog.testing.forks import ForkMachine

_profile = settings()
_steps = max(10, _profile.stateful_step_count // 3)

STATING = (DatapointAdded, DatapointUpdated, DatapointRestored)


@contextmanager
def fold_of(db: DatasetLog) -> Iterator[LogFold]:
    """The whole store folded as verify() folds it (its scan finding nothing wrong)."""
    problems = Problems()
    scratch = SQLiteEventStore(":memory:")
    try:
        with db.store.snapshot() as conn, scratch.write() as replay:
            Schema(scratch.dialect).ensure(replay.connection)
            scan = LogScan(problems, replay.connection)
            scan.run(db.store, conn)
            assert problems.found == []
            yield scan.fold
    finally:
        scratch.close()


def commits_of(db: DatasetLog, dataset_id: str) -> list[Commit]:
    """A dataset's commits, decoded."""
    return [decode_commit(c) for c in db.store.read_stream(dataset_id)]


def stated_by_own_events(db: DatasetLog, dataset_id: str) -> dict[str, str]:
    """The stored JSON of the last event of a dataset's own commits stating each datapoint."""
    stated: dict[str, str] = {}
    for commit in db.store.read_stream(dataset_id):
        for encoded in commit.events:
            event = decode_event(encoded)
            if isinstance(event, STATING):
                stated[event.id] = encoded.payload
    return stated


def assert_agrees(db: DatasetLog, lean: DatasetFold, dataset_id: str) -> None:
    """The lean fold of a dataset says what the projector's fold of its commits says."""
    sources = sources_from(partial(commits_of, db))
    reference = project(commits_of(db, dataset_id), sources=sources)
    assert lean.dataset() == reference.dataset()
    assert lean.deleted == reference.deleted
    assert lean.version is not None
    mine, theirs = lean.version, reference.version
    assert (mine.number, mine.id, mine.message, mine.created_at, mine.datapoint_count) == (
        theirs.number,
        theirs.id,
        theirs.message,
        theirs.created_at,
        theirs.datapoint_count,
    )
    stated = stated_by_own_events(db, dataset_id)
    held = [
        (datapoint_id, content_digest(stated[datapoint_id]))
        for datapoint_id in reference.records
        if datapoint_id in stated
    ]
    assert [(lean.datapoint_at(ordinal), digest) for ordinal, digest in lean.own()] == held
    if reference.forked_from is None:
        assert len(held) == len(reference.records)  # a dataset that is no fork holds all


class LeanFoldMachine(ForkMachine):
    """The fork machine, checking verify's fold against the projector after every step."""

    def every_version_reads_as_projected(self) -> None:
        """Left to tests/test_forks_stateful.py: here only the fold is checked."""

    @invariant()
    def the_lean_fold_agrees_with_the_projector(self) -> None:
        """Every dataset as verify folds it is every dataset as the projector folds it."""
        with fold_of(self.db) as fold:
            assert sorted(fold.datasets) == sorted(self.datasets)
            for dataset_id in self.datasets:
                assert_agrees(self.db, fold.datasets[dataset_id], dataset_id)


class MemoryLeanFoldMachine(LeanFoldMachine):
    """On an in-memory SQLite store."""

    def __init__(self) -> None:
        super().__init__(partial(DatasetLog, ":memory:"))


class PostgresLeanFoldMachine(LeanFoldMachine):
    """On PostgreSQL, in a fresh schema of the session's server."""

    url: ClassVar[str] = ""

    def __init__(self) -> None:
        location = new_schema_location(self.url)
        super().__init__(partial(DatasetLog, location), cleanup=partial(drop_schema_of, location))


def test_the_lean_fold_agrees_with_the_projector() -> None:
    """On generated histories with forks, verify's fold and the projector agree."""
    run_state_machine_as_test(
        MemoryLeanFoldMachine,
        settings=settings(_profile, deadline=None, stateful_step_count=_steps),
    )


def test_the_lean_fold_agrees_with_the_projector_on_postgres(postgres_url: str) -> None:
    """The same on PostgreSQL (a quarter of the examples)."""
    PostgresLeanFoldMachine.url = postgres_url
    examples = max(1, _profile.max_examples // 4)
    run_state_machine_as_test(
        PostgresLeanFoldMachine,
        settings=settings(
            _profile, deadline=None, max_examples=examples, stateful_step_count=_steps
        ),
    )


def test_a_fork_of_an_older_version_sees_what_was_live_there() -> None:
    """Deletes and restores in a source after the forked version do not change the fork,
    and a fork's changes to inherited datapoints are in their inherited order."""
    with DatasetLog(":memory:") as db:
        source = db.create_dataset(project_id="p", name="s").id
        added = db.create_datapoint(source, [{"inputs": {"q": str(i)}} for i in range(5)])
        db.delete_datapoints([added[0].id])  # version 2: 4 live
        db.restore(source, 1)  # version 3: 5 live
        db.delete_datapoints([added[1].id])  # version 4: 4 live
        db.restore(source, 1)  # version 5: 5 live
        fork = db.fork(source, name="f", version=3)
        inherited = [d.id for d in db.iter_datapoints(fork.id)]
        db.update_datapoint(inherited[4], target={"t": 4})
        db.update_datapoint(inherited[0], target={"t": 0})
        db.delete_datapoints(inherited[2:3])
        db.restore(fork.id, 0)
        db.update_datapoint(inherited[3], target={"t": 3})
        with fold_of(db) as fold:
            counts = {ds: state.count for ds, state in fold.datasets.items()}
            assert counts == {source: 5, fork.id: 5}
            for dataset_id in (source, fork.id):
                assert_agrees(db, fold.datasets[dataset_id], dataset_id)
        assert db.verify()


# -- malformed logs: where the projector fails, the lean fold fails too -------------------------

AT = datetime(2026, 1, 1, tzinfo=UTC)
ROOT = "dp_r"


def _commit(dataset_id: str, sequence: int, version: int | None, *events: Event) -> Commit:
    stamp = (
        VersionStamp(version, f"dsv_{dataset_id}{version}", "m") if version is not None else None
    )
    return Commit(dataset_id, sequence, AT, events, stamp)


def _added(datapoint_id: str) -> DatapointAdded:
    return DatapointAdded(datapoint_id, AT, AT, inputs={"q": datapoint_id})


def _fold_all(log: list[Commit]) -> LogFold:
    fold = LogFold(SQLiteEventStore(":memory:").connection())
    for commit in log:
        folding = fold.begin(commit)
        folding.feed(commit.events, [encode_event(e).payload for e in commit.events])
        folding.finish()
    return fold


def _project_all(log: list[Commit]) -> None:
    """The projector's fold of every dataset of a log."""

    def read(dataset_id: str) -> list[Commit]:
        return [commit for commit in log if commit.dataset_id == dataset_id]

    for dataset_id in dict.fromkeys(commit.dataset_id for commit in log):
        project(read(dataset_id), sources=sources_from(read))


SOURCE = [
    _commit("evts_S", 1, 0, DatasetCreated("p", "s")),
    _commit("evts_S", 2, 1, _added(ROOT), _added("dp_q")),
]
MALFORMED = {
    "a fork deletes what its source deleted before the fork": [
        *SOURCE,
        _commit("evts_S", 3, 2, DatapointsDeleted([ROOT])),
        _commit("evts_F", 1, 0, DatasetForked("p", "f", "evts_S", 2)),
        _commit("evts_F", 2, 1, DatapointsDeleted([f"{ROOT}.F"])),
    ],
    "a fork restores what its source deleted before the fork": [
        *SOURCE,
        _commit("evts_S", 3, 2, DatapointsDeleted([ROOT])),
        _commit("evts_F", 1, 0, DatasetForked("p", "f", "evts_S", 2)),
        _commit("evts_F", 2, 1, DatapointRestored(f"{ROOT}.F", AT, AT)),
    ],
    "a fork of a fork deletes what the middle one deleted, though it re-added it after": [
        *SOURCE,
        _commit("evts_M", 1, 0, DatasetForked("p", "m", "evts_S", 1)),
        _commit("evts_M", 2, 1, DatapointsDeleted([f"{ROOT}.M"])),
        _commit("evts_F", 1, 0, DatasetForked("p", "f", "evts_M", 1)),
        _commit("evts_M", 3, 2, _added(f"{ROOT}.M")),
        _commit("evts_F", 2, 1, DatapointsDeleted([f"{ROOT}.F"])),
    ],
    "a fork of a fork names what the first source added after the middle one forked": [
        *SOURCE,
        _commit("evts_M", 1, 0, DatasetForked("p", "m", "evts_S", 1)),
        _commit("evts_S", 3, 2, _added("dp_late")),
        _commit("evts_M", 2, 1, _added("dp_m")),
        _commit("evts_F", 1, 0, DatasetForked("p", "f", "evts_M", 1)),
        _commit("evts_F", 2, 1, DatapointsDeleted(["dp_late.F"])),
    ],
    "a fork of a version never reached": [
        *SOURCE,
        _commit("evts_F", 1, 0, DatasetForked("p", "f", "evts_S", 7)),
    ],
    "a dataset deletes a datapoint twice": [
        *SOURCE,
        _commit("evts_S", 3, 2, DatapointsDeleted([ROOT, ROOT])),
    ],
    "a dataset created twice": [*SOURCE, _commit("evts_S", 3, None, DatasetCreated("p", "s"))],
    "a dataset changed before it was created": [_commit("evts_S", 1, 0, DatasetDeleted())],
}


@pytest.mark.parametrize("log", MALFORMED.values(), ids=MALFORMED.keys())
def test_where_the_projector_fails_the_lean_fold_fails(log: list[Commit]) -> None:
    """A malformed log the projector cannot fold is one the lean fold refuses too."""
    with pytest.raises((StoreError, KeyError, NotFoundError)):
        _project_all(log)
    with pytest.raises(StoreError):
        _fold_all(log)


def test_a_fork_after_a_delete_and_restore_in_its_source_folds_alike() -> None:
    """Liveness at the forked version counts restores: both folds accept the same log."""
    log = [
        *SOURCE,
        _commit("evts_S", 3, 2, DatapointsDeleted([ROOT])),
        _commit("evts_S", 4, 3, DatapointRestored(ROOT, AT, AT)),
        _commit("evts_S", 5, 4, DatapointsDeleted(["dp_q"])),
        _commit("evts_F", 1, 0, DatasetForked("p", "f", "evts_S", 3)),
        _commit("evts_F", 2, 1, DatapointUpdated(f"{ROOT}.F", AT, AT, target={"t": 1})),
        _commit("evts_F", 3, 2, DatapointsDeleted(["dp_q.F"])),
    ]
    _project_all(log)
    fold = _fold_all(log)
    assert [state.count for state in fold.datasets.values()] == [1, 1]
