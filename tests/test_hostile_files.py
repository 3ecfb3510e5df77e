"""Files from elsewhere: only an empty file or a datasetlog store opens, and a refused file is
left byte for byte as it was; stores in places nobody may write still open for reading.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from datasetlog import DatasetLog, SQLiteEventStore, SQLiteLogSource, StoreError

MOUNT, UMOUNT = shutil.which("mount") or "mount", shutil.which("umount") or "umount"


def _sqlite_file(path: Path, *statements: str) -> Path:
    conn = sqlite3.connect(path)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()
    return path


def _store(path: Path) -> tuple[Path, str]:
    """A small current store at ``path`` and the id of its dataset."""
    with DatasetLog(path) as db:
        dataset = db.create_dataset(project_id="pr", name="n").id
        db.create_datapoint(dataset, [{"inputs": {"q": "1"}}, {"target": {"a": 2}}])
    return path, dataset


def _refused_untouched(path: Path, match: str) -> None:
    """Opening ``path`` is a StoreError matching ``match``; its bytes (and no others) stay."""
    before = sorted(p.name for p in path.parent.iterdir()), path.read_bytes()
    with pytest.raises(StoreError, match=match):
        DatasetLog(path)
    assert (sorted(p.name for p in path.parent.iterdir()), path.read_bytes()) == before


# -- only an empty file or a store opens ---------------------------------------------------


def test_a_file_holding_only_a_view_is_refused_untouched(tmp_path: Path) -> None:
    """An SQLite file of someone else's with nothing but a view is not made a store."""
    path = _sqlite_file(tmp_path / "views.db", "CREATE VIEW answer AS SELECT 42")
    _refused_untouched(path, "not a datasetlog store")


def test_a_file_whose_only_table_looks_like_ours_is_refused_untouched(tmp_path: Path) -> None:
    """A table named dl_… does not make a file a store."""
    path = _sqlite_file(tmp_path / "downloads.db", "CREATE TABLE dl_downloads (url TEXT)")
    _refused_untouched(path, "not a datasetlog store")


def test_a_file_of_another_application_in_wal_mode_keeps_its_mode(tmp_path: Path) -> None:
    """Refusing a WAL-mode file changes nothing and leaves no -wal or -shm file beside it."""
    path = _sqlite_file(
        tmp_path / "other.db", "PRAGMA journal_mode = WAL", "CREATE TABLE notes (body TEXT)"
    )
    _refused_untouched(path, "not a datasetlog store")


def test_an_empty_file_becomes_a_store(tmp_path: Path) -> None:
    """A zero-byte file is an empty database, and opens as a new store."""
    path = tmp_path / "new.db"
    path.touch()
    with DatasetLog(path) as db:
        assert db.list_datasets("pr") == []


def test_a_log_source_file_becomes_a_store_but_a_foreign_one_does_not(tmp_path: Path) -> None:
    """A file a log source made is marked as datasetlog's; one it only used is not."""
    made = tmp_path / "made.db"
    SQLiteLogSource(made).close()
    with DatasetLog(made) as db:
        assert db.verify()
    used = _sqlite_file(tmp_path / "used.db", "CREATE TABLE notes (body TEXT)")
    SQLiteLogSource(used).close()
    _refused_untouched(used, "not a datasetlog store")


# -- crafted stores ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        (
            "CREATE TRIGGER copy AFTER INSERT ON dl_events BEGIN "
            "INSERT INTO stolen VALUES (new.payload); END",
            "trigger copy on dl_events",
        ),
        (
            "CREATE TRIGGER spin AFTER INSERT ON stolen BEGIN "
            "INSERT INTO stolen VALUES (new.data); END",
            "trigger spin on stolen",
        ),
        ("CREATE VIEW peek AS SELECT payload FROM dl_events", "view peek on peek"),
        ("CREATE INDEX dl_events_type ON dl_events (type)", "index dl_events_type on dl_events"),
        (
            "CREATE TRIGGER dl_rows_audit AFTER UPDATE ON dl_rows BEGIN "
            "INSERT INTO stolen VALUES (new.datapoint_id); END",
            "trigger dl_rows_audit on dl_rows",
        ),
    ],
)
def test_a_store_with_schema_objects_not_ours_is_refused_untouched(
    tmp_path: Path, statement: str, named: str
) -> None:
    """Triggers, views or indexes datasetlog did not make are refused before anything runs."""
    path, _ = _store(tmp_path / "store.db")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA recursive_triggers = ON")
    conn.execute("CREATE TABLE stolen (data TEXT)")
    conn.execute(statement)
    conn.commit()
    conn.close()
    _refused_untouched(path, f"did not make.*{named}")


