"""Datasets: create, list, get, rename and delete, one behaviour per test."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from helpers import commit_count, locs

from datasetlog import (
    ConflictError,
    Dataset,
    DatasetLog,
    NotFoundError,
    ValidationError,
    to_v4,
)


def test_create_dataset_returns_an_empty_dataset(db: DatasetLog) -> None:
    """A new dataset has an ``evts_`` id, the given fields and no datapoints."""
    ds = db.create_dataset(project_id="pr_1", name="qa", description="Sums")
    assert ds.id.startswith("evts_")
    assert (ds.project_id, ds.name, ds.description, ds.datapoint_count) == ("pr_1", "qa", "Sums", 0)
    assert ds.created_at == ds.updated_at
    assert ds.created_at.tzinfo is not None


def test_create_dataset_commits_version_zero(db: DatasetLog, ds: Dataset) -> None:
    """Creating a dataset commits the empty version 0, "Create dataset"."""
    [version] = db.list_versions(ds.id)
    assert (version.number, version.parent, version.message) == (0, None, "Create dataset")
    assert version.datapoint_count == 0
    assert version.id.startswith("dsv_")


def test_create_dataset_without_description_omits_it(db: DatasetLog) -> None:
    """The description is optional and absent from the v4 shape when not given."""
    ds = db.create_dataset(project_id="pr_1", name="qa")
    assert ds.description is None
    assert "description" not in to_v4(ds)


def test_create_dataset_with_a_taken_name_conflicts(db: DatasetLog, ds: Dataset) -> None:
    """A second live dataset of a name in one project is a ConflictError; nothing is written."""
    before = commit_count(db)
    with pytest.raises(ConflictError):
        db.create_dataset(project_id="pr_1", name="qa")
    assert commit_count(db) == before
    assert [d.id for d in db.list_datasets("pr_1")] == [ds.id]


def test_same_name_in_another_project_is_allowed(db: DatasetLog, ds: Dataset) -> None:
    """Names are unique per project only."""
    other = db.create_dataset(project_id="pr_2", name="qa")
    assert other.name == ds.name
    assert other.id != ds.id


@pytest.mark.parametrize("name", ["", "   "])
def test_create_dataset_with_an_empty_name_is_invalid(db: DatasetLog, name: str) -> None:
    """An empty or blank name is a ValidationError at ["body", "name"]; nothing is written."""
    with pytest.raises(ValidationError) as error:
        db.create_dataset(project_id="pr_1", name=name)
    assert locs(error) == [("body", "name")]
    assert commit_count(db) == 0


def test_nul_in_names_ids_and_keys_is_invalid_on_every_backend(db: DatasetLog, ds: Dataset) -> None:
    """Text columns cannot hold NUL on PostgreSQL, so no backend accepts one there: a
    ValidationError naming the field, and nothing written. Content may hold NUL."""
    before = commit_count(db)
    calls: list[tuple[Callable[[], object], tuple[str | int, ...]]] = [
        (lambda: db.create_dataset(project_id="pr\x00", name="n"), ("body", "project_id")),
        (lambda: db.create_dataset(project_id="pr_1", name="a\x00b"), ("body", "name")),
        (lambda: db.update_dataset(ds.id, description="\x00"), ("body", "description")),
        (lambda: db.create_datapoint(ds.id, {}, idempotency_key="k\x00"), ("idempotency_key",)),
        (lambda: db.get_dataset(ds.id + "\x00"), ("path", "dataset_id")),
        (lambda: db.get_datapoint("dp_\x00"), ("path", "datapoint_id")),
    ]
    for call, loc in calls:
        with pytest.raises(ValidationError) as error:
            call()
        assert [(d.loc, d.type) for d in error.value.details] == [(loc, "string_nul")]
    assert commit_count(db) == before
    [datapoint] = db.create_datapoint(ds.id, {"inputs": {"q\x00": "a\x00b"}})
    assert db.get_datapoint(datapoint.id).inputs == {"q\x00": "a\x00b"}


def test_names_ids_and_keys_are_at_most_256_characters(db: DatasetLog, ds: Dataset) -> None:
    """Indexed text (project ids, names, ids, keys) is capped where every backend can index
    it; descriptions are not indexed and take long text."""
    longest = "\U0001f600" * 256  # four UTF-8 bytes each: the widest an index row gets
    assert db.create_dataset(project_id=longest, name=longest).name == longest
    before = commit_count(db)
    calls: list[tuple[Callable[[], object], tuple[str | int, ...]]] = [
        (lambda: db.create_dataset(project_id="p" + longest, name="n"), ("body", "project_id")),
        (lambda: db.update_dataset(ds.id, name=longest + "n"), ("body", "name")),
        (lambda: db.create_datapoint(ds.id, {}, idempotency_key="k" * 257), ("idempotency_key",)),
        (lambda: db.get_dataset("x" * 257), ("path", "dataset_id")),
    ]
    for call, loc in calls:
        with pytest.raises(ValidationError) as error:
            call()
        assert [(d.loc, d.type) for d in error.value.details] == [(loc, "too_long")]
    assert commit_count(db) == before
    assert db.update_dataset(ds.id, description="d" * 100_000).description == "d" * 100_000


def test_create_dataset_reports_every_bad_field(db: DatasetLog) -> None:
    """Every bad field of a create is reported in one ValidationError."""
    with pytest.raises(ValidationError) as error:
        db.create_dataset(project_id="", name=3, description=4)  # type: ignore[arg-type]
    assert locs(error) == [("body", "project_id"), ("body", "name"), ("body", "description")]


def test_list_datasets_shows_a_projects_datasets_oldest_first(db: DatasetLog) -> None:
    """A project lists its own datasets, in creation order, and no others."""
    first = db.create_dataset(project_id="pr_1", name="b")
    db.create_dataset(project_id="pr_2", name="a")
    second = db.create_dataset(project_id="pr_1", name="a")
    assert [d.id for d in db.list_datasets("pr_1")] == [first.id, second.id]


def test_list_datasets_of_an_unknown_project_is_empty(db: DatasetLog) -> None:
    """A project without datasets lists nothing."""
    assert db.list_datasets("pr_none") == []


def test_get_dataset_returns_the_dataset(db: DatasetLog, ds: Dataset) -> None:
    """``get_dataset`` returns what ``create_dataset`` returned."""
    assert db.get_dataset(ds.id) == ds


def test_get_unknown_dataset_raises_not_found(db: DatasetLog) -> None:
    """An unknown dataset id is a NotFoundError."""
    with pytest.raises(NotFoundError):
        db.get_dataset("evts_unknown")


def test_update_dataset_renames_without_a_new_version(db: DatasetLog, ds: Dataset) -> None:
    """A rename changes the name, keeps the description and commits no content version."""
    renamed = db.update_dataset(ds.id, name="qa2")
    assert (renamed.name, renamed.description) == ("qa2", "Sums")
    assert db.get_dataset(ds.id).name == "qa2"
    assert len(db.list_versions(ds.id)) == 1


def test_update_dataset_description_only_keeps_the_name(db: DatasetLog, ds: Dataset) -> None:
    """Giving only a description leaves the name as it was."""
    updated = db.update_dataset(ds.id, description="Products")
    assert (updated.name, updated.description) == ("qa", "Products")


def test_update_dataset_moves_updated_at(ticking: DatasetLog) -> None:
    """An update moves ``updated_at`` on and keeps ``created_at``."""
    ds = ticking.create_dataset(project_id="pr_1", name="qa")
    updated = ticking.update_dataset(ds.id, name="qa2")
    assert updated.created_at == ds.created_at
    assert updated.updated_at > ds.updated_at


def test_update_dataset_needs_a_field(db: DatasetLog, ds: Dataset) -> None:
    """An update with neither name nor description is a ValidationError."""
    with pytest.raises(ValidationError) as error:
        db.update_dataset(ds.id)
    assert locs(error) == [("body",)]


@pytest.mark.parametrize("name", ["", "   "])
def test_update_dataset_to_an_empty_name_is_invalid(db: DatasetLog, ds: Dataset, name: str) -> None:
    """Renaming to an empty or blank name is a ValidationError, as it is on create."""
    before = commit_count(db)
    with pytest.raises(ValidationError) as error:
        db.update_dataset(ds.id, name=name)
    assert locs(error) == [("body", "name")]
    assert commit_count(db) == before


def test_update_dataset_to_a_taken_name_conflicts(db: DatasetLog, ds: Dataset) -> None:
    """Renaming onto another live dataset's name in the project is a ConflictError."""
    other = db.create_dataset(project_id="pr_1", name="other")
    with pytest.raises(ConflictError):
        db.update_dataset(other.id, name="qa")
    assert db.get_dataset(other.id).name == "other"


