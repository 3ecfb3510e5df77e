"""A version's chain head: the hash of the commit that made it, read from the log directly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from datasetlog import DatasetLog, NotFoundError
from datasetlog.transfer import check_lock, export_dataset


def _hashes_by_version(db: DatasetLog, dataset_id: str) -> dict[int, str]:
    """Each content version's commit hash, found by walking the stream (the slow oracle)."""
    found = {}
    for commit in db.store.read_stream(dataset_id):
        version = orjson.loads(commit.metadata).get("version")
        if version is not None:
            found[version["number"]] = commit.hash
    return found


def test_chain_head_is_the_hash_of_the_commit_that_made_the_version(db: DatasetLog) -> None:
    """For every version and every kind of reference, the hash of the commit that made it."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    db.create_datapoint(ds, [{"inputs": {"q": "a"}}], version_name="first")
    db.set_tag(ds, "prod", 1)  # a commit that makes no version
    db.create_datapoint(ds, {})
    db.name_version(ds, 0, "empty")
    expected = _hashes_by_version(db, ds)
    assert [db.chain_head(ds, n) for n in range(3)] == [expected[n] for n in range(3)]
    assert db.chain_head(ds, "first") == db.chain_head(ds, "prod") == expected[1]
    assert db.chain_head(ds) == db.chain_head(ds, "latest") == expected[2]
    assert db.chain_head(ds, db.get_version(ds, 1).id) == expected[1]
    with pytest.raises(NotFoundError):
        db.chain_head(ds, 3)


def test_chain_head_and_locks_never_read_a_commits_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exporting with a lock and checking it against the store read no commit whole."""
    with DatasetLog(tmp_path / "store.db") as db:
        ds = db.create_dataset(project_id="pr", name="qa").id
        db.create_datapoint(ds, [{"inputs": {"q": str(i)}} for i in range(50)])
        expected = _hashes_by_version(db, ds)

        def refused(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("a commit was read with its events")

        monkeypatch.setattr(type(db.store), "read_stream", refused)
        monkeypatch.setattr(type(db.store), "read_all", refused)
        exported = export_dataset(db, ds, tmp_path / "qa.jsonl", lock=True)
        assert exported.lock is not None
        assert exported.lock.chain_head == expected[1]
        assert check_lock(tmp_path / "qa.jsonl.lock.json", db).ok
