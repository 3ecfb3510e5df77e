"""Commands for one datapoint (``show`` by id, ``update``, ``delete``, ``history``), and
``export -o -`` to standard output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import invoke

from datasetlog import DatasetLog


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, str, list[str]]:
    """A dataset ``qa`` whose version 1 holds two datapoints; the store, its id, theirs."""
    path = tmp_path / "store.db"
    with DatasetLog(path) as db:
        ds = db.create_dataset(project_id="pr", name="qa").id
        body = [{"inputs": {"q": f"{n}+{n}?"}, "target": {"a": 2 * n}} for n in (1, 2)]
        added = db.create_datapoint(ds, body)
    return path, ds, [d.id for d in added]


def test_show_prints_one_datapoint_by_its_id(store: tuple[Path, str, list[str]]) -> None:
    """``show DATAPOINT_ID`` prints a datapoint as it stands, or in ``--version``; --json its
    v4 JSON."""
    path, ds, ids = store
    with DatasetLog(path) as db:
        db.update_datapoint(ids[0], target={"a": "two"})
    lines = invoke("show", ids[0], db=path).stdout.splitlines()
    assert lines[0] == f"datapoint {ids[0]} of dataset {ds}"
    assert lines[2:] == [
        *("inputs:", "  {", '    "q": "1+1?"', "  }"),
        *("target:", "  {", '    "a": "two"', "  }"),
    ]
    earlier = json.loads(invoke("show", ids[0], "--version", "1", "--json", db=path).stdout)
    assert (earlier["id"], earlier["target"]) == (ids[0], {"a": 2})
    missing = invoke("show", "dp_missing", db=path, code=1)
    assert missing.stderr == "error: no datapoint 'dp_missing'\n"


def test_a_dataset_named_like_a_datapoint_is_still_shown_as_a_dataset(tmp_path: Path) -> None:
    """An argument starting ``dp_`` is a datapoint id only when no dataset has that name."""
    path = tmp_path / "store.db"
    with DatasetLog(path) as db:
        db.create_dataset(project_id="pr", name="dp_evals")
    assert invoke("show", "dp_evals", db=path).stdout.startswith("version 0 ")
    invoke("delete", "dp_evals", db=path)
    with DatasetLog(path) as db:
        assert db.list_datasets("pr") == []


def test_update_replaces_the_fields_given_as_one_version(
    store: tuple[Path, str, list[str]],
) -> None:
    """``update`` replaces the fields given (JSON), keeps the others, and commits one version;
    bad JSON and no field at all are usage errors that write nothing."""
    path, ds, ids = store
    said = invoke("update", ids[1], "--target", '{"a": 4, "checked": true}', db=path).stdout
    assert said == f"updated {ids[1]} of dataset {ds}\n"
    with DatasetLog(path) as db:
        found = db.get_datapoint(ids[1])
        assert (found.inputs, found.target) == ({"q": "2+2?"}, {"a": 4, "checked": True})
        assert db.get_version(ds).number == 2
    before = path.read_bytes()
    bad = invoke("update", ids[1], "--inputs", "{nope", db=path, code=2)
    assert "Invalid value for '--inputs': not JSON" in bad.stderr
    none = invoke("update", ids[1], db=path, code=2)
    assert "give --inputs, --messages or --target" in none.stderr
    assert path.read_bytes() == before


def test_delete_removes_datapoints_by_id_in_one_version(
    store: tuple[Path, str, list[str]],
) -> None:
    """``delete`` given datapoint ids deletes them all in one new version; an unknown id
    deletes none."""
    path, ds, ids = store
    before = path.read_bytes()
    invoke("delete", ids[0], "dp_missing", db=path, code=1)
    assert path.read_bytes() == before
    invoke("delete", *ids, db=path)
    with DatasetLog(path) as db:
        latest = db.get_version(ds)
        assert (latest.number, latest.datapoint_count) == (2, 0)


def test_history_lists_every_version_that_touched_a_datapoint(
    store: tuple[Path, str, list[str]],
) -> None:
    """``history`` prints each version a datapoint was added, changed, deleted or restored
    in, with a hint of its content then; --json one revision a line."""
    path, ds, ids = store
    with DatasetLog(path) as db:
        db.update_datapoint(ids[0], inputs={"q": "one plus one?"})
        db.delete_datapoints([ids[0]])
        db.restore(ds, 2)
    table = invoke("history", ids[0], db=path).stdout.splitlines()
    assert table[0].split() == ["version", "change", "created", "content"]
    rows = [(line.split()[0], line.split()[1], line.split()[3:]) for line in table[1:]]
    assert rows == [
        ("1", "added", ["1+1?"]),
        ("2", "changed", ["one", "plus", "one?"]),
        ("3", "deleted", []),
        ("4", "restored", ["one", "plus", "one?"]),
    ]
    shown = invoke("history", ids[0], "--show", "target.a", db=path).stdout.splitlines()
    assert shown[1].split()[3:] == ["2"]
    revisions = [
        json.loads(line)
        for line in invoke("history", ids[0], "--json", db=path).stdout.splitlines()
    ]
    assert [r["change"] for r in revisions] == ["added", "changed", "deleted", "restored"]


def test_export_to_dash_writes_standard_output(
    store: tuple[Path, str, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``export -o -`` writes the same bytes to standard output as ``export`` alone, in the
    format asked, and no file named ``-``; ``--lock`` still needs a file."""
    path, _, _ = store
    monkeypatch.chdir(tmp_path)
    piped = invoke("export", "qa", db=path).stdout_bytes
    assert invoke("export", "qa", "-o", "-", db=path).stdout_bytes == piped
    assert len(piped.splitlines()) == 2
    csv = invoke("export", "qa", "-o", "-", "--format", "csv", db=path).stdout
    assert csv.startswith("id,created_at,")
    assert (
        "--lock needs -o FILE"
        in invoke("export", "qa", "-o", "-", "--lock", db=path, code=2).stderr
    )
    assert not (tmp_path / "-").exists()
