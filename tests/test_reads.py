"""Reading datapoints: streamed, in batches, as JSON, side by side with writes, by id."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from datasetlog import (
    Dataset,
    DatasetLog,
    NotFoundError,
    ValidationError,
    to_v4,
)


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
