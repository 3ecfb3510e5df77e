"""Diffs, dry runs and results the command line prints can be reviewed: entries with a hint of
their content, long strings as line diffs, conflicts by name, and "nothing to commit" said."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import invoke

from datasetlog import DatasetLog

PROMPT = 'def add(a, b):\n    """Add two numbers."""\n    return a + b\n\nprint(add(1, 2))\n'


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, str, list[str]]:
    """A dataset ``qa`` whose version 1 holds three problems keyed by ``task_id``."""
    path = tmp_path / "store.db"
    with DatasetLog(path) as db:
        ds = db.create_dataset(project_id="pr", name="qa").id
        body = [
            {"inputs": {"prompt": f"{PROMPT}# {n}\n", "task_id": f"T/{n}"}, "target": {"n": n}}
            for n in range(3)
        ]
        added = db.create_datapoint(ds, body)
    return path, ds, [d.id for d in added]


def test_added_and_removed_entries_show_a_hint_of_their_content(
    store: tuple[Path, str, list[str]],
) -> None:
    """``diff`` prints each added or removed datapoint with the start of its first input
    string on one line, or with the value ``--show`` names."""
    path, ds, ids = store
    with DatasetLog(path) as db:
        db.delete_datapoints([ids[1]])
        [new] = db.create_datapoint(ds, {"inputs": {"prompt": "x = 1", "task_id": "T/9"}})
    lines = invoke("diff", "qa", "1", "3", db=path).stdout.splitlines()
    assert lines == [
        "version 1 -> 3: 1 added, 1 removed, 0 changed",
        f"+ {new.id}  x = 1",
        f'- {ids[1]}  def add(a, b): """Add two numbers.""" return a + b print(...',
    ]
    shown = invoke("diff", "qa", "1", "3", "--show", "inputs.task_id", db=path).stdout
    assert shown.splitlines()[1:] == [f"+ {new.id}  T/9", f"- {ids[1]}  T/1"]
    targets = invoke("diff", "qa", "1", "3", "--show", "target", db=path).stdout
    assert targets.splitlines()[1:] == [f"+ {new.id}", f'- {ids[1]}  {{"n":1}}']
    refused = invoke("diff", "qa", "1", "3", "--show", "content.x", db=path, code=2)
    assert "Invalid value for '--show'" in refused.stderr


def test_a_long_changed_string_shows_as_a_line_diff(store: tuple[Path, str, list[str]]) -> None:
    """A changed multi-line string prints as a unified diff of its lines; a short value as
    ``old -> new``."""
    path, _, ids = store
    edited = PROMPT.replace("two numbers", "two numbers, a and b") + "# 0\n"
    with DatasetLog(path) as db:
        db.update_datapoint(ids[0], inputs={"prompt": edited, "task_id": "T/0"}, target={"n": 7})
    lines = invoke("diff", "qa", "1", "2", "--show", "inputs.task_id", db=path).stdout
    assert lines.splitlines() == [
        "version 1 -> 2: 0 added, 0 removed, 1 changed",
        f"~ {ids[0]}  T/0",
        "    inputs.prompt:",
        "      --- version 1",
        "      +++ version 2",
        "      @@ -1,4 +1,4 @@",
        "       def add(a, b):",
        '      -    """Add two numbers."""',
        '      +    """Add two numbers, a and b."""',
        "           return a + b",
        "       ",
        "    target.n: 0 -> 7",
    ]


def test_a_merge_dry_run_lists_its_entries_and_names_its_conflicts(
    store: tuple[Path, str, list[str]],
) -> None:
    """``merge --dry-run`` prints what it would apply, entry by entry, and each conflict by
    its datapoint with a hint and what each side did; it writes nothing."""
    path, ds, ids = store
    with DatasetLog(path) as db:
        fork = db.fork(ds, name="fork").id
        forked = {d.inputs["task_id"]: d.id for d in db.iter_datapoints(fork) if d.inputs}
        db.update_datapoint(forked["T/0"], target={"n": "fork"})
        db.delete_datapoints([forked["T/1"]])
        db.update_datapoint(ids[1], target={"n": "main"})
        versions = len(db.list_versions(ds))
    lines = invoke(
        "merge", "fork", "qa", "--dry-run", "--show", "inputs.task_id", db=path
    ).stdout.splitlines()
    assert lines == [
        "would commit: 0 added, 0 removed, 1 changed, 1 conflict(s)",
        f"~ {ids[0]}  T/0",
        '    target.n: 0 -> "fork"',
        f"! {ids[1]}  T/1  (source deleted, target changed)",
    ]
    with DatasetLog(path) as db:
        assert len(db.list_versions(ds)) == versions


def test_a_restore_or_merge_with_nothing_to_change_says_nothing_to_commit(
    store: tuple[Path, str, list[str]],
) -> None:
    """A restore to the latest content, or a merge with nothing new, commits nothing and says
    so; their ``--json`` says ``committed`` false, and a restore that commits says true."""
    path, ds, _ = store
    assert invoke("restore", "qa", "1", db=path).stdout == (
        "nothing to commit: version 1 holds that content\n"
    )
    assert json.loads(invoke("restore", "qa", "1", "--json", db=path).stdout)["committed"] is False
    dry = invoke("restore", "qa", "1", "--dry-run", db=path).stdout
    assert dry == "nothing to commit: version 1 holds that content\n"
    made = json.loads(invoke("restore", "qa", "0", "--json", db=path).stdout)
    assert (made["number"], made["committed"]) == (2, True)
    with DatasetLog(path) as db:
        db.fork(ds, name="fork")
    merged = invoke("merge", "fork", "qa", db=path).stdout
    assert merged.startswith("nothing to commit (latest version 2): 0 added")
    assert json.loads(invoke("merge", "fork", "qa", "--json", db=path).stdout)["committed"] is False


def test_every_json_output_of_a_write_says_whether_it_committed(
    store: tuple[Path, str, list[str]],
) -> None:
    """``create``, ``fork``, ``update``, ``delete`` and dry runs print ``committed`` in their
    ``--json``, beside what they made."""
    path, _, ids = store
    made = json.loads(invoke("create", "other", "--project", "pr", "--json", db=path).stdout)
    assert (made["name"], made["committed"]) == ("other", True)
    forked = json.loads(invoke("fork", "qa", "copy", "--json", db=path).stdout)
    assert (forked["name"], forked["committed"]) == ("copy", True)
    updated = json.loads(invoke("update", ids[0], "--target", "{}", "--json", db=path).stdout)
    assert (updated["id"], updated["target"], updated["committed"]) == (ids[0], {}, True)
    deleted = json.loads(invoke("delete", ids[1], ids[2], "--json", db=path).stdout)
    assert deleted == {"deleted": [ids[1], ids[2]], "committed": True}
    dry = json.loads(invoke("restore", "qa", "1", "--dry-run", "--json", db=path).stdout)
    assert dry == {"added": 2, "removed": 0, "changed": 1, "committed": False}
    gone = json.loads(invoke("delete", "other", "--json", db=path).stdout)
    assert gone == {"deleted": [made["id"]], "committed": True}


def test_hints_line_diffs_and_datapoints_print_escaped(tmp_path: Path) -> None:
    """Content printed as a hint, in a line diff, by ``show`` of a datapoint or by
    ``history`` has every character that could act on a terminal escaped."""
    path = tmp_path / "store.db"
    hostile = "a\x1b]0;pwned\x07\u202eb\nsecond line\x1b[2J that is long enough to diff"
    with DatasetLog(path) as db:
        ds = db.create_dataset(project_id="pr", name="qa").id
        [dp] = db.create_datapoint(ds, {"inputs": {"q": hostile}})
        db.update_datapoint(dp.id, inputs={"q": hostile.replace("second", "2nd\x9b31m")})
        db.create_datapoint(ds, {"inputs": {"q": hostile}})
    for args in (("diff", "qa", "0", "3"), ("diff", "qa", "1", "2"), ("history", dp.id)):
        printed = invoke(*args, db=path).stdout
        assert [c for c in printed if not (c.isprintable() or c == "\n")] == [], args
        assert "a\\x1b]0;pwned\\x07\\u202eb" in printed, args
    shown = invoke("show", dp.id, db=path).stdout  # JSON, whose escapes are safe as they are
    assert [c for c in shown if not (c.isprintable() or c == "\n")] == []
    assert "2nd\\x9b31m" in shown
