"""Datapoints: create (also idempotently), update and delete, one behaviour per test."""

from __future__ import annotations

import pytest
from helpers import commit_count, contents, locs

from datasetlog import (
    ConflictError,
    DatapointRequest,
    Dataset,
    DatasetLog,
    NotFoundError,
    ValidationError,
    to_v4,
)

# -- create datapoints ---------------------------------------------------------------------


def test_create_one_datapoint_returns_a_list_of_one(db: DatasetLog, ds: Dataset) -> None:
    """One datapoint object adds one datapoint and returns it in a list."""
    created = db.create_datapoint(ds.id, {"inputs": {"q": "2+2?"}, "target": {"a": 4}})
    assert [(d.inputs, d.target) for d in created] == [({"q": "2+2?"}, {"a": 4})]
    assert created[0].id.startswith("dp_")
    assert created[0].dataset_id == ds.id


def test_create_list_keeps_request_order(db: DatasetLog, ds: Dataset) -> None:
    """A list of datapoints is returned and stored in request order."""
    body = [{"inputs": {"n": str(n)}} for n in range(5)]
    created = db.create_datapoint(ds.id, body)
    assert [d.inputs for d in created] == [b["inputs"] for b in body]
    assert [d.id for d in db.iter_datapoints(ds.id)] == [d.id for d in created]


def test_create_appends_after_existing_datapoints(db: DatasetLog, ds: Dataset) -> None:
    """A new version is the previous version plus the new datapoints at the end."""
    first = db.create_datapoint(ds.id, [{"inputs": {"n": "1"}}, {"inputs": {"n": "2"}}])
    second = db.create_datapoint(ds.id, {"inputs": {"n": "3"}})
    assert [d.id for d in db.iter_datapoints(ds.id)] == [d.id for d in first + second]


def test_create_commits_one_version_with_a_counted_message(db: DatasetLog, ds: Dataset) -> None:
    """Each create commits one version: "Add 1 datapoint", "Add 3 datapoints"."""
    db.create_datapoint(ds.id, {})
    db.create_datapoint(ds.id, [{}, {}, {}])
    messages = [v.message for v in db.list_versions(ds.id)]
    assert messages == ["Create dataset", "Add 1 datapoint", "Add 3 datapoints"]


def test_create_is_visible_at_once(db: DatasetLog, ds: Dataset) -> None:
    """``datapoint_count`` and ``list_datapoints`` reflect a create as soon as it returns."""
    db.create_datapoint(ds.id, [{}, {}])
    assert db.get_dataset(ds.id).datapoint_count == 2
    assert db.list_datapoints(ds.id).total == 2
    assert db.list_datasets("pr_1")[0].datapoint_count == 2


def test_empty_object_is_a_valid_datapoint(db: DatasetLog, ds: Dataset) -> None:
    """``{}`` makes a datapoint with no inputs, messages or target."""
    [dp] = db.create_datapoint(ds.id, {})
    assert (dp.inputs, dp.messages, dp.target) == (None, None, None)
    assert set(to_v4(dp)) == {"id", "dataset_id", "created_at", "updated_at"}


def test_create_empty_list_is_rejected(db: DatasetLog, ds: Dataset) -> None:
    """An empty list is a ValidationError at ["body"]; nothing is committed."""
    before = commit_count(db)
    with pytest.raises(ValidationError) as error:
        db.create_datapoint(ds.id, [])
    assert locs(error) == [("body",)]
    assert commit_count(db) == before


def test_create_with_one_bad_item_commits_nothing(db: DatasetLog, ds: Dataset) -> None:
    """A list with one invalid datapoint adds none of them."""
    with pytest.raises(ValidationError) as error:
        db.create_datapoint(ds.id, [{}, {"inputs": {"q": 1}}, {}])
    assert locs(error) == [("body", 1, "inputs", "q")]
    assert db.get_dataset(ds.id).datapoint_count == 0
    assert len(db.list_versions(ds.id)) == 1