def test_update_dataset_to_its_own_name_is_allowed(db: DatasetLog, ds: Dataset) -> None:
    """Renaming a dataset to the name it has is not a conflict."""
    assert db.update_dataset(ds.id, name="qa").name == "qa"


def test_update_unknown_dataset_raises_not_found(db: DatasetLog) -> None:
    """Updating an unknown dataset is a NotFoundError."""
    with pytest.raises(NotFoundError):
        db.update_dataset("evts_unknown", name="x")


def test_deleted_dataset_is_neither_listed_nor_found(db: DatasetLog, ds: Dataset) -> None:
    """A deleted dataset leaves ``list_datasets`` and ``get_dataset``."""
    db.delete_dataset(ds.id)
    assert db.list_datasets("pr_1") == []
    with pytest.raises(NotFoundError):
        db.get_dataset(ds.id)


def test_deleted_dataset_keeps_its_events(db: DatasetLog, ds: Dataset) -> None:
    """Deleting appends an event; the dataset's history stays in the store."""
    db.create_datapoint(ds.id, {})
    db.delete_dataset(ds.id)
    streams = [commit.stream_id for commit in db.store.read_all()]
    assert streams == [ds.id, ds.id, ds.id]
    assert [e.type for e in list(db.store.read_all())[-1].events] == ["dataset_deleted"]


