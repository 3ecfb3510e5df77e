"""The v4 operations of DatasetLog, one behaviour per test."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from datasetlog import (
    ConflictError,
    DatapointRequest,
    Dataset,
    DatasetLog,
    DatasetLogError,
    DictLogSource,
    ErrorDetail,
    LogsRequest,
    NotFoundError,
    SQLiteLogSource,
    StoreError,
    ValidationError,
    to_v4,
    to_v4_json,
)


class Ticker:
    """A clock that moves one second per reading."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


LOGS: list[dict[str, Any]] = [
    {
        "id": "log_1",
        "inputs": {"q": "2+2?"},
        "messages": [{"role": "user", "content": "2+2?"}],
        "output": "4",
    },
    {"id": "log_2", "inputs": {"q": "silent"}},
]


@pytest.fixture
def ticking() -> Iterator[DatasetLog]:
    """A DatasetLog whose clock moves one second per write."""
    with DatasetLog(":memory:", clock=Ticker(), logs=DictLogSource(LOGS)) as fresh:
        yield fresh


@pytest.fixture
def ds(db: DatasetLog) -> Dataset:
    """An empty dataset in the ``db`` fixture."""
    return db.create_dataset(project_id="pr_1", name="qa", description="Sums")


def commit_count(db: DatasetLog) -> int:
    """How many commits the log's store holds."""
    return len(list(db.store.read_all()))


def locs(error: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str | int, ...]]:
    """The locs of a raised ValidationError, in order."""
    return [detail.loc for detail in error.value.details]


def contents(db: DatasetLog, dataset_id: str, version: int | None = None) -> list[Any]:
    """The ``inputs`` of each datapoint of a version, in order."""
    return [d.inputs for d in db.iter_datapoints(dataset_id, version=version)]


# -- datasets ------------------------------------------------------------------------------


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


# -- create from logs ----------------------------------------------------------------------


def test_log_ids_without_a_log_source_are_invalid(db: DatasetLog, ds: Dataset) -> None:
    """``{"log_ids": [...]}`` without a log source is a ValidationError; nothing is committed."""
    with pytest.raises(ValidationError) as error:
        db.create_datapoint(ds.id, {"log_ids": ["log_1"]})
    assert locs(error) == [("body", "log_ids")]
    assert len(db.list_versions(ds.id)) == 1


def test_unknown_log_ids_are_each_reported(ticking: DatasetLog) -> None:
    """Every unknown log id is reported at ["body", "log_ids", i]; nothing is committed."""
    ds = ticking.create_dataset(project_id="pr_1", name="qa")
    with pytest.raises(ValidationError) as error:
        ticking.create_datapoint(ds.id, {"log_ids": ["nope", "log_1", "gone"]})
    assert locs(error) == [("body", "log_ids", 0), ("body", "log_ids", 2)]
    assert len(ticking.list_versions(ds.id)) == 1


def test_datapoint_from_a_log_copies_it(ticking: DatasetLog) -> None:
    """A datapoint from a log has its inputs and messages, target {"output": …} and source id."""
    ds = ticking.create_dataset(project_id="pr_1", name="qa")
    [dp] = ticking.create_datapoint(ds.id, {"log_ids": ["log_1"]})
    assert dp.inputs == {"q": "2+2?"}
    assert to_v4(dp)["messages"] == [{"role": "user", "content": "2+2?"}]
    assert dp.target == {"output": "4"}
    assert dp.source_project_data_id == "log_1"


def test_datapoint_from_a_log_without_output_has_no_target(ticking: DatasetLog) -> None:
    """A log without an output makes a datapoint without a target."""
    ds = ticking.create_dataset(project_id="pr_1", name="qa")
    [dp] = ticking.create_datapoint(ds.id, {"log_ids": ["log_2"]})
    assert dp.target is None
    assert dp.messages is None


def test_datapoints_from_logs_keep_order_and_message(ticking: DatasetLog) -> None:
    """Log ids become datapoints in request order, committed as "Add 2 datapoints from logs"."""
    ds = ticking.create_dataset(project_id="pr_1", name="qa")
    created = ticking.create_datapoint(ds.id, LogsRequest(log_ids=["log_2", "log_1"]))
    assert [d.source_project_data_id for d in created] == ["log_2", "log_1"]
    assert ticking.list_versions(ds.id)[-1].message == "Add 2 datapoints from logs"


