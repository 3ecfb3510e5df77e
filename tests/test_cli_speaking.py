"""The command line speaks the command line: a missing store is said so and never made, and
errors name what the user typed, spelled as the command spells it, in a few lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_runner import invoke

from datasetlog import DatasetLog


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, str, list[str]]:
    """A store with a dataset ``qa`` (project ``pr``) of two versions; its ids."""
    path = tmp_path / "store.db"
    with DatasetLog(path) as db:
        ds = db.create_dataset(project_id="pr", name="qa").id
        added = db.create_datapoint(ds, [{"inputs": {"q": f"{i}+{i}?"}} for i in range(2)])
    return path, ds, [d.id for d in added]


READ_AND_EDIT_COMMANDS = [
    ("datasets",),
    ("versions", "qa"),
    ("show", "qa"),
    ("show", "dp_0Q9EIkCiSo3P8i1KWukb"),
    ("diff", "qa", "0", "1"),
    ("export", "qa"),
    ("export", "qa", "-o", "{tmp}/out.jsonl"),
    ("history", "dp_0Q9EIkCiSo3P8i1KWukb"),
    ("verify",),
    ("rebuild",),
    ("check-lock", "{tmp}/out.jsonl.lock.json"),
    ("tag", "qa", "prod", "1"),
    ("import", "qa", "{tmp}/in.jsonl"),
    ("update", "dp_0Q9EIkCiSo3P8i1KWukb", "--target", "{}"),
    ("delete", "qa"),
    ("restore", "qa", "0"),
    ("merge", "a", "b"),
]


@pytest.mark.parametrize("args", READ_AND_EDIT_COMMANDS, ids=lambda args: " ".join(args[:2]))
def test_a_missing_store_is_said_so_and_never_created(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    """Every command but ``create`` refuses a store file that does not exist, and makes none."""
    (tmp_path / "in.jsonl").write_text('{"inputs": {"q": "x"}}\n')
    missing = tmp_path / "typo.db"
    failed = invoke(*(a.replace("{tmp}", str(tmp_path)) for a in args), db=missing, code=1)
    assert failed.stderr == f"error: no such store: {missing}\n"
    assert not missing.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_a_missing_store_named_by_url_is_said_so_too(tmp_path: Path) -> None:
    """``--url sqlite:///path`` (and DATASETLOG_URL) of no file is the same clear refusal."""
    missing = tmp_path / "typo.db"
    failed = invoke("--url", f"sqlite:///{missing}", "datasets", code=1)
    assert failed.stderr == f"error: no such store: {missing}\n"
    failed = invoke("versions", "qa", env={"DATASETLOG_URL": str(missing)}, code=1)
    assert failed.stderr == f"error: no such store: {missing}\n"
    assert not missing.exists()


def test_create_makes_the_store_it_names(tmp_path: Path) -> None:
    """``create`` on a path with no file makes the store there."""
    path = tmp_path / "new.db"
    made = invoke("create", "qa", "--project", "pr", db=path).stdout.strip()
    with DatasetLog(path) as db:
        assert [d.id for d in db.list_datasets("pr")] == [made]


@pytest.mark.parametrize("option", ["--db", "--url"])
def test_an_empty_store_option_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: str
) -> None:
    """An empty ``--db`` or ``--url`` is refused, rather than opening ./datasetlog.db."""
    monkeypatch.chdir(tmp_path)
    failed = invoke(option, "", "create", "qa", "--project", "pr", code=2)
    assert f"{option} is empty" in failed.stderr
    assert list(tmp_path.iterdir()) == []


def test_db_beside_the_environment_url_names_the_variable(
    store: tuple[Path, str, list[str]],
) -> None:
    """``--db`` while DATASETLOG_URL is set says that the variable is what clashes."""
    path, _, _ = store
    failed = invoke("versions", "qa", db=path, env={"DATASETLOG_URL": str(path)}, code=2)
    assert "--db and DATASETLOG_URL (set in the environment) both name a store" in failed.stderr
    both = invoke("--url", str(path), "versions", "qa", db=path, code=2)
    assert "give --db or --url, not both" in both.stderr