def test_a_store_missing_its_guard_triggers_opens_and_verify_names_them(tmp_path: Path) -> None:
    """A dropped append-only guard runs nothing, so the store opens; verify() names it."""
    path, _ = _store(tmp_path / "store.db")
    _sqlite_file(path, "DROP TRIGGER dl_events_no_update")
    with DatasetLog(path) as db:
        report = db.verify()
    assert [(p.what, p.detail) for p in report.problems] == [
        (
            "engine",
            "trigger dl_events_no_update on dl_events is missing: "
            "the store was edited outside datasetlog",
        )
    ]


def test_a_store_whose_guard_trigger_was_rewritten_is_refused(tmp_path: Path) -> None:
    """A guard of ours that now says something else is a trigger we did not make."""
    path, _ = _store(tmp_path / "store.db")
    _sqlite_file(
        path,
        "DROP TRIGGER dl_events_no_update",
        "CREATE TRIGGER dl_events_no_update BEFORE UPDATE ON dl_events BEGIN SELECT 1; END",
    )
    _refused_untouched(path, "did not make.*trigger dl_events_no_update on dl_events")


def test_every_connection_distrusts_the_files_schema(tmp_path: Path) -> None:
    """Connections run with trusted_schema OFF, as SQLite advises for files from elsewhere."""
    path, _ = _store(tmp_path / "store.db")
    store = SQLiteEventStore(path)
    with store.reading() as conn:
        assert conn.execute("PRAGMA trusted_schema").fetchone()[0] == 0
    store.close()


# -- read-only places ---------------------------------------------------------------------------


