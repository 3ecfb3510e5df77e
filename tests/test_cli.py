"""The datasetlog command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import on_a_terminal

import datasetlog
from datasetlog import DatasetLog
from datasetlog.cli import cli


def test_demo_commits_versions_and_rebuilds_an_early_one(tmp_path: Path) -> None:
    """`python -m datasetlog demo` writes six versions and prints the log and verification."""
    path = tmp_path / "demo.db"
    result = subprocess.run(
        [sys.executable, "-m", "datasetlog", "demo", "--db", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Add 2 datapoints from logs" in result.stdout
    assert "version 2 (rebuilt)" in result.stdout
    assert "diff first-batch (v2) -> prod (v5): 2 added, 2 removed, 1 changed" in result.stdout
    assert "target.checked: ABSENT -> True" in result.stdout
    assert "verify: ok" in result.stdout
    with DatasetLog(path) as db:
        [dataset] = db.list_datasets("pr_demo")
        counts = [v.datapoint_count for v in db.list_versions(dataset.id)]
    assert counts == [0, 1, 4, 6, 6, 4]


def test_demo_can_run_twice_on_one_file(tmp_path: Path) -> None:
    """A second demo run on the same file adds a second dataset beside the first."""
    path = tmp_path / "demo.db"
    for _ in range(2):
        subprocess.run(
            [sys.executable, "-m", "datasetlog", "demo", "--db", str(path)],
            capture_output=True,
            check=True,
        )
    with DatasetLog(path) as db:
        assert len(db.list_datasets("pr_demo")) == 2


def test_help_lists_the_demo_command() -> None:
    """`--help` documents the demo command."""
    result = subprocess.run(
        [sys.executable, "-m", "datasetlog", "--help"], capture_output=True, text=True, check=True
    )
    assert "demo" in result.stdout


def test_a_bare_command_prints_its_help_as_help() -> None:
    """`datasetlog` with no command prints the usual help, line breaks and all."""
    result = subprocess.run(
        [sys.executable, "-m", "datasetlog"], capture_output=True, text=True, check=False
    )
    shown = result.stdout + result.stderr
    assert "Usage: datasetlog" in shown
    assert "\\n" not in shown
    assert "\n  demo " in shown


def run(
    *args: str, db: Path, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A real ``datasetlog`` process (``python -m datasetlog``) on the store ``db``."""
    result = subprocess.run(
        [sys.executable, "-m", "datasetlog", "--db", str(db), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def filled(tmp_path: Path) -> tuple[Path, str]:
    """A store with a dataset ``qa`` of project ``pr``: versions 0 and 1 (three datapoints)."""
    path = tmp_path / "store.db"
    dataset = run("create", "qa", "--project", "pr", db=path).stdout.strip()
    with DatasetLog(path) as db:
        db.create_datapoint(
            dataset, [{"inputs": {"q": str(i)}, "target": {"a": i}} for i in range(3)]
        )
    return path, dataset


def test_listings_print_tables_for_people_and_json_lines_for_programs(
    filled: tuple[Path, str],
) -> None:
    path, dataset = filled
    table = run("versions", "qa", "--project", "pr", db=path).stdout.splitlines()
    assert table[0].split()[:3] == ["version", "id", "datapoints"]
    assert [line.split()[0] for line in table[1:]] == ["0", "1"]
    lines = run("versions", dataset, "--json", db=path).stdout.splitlines()
    assert [json.loads(line)["number"] for line in lines] == [0, 1]
    listed = [
        json.loads(line)
        for line in run("datasets", "--project", "pr", "--json", db=path).stdout.splitlines()
    ]
    assert [(d["id"], d["datapoint_count"]) for d in listed] == [(dataset, 3)]
    shown = [
        json.loads(line)
        for line in run("show", dataset, "--version", "1", "--json", db=path).stdout.splitlines()
    ]
    assert [d["target"] for d in shown] == [{"a": 0}, {"a": 1}, {"a": 2}]


def test_tags_names_diffs_restores_forks_and_merges_from_the_shell(
    filled: tuple[Path, str],
) -> None:
    path, dataset = filled
    assert run("tag", dataset, "prod", "1", db=path).stdout.strip() == "prod -> version 1"
    run("name", dataset, "0", "empty", "--description", "nothing yet", db=path)
    stat = json.loads(run("diff", dataset, "empty", "prod", "--stat", "--json", db=path).stdout)
    assert stat == {"added": 3, "removed": 0, "changed": 0}
    assert (
        "would commit: 0 added, 3 removed"
        in run("restore", dataset, "empty", "--dry-run", db=path).stdout
    )
    assert run("restore", dataset, "empty", db=path).stdout.startswith("version 2:")
    fork = run("fork", dataset, "candidate", "--version", "prod", db=path).stdout.strip()
    assert json.loads(run("versions", fork, "--json", db=path).stdout)["datapoint_count"] == 3
    with DatasetLog(path) as db:
        db.update_datapoint(next(iter(db.iter_datapoints(fork))).id, target={"a": "fork"})
    refused = run("merge", fork, dataset, db=path, check=False)  # main deleted what it changed
    assert refused.returncode == 1
    assert "changed on both sides" in refused.stderr
    merged = json.loads(
        run("merge", fork, dataset, "--on-conflict", "source", "--json", db=path).stdout
    )
    assert merged["committed"] is True
    assert merged["counts"]["added"] == 1
    run("untag", dataset, "prod", db=path)
    with DatasetLog(path) as db:
        assert db.list_tags(dataset) == []
        assert db.get_version(dataset).datapoint_count == 1


def test_export_writes_a_lock_that_check_lock_confirms(
    filled: tuple[Path, str], tmp_path: Path
) -> None:
    path, dataset = filled
    out = tmp_path / "qa.jsonl"
    exported = run("export", dataset, "--version", "1", "-o", str(out), "--lock", db=path)
    assert len(exported.stderr.splitlines()) == 1  # piped: a summary line, no progress bar
    assert len(out.read_text().splitlines()) == 3
    piped = run("export", dataset, "--version", "1", db=path).stdout
    assert piped == out.read_text()  # the same bytes, to a file or piped
    lock = str(out) + ".lock.json"
    assert run("check-lock", lock, db=path).stdout.startswith("ok: version 1")
    assert run("check-lock", lock, "--offline", db=tmp_path / "absent.db").returncode == 0
    out.write_text(out.read_text().replace('"a":1', '"a":7'))
    failed = run("check-lock", lock, db=path, check=False)
    assert failed.returncode == 1
    assert "mismatch" in failed.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("show", "nope"), 1, "the store has no dataset named 'nope'"),
        (("show", "qa", "--project", "other"), 1, "no dataset named 'qa'"),
        (("show", "evts_missing"), 1, "error: no dataset"),
        (("tag", "{ds}", "latest", "1"), 1, "error: TAG:"),
        (("diff", "{ds}", "0"), 2, "Missing argument"),
        (("export", "{ds}", "--format", "xml"), 2, "Invalid value"),
        (("export", "{ds}", "--lock"), 2, "--lock needs -o"),
        (("merge", "{ds}", "{ds}"), 1, "error: INTO:"),
        (("show", "{ds}", "--version", "9"), 1, "error:"),
        (("frobnicate",), 2, "No such command"),
    ],
)
def test_bad_input_is_one_clear_line_and_an_exit_code_never_a_traceback(
    filled: tuple[Path, str], args: tuple[str, ...], code: int, message: str
) -> None:
    path, dataset = filled
    before = path.read_bytes()
    result = run(*(a.replace("{ds}", dataset) for a in args), db=path, check=False)
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == before


