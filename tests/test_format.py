"""The on-disk format: a committed golden store still reads exactly; bad files are refused.

``fixtures/golden-v1.db`` was written by ``fixtures/make_golden.py`` with a fixed
clock and fixed content; ``fixtures/golden-v1.json`` holds what every version of
it must read as. A change that breaks this test breaks users' existing files.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest

from datasetlog import DatasetLog, NotFoundError, SQLiteEventStore, StoreError, to_v4
from datasetlog.readmodels.schema import FORMAT
from datasetlog.store.sqlite_schema import MIGRATIONS

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOLDEN = FIXTURES / "golden-v1.db"
EXPECTED: dict[str, Any] = json.loads((FIXTURES / "golden-v1.json").read_text())


@pytest.fixture
def golden(tmp_path: Path) -> Path:
    """A private copy of the golden store (opening a store may add WAL files beside it)."""
    copy = tmp_path / "golden.db"
    shutil.copyfile(GOLDEN, copy)
    return copy


def _refused(path: Path, match: str | None) -> None:
    """Opening ``path`` raises a StoreError matching ``match`` and leaves its bytes as they were."""
    before = path.read_bytes()
    with pytest.raises(StoreError, match=match):
        DatasetLog(path)
    assert path.read_bytes() == before


def test_golden_store_is_small() -> None:
    """The committed golden store stays small."""
    assert GOLDEN.stat().st_size < 200_000


def _read_everything(path: Path) -> list[dict[str, Any]]:
    """Every live dataset of the store with every version and its datapoints, as v4 JSON."""
    with DatasetLog(path) as db:
        found = [
            {**to_v4(dataset), "versions": []}
            for project in sorted({d["project_id"] for d in EXPECTED["datasets"]})
            for dataset in db.list_datasets(project)
        ]
        for dataset in found:
            for version in db.list_versions(dataset["id"]):
                datapoints = list(db.iter_datapoints(dataset["id"], version=version.number))
                dataset["versions"].append({**to_v4(version), "datapoints": to_v4(datapoints)})
    return found


def test_golden_store_reads_every_version_exactly(golden: Path) -> None:
    """Every dataset and every version of the golden store reads as golden-v1.json says."""
    assert _read_everything(golden) == EXPECTED["datasets"]


def test_golden_store_renders_every_version_as_v4_json(golden: Path) -> None:
    """The JSON read paths copy golden payloads into exactly the v4 shapes golden-v1.json holds."""
    with DatasetLog(golden) as db:
        for dataset in EXPECTED["datasets"]:
            for version in dataset["versions"]:
                pieces = db.iter_datapoints_json(dataset["id"], version=version["number"], batch=2)
                assert orjson.loads(b"".join(pieces)) == version["datapoints"]
                page = db.list_datapoints_json(dataset["id"], page=2, size=2, version=version["id"])
                read = {k: v for k, v in version.items() if k != "datapoints"}
                assert orjson.loads(page) == {
                    "records": version["datapoints"][2:4],
                    "page": 2,
                    "size": 2,
                    "total": version["datapoint_count"],
                    "version": read,
                }


def test_golden_store_serves_pages_and_single_datapoints(golden: Path) -> None:
    """Pages, version ids and single datapoints of the golden store match golden-v1.json."""
    with DatasetLog(golden) as db:
        for dataset in EXPECTED["datasets"]:
            latest = dataset["versions"][-1]
            page = db.list_datapoints(dataset["id"], page=1, size=2, version=latest["id"])
            assert to_v4(page.records) == latest["datapoints"][:2]
            assert page.total == latest["datapoint_count"]
            for datapoint in latest["datapoints"]:
                assert to_v4(db.get_datapoint(datapoint["id"])) == datapoint


def test_golden_store_keeps_its_deleted_dataset_deleted(golden: Path) -> None:
    """The dataset deleted in the golden history is still not found."""
    with DatasetLog(golden) as db:
        for dataset_id in EXPECTED["deleted"]:
            with pytest.raises(NotFoundError):
                db.get_dataset(dataset_id)


def test_golden_store_verifies(golden: Path) -> None:
    """The golden store's log, hash chains and read models verify ok."""
    with DatasetLog(golden) as db:
        report = db.verify()
    assert report, str(report)