@contextmanager
def _tmpfs(folder: Path, size: str) -> Iterator[Callable[[str], None]]:
    """A tmpfs of ``size`` mounted on ``folder``; yields a remount function. Root only."""
    mounted = subprocess.run([MOUNT, "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)])
    if mounted.returncode != 0:
        pytest.skip("root without the right to mount a small file system")

    def remount(options: str) -> None:
        subprocess.run([MOUNT, "-o", f"remount,{options}", str(folder)], check=True)

    try:
        yield remount
    finally:
        subprocess.run([UMOUNT, str(folder)], check=True)


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[tuple[Path, Callable[[bool], None]]]:
    """A folder and a switch that makes it (and what it holds) unwritable, or writable again.

    As root, permissions do not stop writes: the folder is then a tmpfs mount,
    remounted read-only.
    """
    folder = tmp_path / "archive"
    folder.mkdir()
    if os.geteuid() != 0:

        def switch(read_only: bool) -> None:
            folder.chmod(0o555 if read_only else 0o755)

        yield folder, switch
        folder.chmod(0o755)
        return
    with _tmpfs(folder, "64m") as remount:
        yield folder, lambda read_only: remount("ro" if read_only else "rw")


def test_a_store_in_a_read_only_place_opens_for_reading(
    archive: tuple[Path, Callable[[bool], None]],
) -> None:
    """read_only=True reads a store nobody may write beside, and leaves nothing behind."""
    folder, read_only = archive
    path, dataset = _store(folder / "store.db")
    assert sorted(p.name for p in folder.iterdir()) == ["store.db"]
    read_only(True)
    with DatasetLog(SQLiteEventStore(path, read_only=True)) as db:
        assert [d.inputs for d in db.iter_datapoints(dataset)] == [{"q": "1"}, None]
        assert db.verify()
        with pytest.raises(StoreError, match="read-only"):
            db.create_datapoint(dataset, {})
    read_only(False)
    assert sorted(p.name for p in folder.iterdir()) == ["store.db"]
    with DatasetLog(path) as db:  # a writer later finds nothing in its way
        db.create_datapoint(dataset, {})
        assert db.get_dataset(dataset).datapoint_count == 3


def test_a_read_only_place_with_commits_left_in_the_wal_is_refused(
    archive: tuple[Path, Callable[[bool], None]], tmp_path: Path
) -> None:
    """A -wal file with commits in it cannot be read where it cannot be recovered: say so."""
    folder, read_only = archive
    source = tmp_path / "live.db"
    with DatasetLog(source) as db:  # while it is open, its last commits are in the -wal
        dataset = db.create_dataset(project_id="pr", name="n").id
        db.create_datapoint(dataset, {"inputs": {"q": "1"}})
        shutil.copyfile(source, folder / "store.db")
        shutil.copyfile(f"{source}-wal", folder / "store.db-wal")
    assert (folder / "store.db-wal").stat().st_size > 0
    read_only(True)
    with pytest.raises(StoreError, match="-wal file; open it writable once"):
        SQLiteEventStore(folder / "store.db", read_only=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a small file system")
def test_a_full_disk_is_a_store_error_that_leaves_every_commit_whole(tmp_path: Path) -> None:
    """Writes on a full disk fail with a StoreError; what was committed stays, whole; once
    space is freed, writing goes on."""
    folder = tmp_path / "small"
    folder.mkdir()
    with _tmpfs(folder, "2m"):
        path, dataset = _store(folder / "store.db")
        (folder / "ballast").write_bytes(b"x" * 1_000_000)
        written = 0
        with DatasetLog(path) as db, pytest.raises(StoreError, match="full"):  # noqa: PT012
            for _ in range(1_000):
                db.create_datapoint(dataset, [{"inputs": {"pad": "p" * 20_000}}] * 5)
                written += 1
        (folder / "ballast").unlink()
        with DatasetLog(path) as db:
            assert db.get_dataset(dataset).datapoint_count == 2 + 5 * written
            assert db.verify()
            db.create_datapoint(dataset, {"inputs": {"q": "after"}})


# -- careless arguments -------------------------------------------------------------------------


@pytest.mark.parametrize("durability", ["off", "", "FULL", None, 1])
def test_an_unknown_durability_is_a_validation_error(tmp_path: Path, durability: object) -> None:
    """A typo must not silently weaken durability: it is refused, and no file is made."""
    from datasetlog import ValidationError

    for open_it in (
        lambda: DatasetLog(tmp_path / "a.db", durability=durability),  # type: ignore[arg-type]
        lambda: SQLiteEventStore(tmp_path / "b.db", durability=durability),  # type: ignore[arg-type]
    ):
        with pytest.raises(ValidationError) as error:
            open_it()
        assert error.value.details[0].loc == ("durability",)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("store", [123, None, b"store.db", ["store.db"]])
def test_a_store_argument_of_the_wrong_kind_is_a_validation_error(store: object) -> None:
    """DatasetLog(123) names the argument instead of failing with an AttributeError."""
    from datasetlog import ValidationError

    with pytest.raises(ValidationError) as error:
        DatasetLog(store)  # type: ignore[arg-type]
    assert error.value.details[0].loc == ("store",)


@pytest.mark.parametrize("retries", [-1, 1.5, "3", 10**9])
def test_max_retries_out_of_range_is_a_validation_error(retries: object) -> None:
    """max_retries is an integer from 0 to 100."""
    from datasetlog import ValidationError

    with pytest.raises(ValidationError, match="max_retries"):
        DatasetLog(":memory:", max_retries=retries)  # type: ignore[arg-type]


def test_a_log_source_on_a_folder_or_a_junk_file_is_a_store_error(tmp_path: Path) -> None:
    """SQLiteLogSource reports a file it cannot use as a StoreError naming it."""
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"\x00junk" * 2000)
    for path in (tmp_path, junk):
        with pytest.raises(StoreError, match="log source"):
            SQLiteLogSource(path)


def test_a_log_source_row_that_no_longer_decodes_is_a_store_error(tmp_path: Path) -> None:
    """A damaged logs row is a StoreError, not a JSON or cattrs exception."""
    source = SQLiteLogSource(tmp_path / "logs.db")
    source.record_log(id="log_1", inputs={"q": "1"})
    _sqlite_file(tmp_path / "logs.db", "UPDATE dl_logs SET inputs = '{not json'")
    with pytest.raises(StoreError, match="log source"):
        source.get_logs(["log_1"])
    source.close()


@pytest.mark.parametrize("logs", [[{"id": "log_1"}], "logs.db", {"id": "log_1"}])
def test_a_log_source_of_the_wrong_kind_is_a_validation_error(logs: object) -> None:
    """logs= takes a LogSource; a list, a path or a dict is refused at once, not at first use."""
    from datasetlog import ValidationError

    with pytest.raises(ValidationError) as error:
        DatasetLog(":memory:", logs=logs)  # type: ignore[arg-type]
    assert error.value.details[0].loc == ("logs",)


def test_a_dict_log_source_given_one_log_instead_of_many_says_so() -> None:
    """DictLogSource({...}) names the mistake instead of failing on the dict's keys."""
    from datasetlog import DictLogSource, ValidationError

    with pytest.raises(ValidationError, match="expected an iterable of logs, got a dict"):
        DictLogSource({"id": "log_1"})  # type: ignore[dict-item]


def test_a_folder_is_not_a_store(tmp_path: Path) -> None:
    """DatasetLog(folder) and SQLiteLogSource(folder) say the path is a folder."""
    with pytest.raises(StoreError, match="is a folder"):
        DatasetLog(tmp_path)
    with pytest.raises(StoreError, match="is a folder"):
        SQLiteLogSource(tmp_path)