def test_the_store_can_come_from_the_environment(filled: tuple[Path, str], tmp_path: Path) -> None:
    path, dataset = filled
    result = subprocess.run(
        [sys.executable, "-m", "datasetlog", "versions", dataset, "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "DATASETLOG_URL": f"sqlite:///{path}"},
        cwd=tmp_path,
        check=True,
    )
    assert len(result.stdout.splitlines()) == 2
    both = run("--url", f"sqlite:///{path}", "versions", dataset, db=path, check=False)
    assert both.returncode == 2


def test_version_flag_prints_the_package_version(tmp_path: Path) -> None:
    assert datasetlog.__version__ in run("--version", db=tmp_path / "x.db").stdout


def test_every_command_has_help_and_a_reference_entry() -> None:
    guide = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text()
    section = guide.split("\n## Reference\n", 1)[1].split("\n## ", 1)[0]
    for name, command in cli.commands.items():
        assert command.help, f"{name} has no help text"
        assert f"| `{name}" in section, f"{name} is not in docs/cli.md's reference"


def test_import_commits_a_file_and_names_a_bad_line(
    filled: tuple[Path, str], tmp_path: Path
) -> None:
    path, dataset = filled
    out = tmp_path / "qa.csv"
    run("export", dataset, "--format", "csv", "-o", str(out), db=path)
    copy = run("create", "copy", "--project", "pr", db=path).stdout.strip()
    assert run("import", "copy", str(out), "--project", "pr", db=path).stdout.startswith(
        "version 1: 3 added"
    )
    again = run("import", copy, str(out), "--action", "add", db=path).stdout
    assert again.startswith("nothing to commit: 0 added")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"inputs": {"q": "fine"}}\n{"inputs": {"q": 3}}\n')
    before = path.read_bytes()
    failed = run("import", copy, str(bad), db=path, check=False)
    assert failed.returncode == 1
    assert failed.stderr.startswith("error: line 2, inputs.q:")
    assert path.read_bytes() == before


