"""DatasetLog in a service: v4 error bodies, hashable results, the repr, the request size
limit, rebuilds and reopening."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import locs

from datasetlog import (
    ConflictError,
    Dataset,
    DatasetLog,
    DatasetLogError,
    ErrorDetail,
    NotFoundError,
    StoreError,
    ValidationError,
    to_v4,
    to_v4_json,
)


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