def test_create_keeps_every_content_field(db: DatasetLog, ds: Dataset) -> None:
    """Inputs, messages with tool calls, and every kind of target value are kept as given."""
    body = {
        "inputs": {"q": "é?", "": ""},
        "messages": [
            {"role": "system", "content": "be brief"},
            {
                "role": "assistant",
                "name": "bot",
                "tool_call": {"name": "f", "arguments": {"x": [1]}},
            },
            {"role": "tool", "content": "", "tool_call": {"name": "g"}},
        ],
        "target": {"s": "x", "i": -3, "f": 2.5, "b": False, "l": [None, 1], "d": {"k": None}},
    }
    [dp] = db.create_datapoint(ds.id, body)
    expected = {**body, "id": dp.id, "dataset_id": ds.id}
    assert {k: v for k, v in to_v4(dp).items() if not k.endswith("_at")} == expected
    assert to_v4(db.get_datapoint(dp.id)) == to_v4(dp)


def test_create_accepts_request_objects(db: DatasetLog, ds: Dataset) -> None:
    """DatapointRequest values, alone or in a list, work like their dicts."""
    one = db.create_datapoint(ds.id, DatapointRequest(inputs={"q": "1"}))
    two = db.create_datapoint(ds.id, [DatapointRequest(target={"a": 1}), DatapointRequest()])
    assert [d.inputs for d in one] == [{"q": "1"}]
    assert [d.target for d in two] == [{"a": 1}, None]


def test_create_in_unknown_dataset_raises_not_found(db: DatasetLog) -> None:
    """Adding to an unknown dataset is a NotFoundError."""
    with pytest.raises(NotFoundError):
        db.create_datapoint("evts_unknown", {})


def test_create_stamps_created_and_updated_at_alike(ticking: DatasetLog) -> None:
    """New datapoints have equal, aware ``created_at`` and ``updated_at``."""
    ds = ticking.create_dataset(project_id="pr_1", name="qa")
    [dp] = ticking.create_datapoint(ds.id, {})
    assert dp.created_at == dp.updated_at
    assert dp.created_at.tzinfo is not None
    assert dp.created_at > ds.created_at


def test_create_accepts_a_tuple_of_datapoints(db: DatasetLog, ds: Dataset) -> None:
    """The body is typed as a Sequence, so a tuple of datapoints works like a list."""
    created = db.create_datapoint(ds.id, ({"inputs": {"q": "1"}}, {}))
    assert len(created) == 2


def test_commit_datapoints_returns_the_version(db: DatasetLog, ds: Dataset) -> None:
    """``commit_datapoints`` returns the version it committed with the datapoints."""
    version, created = db.commit_datapoints(ds.id, [{}, {}])
    assert (version.number, version.parent, version.message) == (1, 0, "Add 2 datapoints")
    assert version.datapoint_count == 2
    assert db.get_version(ds.id, 1) == version
    assert len(created) == 2


# -- idempotency ---------------------------------------------------------------------------


def test_idempotent_repeat_returns_the_same_datapoints(db: DatasetLog, ds: Dataset) -> None:
    """The same key and body return the first call's datapoints and commit nothing."""
    first = db.create_datapoint(ds.id, [{"inputs": {"q": "1"}}, {}], idempotency_key="k")
    before = commit_count(db)
    again = db.create_datapoint(ds.id, [{"inputs": {"q": "1"}}, {}], idempotency_key="k")
    assert again == first
    assert commit_count(db) == before


def test_idempotent_repeat_returns_the_first_version(db: DatasetLog, ds: Dataset) -> None:
    """A repeat through ``commit_datapoints`` returns the version the first call made."""
    version, _ = db.commit_datapoints(ds.id, {}, idempotency_key="k")
    db.create_datapoint(ds.id, {})
    again, _ = db.commit_datapoints(ds.id, {}, idempotency_key="k")
    assert again == version


def test_idempotency_key_with_another_body_conflicts(db: DatasetLog, ds: Dataset) -> None:
    """The same key with a different body is a ConflictError; nothing is committed."""
    db.create_datapoint(ds.id, {"inputs": {"q": "1"}}, idempotency_key="k")
    before = commit_count(db)
    with pytest.raises(ConflictError):
        db.create_datapoint(ds.id, {"inputs": {"q": "2"}}, idempotency_key="k")
    assert commit_count(db) == before


def test_idempotency_keys_are_per_dataset(db: DatasetLog, ds: Dataset) -> None:
    """The same key in another dataset is a new request."""
    other = db.create_dataset(project_id="pr_1", name="other")
    db.create_datapoint(ds.id, {}, idempotency_key="k")
    [dp] = db.create_datapoint(other.id, {"inputs": {}}, idempotency_key="k")
    assert dp.dataset_id == other.id


