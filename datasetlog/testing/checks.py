"""The read checks of the stateful machine: every read path of a version against the model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest

from datasetlog import DatasetLog, to_v4
from datasetlog.events import Commit
from datasetlog.projector import project
from datasetlog.serialization.codec import decode_commit
from datasetlog.testing.oracle import PROJECTS, ModelDataset, Row


def fingerprint(db: DatasetLog, live: dict[str, ModelDataset]) -> Any:
    """The commit count and every live dataset's versions, to show nothing changed."""
    versions = {ds: [to_v4(v) for v in db.list_versions(ds)] for ds in live}
    return len(list(db.store.read_all())), versions


def expect_unchanged(
    db: DatasetLog,
    live: dict[str, ModelDataset],
    error: type[Exception],
    call: Callable[[], object],
) -> pytest.ExceptionInfo[Exception]:
    """Run a call that must fail with ``error`` and leave the store as it was."""
    before = fingerprint(db, live)
    with pytest.raises(error) as info:
        call()
    assert fingerprint(db, live) == before
    return info


def everything(db: DatasetLog, live: dict[str, ModelDataset]) -> Any:
    """Every read the facade offers, as v4 data, for before/after comparisons."""
    datasets = [to_v4(db.list_datasets(p)) for p in PROJECTS]
    versions = {ds: to_v4(db.list_versions(ds)) for ds in live}
    contents = {
        (ds, v["number"]): list(db.iter_datapoints_v4(ds, version=v["number"]))
        for ds, vs in versions.items()
        for v in vs
    }
    return datasets, versions, contents


def check_dataset(db: DatasetLog, ds: str, model: ModelDataset) -> None:
    """Check a live dataset and every one of its versions against the model."""
    commits = [decode_commit(c) for c in db.store.read_stream(ds)]
    versions = db.list_versions(ds)
    assert [v.number for v in versions] == list(range(len(model.versions)))
    assert [v.message for v in versions] == model.messages
    for number, rows in enumerate(model.versions):
        check_version(db, ds, model, number, rows, commits)
    dataset = db.get_dataset(ds)
    assert to_v4(dataset) == to_v4(project(commits).dataset())
    assert dataset.datapoint_count == len(model.versions[-1])
    latest = db.list_datapoints(ds)
    assert (latest.page, latest.size, latest.total) == (1, 50, len(model.versions[-1]))
    assert to_v4(latest.records) == [row.v4(ds) for row in model.versions[-1][:50]]


def check_version(
    db: DatasetLog,
    ds: str,
    model: ModelDataset,
    number: int,
    rows: list[Row],
    commits: list[Commit],
) -> None:
    """Check one version through every read path against the model's rows."""
    expected = [row.v4(ds) for row in rows]
    version = db.get_version(ds, number)
    known_id = model.version_ids.setdefault(number, version.id)
    assert version.id == known_id
    assert (version.number, version.parent) == (number, number - 1 if number else None)
    assert version.message == model.messages[number]
    assert version.datapoint_count == len(rows)
    assert db.get_version(ds, version.id) == version
    assert [to_v4(d) for d in db.iter_datapoints(ds, version=number)] == expected
    assert list(db.iter_datapoints_v4(ds, version=version.id)) == expected
    pieces = db.iter_datapoints_json(ds, version=number, batch=1 + number % 3)
    assert orjson.loads(b"".join(pieces)) == expected
    assert read_pages(db, ds, number, size=2 + number % 2) == expected
    state = project(commits, version=number)
    assert state.version.id == version.id
    assert [to_v4(d) for d in state.datapoints()] == expected


def read_pages(db: DatasetLog, ds: str, number: int, size: int) -> list[dict[str, Any]]:
    """Read a version page by page, checking each page's fields; return all records."""
    records: list[dict[str, Any]] = []
    page_number = 1
    while True:
        page = db.list_datapoints(ds, page=page_number, size=size, version=number)
        rendered = db.list_datapoints_json(ds, page=page_number, size=size, version=number)
        assert orjson.loads(rendered) == to_v4(page)
        assert (page.page, page.size) == (page_number, size)
        assert len(page.records) <= size
        if not page.records:
            assert page.total == len(records)
            return records
        records.extend(to_v4(page.records))
        page_number += 1
