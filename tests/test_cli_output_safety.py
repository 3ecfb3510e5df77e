"""The command line prints every string from a store or a user safely: a name an older release
stored cannot act on the terminal or forge a row, in tables, errors or JSON."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import on_a_terminal

from datasetlog import DatasetLog
from datasetlog.validation import fields

PROJECT = "pr\nforged row\x1b[2J"
NAME = "evil\x1b]0;pwned\x07\x1b[2J\u202eqa"
TAG = "\u202eprod\x1b[31m"
VERSION_NAME = "v\u200b1\x9b31m"
CONTENT = {"inputs": {"q\x1b[2J": "a\u202eb\x07"}, "target": {"t": "\x1b]0;x\x07"}}


def run(*args: str, db: Path, code: int = 0) -> subprocess.CompletedProcess[str]:
    """A real ``datasetlog`` process on the store ``db``; it must exit with ``code``."""
    result = subprocess.run(
        [sys.executable, "-m", "datasetlog", "--db", str(db), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    return result


def unsafe(text: str) -> list[str]:
    """The characters of printed text that could act on a terminal or hide: anything
    ``str.isprintable`` refuses but the newline ending each line."""
    return sorted({char for char in text if not (char.isprintable() or char == "\n")})


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, str]:
    """A store an older release wrote, holding names the rules now refuse: a dataset (and its
    fork), a project, a named version, a tag and datapoints; returns it and both ids."""
    monkeypatch.setattr(fields, "name_character_problems", lambda t, loc: [])
    monkeypatch.setattr(fields, "description_character_problems", lambda t, loc: [])
    path = tmp_path / "store.db"
    with DatasetLog(path) as db:
        ds = db.create_dataset(project_id=PROJECT, name=NAME, description=NAME).id
        db.create_datapoint(ds, [CONTENT], version_name=VERSION_NAME)
        db.set_tag(ds, TAG, 1)
        fork = db.fork(ds, name=NAME + "-fork").id
    monkeypatch.undo()
    return path, ds, fork


def test_listings_escape_names_and_keep_one_row_each(hostile: tuple[Path, str, str]) -> None:
    """`datasets` and `versions` print a hostile name escaped, on its own row."""
    path, ds, fork = hostile
    listed = run("datasets", db=path).stdout
    assert unsafe(listed) == []
    assert len(listed.splitlines()) == 3  # the header and two datasets: no forged row
    assert "pr\\nforged row\\x1b[2J" in listed
    assert "evil\\x1b]0;pwned\\x07\\x1b[2J\\u202eqa" in listed
    versions = run("versions", ds, db=path).stdout
    assert unsafe(versions) == []
    assert len(versions.splitlines()) == 3
    assert "\\u202eprod\\x1b[31m" in versions
    assert "v\\u200b1\\x9b31m" in versions
    forked = run("versions", fork, db=path).stdout
    assert unsafe(forked) == []
    assert "Fork evil\\x1b]0;pwned" in forked  # a commit message quoting a stored name


def test_a_terminal_gets_no_escape_sequence(hostile: tuple[Path, str, str]) -> None:
    """On a terminal, `versions` and `datasets` write no ESC, BEL or C1 byte: nothing a stored
    name holds can clear the screen or set the window title. (It takes a terminal: click
    strips some escape sequences from piped output, never from a terminal's.)"""
    path, ds, _ = hostile
    for args in (("versions", ds), ("datasets",)):
        status, written = on_a_terminal(*args, db=path, stream="stdout")
        assert status == 0, args
        assert b"\\x1b[" in written, args  # escaped, in plain sight
        assert not {0x07, 0x1B} & set(written), args
        assert b"\xc2\x9b" not in written, args  # U+009B, the one-byte CSI, in UTF-8


def test_json_keeps_exact_values_in_safe_text(hostile: tuple[Path, str, str]) -> None:
    """--json gives the exact strings back, with bidi, C1 and invisible characters escaped
    as JSON escapes rather than written raw."""
    path, ds, _ = hostile
    listed = run("datasets", "--json", db=path).stdout
    assert unsafe(listed) == []
    assert [json.loads(line)["name"] for line in listed.splitlines()] == [NAME, NAME + "-fork"]
    versions = run("versions", ds, "--json", db=path).stdout
    assert unsafe(versions) == []
    assert json.loads(versions.splitlines()[1])["name"] == VERSION_NAME
    shown = run("show", ds, "--json", db=path).stdout
    assert unsafe(shown) == []
    assert json.loads(shown)["inputs"] == CONTENT["inputs"]


def test_content_in_show_and_diff_is_escaped(hostile: tuple[Path, str, str]) -> None:
    """Datapoint content printed by `show` and `diff`, and the version header, is escaped."""
    path, ds, _ = hostile
    for args in (("show", ds, "--version", TAG), ("diff", ds, "0", "1")):
        printed = run(*args, db=path)
        assert unsafe(printed.stdout + printed.stderr) == [], args
    assert "a\\u202eb" in run("show", ds, db=path).stdout  # JSON cells: the bidi escaped too


def test_errors_quote_what_they_name_safely(hostile: tuple[Path, str, str], tmp_path: Path) -> None:
    """An error naming a hostile name, project, argument or file path is one safe line."""
    path, ds, _ = hostile
    failures = [
        run("show", NAME + "x", db=path, code=1),  # not found, quoting the name given
        run("tag", ds, "bad\x1b[2J", "1", db=path, code=1),  # refused, naming U+001B
        run("import", ds, str(tmp_path / "no\x1b[2Jfile.jsonl"), db=path, code=2),
    ]
    for failed in failures:
        assert unsafe(failed.stdout + failed.stderr) == []
    assert "U+001B" in failures[1].stderr
    assert len(failures[1].stderr.splitlines()) == 1
    with DatasetLog(path) as db:
        db.create_dataset(project_id="pr2", name="twin")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fields, "name_character_problems", lambda t, loc: [])
        with DatasetLog(path) as db:
            db.create_dataset(project_id="\x1b]0;x\x07", name="twin")
    clash = run("show", "twin", db=path, code=2)  # names clash: the projects are listed
    assert unsafe(clash.stderr) == []
    assert "\\x1b]0;x\\x07" in clash.stderr