def test_empty_idempotency_key_is_invalid(db: DatasetLog, ds: Dataset) -> None:
    """An empty idempotency key is a ValidationError at ["idempotency_key"]."""
    with pytest.raises(ValidationError) as error:
        db.create_datapoint(ds.id, {}, idempotency_key="")
    assert locs(error) == [("idempotency_key",)]


# -- update datapoints ---------------------------------------------------------------------


def test_update_changes_only_the_given_fields(db: DatasetLog, ds: Dataset) -> None:
    """Fields not given keep their content."""
    [dp] = db.create_datapoint(ds.id, {"inputs": {"q": "1"}, "target": {"a": 1}})
    updated = db.update_datapoint(dp.id, target={"a": 2})
    assert (updated.inputs, updated.target) == ({"q": "1"}, {"a": 2})
    assert db.get_datapoint(dp.id) == updated


def test_update_keeps_older_versions(db: DatasetLog, ds: Dataset) -> None:
    """An update is a new version; earlier versions keep the old content."""
    [dp] = db.create_datapoint(ds.id, {"inputs": {"q": "old"}})
    db.update_datapoint(dp.id, inputs={"q": "new"})
    assert contents(db, ds.id, version=1) == [{"q": "old"}]
    assert contents(db, ds.id) == [{"q": "new"}]


def test_update_keeps_the_datapoints_place(db: DatasetLog, ds: Dataset) -> None:
    """An updated datapoint stays where it was in the dataset's order."""
    created = db.create_datapoint(ds.id, [{}, {}, {}])
    db.update_datapoint(created[1].id, inputs={"q": "x"})
    assert [d.id for d in db.iter_datapoints(ds.id)] == [d.id for d in created]


def test_update_moves_updated_at_only(ticking: DatasetLog) -> None:
    """An update moves ``updated_at`` on and keeps ``created_at``."""
    ds = ticking.create_dataset(project_id="pr_1", name="qa")
    [dp] = ticking.create_datapoint(ds.id, {})
    updated = ticking.update_datapoint(dp.id, inputs={})
    assert updated.created_at == dp.created_at
    assert updated.updated_at > dp.updated_at
    [old] = ticking.iter_datapoints(ds.id, version=1)
    assert old.updated_at == dp.updated_at


def test_update_commits_a_named_version(db: DatasetLog, ds: Dataset) -> None:
    """An update commits "Update datapoint dp_…" with the same datapoint count."""
    [dp] = db.create_datapoint(ds.id, {})
    db.update_datapoint(dp.id, target={"a": 1})
    version = db.list_versions(ds.id)[-1]
    assert (version.number, version.message, version.datapoint_count) == (
        2,
        f"Update datapoint {dp.id}",
        1,
    )


def test_update_needs_a_field(db: DatasetLog, ds: Dataset) -> None:
    """An update without inputs, messages or target is a ValidationError."""
    [dp] = db.create_datapoint(ds.id, {})
    with pytest.raises(ValidationError) as error:
        db.update_datapoint(dp.id)
    assert locs(error) == [("body",)]


def test_update_with_a_bad_field_changes_nothing(db: DatasetLog, ds: Dataset) -> None:
    """A malformed field is a ValidationError at its loc; nothing is committed."""
    [dp] = db.create_datapoint(ds.id, {})
    with pytest.raises(ValidationError) as error:
        db.update_datapoint(dp.id, target={"a": None}, inputs={"q": 1})  # type: ignore[dict-item]
    assert set(locs(error)) == {("body", "target", "a"), ("body", "inputs", "q")}
    assert len(db.list_versions(ds.id)) == 2


def test_update_unknown_datapoint_raises_not_found(db: DatasetLog) -> None:
    """Updating an unknown datapoint is a NotFoundError."""
    with pytest.raises(NotFoundError):
        db.update_datapoint("dp_unknown", inputs={})


def test_update_deleted_datapoint_raises_not_found(db: DatasetLog, ds: Dataset) -> None:
    """A deleted datapoint cannot be updated."""
    [dp] = db.create_datapoint(ds.id, {})
    db.delete_datapoints([dp.id])
    with pytest.raises(NotFoundError):
        db.update_datapoint(dp.id, inputs={})


