"""Damaged stores: every failure is a StoreError naming what is damaged, writes never land on
the wrong row, and verify() always returns its report, engine check included.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest

from datasetlog import DatasetLog, DatasetLogError, StoreError, verify

GUARDS = ("dl_events_no_update", "dl_events_no_delete", "dl_commits_no_update")


def _populated(path: Path) -> tuple[str, list[str]]:
    """A store with a few versions; the dataset id and its datapoint ids."""
    with DatasetLog(path) as db:
        dataset = db.create_dataset(project_id="pr", name="n", description="d").id
        added = db.create_datapoint(
            dataset,
            [
                {"inputs": {"q": "first"}, "messages": [{"role": "user", "content": "hi"}]},
                {"inputs": {"q": "second"}, "target": {"a": [1, 2.5, {"b": None}]}},
                {"target": {"n": 3}},
            ],
        )
        db.update_datapoint(added[0].id, target={"fixed": True})
        db.delete_datapoints([added[2].id])
    return dataset, [d.id for d in added]


def _edit(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    for trigger in GUARDS:
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def _repoint_index_entry(path: Path, index: str, key: str, rowid: int, to: int) -> None:
    """Make one entry of an index point at another row, bypassing SQLite (a flipped byte).

    The entry ``(key, NULL, rowid)`` of a two-column index is found on the
    index's root page by its bytes: the key's text, then the rowid as one byte.
    """
    conn = sqlite3.connect(path)
    root = conn.execute("SELECT rootpage FROM sqlite_schema WHERE name = ?", (index,)).fetchone()
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    start = (root[0] - 1) * size
    entry = key.encode() + bytes([rowid])
    at = data.find(entry, start, start + size)
    assert at >= 0, "the entry is on the index's root page"
    data[at + len(key)] = to
    path.write_bytes(bytes(data))


def test_a_damaged_index_is_found_and_never_redirects_a_write(tmp_path: Path) -> None:
    """One key changed in the datapoint index: reads and updates of it refuse, verify names it."""
    path = tmp_path / "store.db"
    dataset, ids = _populated(path)
    first, second = ids[0], ids[1]
    conn = sqlite3.connect(path)
    live = "SELECT rowid FROM dl_rows WHERE datapoint_id = ? AND removed_in IS NULL"
    [(first_row,)] = conn.execute(live, (first,)).fetchall()
    [(second_row,)] = conn.execute(live, (second,)).fetchall()
    conn.close()
    _repoint_index_entry(path, "dl_rows_datapoint", first, first_row, second_row)
    with DatasetLog(path) as db:
        before = [v.id for v in db.list_versions(dataset)]
        with pytest.raises(StoreError, match="damaged"):
            db.get_datapoint(first)
        with pytest.raises(StoreError, match="damaged"):
            db.update_datapoint(first, target={"wrong": "row"})
        assert [v.id for v in db.list_versions(dataset)] == before
        report = db.verify()
    assert not report
    assert "engine" in {p.what for p in report.problems}


def test_a_corrupt_payload_is_a_store_error_naming_it(tmp_path: Path) -> None:
    """A datapoint whose stored JSON no longer parses fails every read with a StoreError."""
    path = tmp_path / "store.db"
    dataset, ids = _populated(path)
    _edit(
        path, "UPDATE dl_events SET payload = substr(payload, 1, 20) WHERE type = 'datapoint_added'"
    )
    with DatasetLog(path) as db:
        for read in (
            lambda: list(db.iter_datapoints(dataset, version=1)),
            lambda: list(db.iter_datapoints_v4(dataset, version=1)),
            lambda: db.list_datapoints(dataset, version=1),
            lambda: db.get_datapoint(ids[1]),
        ):
            with pytest.raises(StoreError, match=f"stored datapoint #0 read for dataset {dataset}"):
                read()
        report = db.verify()
    assert not report
    assert {p.what for p in report.problems} >= {"event_changed", "hash"}


def test_a_corrupt_read_model_row_is_a_store_error(tmp_path: Path) -> None:
    """A dataset row whose timestamp is garbage is a StoreError naming the row."""
    path = tmp_path / "store.db"
    dataset, _ = _populated(path)
    _edit(path, "UPDATE dl_datasets SET created_at = 'yesterday'")
    with DatasetLog(path) as db:
        with pytest.raises(StoreError, match=f"row of dataset '{dataset}' is damaged"):
            db.get_dataset(dataset)
        assert not db.verify()


def _every_read(db: DatasetLog, dataset: str, ids: list[str]) -> list[Callable[[], object]]:
    reads: list[Callable[[], object]] = [
        partial(db.get_dataset, dataset),
        partial(db.list_datasets, "pr"),
        partial(db.list_versions, dataset),
        partial(db.list_datapoints_json, dataset, size=2, page=2),
        *(partial(db.get_datapoint, i) for i in ids),
    ]
    for version in range(4):
        reads += [
            partial(_objects, db, dataset, version),
            partial(db.list_datapoints, dataset, version=version, size=1, page=2),
            partial(_json, db, dataset, version),
        ]
    return reads


def _objects(db: DatasetLog, dataset: str, version: int) -> list[object]:
    return list(db.iter_datapoints(dataset, version=version))


def _json(db: DatasetLog, dataset: str, version: int) -> bytes:
    return b"".join(db.iter_datapoints_json(dataset, version=version))


@pytest.mark.parametrize("offset", range(150))
def test_any_flipped_byte_gives_datasetlog_errors_and_a_report(
    tmp_path_factory: pytest.TempPathFactory, offset: int
) -> None:
    """Flip one byte anywhere: opening, every read and verify() fail only with DatasetLogError."""
    original = tmp_path_factory.getbasetemp() / "flip-original.db"
    if not original.exists():
        _populated(original)
    dataset, ids = _ids_of(original)
    path = tmp_path_factory.mktemp("flip") / "store.db"
    shutil.copyfile(original, path)
    data = bytearray(path.read_bytes())
    at = (offset * 7919) % len(data)  # spread over every page, header included
    data[at] ^= 0x5A
    path.write_bytes(bytes(data))
    try:
        db = DatasetLog(path)
    except DatasetLogError:
        return
    with db:
        for read in _every_read(db, dataset, ids):
            with contextlib.suppress(DatasetLogError):
                read()
        report = verify(db.store)
        assert isinstance(report.ok, bool)


def _ids_of(path: Path) -> tuple[str, list[str]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    dataset = conn.execute("SELECT stream_id FROM dl_commits LIMIT 1").fetchone()[0]
    ids = [row[0] for row in conn.execute("SELECT DISTINCT datapoint_id FROM dl_rows")]
    conn.close()
    return dataset, ids