def test_golden_store_rebuilds_to_the_same_content(golden: Path) -> None:
    """Rebuilding the golden store's read models from its events changes nothing readable."""
    with DatasetLog(golden) as db:
        db.rebuild()
        assert db.verify()
    assert _read_everything(golden) == EXPECTED["datasets"]


@pytest.fixture
def upgraded(golden: Path) -> Path:
    """The golden store, opened once, so that its read models are this version's."""
    DatasetLog(golden).close()
    return golden


def test_the_golden_store_gets_this_versions_read_models(golden: Path) -> None:
    """The golden store predates this read-model schema: opening it rebuilds them from events."""
    with DatasetLog(golden) as db, db.store.reading() as conn:
        found = conn.execute("SELECT value FROM dl_rm_meta WHERE key = 'format'").fetchone()[0]
        assert found == FORMAT > 1
        assert db.verify()
    assert _read_everything(golden) == EXPECTED["datasets"]


def test_reading_a_current_store_leaves_its_bytes_unchanged(upgraded: Path) -> None:
    """Opening, reading and closing a store at the current format does not rewrite its file."""
    before = upgraded.read_bytes()
    with DatasetLog(upgraded) as db:
        for dataset in EXPECTED["datasets"]:
            list(db.iter_datapoints(dataset["id"]))
    assert upgraded.read_bytes() == before


def test_non_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    """A file that is not SQLite at all is refused with a StoreError and left as it was."""
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are not the pages you are looking for\n" * 200)
    _refused(path, "cannot open")


def test_truncated_store_is_refused_untouched(tmp_path: Path) -> None:
    """A store cut short after its header is refused with a StoreError and left as it was."""
    path = tmp_path / "cut.db"
    path.write_bytes(GOLDEN.read_bytes()[:4096])
    _refused(path, None)


def test_newer_format_is_refused_untouched(golden: Path) -> None:
    """A store written by a newer datasetlog (user_version past the known migrations) is refused."""
    conn = sqlite3.connect(golden)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    _refused(golden, "newer than this datasetlog understands")


def test_foreign_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    """An SQLite file of another application is refused and left as it was, journal mode too."""
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('mine')")
    conn.commit()
    conn.close()
    _refused(path, "not a datasetlog store")


def test_read_only_opening_of_outdated_read_models_is_refused(golden: Path) -> None:
    """Read-only, a store whose read models need rebuilding is a clear StoreError, untouched."""
    with pytest.raises(StoreError, match="writable once"):
        DatasetLog(SQLiteEventStore(golden, read_only=True))
    assert golden.read_bytes() == GOLDEN.read_bytes()


def test_a_store_opened_read_only_reads_everything_and_refuses_writes(upgraded: Path) -> None:
    """With read_only=True every version reads back, writes are StoreErrors, bytes unchanged."""
    golden = upgraded
    before = golden.read_bytes()
    with DatasetLog(SQLiteEventStore(golden, read_only=True)) as db:
        for dataset in EXPECTED["datasets"]:
            for version in dataset["versions"]:
                found = db.iter_datapoints(dataset["id"], version=version["number"])
                assert to_v4(list(found)) == version["datapoints"]
        with pytest.raises(StoreError, match="read-only"):
            db.create_datapoint(EXPECTED["datasets"][0]["id"], {})
        with pytest.raises(StoreError, match="read-only"):
            db.rebuild()
        assert db.verify()
    assert golden.read_bytes() == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod 0o444")
def test_read_only_file_is_refused_untouched(golden: Path) -> None:
    """A store file without write permission, opened for writing, is a StoreError, untouched."""
    golden.chmod(0o444)
    try:
        _refused(golden, "read-only|readonly")
    finally:
        golden.chmod(0o644)