def test_deleting_a_dataset_frees_its_name(db: DatasetLog, ds: Dataset) -> None:
    """After a delete, the project can use the name again."""
    db.delete_dataset(ds.id)
    again = db.create_dataset(project_id="pr_1", name="qa")
    assert [d.id for d in db.list_datasets("pr_1")] == [again.id]


def test_delete_dataset_twice_raises_not_found(db: DatasetLog, ds: Dataset) -> None:
    """A deleted dataset cannot be deleted again."""
    db.delete_dataset(ds.id)
    with pytest.raises(NotFoundError):
        db.delete_dataset(ds.id)


def test_deleted_datasets_datapoints_are_not_found(db: DatasetLog, ds: Dataset) -> None:
    """The datapoints of a deleted dataset are gone from every datapoint operation."""
    [dp] = db.create_datapoint(ds.id, {})
    db.delete_dataset(ds.id)
    with pytest.raises(NotFoundError):
        db.get_datapoint(dp.id)
    with pytest.raises(NotFoundError):
        db.update_datapoint(dp.id, inputs={})
    with pytest.raises(NotFoundError):
        db.delete_datapoints([dp.id])


def test_content_operations_on_a_deleted_dataset_raise_not_found(
    db: DatasetLog, ds: Dataset
) -> None:
    """Creating or reading datapoints of a deleted dataset is a NotFoundError."""
    db.delete_dataset(ds.id)
    with pytest.raises(NotFoundError):
        db.create_datapoint(ds.id, {})
    with pytest.raises(NotFoundError):
        db.list_datapoints(ds.id)
    with pytest.raises(NotFoundError):
        db.list_versions(ds.id)
