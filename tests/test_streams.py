"""Streamed writes of any size as one version: what they refuse, and that they write all or
nothing (the state machines check their results against the model and the projector)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import datasetlog.writes.streams
from datasetlog import ConflictError, DatasetLog, ValidationError


@pytest.fixture
def db() -> Iterator[DatasetLog]:
    with DatasetLog(":memory:") as log:
        yield log


def _bodies(start: int, count: int) -> list[dict[str, Any]]:
    return [{"inputs": {"n": str(n)}} for n in range(start, start + count)]


def _unchanged(db: DatasetLog, ds: str, number: int) -> None:
    assert db.get_version(ds).number == number
    assert db.verify().ok


def test_a_stream_fed_in_batches_is_one_version_with_every_datapoint(db: DatasetLog) -> None:
    ds = db.create_dataset(project_id="pr", name="qa").id
    batches = (_bodies(start, 700) for start in range(0, 2100, 700))
    version = db.commit_datapoint_stream(ds, batches, count=2100, version_name="bulk")
    assert (version.number, version.datapoint_count, version.name) == (1, 2100, "bulk")
    assert [d.inputs for d in db.iter_datapoints(ds)] == [b["inputs"] for b in _bodies(0, 2100)]


@pytest.mark.parametrize(
    ("batches", "count", "loc"),
    [
        ([_bodies(0, 3), [{"inputs": {"n": 1}}]], 4, ("body", 3, "inputs", "n")),
        ([_bodies(0, 3)], 4, ("count",)),
        ([_bodies(0, 3), _bodies(3, 2)], 4, ("count",)),
        ([_bodies(0, 3)], 0, ("count",)),
        ([[]], 1, ("body",)),
        (["not a list"], 1, ("body",)),
        ([[{"log_ids": ["log_1"]}]], 1, ("body", 0, "log_ids")),
    ],
)
def test_a_bad_stream_writes_nothing(
    db: DatasetLog, batches: list[Any], count: int, loc: tuple[Any, ...]
) -> None:
    ds = db.create_dataset(project_id="pr", name="qa").id
    with pytest.raises(ValidationError) as bad:
        db.commit_datapoint_stream(ds, iter(batches), count=count)
    assert loc in [detail.loc for detail in bad.value.details]
    _unchanged(db, ds, 0)


def test_ctrl_c_between_batches_writes_nothing(db: DatasetLog) -> None:
    ds = db.create_dataset(project_id="pr", name="qa").id

    def batches() -> Iterator[list[dict[str, Any]]]:
        yield _bodies(0, 5)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        db.commit_datapoint_stream(ds, batches(), count=10)
    _unchanged(db, ds, 0)
    assert db.commit_datapoint_stream(ds, [_bodies(0, 2)], count=2).number == 1


def test_a_streamed_upsert_matches_the_upsert_of_the_same_request(db: DatasetLog) -> None:
    base = _bodies(0, 30) + _bodies(0, 5)  # five contents twice
    request = _bodies(20, 20) + _bodies(25, 3)
    for action in ("add", "set", "remove"):
        whole = db.create_dataset(project_id="pr", name=f"whole-{action}").id
        streamed = db.create_dataset(project_id="pr", name=f"streamed-{action}").id
        for ds in (whole, streamed):
            db.create_datapoint(ds, base)
        expected = db.upsert(whole, request, action=action)
        got = db.upsert_stream(
            streamed, lambda: (request[i : i + 7] for i in range(0, 23, 7)), action=action
        )
        assert (got.added, got.removed, got.ignored, got.committed) == (
            expected.added,
            expected.removed,
            expected.ignored,
            expected.committed,
        )
        assert got.version.message == expected.version.message
        contents = [[d.inputs for d in db.iter_datapoints(ds)] for ds in (whole, streamed)]
        assert contents[0] == contents[1]
    assert db.verify().ok


def test_a_streamed_upsert_refuses_what_upsert_refuses(db: DatasetLog) -> None:
    ds = db.create_dataset(project_id="pr", name="qa").id
    db.create_datapoint(ds, _bodies(0, 3))
    with pytest.raises(ConflictError):
        db.upsert_stream(ds, lambda: [_bodies(0, 2)], expected_version=0)
    with pytest.raises(ValidationError) as bad:
        db.upsert_stream(ds, [_bodies(0, 2)], action="replace")  # type: ignore[call-overload]
    assert [d.loc for d in bad.value.details] == [("body", "action"), ("batches",)]
    with pytest.raises(ValidationError) as bad:
        db.upsert_stream(ds, lambda: [_bodies(0, 2), [{"inputs": []}]], action="add")
    assert bad.value.details[0].loc == ("body", 2, "inputs")
    _unchanged(db, ds, 1)


def test_batches_that_change_between_readings_write_nothing(db: DatasetLog) -> None:
    ds = db.create_dataset(project_id="pr", name="qa").id
    db.create_datapoint(ds, _bodies(0, 3))
    readings = iter([[_bodies(10, 4)], [_bodies(20, 4)]])
    with pytest.raises(ValidationError) as bad:
        db.upsert_stream(ds, lambda: next(readings), action="add")
    assert bad.value.details[0].loc == ("batches",)
    _unchanged(db, ds, 1)


def test_a_streamed_upsert_deletes_in_events_of_a_batch_each(
    db: DatasetLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(datasetlog.writes.streams, "BATCH", 2)
    ds = db.create_dataset(project_id="pr", name="qa").id
    db.create_datapoint(ds, _bodies(0, 9))
    done = db.upsert_stream(ds, lambda: [_bodies(4, 2)], action="set")
    assert (done.added, done.removed) == (0, 7)
    assert [d.inputs for d in db.iter_datapoints(ds)] == [{"n": "4"}, {"n": "5"}]
    [commit] = list(db.store.read_stream(ds, after=2))
    assert [event.type for event in commit.events] == ["datapoints_deleted"] * 4
    assert db.verify().ok