def test_sqlite_log_source_serves_recorded_logs(tmp_path: Path) -> None:
    """Logs recorded in the store's own SQLite file can be turned into datapoints."""
    path = tmp_path / "store.db"
    with DatasetLog(path) as db:
        source = SQLiteLogSource(path)
        db.logs = source
        recorded = source.record_log(
            inputs={"q": "3+3?"}, messages=[{"role": "user", "content": "3+3?"}], output="6"
        )
        ds = db.create_dataset(project_id="pr_1", name="qa")
        [dp] = db.create_datapoint(ds.id, {"log_ids": [recorded.id]})
        source.close()
    assert recorded.id.startswith("log_")
    assert (dp.inputs, dp.target, dp.source_project_data_id) == (
        {"q": "3+3?"},
        {"output": "6"},
        recorded.id,
    )
    assert to_v4(dp)["messages"] == [{"role": "user", "content": "3+3?"}]


def test_sqlite_log_source_keeps_a_given_id(tmp_path: Path) -> None:
    """``record_log(id=…)`` stores the log under that id, and reads it back."""
    source = SQLiteLogSource(tmp_path / "logs.db")
    source.record_log(id="log_x", output="")
    assert source.get_logs(["log_x", "log_y"])["log_x"].output == ""
    assert list(source.get_logs(["log_y"])) == []
    source.close()


def test_sqlite_log_source_file_can_become_the_store(tmp_path: Path) -> None:
    """A log file made first can later be opened as the store too (its documented use)."""
    path = tmp_path / "shared.db"
    source = SQLiteLogSource(path)
    recorded = source.record_log(output="6")
    with DatasetLog(path, logs=source) as db:
        ds = db.create_dataset(project_id="pr_1", name="qa")
        [dp] = db.create_datapoint(ds.id, {"log_ids": [recorded.id]})
    source.close()
    assert dp.target == {"output": "6"}


def test_malformed_log_is_a_validation_error() -> None:
    """A log dict with an unknown role is a ValidationError, not a cattrs exception."""
    with pytest.raises(ValidationError):
        DictLogSource([{"id": "log_x", "messages": [{"role": "bot"}]}])


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


# -- reading -------------------------------------------------------------------------------


def test_list_datapoints_defaults_to_page_one_of_fifty(db: DatasetLog, ds: Dataset) -> None:
    """Without arguments a page is page 1 of size 50 of the latest version."""
    db.create_datapoint(ds.id, [{}] * 60)
    page = db.list_datapoints(ds.id)
    assert (page.page, page.size, page.total, len(page.records)) == (1, 50, 60, 50)


def test_list_datapoints_pages_follow_each_other(db: DatasetLog, ds: Dataset) -> None:
    """Consecutive pages hold consecutive datapoints, skipping deleted ones."""
    created = db.create_datapoint(ds.id, [{"inputs": {"n": str(n)}} for n in range(7)])
    db.delete_datapoints([created[1].id, created[4].id])
    pages = [db.list_datapoints(ds.id, page=p, size=2) for p in (1, 2, 3)]
    assert [[d.id for d in page.records] for page in pages] == [
        [created[0].id, created[2].id],
        [created[3].id, created[5].id],
        [created[6].id],
    ]
    assert {page.total for page in pages} == {5}


def test_list_datapoints_past_the_end_is_empty(db: DatasetLog, ds: Dataset) -> None:
    """A page past the end has no records and the right total."""
    db.create_datapoint(ds.id, [{}, {}, {}])
    page = db.list_datapoints(ds.id, page=5, size=2)
    assert (page.records, page.page, page.size, page.total) == ([], 5, 2, 3)


@pytest.mark.parametrize(
    ("page", "size", "loc"),
    [(1, 1001, ("query", "size")), (1, 0, ("query", "size")), (0, 10, ("query", "page"))],
)
def test_list_datapoints_out_of_range_is_invalid(
    db: DatasetLog, ds: Dataset, page: int, size: int, loc: tuple[str, ...]
) -> None:
    """``page`` below 1 and ``size`` outside 1..1000 are ValidationErrors."""
    with pytest.raises(ValidationError) as error:
        db.list_datapoints(ds.id, page=page, size=size)
    assert locs(error) == [loc]


def test_a_page_number_past_2_to_the_53_is_invalid(db: DatasetLog, ds: Dataset) -> None:
    """Page numbers stop at 2**53, the largest every JSON reader keeps exactly."""
    assert db.list_datapoints(ds.id, page=2**53).records == []
    for page in (2**53 + 1, 2**64):
        with pytest.raises(ValidationError) as error:
            db.list_datapoints(ds.id, page=page)
        assert locs(error) == [("query", "page")]


