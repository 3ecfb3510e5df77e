"""verify() of forks: what a fork holds itself is checked, and damage to it is named."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import attrs
import pytest

import datasetlog.integrity.projection as projection
from datasetlog import DatasetLog, verify
from datasetlog.integrity.fold import content_digest


@attrs.frozen
class Forked:
    """A store with a source and a fork that updated one inherited datapoint and added one."""

    path: Path
    source: str
    fork: str
    updated: str
    added: str


@pytest.fixture
def forked(tmp_path: Path) -> Forked:
    path = tmp_path / "store.db"
    with DatasetLog(path) as db:
        source = db.create_dataset(project_id="pr", name="s").id
        db.create_datapoint(source, [{"inputs": {"q": str(i)}} for i in range(4)])
        fork = db.fork(source, name="f").id
        inherited = [d.id for d in db.iter_datapoints(fork)]
        db.update_datapoint(inherited[2], target={"fixed": True})
        added = db.create_datapoint(fork, {"inputs": {"q": "new"}})[0].id
        assert db.verify()
    return Forked(path, source, fork, inherited[2], added)


def test_a_forks_own_datapoint_served_wrong_is_a_projection_problem(
    forked: Forked, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where a fork's own spans serve other JSON than its fold expects, the report names
    the fork, its version and the datapoint expected there."""

    def unlike_the_update(payload: object) -> int:
        return 1 if '"fixed"' in str(payload) else content_digest(payload)

    monkeypatch.setattr(projection, "content_digest", unlike_the_update)
    with DatasetLog(forked.path) as db:
        report = verify(db.store)
    assert [(p.what, p.dataset_id, p.version) for p in report.problems] == [
        ("projection", forked.fork, 2)
    ]
    assert report.problems[0].detail.startswith(f"datapoint #0: expected {forked.updated}")


def test_a_forks_changed_span_is_named(forked: Forked) -> None:
    """A fork's own span pointed at another event is found, named by the fork."""
    conn = sqlite3.connect(forked.path)
    conn.execute(
        "UPDATE dl_rows SET event = event - 1 WHERE datapoint_id = ? AND removed_in IS NULL",
        (forked.added,),
    )
    conn.commit()
    conn.close()
    with DatasetLog(forked.path) as db:
        report = verify(db.store)
    assert report.first is not None
    assert (report.first.what, report.first.dataset_id) == ("read_model", forked.fork)
    assert forked.added in report.first.detail
