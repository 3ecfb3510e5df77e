"""The command line's keyed import, dry runs, the empty-set guard and updates from a file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import orjson
from cli_runner import invoke

from datasetlog import DatasetLog

ROWS = [{"inputs": {"task_id": f"T/{i}", "q": f"q{i}"}} for i in range(4)]


def _write(path: Path, rows: Sequence[Mapping[str, object]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    return path


def _filled(tmp_path: Path) -> tuple[Path, str, list[str]]:
    db = tmp_path / "store.db"
    invoke("create", "qa", "--project", "pr", db=db)
    invoke("import", "qa", str(_write(tmp_path / "a.jsonl", ROWS)), db=db)
    with DatasetLog(db) as log:
        [dataset] = log.list_datasets("pr")
        return db, dataset.id, [d.id for d in log.iter_datapoints(dataset.id)]


def test_a_keyed_import_updates_in_place_and_a_dry_run_writes_nothing(tmp_path: Path) -> None:
    """--key matches lines by task id; --dry-run lists the changes; then they are committed."""
    db, ds, ids = _filled(tmp_path)
    edited = [
        {"inputs": {"task_id": "T/0", "q": "q0 fixed"}},
        *ROWS[1:3],
        {"inputs": {"task_id": "T/9"}},
    ]
    file = str(_write(tmp_path / "b.jsonl", edited))
    dry = invoke(
        "import", "qa", file, "--action", "set", "--key", "inputs.task_id", "--dry-run", db=db
    )
    assert "would commit: 1 added, 1 removed, 1 changed" in dry.stdout
    assert f"~ {ids[0]}" in dry.stdout
    assert 'inputs.q: "q0" -> "q0 fixed"' in dry.stdout
    with DatasetLog(db) as log:
        assert [v.number for v in log.list_versions(ds)] == [0, 1]
    done = invoke(
        "import", "qa", file, "--action", "set", "--key", "inputs.task_id", "--json", db=db
    )
    result = orjson.loads(done.stdout)
    assert (result["committed"], result["added"], result["removed"], result["changed"]) == (
        True,
        1,
        1,
        1,
    )
    with DatasetLog(db) as log:
        now = list(log.iter_datapoints(ds))
        assert [d.id for d in now[:3]] == ids[:3]
        assert now[0].inputs == {"task_id": "T/0", "q": "q0 fixed"}


def test_an_empty_set_is_refused_unless_allowed(tmp_path: Path) -> None:
    """A failed producer piped into import --action set does not empty the dataset."""
    db, ds, _ = _filled(tmp_path)
    empty = str(_write(tmp_path / "empty.jsonl", []))
    refused = invoke("import", "qa", empty, "--action", "set", db=db, code=1)
    assert "--allow-empty" in refused.stderr
    with DatasetLog(db) as log:
        assert log.get_dataset(ds).datapoint_count == 4
    invoke("import", "qa", empty, "--action", "set", "--allow-empty", db=db)
    with DatasetLog(db) as log:
        assert log.get_dataset(ds).datapoint_count == 0


def test_a_key_without_an_action_is_a_clear_error(tmp_path: Path) -> None:
    """--key alone says to give --action, naming the option as the command spells it."""
    db, _, _ = _filled(tmp_path)
    refused = invoke(
        "import", "qa", str(tmp_path / "a.jsonl"), "--key", "inputs.task_id", db=db, code=1
    )
    assert refused.stderr.startswith("error: --key:")


def test_updates_from_a_file_are_one_version(tmp_path: Path) -> None:
    """update --from FILE edits every datapoint the file names as one version."""
    db, ds, ids = _filled(tmp_path)
    edits = _write(
        tmp_path / "edits.jsonl",
        [{"id": ids[1], "target": {"a": 1}}, {"id": ids[3], "target": {"a": 3}}],
    )
    done = invoke("update", "--from", str(edits), db=db)
    assert "updated 2 datapoint(s)" in done.stdout
    with DatasetLog(db) as log:
        assert log.list_versions(ds)[-1].message == "Update 2 datapoints"
        assert [d.target for d in log.iter_datapoints(ds)] == [None, {"a": 1}, None, {"a": 3}]
    invoke("update", ids[0], "--from", str(edits), db=db, code=2)