def test_update_accepts_messages_read_back(db: DatasetLog, ds: Dataset) -> None:
    """The messages of a datapoint read back can be sent again in an update."""
    [dp] = db.create_datapoint(ds.id, {"messages": [{"role": "user", "content": "hi"}]})
    assert dp.messages is not None
    updated = db.update_datapoint(dp.id, messages=dp.messages)
    assert updated.messages == dp.messages


# -- delete datapoints ---------------------------------------------------------------------


def test_delete_removes_from_latest_and_keeps_old_versions(db: DatasetLog, ds: Dataset) -> None:
    """Deleted datapoints leave the latest version; earlier versions still hold them."""
    created = db.create_datapoint(ds.id, [{"inputs": {"n": "1"}}, {"inputs": {"n": "2"}}])
    db.delete_datapoints([created[0].id])
    assert contents(db, ds.id) == [{"n": "2"}]
    assert contents(db, ds.id, version=1) == [{"n": "1"}, {"n": "2"}]
    assert db.get_dataset(ds.id).datapoint_count == 1


def test_delete_commits_a_counted_message(db: DatasetLog, ds: Dataset) -> None:
    """Deleting commits "Delete 1 datapoint" / "Delete 2 datapoints"."""
    created = db.create_datapoint(ds.id, [{}, {}, {}])
    db.delete_datapoints([created[0].id])
    db.delete_datapoints([created[2].id, created[1].id])
    messages = [v.message for v in db.list_versions(ds.id)][-2:]
    assert messages == ["Delete 1 datapoint", "Delete 2 datapoints"]


def test_delete_across_datasets_makes_a_version_of_each(db: DatasetLog, ds: Dataset) -> None:
    """One call deletes from several datasets, one new version in each."""
    other = db.create_dataset(project_id="pr_1", name="other")
    [a] = db.create_datapoint(ds.id, {})
    [b, c] = db.create_datapoint(other.id, [{}, {}])
    db.delete_datapoints([b.id, a.id, c.id])
    assert [v.message for v in db.list_versions(ds.id)][-1] == "Delete 1 datapoint"
    assert [v.message for v in db.list_versions(other.id)][-1] == "Delete 2 datapoints"
    assert db.get_dataset(ds.id).datapoint_count == 0
    assert db.get_dataset(other.id).datapoint_count == 0


def test_delete_with_an_unknown_id_deletes_nothing(db: DatasetLog, ds: Dataset) -> None:
    """One unknown id is a NotFoundError and none of the ids is deleted."""
    [a, b] = db.create_datapoint(ds.id, [{}, {}])
    before = commit_count(db)
    with pytest.raises(NotFoundError):
        db.delete_datapoints([a.id, "dp_unknown", b.id])
    assert commit_count(db) == before
    assert db.get_dataset(ds.id).datapoint_count == 2


def test_delete_an_already_deleted_datapoint_raises_not_found(db: DatasetLog, ds: Dataset) -> None:
    """A datapoint can be deleted once."""
    [dp] = db.create_datapoint(ds.id, {})
    db.delete_datapoints([dp.id])
    with pytest.raises(NotFoundError):
        db.delete_datapoints([dp.id])


def test_delete_duplicate_ids_is_invalid(db: DatasetLog, ds: Dataset) -> None:
    """An id given twice is a ValidationError at its second place; nothing is deleted."""
    [dp] = db.create_datapoint(ds.id, {})
    with pytest.raises(ValidationError) as error:
        db.delete_datapoints([dp.id, dp.id])
    assert locs(error) == [("body", 1)]
    assert db.get_dataset(ds.id).datapoint_count == 1


def test_delete_empty_list_is_invalid(db: DatasetLog) -> None:
    """An empty list of ids is a ValidationError."""
    with pytest.raises(ValidationError) as error:
        db.delete_datapoints([])
    assert locs(error) == [("body",)]


def test_delete_a_bare_string_is_invalid(db: DatasetLog) -> None:
    """A single id string instead of a list is a ValidationError."""
    with pytest.raises(ValidationError) as error:
        db.delete_datapoints("dp_x")
    assert locs(error) == [("body",)]


def test_deleted_datapoint_is_not_found(db: DatasetLog, ds: Dataset) -> None:
    """``get_datapoint`` of a deleted datapoint is a NotFoundError."""
    [dp] = db.create_datapoint(ds.id, {})
    db.delete_datapoints([dp.id])
    with pytest.raises(NotFoundError):
        db.get_datapoint(dp.id)