def test_a_name_finds_its_dataset_in_any_project_unless_names_clash(
    filled: tuple[Path, str],
) -> None:
    path, dataset = filled
    versions = run("versions", "qa", "--json", db=path).stdout.splitlines()
    assert json.loads(versions[0])["dataset_id"] == dataset
    other = run("create", "qa", "--project", "elsewhere", db=path).stdout.strip()
    before = path.read_bytes()
    clash = run("show", "qa", db=path, check=False)
    assert clash.returncode == 2
    assert "in projects elsewhere, pr: give --project" in clash.stderr
    assert path.read_bytes() == before
    shown = run("versions", "qa", "--project", "elsewhere", "--json", db=path).stdout
    assert json.loads(shown)["dataset_id"] == other
    listed = run("datasets", db=path).stdout.splitlines()
    assert listed[0].split() == ["id", "project", "name", "datapoints", "updated"]
    assert [line.split()[1] for line in listed[1:]] == ["pr", "elsewhere"]


def test_long_work_shows_a_progress_bar_on_a_terminal_and_none_when_piped(
    filled: tuple[Path, str], tmp_path: Path
) -> None:
    path, dataset = filled
    data = tmp_path / "many.jsonl"
    data.write_text("".join(f'{{"inputs": {{"n": "{n}"}}}}\n' for n in range(12_000)))
    status, written = on_a_terminal("import", dataset, str(data), db=path, stream="stderr")
    shown = written.decode(errors="replace")
    assert status == 0
    assert "importing many.jsonl" in shown
    assert "100%" in shown
    for command, label in (("verify", "verifying"), ("rebuild", "rebuilding")):
        status, written = on_a_terminal(command, db=path, stream="stderr")
        shown = written.decode(errors="replace")
        assert status == 0
        assert label in shown
        assert "100%" in shown
        piped = run(command, db=path)
        assert label not in piped.stderr
    piped = run("import", dataset, str(data), db=path)
    assert piped.stderr == ""


def test_parquet_goes_by_its_extension_both_ways(filled: tuple[Path, str], tmp_path: Path) -> None:
    path, dataset = filled
    out = tmp_path / "qa.parquet"
    run("export", dataset, "-o", str(out), "--lock", db=path)
    assert out.read_bytes()[:4] == b"PAR1"
    assert run("check-lock", f"{out}.lock.json", db=path).stdout.startswith("ok: version 1")
    copy = run("create", "copy", "--project", "pr", db=path).stdout.strip()
    assert run("import", copy, str(out), db=path).stdout.startswith("version 1: 3 added")


def test_files_that_cannot_be_written_or_read_are_one_clear_line(
    filled: tuple[Path, str], tmp_path: Path
) -> None:
    path, dataset = filled
    before = path.read_bytes()
    for args, message in (
        (("export", dataset, "-o", str(tmp_path / "no" / "x.jsonl")), "error: --output: "),
        (("export", dataset, "-o", str(tmp_path / "x.csv.gz")), "cannot tell the format"),
        (("import", dataset, str(tmp_path)), "Invalid value"),
    ):
        failed = run(*args, db=path, check=False)
        assert failed.returncode in (1, 2)
        assert message in failed.stderr
        assert "Traceback" not in failed.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text('inputs\r\n"{""q"": ""a""}"\r\n{nope\r\n')
    failed = run("import", dataset, str(bad), db=path, check=False)
    [line] = failed.stderr.splitlines()  # one line, no traceback after it
    assert line.startswith("error: line 3, inputs: not JSON: ")
    assert line.endswith("(at character 2)")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if "x." in p.name] == []  # no export begun
