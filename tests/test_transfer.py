"""Exports of a version (JSONL, CSV) and their lock files: deterministic, checkable, whole."""

from __future__ import annotations

import csv
import io
import itertools
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import datasetlog.transfer.export
from datasetlog import DatasetLog, NotFoundError, ValidationError
from datasetlog.testing import drop_schema_of, new_schema_location
from datasetlog.testing.strategies import datapoint_bodies
from datasetlog.transfer import (
    CSV_COLUMNS,
    check_lock,
    export_dataset,
    import_datapoints,
    lock_path,
)

BODIES = [
    {"inputs": {"q": "2+2?"}, "target": {"a": 4, "why": ["x", None]}},
    {"messages": [{"role": "user", "content": "hi\nthere"}], "target": {}},
    {"inputs": {}, "target": None},
    {},
]


def _fill(db: DatasetLog) -> str:
    ds = db.create_dataset(project_id="pr", name="qa").id
    db.create_datapoint(ds, BODIES)
    first = next(iter(db.iter_datapoints(ds))).id
    db.update_datapoint(first, target={"a": "four"})
    return ds


@pytest.fixture
def db() -> Iterator[DatasetLog]:
    with DatasetLog(":memory:") as log:
        yield log


def test_jsonl_holds_the_version_line_by_line_and_its_lock_checks(
    db: DatasetLog, tmp_path: Path
) -> None:
    ds = _fill(db)
    out = tmp_path / "qa.jsonl"
    exported = export_dataset(db, ds, out, version=1, lock=True)
    lock = exported.lock
    assert lock is not None
    lines = out.read_bytes().splitlines()
    expected = list(db.iter_datapoints_v4(ds, version=1))
    assert [orjson.loads(line) for line in lines] == expected
    assert (lock.version, lock.datapoint_count, lock.file) == (1, 4, "qa.jsonl")
    again = tmp_path / "again.jsonl"
    export_dataset(db, ds, again, version=1)
    assert again.read_bytes() == out.read_bytes()  # deterministic
    assert check_lock(lock_path(out)).ok
    assert check_lock(lock_path(out), db).ok
    assert out.stat().st_mode & 0o777 == lock_path(out).stat().st_mode & 0o777  # not 0600
    db.create_datapoint(ds, {"inputs": {"q": "later"}})  # later versions change nothing
    assert check_lock(lock_path(out), db).ok


def test_csv_keeps_missing_apart_from_empty_and_round_trips_its_json(
    db: DatasetLog, tmp_path: Path
) -> None:
    ds = _fill(db)
    out = tmp_path / "qa.csv"
    export_dataset(db, ds, out, format="csv", lock=True)
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS
    records = list(db.iter_datapoints_v4(ds))
    assert len(rows) == len(records) + 1
    for row, record in zip(rows[1:], records, strict=True):
        cells = dict(zip(CSV_COLUMNS, row, strict=True))
        for column in ("inputs", "messages", "target"):
            wanted = record.get(column)
            assert (orjson.loads(cells[column]) if cells[column] else None) == wanted
        assert cells["id"] == record["id"]
    assert check_lock(lock_path(out), db).ok  # a message holding a newline counts once


def test_a_changed_export_or_lock_is_reported(db: DatasetLog, tmp_path: Path) -> None:
    ds = _fill(db)
    out = tmp_path / "qa.jsonl"
    export_dataset(db, ds, out, lock=True)
    manifest = lock_path(out)
    data = bytearray(out.read_bytes())
    data[10] ^= 1
    out.write_bytes(bytes(data))
    found = check_lock(manifest)
    assert not found.ok
    assert "SHA-256" in found.problems[0]
    export_dataset(db, ds, out, lock=True)
    lock = orjson.loads(manifest.read_bytes())
    lock["chain_head"] = "0" * 64
    manifest.write_bytes(orjson.dumps(lock))
    assert check_lock(manifest).ok  # offline, only the file is checked
    against = check_lock(manifest, db)
    assert [p for p in against.problems if "chain head" in p]
    out.unlink()
    assert "cannot read the export" in check_lock(manifest).problems[0]