def test_list_datapoints_of_an_old_version(db: DatasetLog, ds: Dataset) -> None:
    """``version=`` pages through an earlier version, by number or by id."""
    db.create_datapoint(ds.id, [{}, {}])
    db.create_datapoint(ds.id, {})
    version = db.get_version(ds.id, 1)
    assert db.list_datapoints(ds.id, version=1).total == 2
    assert db.list_datapoints(ds.id, version=version.id) == db.list_datapoints(ds.id, version=1)


def test_list_datapoints_of_unknown_version_raises_not_found(db: DatasetLog, ds: Dataset) -> None:
    """A version that was never committed is a NotFoundError."""
    with pytest.raises(NotFoundError):
        db.list_datapoints(ds.id, version=1)


def test_get_version_by_number_and_by_id_agree(db: DatasetLog, ds: Dataset) -> None:
    """A version is found by its number and by its ``dsv_`` id alike."""
    db.create_datapoint(ds.id, {})
    version = db.get_version(ds.id, 1)
    assert db.get_version(ds.id, version.id) == version


def test_get_version_of_another_dataset_raises_not_found(db: DatasetLog, ds: Dataset) -> None:
    """A version id of another dataset is not found in this one."""
    other = db.create_dataset(project_id="pr_1", name="other")
    with pytest.raises(NotFoundError):
        db.get_version(ds.id, db.get_version(other.id, 0).id)


def test_get_version_that_is_not_a_number_or_id_is_invalid(db: DatasetLog, ds: Dataset) -> None:
    """A version given as a bool is a ValidationError at ["query", "version"]."""
    with pytest.raises(ValidationError) as error:
        db.get_version(ds.id, True)
    assert locs(error) == [("query", "version")]


def test_list_versions_are_gapless(db: DatasetLog, ds: Dataset) -> None:
    """Versions are numbered 0..n, each the parent of the next."""
    [dp] = db.create_datapoint(ds.id, {})
    db.update_dataset(ds.id, name="renamed")
    db.update_datapoint(dp.id, inputs={})
    db.delete_datapoints([dp.id])
    versions = db.list_versions(ds.id)
    assert [(v.number, v.parent) for v in versions] == [(0, None), (1, 0), (2, 1), (3, 2)]
    assert [v.datapoint_count for v in versions] == [0, 1, 1, 0]


def test_iter_datapoints_v4_equals_to_v4(db: DatasetLog, ds: Dataset) -> None:
    """``iter_datapoints_v4`` yields exactly ``to_v4`` of what ``iter_datapoints`` yields."""
    db.create_datapoint(ds.id, [{"messages": [{"role": "tool", "name": None}]}, {"target": {}}])
    assert list(db.iter_datapoints_v4(ds.id)) == [to_v4(d) for d in db.iter_datapoints(ds.id)]