def test_ascii_shows_look_alikes(tmp_path: Path) -> None:
    """--ascii escapes every non-ASCII character, so a Cyrillic look-alike stands out."""
    path = tmp_path / "store.db"
    with DatasetLog(path) as db:
        db.create_dataset(project_id="pr", name="q\u0430")  # Cyrillic a
    assert "q\u0430" in run("datasets", db=path).stdout
    assert "q\\u0430" in run("--ascii", "datasets", db=path).stdout
    listed = run("--ascii", "datasets", "--json", db=path).stdout
    assert listed.isascii()
    assert json.loads(listed)["name"] == "q\u0430"


CLI = Path(__file__).resolve().parent.parent / "datasetlog" / "cli"
PRINTING_MODULE = "output.py"


def test_the_command_line_prints_only_through_its_one_printing_module() -> None:
    """No command module calls click.echo, click.secho or print itself: every string goes
    through the module that makes it safe."""
    calls = []
    for module in sorted(CLI.glob("*.py")):
        if module.name == PRINTING_MODULE:
            continue
        for node in ast.walk(ast.parse(module.read_text(), str(module))):
            if isinstance(node, ast.Call):
                called = ast.unparse(node.func)
                if called in {"print", "click.echo", "click.secho", "echo", "secho"}:
                    calls.append(f"{module.name}:{node.lineno} {called}")
    assert (CLI / PRINTING_MODULE).exists()
    assert calls == []


def test_check_lock_prints_what_a_lock_file_says_safely(tmp_path: Path) -> None:
    """A lock file is outside input: the dataset and file it names print escaped."""
    path = tmp_path / "store.db"
    run("create", "qa", "--project", "pr", db=path)
    export = tmp_path / "qa.jsonl"
    run("export", "qa", "-o", str(export), "--lock", db=path)
    lock = Path(f"{export}.lock.json")
    fields_of_lock = json.loads(lock.read_text())
    fields_of_lock["dataset_id"] = "evts_\x1b]0;pwned\x07\u202e"
    lock.write_text(json.dumps(fields_of_lock))
    trusted = run("check-lock", str(lock), "--offline", db=path)  # the file alone matches
    assert unsafe(trusted.stdout + trusted.stderr) == []
    assert "evts_\\x1b]0;pwned\\x07\\u202e" in trusted.stdout
    fields_of_lock["file"] = "qa\x1b[2J.jsonl"
    lock.write_text(json.dumps(fields_of_lock))
    refused = run("check-lock", str(lock), db=path, code=1)
    assert unsafe(refused.stdout + refused.stderr) == []