@pytest.mark.parametrize(
    ("content", "loc"),
    [
        (b"not json", ("lock",)),
        (b'{"kind": "other"}', ("lock", "kind")),
        (b'{"kind": "datasetlog-lock/1", "file": 3}', ("lock", "file")),
    ],
)
def test_a_file_that_is_no_lock_is_refused_naming_the_field(
    tmp_path: Path, content: bytes, loc: tuple[str, ...]
) -> None:
    manifest = tmp_path / "x.lock.json"
    manifest.write_bytes(content)
    with pytest.raises(ValidationError) as refused:
        check_lock(manifest)
    assert refused.value.details[0].loc == loc


def test_a_lock_naming_a_file_elsewhere_is_refused(db: DatasetLog, tmp_path: Path) -> None:
    ds = _fill(db)
    out = tmp_path / "qa.jsonl"
    export_dataset(db, ds, out, lock=True)
    lock = orjson.loads(lock_path(out).read_bytes())
    lock["file"] = "../../etc/passwd"
    lock_path(out).write_bytes(orjson.dumps(lock))
    with pytest.raises(ValidationError) as refused:
        check_lock(lock_path(out))
    assert refused.value.details[0].loc == ("lock", "file")


def test_bad_options_and_unknown_versions_write_nothing(db: DatasetLog, tmp_path: Path) -> None:
    ds = _fill(db)
    out = tmp_path / "qa.jsonl"
    with pytest.raises(ValidationError) as bad:
        export_dataset(db, ds, out, format="parquet")
    assert bad.value.details[0].loc == ("query", "format")
    with pytest.raises(ValidationError):
        export_dataset(db, ds, io.BytesIO(), lock=True)
    with pytest.raises(NotFoundError):
        export_dataset(db, ds, out, version=99)
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_export_leaves_no_file(
    db: DatasetLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = _fill(db)
    real = datasetlog.transfer.export.export_lines

    def breaks(*args: Any) -> Iterator[bytes]:
        lines = real(*args)
        yield next(lines)
        raise KeyboardInterrupt

    monkeypatch.setattr(datasetlog.transfer.export, "export_lines", breaks)
    with pytest.raises(KeyboardInterrupt):
        export_dataset(db, ds, tmp_path / "qa.jsonl", lock=True)
    assert list(tmp_path.iterdir()) == []


def test_a_fork_exports_under_its_own_ids(db: DatasetLog, tmp_path: Path) -> None:
    ds = _fill(db)
    fork = db.fork(ds, name="candidate").id
    out = tmp_path / "fork.jsonl"
    lock = export_dataset(db, fork, out, lock=True).lock
    assert lock is not None
    ids = [orjson.loads(line)["id"] for line in out.read_bytes().splitlines()]
    assert ids == [d.id for d in db.iter_datapoints(fork)]
    assert lock.dataset_id == fork
    assert check_lock(lock_path(out), db).ok


def _deterministic(monkeypatch: pytest.MonkeyPatch) -> Callable[[], datetime]:
    """Make ids and times repeat from here: two stores filled alike hold the same events."""
    noise = random.Random(7)
    monkeypatch.setattr("datasetlog.ids.os.urandom", noise.randbytes)
    monkeypatch.setattr("datasetlog.ids.time.time_ns", lambda: 1_700_000_000_000_000_000)
    ticks = itertools.count()
    return lambda: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(milliseconds=next(ticks))


def test_sqlite_and_postgres_export_a_version_byte_for_byte_alike(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exported: list[tuple[bytes, bytes]] = []
    location = new_schema_location(postgres_url)
    try:
        for store in (tmp_path / "s.db", location):
            with DatasetLog(store, clock=_deterministic(monkeypatch)) as log:
                ds = _fill(log)
                fork = log.fork(ds, name="candidate").id
                files = []
                for dataset, fmt in ((ds, "jsonl"), (fork, "csv")):
                    out = io.BytesIO()
                    export_dataset(log, dataset, out, format=fmt)
                    files.append(out.getvalue())
                exported.append((files[0], files[1]))
    finally:
        drop_schema_of(location)
    assert exported[0] == exported[1]
    assert exported[0][0].count(b"\n") == len(BODIES)


def _contents(db: DatasetLog, dataset_id: str) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in record.items() if k in ("inputs", "messages", "target")}
        for record in db.iter_datapoints_v4(dataset_id)
    ]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(bodies=st.lists(datapoint_bodies(), max_size=8), fmt=st.sampled_from(["jsonl", "csv"]))
