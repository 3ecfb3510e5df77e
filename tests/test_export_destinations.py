"""Where an export may land: never on a file of its SQLite store (however the path names it),
and only over a regular file, never a symlink, a folder or a FIFO; a refused export changes
nothing. A PostgreSQL store has no files an export could land on, so only SQLite is here."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from datasetlog import DatasetLog, SQLiteLogSource, ValidationError, to_v4
from datasetlog.transfer import export_dataset, lock_path


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[DatasetLog, str]]:
    """An open SQLite store (its -wal and -shm files exist while it is) and its dataset."""
    with DatasetLog(tmp_path / "store.db") as db:
        dataset = db.create_dataset(project_id="pr", name="qa").id
        db.create_datapoint(dataset, [{"inputs": {"q": str(n)}} for n in range(3)])
        yield db, dataset


def _state(db: DatasetLog, folder: Path) -> object:
    """What must not change: the store's history, the folder's names, and the bytes of its
    regular files but SQLite's own (which its reads may touch)."""
    dataset = db.list_datasets("pr")[0].id
    files = {
        p.name: p.read_bytes()
        if p.is_file() and not p.is_symlink() and not p.name.startswith("store.db")
        else None
        for p in sorted(folder.iterdir())
    }
    return to_v4(db.list_versions(dataset)), files


def _refused(db: DatasetLog, dataset: str, dest: Path, *, lock: bool = False) -> str:
    """Export to ``dest``: it must be a ValidationError at ``dest``, changing nothing in the
    store's folder."""
    folder = Path(db.store.path).parent  # type: ignore[attr-defined]
    before = _state(db, folder)
    with pytest.raises(ValidationError) as refused:
        export_dataset(db, dataset, dest, format="jsonl", lock=lock)
    assert refused.value.details[0].loc == ("dest",)
    assert _state(db, folder) == before
    assert db.verify()
    return refused.value.details[0].msg


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm", "-journal"])
def test_an_export_onto_a_file_of_its_store_is_refused(
    store: tuple[DatasetLog, str], tmp_path: Path, suffix: str
) -> None:
    """The database, its -wal, -shm and (absent in WAL mode) -journal are never written."""
    db, dataset = store
    message = _refused(db, dataset, tmp_path / f"store.db{suffix}")
    assert "store" in message


def _relative(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return Path("store.db")


def _dotted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "sub").mkdir()
    return tmp_path / "sub" / ".." / "store.db-wal"


def _through_folder_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "elsewhere").symlink_to(tmp_path, target_is_directory=True)
    return tmp_path / "elsewhere" / "store.db"


def _hard_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    os.link(tmp_path / "store.db", tmp_path / "backup.jsonl")
    return tmp_path / "backup.jsonl"


def _symlink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "latest.jsonl").symlink_to(tmp_path / "store.db")
    return tmp_path / "latest.jsonl"


@pytest.mark.parametrize(
    "naming",
    [_relative, _dotted, _through_folder_link, _hard_link, _symlink],
    ids=lambda f: f.__name__,
)
def test_a_store_file_is_refused_however_the_path_names_it(
    store: tuple[DatasetLog, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    naming: Callable[[Path, pytest.MonkeyPatch], Path],
) -> None:
    """A relative path, ``..``, a linked folder, a hard link or a symlink to the store: refused."""
    db, dataset = store
    _refused(db, dataset, naming(tmp_path, monkeypatch))


def test_an_export_whose_lock_would_be_the_store_is_refused(tmp_path: Path) -> None:
    """``-o qa.jsonl --lock`` beside a store named ``qa.jsonl.lock.json`` writes neither."""
    with DatasetLog(tmp_path / "qa.jsonl.lock.json") as db:
        dataset = db.create_dataset(project_id="pr", name="qa").id
        db.create_datapoint(dataset, {"inputs": {"q": "1"}})
        before = to_v4(db.list_versions(dataset))
        with pytest.raises(ValidationError) as refused:
            export_dataset(db, dataset, tmp_path / "qa.jsonl", lock=True)
        assert "its lock" in refused.value.details[0].msg
        assert not (tmp_path / "qa.jsonl").exists()
        assert to_v4(db.list_versions(dataset)) == before
        assert db.verify()


def test_an_export_onto_its_log_source_is_refused(tmp_path: Path) -> None:
    """The SQLite file the store's logs come from is not an export's destination either."""
    logs = SQLiteLogSource(tmp_path / "logs.db")
    logs.record_log(id="log_1", inputs={"q": "1"})
    with DatasetLog(tmp_path / "store.db", logs=logs) as db:
        dataset = db.create_dataset(project_id="pr", name="qa").id
        with pytest.raises(ValidationError, match="log source"):
            export_dataset(db, dataset, tmp_path / "logs.db", format="jsonl")
    assert logs.get_logs(["log_1"])["log_1"].inputs == {"q": "1"}
    logs.close()


def test_the_cli_refuses_to_export_onto_its_store(tmp_path: Path) -> None:
    """``datasetlog --db store.db export qa -o store.db --format jsonl`` is one error line,
    exit status 1, and the store keeps its history."""
    with DatasetLog(tmp_path / "store.db") as db:
        dataset = db.create_dataset(project_id="pr", name="qa").id
        db.create_datapoint(dataset, {"inputs": {"q": "1"}})
    failed = subprocess.run(
        [
            sys.executable,
            "-m",
            "datasetlog",
            "--db",
            "store.db",
            "export",
            "qa",
            "-o",
            "store.db",
            "--format",
            "jsonl",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert failed.returncode == 1, failed.stderr
    [line] = failed.stderr.splitlines()
    assert line.startswith(
        "error: --output: the destination 'store.db' is the store's database file"
    )
    with DatasetLog(tmp_path / "store.db") as db:
        assert [v.datapoint_count for v in db.list_versions(dataset)] == [0, 1]
        assert db.verify()


def _symlink_elsewhere(path: Path) -> None:
    victim = path.parent / "victim.txt"
    victim.write_text("precious")
    path.symlink_to(victim)


def _folder(path: Path) -> None:
    path.mkdir()
    (path / "inside").write_text("kept")


def _fifo(path: Path) -> None:
    os.mkfifo(path)


@pytest.mark.parametrize("make", [_symlink_elsewhere, _folder, _fifo], ids=lambda f: f.__name__)
@pytest.mark.parametrize("at_lock", [False, True], ids=["at-export", "at-lock"])
def test_a_destination_that_is_not_a_regular_file_is_refused(
    store: tuple[DatasetLog, str],
    tmp_path: Path,
    make: Callable[[Path], None],
    at_lock: bool,
) -> None:
    """A symlink (even to a file), a folder or a FIFO at the export's path or at its lock's is
    left as it was, and no export is written: nothing is ever written through a link."""
    db, dataset = store
    dest = tmp_path / "qa.jsonl"
    make(lock_path(dest) if at_lock else dest)
    message = _refused(db, dataset, dest, lock=True)
    assert "an export replaces only regular files" in message
    assert not (tmp_path / "qa.jsonl").exists() or not at_lock
    if (tmp_path / "victim.txt").exists():
        assert (tmp_path / "victim.txt").read_text() == "precious"