def test_errors_name_datasets_as_they_were_typed(store: tuple[Path, str, list[str]]) -> None:
    """A dataset given by name is named so in the error, not by the id it resolved to."""
    path, ds, _ = store
    failed = invoke("show", "qa", "--version", "9", db=path, code=1)
    assert failed.stderr == "error: dataset 'qa' has no version 9\n"
    by_id = invoke("show", ds, "--version", "9", db=path, code=1)
    assert by_id.stderr == f"error: dataset {ds!r} has no version 9\n"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("tag", "qa", "latest", "1"), "error: TAG: 'latest' is reserved\n"),
        (("merge", "qa", "qa"), "error: INTO: a dataset cannot merge into itself\n"),
        (("export", "qa", "-o", "{tmp}/x.csv.gz"), "error: --format: cannot tell the format"),
        (("export", "qa", "-o", "{tmp}/no/x.jsonl"), "error: --output: "),
        (("import", "qa", "{tmp}/empty.jsonl"), "error: FILE: it holds no datapoint\n"),
        (("update", "{dp}", "--inputs", '{"q": 3}'), "error: --inputs at q: expected a string"),
        (("delete", "{dp}", "{dp}"), "error: '{dp}' given twice\n"),
        (("create", "x", "--project", "pr\x1b"), "error: --project: must not hold"),
    ],
    ids=lambda value: " ".join(value[:1]) if isinstance(value, tuple) else "",
)
def test_errors_point_where_the_command_line_spells_it(
    store: tuple[Path, str, list[str]], tmp_path: Path, args: tuple[str, ...], said: str
) -> None:
    """An error points at an option or argument as the command spells it, never at the HTTP
    location a service needs (``query.into``, ``body.tag``)."""
    path, _, datapoints = store
    (tmp_path / "empty.jsonl").write_text("")
    before = path.read_bytes()
    fill = {"{tmp}": str(tmp_path), "{dp}": datapoints[0]}
    for key, value in fill.items():
        args = tuple(a.replace(key, value) for a in args)
        said = said.replace(key, value)
    failed = invoke(*args, db=path, code=1)
    assert failed.stderr.startswith(said)
    assert not any(f"{where}." in failed.stderr for where in ("path", "query", "body"))
    assert path.read_bytes() == before


def test_a_merge_refused_for_conflicts_says_the_options_and_names_each_conflict(
    store: tuple[Path, str, list[str]],
) -> None:
    """The refusal names each conflicting datapoint with a hint of it, and the way to settle
    them as the command line spells it (not ``on_conflict='source'``)."""
    path, ds, datapoints = store
    with DatasetLog(path) as db:
        fork = db.fork(ds, name="fork").id
        db.update_datapoint(datapoints[0], inputs={"q": "main"})
        [forked] = [d for d in db.iter_datapoints(fork) if d.inputs == {"q": "0+0?"}]
        db.update_datapoint(forked.id, inputs={"q": "fork"})
    failed = invoke("merge", "fork", "qa", db=path, code=1)
    lines = failed.stderr.splitlines()
    assert lines[0].startswith("error: 1 datapoint(s) changed on both sides")
    assert "--on-conflict source or --on-conflict target" in lines[0]
    assert "on_conflict" not in failed.stderr
    assert lines[1:] == [f"! {datapoints[0]}  fork  (source changed, target changed)"]


@pytest.mark.parametrize("lines", [5, 2_000])
def test_a_file_in_the_wrong_format_is_one_short_error(
    store: tuple[Path, str, list[str]], tmp_path: Path, lines: int
) -> None:
    """A file that is not JSON Lines at all gives its first 3 problems and a count of the
    rest, however long it is, not one line per line of the file."""
    path, _, _ = store
    bad = tmp_path / "notes.jsonl"
    bad.write_text("".join(f"note {n}\n" for n in range(lines)))
    failed = invoke("import", "qa", str(bad), db=path, code=1)
    said = failed.stderr.splitlines()
    assert [line.split(":")[1] for line in said[:3]] == [" line 1", " line 2", " line 3"]
    assert said[3:] == [f"error: and {lines - 3:,} more problem(s)"]


def test_a_name_that_begins_as_an_id_does_finds_its_dataset(
    store: tuple[Path, str, list[str]],
) -> None:
    """A dataset named ``evts_...`` is found by its name once no dataset has it as its id;
    an id is found as an id, and neither is "no dataset has the id or name"."""
    path, ds, _ = store
    with DatasetLog(path) as db:
        db.create_dataset(project_id="pr", name="evts_lookalike")
    assert invoke("versions", "evts_lookalike", "--json", db=path).stdout.count('"number"') == 1
    assert "0 datapoints, Create dataset" in invoke("show", "evts_lookalike", db=path).stdout
    assert invoke("versions", ds, "--json", db=path).stdout.count('"number"') == 2
    failed = invoke("versions", "evts_nothing", db=path, code=1)
    assert failed.stderr == "error: no dataset has the id or name 'evts_nothing'\n"