def test_every_format_round_trips_through_an_import(
    db: DatasetLog, bodies: list[dict[str, Any]], fmt: str
) -> None:
    source = db.create_dataset(project_id="pr", name=f"src-{len(db.list_datasets('pr'))}").id
    if bodies:
        db.create_datapoint(source, bodies)
    out = io.BytesIO()
    export_dataset(db, source, out, format=fmt)
    copy = db.create_dataset(project_id="pr", name=f"copy-{len(db.list_datasets('pr'))}").id
    if bodies:
        done = import_datapoints(db, copy, io.BytesIO(out.getvalue()), format=fmt)
        assert (done.added, done.version.number) == (len(bodies), 1)
    assert _contents(db, copy) == _contents(db, source)
    again = import_datapoints(db, copy, io.BytesIO(out.getvalue()), format=fmt, action="add")
    assert not again.committed  # every content is there already: nothing to add


def test_round_trips_on_postgres_too(postgres_url: str) -> None:
    location = new_schema_location(postgres_url)
    try:
        with DatasetLog(location) as log:
            ds = _fill(log)
            for fmt in ("jsonl", "csv"):
                out = io.BytesIO()
                export_dataset(log, ds, out, format=fmt)
                copy = log.create_dataset(project_id="pr", name=f"copy-{fmt}").id
                import_datapoints(log, copy, io.BytesIO(out.getvalue()), format=fmt)
                assert _contents(log, copy) == _contents(log, ds)
    finally:
        drop_schema_of(location)


@pytest.mark.parametrize(
    ("fmt", "content", "loc"),
    [
        ("jsonl", b'{"inputs": {"q": "a"}}\n\nnot json\n', ("line", 3)),
        ("jsonl", b'{"inputs": {"q": "a"}}\n[1]\n', ("line", 2)),
        ("jsonl", b'{"inputs": {"q": 1}}\n', ("line", 1, "inputs", "q")),
        ("csv", b"inputs,target\r\n{},{\r\n", ("line", 2, "target")),
        ("csv", b"inputs,shoe\r\n{}\r\n", ("line", 1)),
        ("csv", b'inputs\r\n"{""q"": 2}"\r\n', ("line", 2, "inputs", "q")),
        ("csv", b"inputs,target\r\n{}\r\n", ("line", 2)),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_written(
    db: DatasetLog, fmt: str, content: bytes, loc: tuple[object, ...]
) -> None:
    ds = db.create_dataset(project_id="pr", name="qa").id
    with pytest.raises(ValidationError) as bad:
        import_datapoints(db, ds, io.BytesIO(content), format=fmt)
    assert bad.value.details[0].loc == loc
    assert db.get_version(ds).number == 0


def test_an_import_with_an_action_is_an_upsert(db: DatasetLog, tmp_path: Path) -> None:
    ds = _fill(db)
    out = tmp_path / "qa.jsonl"
    export_dataset(db, ds, out)
    lines = out.read_bytes().splitlines(keepends=True)
    (tmp_path / "half.jsonl").write_bytes(b"".join(lines[:2]))
    done = import_datapoints(db, ds, tmp_path / "half.jsonl", action="set", version_name="half")
    assert (done.added, done.removed, done.committed) == (0, 2, True)
    assert db.get_version(ds, "half") == done.version
    with pytest.raises(ValidationError):
        import_datapoints(db, ds, out, action="replace")


def test_progress_counts_every_datapoint_written(db: DatasetLog, tmp_path: Path) -> None:
    ds = _fill(db)
    for fmt, extra in (("jsonl", 0), ("csv", 1)):
        seen: list[int] = []
        done = export_dataset(db, ds, tmp_path / f"qa.{fmt}", format=fmt, progress=seen.append)
        assert sum(seen) == done.datapoint_count + extra == len(BODIES) + extra