def test_json_reads_parse_to_to_v4(db: DatasetLog, ds: Dataset) -> None:
    """The JSON read paths parse to ``to_v4`` of what the object reads return."""
    assert orjson.loads(b"".join(db.iter_datapoints_json(ds.id))) == []
    bodies = [{"inputs": {"q": "caf\u00e9 \U0001f600"}}, {"target": {"id": 1}}, {}]
    db.create_datapoint(ds.id, [*bodies, {"messages": [{"role": "user", "content": '{"id"'}]}])
    for batch in (1, 3, 2000):
        pieces = list(db.iter_datapoints_json(ds.id, batch=batch))
        assert len(pieces) == -(-4 // batch) + 1
        assert orjson.loads(b"".join(pieces)) == to_v4(list(db.iter_datapoints(ds.id)))
    for page in (1, 2, 3):
        rendered = db.list_datapoints_json(ds.id, page=page, size=3, version=1)
        assert orjson.loads(rendered) == to_v4(db.list_datapoints(ds.id, page=page, size=3))


def test_json_reads_check_their_arguments(db: DatasetLog, ds: Dataset) -> None:
    """The JSON read paths refuse what their object twins refuse."""
    with pytest.raises(NotFoundError):
        db.iter_datapoints_json(ds.id, version=1)
    with pytest.raises(NotFoundError):
        db.list_datapoints_json("ds_missing")
    with pytest.raises(ValidationError):
        db.list_datapoints_json(ds.id, size=0)
    with pytest.raises(ValidationError):
        db.iter_datapoints_json(ds.id, batch=0)


def test_iter_datapoints_reads_in_small_batches(db: DatasetLog, ds: Dataset) -> None:
    """Small batches yield the same datapoints as one batch."""
    created = db.create_datapoint(ds.id, [{}] * 7)
    db.delete_datapoints([created[3].id])
    assert list(db.iter_datapoints(ds.id, batch=2)) == list(db.iter_datapoints(ds.id))


def test_versions_stream_side_by_side_while_other_calls_run(db: DatasetLog, ds: Dataset) -> None:
    """Two versions read in step (a diff), with reads and writes between rows, on one thread."""
    first = db.create_datapoint(ds.id, [{"inputs": {"i": f"{i}"}} for i in range(5)])
    db.delete_datapoints([first[1].id])
    second = db.create_datapoint(ds.id, [{"inputs": {"i": f"{i}"}} for i in range(5, 8)])
    old = db.iter_datapoints(ds.id, version=1, batch=2)
    new = db.iter_datapoints_v4(ds.id, version=3, batch=2)
    pairs = []
    for before, after in zip(old, new, strict=False):
        pairs.append((before.id, after["id"]))
        assert db.get_dataset(ds.id).datapoint_count == 7 + len(pairs) - 1
        assert before.id == first[1].id or db.get_datapoint(before.id) == before
        db.create_datapoint(ds.id, {})
    expected_new = [d.id for d in first if d.id != first[1].id] + [d.id for d in second]
    assert pairs == list(zip([d.id for d in first], expected_new, strict=False))
    assert [d["id"] for d in new] == expected_new[5:]


def test_a_stream_dropped_early_leaves_the_log_usable(db: DatasetLog, ds: Dataset) -> None:
    """Abandoned iterations (closed or merely dropped) never block later reads and writes."""
    created = db.create_datapoint(ds.id, [{"inputs": {"i": f"{i}"}} for i in range(6)])
    for _ in range(12):  # more abandoned streams than any pool of connections keeps
        pieces = db.iter_datapoints_json(ds.id, batch=2)
        next(pieces)
        pieces.close()
        next(db.iter_datapoints(ds.id, batch=1))
    db.create_datapoint(ds.id, {})
    assert [d.id for d in db.iter_datapoints(ds.id)][:6] == [d.id for d in created]


def test_iter_datapoints_of_unknown_version_raises_at_the_call(db: DatasetLog, ds: Dataset) -> None:
    """An unknown version is reported when ``iter_datapoints`` is called, not when iterated."""
    with pytest.raises(NotFoundError):
        db.iter_datapoints(ds.id, version=9)


def test_iter_datapoints_with_a_zero_batch_is_invalid(db: DatasetLog, ds: Dataset) -> None:
    """A batch size below 1 is a ValidationError, not an internal error."""
    db.create_datapoint(ds.id, {})
    with pytest.raises(ValidationError):
        list(db.iter_datapoints(ds.id, batch=0))


def test_get_datapoint_returns_the_latest_content(db: DatasetLog, ds: Dataset) -> None:
    """``get_datapoint`` shows the datapoint as the latest version has it."""
    [dp] = db.create_datapoint(ds.id, {"inputs": {"q": "1"}})
    db.update_datapoint(dp.id, inputs={"q": "2"})
    assert db.get_datapoint(dp.id).inputs == {"q": "2"}


@pytest.mark.parametrize(
    "call",
    [
        lambda db: db.get_dataset("\ud800"),
        lambda db: db.get_datapoint("\ud800"),
        lambda db: db.list_datasets("\ud800"),
        lambda db: db.delete_datapoints(["\ud800"]),
    ],
    ids=["get_dataset", "get_datapoint", "list_datasets", "delete_datapoints"],
)
def test_ids_with_lone_surrogates_are_a_datasetlog_error(db: DatasetLog, call: Any) -> None:
    """An id that is not valid Unicode is NotFoundError or ValidationError, never a raw error."""
    with pytest.raises((NotFoundError, ValidationError)):
        call(db)


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


# -- maintenance and lifecycle -------------------------------------------------------------


def test_rebuild_keeps_every_read(db: DatasetLog, ds: Dataset) -> None:
    """Rebuilding the read models from the events changes no read."""
    created = db.create_datapoint(ds.id, [{}, {"inputs": {"q": "1"}}])
    db.update_datapoint(created[1].id, target={"a": 1})
    db.delete_datapoints([created[0].id])
    before = [to_v4(db.list_datapoints(ds.id, version=v)) for v in range(4)]
    versions = db.list_versions(ds.id)
    db.rebuild()
    assert [to_v4(db.list_datapoints(ds.id, version=v)) for v in range(4)] == before
    assert db.list_versions(ds.id) == versions


def test_file_log_reopens_with_the_same_content(file_db: DatasetLog, tmp_path: Path) -> None:
    """Closing and reopening a file store shows the same datasets and versions."""
    ds = file_db.create_dataset(project_id="pr_1", name="qa")
    file_db.create_datapoint(ds.id, [{"inputs": {"q": "1"}}, {}])
    file_db.close()
    with DatasetLog(tmp_path / "store.db") as reopened:
        assert reopened.get_dataset(ds.id).datapoint_count == 2
        assert [d.inputs for d in reopened.iter_datapoints(ds.id)] == [{"q": "1"}, None]


# -- v4 fidelity and service use ---------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFoundError("no dataset 'evts_x'"), 404),
        (ConflictError("project 'p' already has a dataset 'n'"), 409),
        (StoreError("lost the PostgreSQL connection"), 500),
        (ValidationError([ErrorDetail(("body",), "give a field", "missing")]), 422),
    ],
)
def test_every_error_renders_as_v4_with_its_status(error: DatasetLogError, status: int) -> None:
    """to_v4 renders every DatasetLogError as a v4 body; status_code says how to answer it."""
    assert error.status_code == status
    body = json.loads(to_v4_json(error))
    if isinstance(error, ValidationError):
        assert body == {"detail": [{"loc": ["body"], "msg": "give a field", "type": "missing"}]}
    else:
        assert body == {"detail": str(error)}


