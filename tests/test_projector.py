"""The projector: small, hand-made folds of commits into a dataset's state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from datasetlog import NotFoundError, StoreError
from datasetlog.events import (
    Commit,
    DatapointAdded,
    DatapointsDeleted,
    DatapointUpdated,
    DatasetCreated,
    DatasetDeleted,
    DatasetUpdated,
    Event,
    VersionStamp,
)
from datasetlog.projector import DatasetState, apply, project

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(second: int) -> datetime:
    """A moment ``second`` seconds after T0."""
    return T0 + timedelta(seconds=second)


def added(datapoint_id: str, second: int, **content: Any) -> DatapointAdded:
    """A DatapointAdded event stamped at ``second``."""
    return DatapointAdded(id=datapoint_id, created_at=at(second), updated_at=at(second), **content)


def commit(sequence: int, *events: Event, version: int | None = None) -> Commit:
    """A commit of dataset ``evts_1`` at second ``sequence``, with an optional version."""
    stamp = None if version is None else VersionStamp(version, f"dsv_{version}", f"v{version}")
    return Commit("evts_1", sequence, at(sequence), events, version=stamp)


CREATED = commit(1, DatasetCreated(project_id="pr_1", name="qa", description="d"), version=0)


def ids(state: DatasetState) -> list[str]:
    """The ids of the state's datapoints, in order."""
    return [d.id for d in state.datapoints()]


def test_creation_is_an_empty_version_zero() -> None:
    """A creation alone folds to an empty dataset at version 0."""
    state = project([CREATED])
    assert (state.name, state.project_id, state.description) == ("qa", "pr_1", "d")
    assert ids(state) == []
    assert [(v.number, v.parent, v.datapoint_count) for v in state.versions] == [(0, None, 0)]
    assert state.created_at == state.updated_at == at(1)


def test_added_datapoints_keep_their_order() -> None:
    """Datapoints appear in the order their events were committed."""
    commits = [
        CREATED,
        commit(2, added("dp_b", 2), added("dp_a", 2), version=1),
        commit(3, added("dp_c", 3), version=2),
    ]
    assert ids(project(commits)) == ["dp_b", "dp_a", "dp_c"]


def test_an_update_replaces_content_in_place() -> None:
    """An update replaces a datapoint's content and keeps its place."""
    commits = [
        CREATED,
        commit(2, added("dp_a", 2, inputs={"q": "1"}), added("dp_b", 2), version=1),
        commit(
            3,
            DatapointUpdated(id="dp_a", created_at=at(2), updated_at=at(3), inputs={"q": "2"}),
            version=2,
        ),
    ]
    state = project(commits)
    assert ids(state) == ["dp_a", "dp_b"]
    first = state.datapoints()[0]
    assert (first.inputs, first.created_at, first.updated_at) == ({"q": "2"}, at(2), at(3))


def test_a_deletion_removes_datapoints() -> None:
    """Deleted datapoints leave the state; the rest keep their order."""
    commits = [
        CREATED,
        commit(2, added("dp_a", 2), added("dp_b", 2), added("dp_c", 2), version=1),
        commit(3, DatapointsDeleted(["dp_c", "dp_a"]), version=2),
    ]
    state = project(commits)
    assert ids(state) == ["dp_b"]
    assert [v.datapoint_count for v in state.versions] == [0, 3, 1]


def test_an_earlier_version_is_rebuilt_exactly() -> None:
    """Projecting up to a version stops there, whatever came after."""
    commits = [
        CREATED,
        commit(2, added("dp_a", 2, target={"a": 1}), version=1),
        commit(3, DatapointUpdated(id="dp_a", created_at=at(2), updated_at=at(3)), version=2),
        commit(4, DatapointsDeleted(["dp_a"]), version=3),
    ]
    state = project(commits, version=1)
    assert [d.target for d in state.datapoints()] == [{"a": 1}]
    assert state.version.number == 1
    assert ids(project(commits, version=3)) == []


def test_a_version_never_reached_is_not_found() -> None:
    """Asking for a version past the last one is a NotFoundError."""
    with pytest.raises(NotFoundError):
        project([CREATED], version=1)


def test_no_commits_is_not_found() -> None:
    """An empty stream holds no dataset."""
    with pytest.raises(NotFoundError):
        project([])


def test_a_rename_changes_metadata_but_adds_no_version() -> None:
    """A rename updates name and ``updated_at`` and commits no content version."""
    state = project([CREATED, commit(2, DatasetUpdated(name="qa2"))])
    assert (state.name, state.description) == ("qa2", "d")
    assert len(state.versions) == 1
    assert state.updated_at == at(2)


def test_a_description_only_update_keeps_the_name() -> None:
    """An update without a name leaves the name."""
    state = project([CREATED, commit(2, DatasetUpdated(description="new"))])
    assert (state.name, state.description) == ("qa", "new")


def test_a_deletion_marks_the_dataset_deleted() -> None:
    """A deleted dataset folds to a state flagged deleted, with its versions kept."""
    state = project([CREATED, commit(2, added("dp_a", 2), version=1), commit(3, DatasetDeleted())])
    assert state.deleted
    assert len(state.versions) == 2
    assert ids(state) == ["dp_a"]


def test_dataset_view_counts_the_latest_datapoints() -> None:
    """``dataset()`` shows the metadata and the latest datapoint count."""
    state = project([CREATED, commit(2, added("dp_a", 2), added("dp_b", 2), version=1)])
    dataset = state.dataset()
    assert (dataset.id, dataset.name, dataset.datapoint_count) == ("evts_1", "qa", 2)
    assert (dataset.created_at, dataset.updated_at) == (at(1), at(2))


def test_versions_chain_to_their_parents() -> None:
    """Each version's parent is the one before it, with its commit time and message."""
    state = project([CREATED, commit(2, added("dp_a", 2), version=1)])
    assert [(v.number, v.parent, v.id, v.message, v.created_at) for v in state.versions] == [
        (0, None, "dsv_0", "v0", at(1)),
        (1, 0, "dsv_1", "v1", at(2)),
    ]


def test_creating_twice_is_a_store_error() -> None:
    """A stream that creates its dataset twice is corrupt."""
    with pytest.raises(StoreError):
        project([CREATED, CREATED])


def test_a_change_before_creation_is_a_store_error() -> None:
    """A stream that changes a dataset before creating it is corrupt."""
    with pytest.raises(StoreError):
        apply(None, commit(1, DatasetDeleted()))


def test_an_empty_commit_is_a_store_error() -> None:
    """A first commit without events is corrupt."""
    with pytest.raises(StoreError):
        apply(None, commit(1))