def test_version_zero_has_no_parent_key(db: DatasetLog, ds: Dataset) -> None:
    """Unset optional fields are omitted: version 0 renders without ``parent``."""
    db.create_datapoint(ds.id, {})
    zero, one = (to_v4(v) for v in db.list_versions(ds.id))
    assert "parent" not in zero
    assert one["parent"] == 0


def test_latest_names_the_latest_version(db: DatasetLog, ds: Dataset) -> None:
    """get_version(ds, "latest") is the last committed version."""
    assert db.get_version(ds.id, "latest").number == 0
    db.create_datapoint(ds.id, {})
    assert db.get_version(ds.id, "latest") == db.list_versions(ds.id)[-1]
    assert db.list_datapoints(ds.id, version="latest") == db.list_datapoints(ds.id)


def test_a_page_iterates_over_its_records(db: DatasetLog, ds: Dataset) -> None:
    """A Page is iterable and sized: its records."""
    added = db.create_datapoint(ds.id, [{}, {}, {}])
    page = db.list_datapoints(ds.id, size=2)
    assert (len(page), list(page)) == (2, added[:2])


def test_results_are_hashable_and_equal_ones_hash_alike(db: DatasetLog, ds: Dataset) -> None:
    """Datapoints holding dicts hash, equal ones alike, so they can key dicts and fill sets."""
    [made] = db.create_datapoint(
        ds.id,
        {
            "inputs": {"q": "1"},
            "messages": [{"role": "user", "tool_call": {"name": "f", "arguments": [1]}}],
        },
    )
    again = db.get_datapoint(made.id)
    assert again == made
    assert hash(again) == hash(made)
    assert {made, again, *db.list_datapoints(ds.id)} == {made}
    versions = db.list_versions(ds.id)
    assert len({db.get_dataset(ds.id), db.get_dataset(ds.id), *versions, *versions}) == 3
    assert hash(db.list_datapoints(ds.id)) == hash(db.list_datapoints(ds.id))


def test_the_repr_names_the_store(tmp_path: Path) -> None:
    """repr(DatasetLog) says which store it is open on."""
    with DatasetLog(tmp_path / "store.db") as db:
        assert repr(db) == f"DatasetLog(SQLiteEventStore({str(tmp_path / 'store.db')!r}))"


def test_a_request_storing_too_much_is_refused_whole(db: DatasetLog, ds: Dataset) -> None:
    """A call that would store more than MAX_REQUEST_SIZE characters of JSON is a 422."""
    big = "x" * 9_000_000
    with pytest.raises(ValidationError) as error:
        db.create_datapoint(ds.id, [{"inputs": {"pad": big}}] * 8)
    assert locs(error) == [("body",)]
    assert error.value.details[0].type == "too_large"
    assert db.get_dataset(ds.id).datapoint_count == 0
