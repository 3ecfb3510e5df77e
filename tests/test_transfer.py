"""Exports of a version (JSONL, CSV, Parquet, tables) and their lock files; imports of any
size: deterministic, checkable, whole."""

from __future__ import annotations

import csv
import io
import itertools
import os
import random
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import datasetlog.readmodels.replay
import datasetlog.transfer.export
import datasetlog.transfer.imports
import datasetlog.writes.streams
from datasetlog import DatasetLog, NotFoundError, ValidationError
from datasetlog.testing import drop_schema_of, new_schema_location
from datasetlog.testing.strategies import datapoint_bodies
from datasetlog.transfer import (
    COLUMNS,
    CSV_COLUMNS,
    FORMATS,
    MissingDependencyError,
    check_lock,
    export_dataset,
    import_datapoints,
    lock_path,
    to_arrow,
    to_hf,
    to_pandas,
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
        export_dataset(db, ds, out, format="xlsx")
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
    exported: list[tuple[bytes, bytes, bytes]] = []
    location = new_schema_location(postgres_url)
    try:
        for store in (tmp_path / "s.db", location):
            with DatasetLog(store, clock=_deterministic(monkeypatch)) as log:
                ds = _fill(log)
                fork = log.fork(ds, name="candidate").id
                files = []
                for dataset, fmt in ((ds, "jsonl"), (fork, "csv"), (fork, "parquet")):
                    out = io.BytesIO()
                    export_dataset(log, dataset, out, format=fmt)
                    files.append(out.getvalue())
                exported.append((files[0], files[1], files[2]))
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
@given(bodies=st.lists(datapoint_bodies(), max_size=8), fmt=st.sampled_from(FORMATS))
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
            for fmt in FORMATS:
                out = io.BytesIO()
                export_dataset(log, ds, out, format=fmt)
                copy = log.create_dataset(project_id="pr", name=f"copy-{fmt}").id
                import_datapoints(log, copy, io.BytesIO(out.getvalue()), format=fmt)
                assert _contents(log, copy) == _contents(log, ds)
            for kind, to_table in (("arrow", to_arrow), ("pandas", to_pandas), ("hf", to_hf)):
                copy = log.create_dataset(project_id="pr", name=f"copy-{kind}").id
                import_datapoints(log, copy, to_table(log, ds))
                assert _contents(log, copy) == _contents(log, ds)
    finally:
        drop_schema_of(location)


def _parquet(columns: dict[str, list[Any]]) -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table(columns), out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "content", "loc"),
    [
        ("jsonl", b'{"inputs": {"q": "a"}}\n\nnot json\n', ("line", 3)),
        ("jsonl", b'{"inputs": {"q": "a"}}\n[1]\n', ("line", 2)),
        ("jsonl", b'{"inputs": {"q": 1}}\n', ("line", 1, "inputs", "q")),
        ("jsonl", b'{"inputs": {"q": "a"}}\n{"input": {"q": "a"}}\n', ("line", 2, "input")),
        ("parquet", _parquet({"inputs": ["{}"], "taget": ["{}"]}), ("column", "taget")),
        ("csv", b"inputs,target\r\n{},{\r\n", ("line", 2, "target")),
        ("csv", b"inputs,shoe\r\n{}\r\n", ("line", 1)),
        ("csv", b'inputs\r\n"{""q"": 2}"\r\n', ("line", 2, "inputs", "q")),
        ("csv", b"inputs,target\r\n{}\r\n", ("line", 2)),
        ("parquet", b"PAR1 but not Parquet", ("row",)),
        ("parquet", _parquet({"inputs": ['{"q": "a"}', "{"]}), ("row", 2, "inputs")),
        ("parquet", _parquet({"target": ['{"a": 1}', "[]"]}), ("row", 2, "target")),
        ("parquet", _parquet({"inputs": [1]}), ("row", 1, "inputs")),
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


def test_tables_hold_each_version_as_the_projector_does(db: DatasetLog) -> None:
    ds = _fill(db)
    for version in (1, 2):
        expected = [
            {
                column: orjson.dumps(record[column], option=orjson.OPT_SORT_KEYS).decode()
                if column in ("inputs", "messages", "target") and column in record
                else record.get(column)
                for column in COLUMNS
            }
            for record in db.iter_datapoints_v4(ds, version=version)
        ]
        table = to_arrow(db, ds, version=version)
        rows = table.to_pylist()
        for row in rows:
            for stamp in ("created_at", "updated_at"):
                row[stamp] = row[stamp].isoformat().replace("+00:00", "Z")
        assert [_same_stamps(row) for row in rows] == [_same_stamps(row) for row in expected]
        assert table.schema.names == list(COLUMNS)
        frame = to_pandas(db, ds, version=version)
        assert frame["id"].tolist() == [row["id"] for row in expected]
        assert [None if pd.isna(v) else v for v in frame["target"]] == [
            row["target"] for row in expected
        ]
        hf = to_hf(db, ds, version=version)
        assert hf["inputs"] == [row["inputs"] for row in expected]


def _same_stamps(row: dict[str, Any]) -> dict[str, Any]:
    """A row with its timestamps parsed, whatever way they were written."""
    return row | {
        stamp: datetime.fromisoformat(str(row[stamp]).replace("Z", "+00:00"))
        for stamp in ("created_at", "updated_at")
    }


def test_a_missing_extra_names_what_to_install(
    db: DatasetLog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = _fill(db)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(MissingDependencyError, match=r"datasetlog\[arrow\]"):
        to_arrow(db, ds)
    with pytest.raises(MissingDependencyError):
        export_dataset(db, ds, tmp_path / "qa.parquet", format="parquet")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setitem(sys.modules, "datasets", None)
    with pytest.raises(ImportError, match=r"datasetlog\[hf\]"):
        to_hf(db, ds)


def _lines(count: int, *, bad_at: int | None = None) -> bytes:
    return b"".join(
        b"{nope\n" if number == bad_at else b'{"inputs": {"n": "%d"}}\n' % number
        for number in range(1, count + 1)
    )


def test_an_import_of_any_size_is_one_version(db: DatasetLog, tmp_path: Path) -> None:
    ds = db.create_dataset(project_id="pr", name="big").id
    path = tmp_path / "big.jsonl"
    path.write_bytes(_lines(120_000))  # past one request's 100,000
    seen: list[int] = []
    done = import_datapoints(db, ds, path, version_name="all", progress=seen.append)
    assert (done.added, done.version.number, done.version.name) == (120_000, 1, "all")
    assert done.version.message == "Add 120000 datapoints"
    assert sum(seen) == 120_000
    assert len(seen) > 1
    page = db.list_datapoints(ds, page=1200, size=100)
    assert [d.inputs for d in page.records][-1] == {"n": "120000"}
    assert db.verify().ok


def test_a_bad_line_past_the_first_batch_writes_nothing(db: DatasetLog) -> None:
    ds = db.create_dataset(project_id="pr", name="big").id
    with pytest.raises(ValidationError) as bad:
        import_datapoints(db, ds, io.BytesIO(_lines(25_000, bad_at=23_456)))
    assert [detail.loc for detail in bad.value.details] == [("line", 23_456)]
    body = b'{"inputs": {"n": "1"}}\n' * 15_000 + b'{"inputs": {"n": 2}}\n'
    with pytest.raises(ValidationError) as bad:
        import_datapoints(db, ds, io.BytesIO(body))
    assert [detail.loc for detail in bad.value.details] == [("line", 15_001, "inputs", "n")]
    assert db.get_version(ds).number == 0
    assert db.verify().ok


def test_ctrl_c_during_an_import_writes_nothing(db: DatasetLog) -> None:
    ds = db.create_dataset(project_id="pr", name="big").id

    def interrupt(count: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_datapoints(db, ds, io.BytesIO(_lines(25_000)), progress=interrupt)
    assert db.get_version(ds).number == 0
    assert db.verify().ok
    assert import_datapoints(db, ds, io.BytesIO(_lines(3))).version.number == 1


def test_an_import_reads_a_pipe(db: DatasetLog) -> None:
    ds = db.create_dataset(project_id="pr", name="piped").id
    read, write = os.pipe()
    content = _lines(30_000)

    def feed() -> None:
        with os.fdopen(write, "wb") as end:
            end.write(content)

    writer = threading.Thread(target=feed)
    writer.start()
    with os.fdopen(read, "rb") as pipe:
        done = import_datapoints(db, ds, pipe)
    writer.join()
    assert (done.added, done.version.datapoint_count) == (30_000, 30_000)


def test_rebuild_replays_a_streamed_commit_in_batches(
    db: DatasetLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    ds = db.create_dataset(project_id="pr", name="big").id
    import_datapoints(db, ds, io.BytesIO(_lines(2_500)))
    before = list(db.iter_datapoints_json(ds))
    monkeypatch.setattr(datasetlog.readmodels.replay, "REPLAY_BATCH", 1000)
    seen: list[int] = []
    db.rebuild(progress=seen.append)
    assert seen == [1, 1000, 1000, 500]
    assert sum(seen) == db.store.last_event()
    assert list(db.iter_datapoints_json(ds)) == before
    checked: list[int] = []
    assert db.verify(progress=checked.append).ok
    assert checked == [1, 2_500]


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    bodies=st.lists(datapoint_bodies(), min_size=1, max_size=6),
    kind=st.sampled_from(["arrow", "pandas", "hf"]),
    action=st.sampled_from([None, "set"]),
)
def test_every_table_round_trips_through_an_import(
    db: DatasetLog, bodies: list[dict[str, Any]], kind: str, action: str | None
) -> None:
    source = db.create_dataset(project_id="pr", name=f"src-{len(db.list_datasets('pr'))}").id
    db.create_datapoint(source, bodies)
    table = {"arrow": to_arrow, "pandas": to_pandas, "hf": to_hf}[kind](db, source)
    copy = db.create_dataset(project_id="pr", name=f"copy-{len(db.list_datasets('pr'))}").id
    done = import_datapoints(db, copy, table, action=action)
    assert done.version.number == 1
    if action is None:
        assert _contents(db, copy) == _contents(db, source)
    else:  # set: each distinct content once, in first-seen order
        distinct = {orjson.dumps(c, option=orjson.OPT_SORT_KEYS): c for c in _contents(db, source)}
        assert _contents(db, copy) == list(distinct.values())


def test_a_bad_table_cell_is_named_by_row_and_column(db: DatasetLog) -> None:
    ds = db.create_dataset(project_id="pr", name="qa").id
    table = pa.table({"inputs": ['{"q": "a"}', '{"q": 1}'], "target": [None, "{"]})
    with pytest.raises(ValidationError) as bad:
        import_datapoints(db, ds, table)
    assert [d.loc for d in bad.value.details] == [("row", 2, "target")]
    with pytest.raises(ValidationError) as bad:
        import_datapoints(db, ds, table.slice(0, 2).drop_columns(["target"]))
    assert [d.loc for d in bad.value.details] == [("row", 2, "inputs", "q")]
    with pytest.raises(ValidationError) as bad:
        import_datapoints(db, ds, pd.DataFrame({"inputs": []}))
    assert [d.loc for d in bad.value.details] == [("source",)]
    with pytest.raises(ValidationError) as bad:
        import_datapoints(db, ds, pa.table({"input": ["{}"], "target": ["{}"]}), action="add")
    assert [d.loc for d in bad.value.details] == [("column", "input")]
    assert db.get_version(ds).number == 0


LARGE_ROUND_TRIP = """
import io
from datasetlog import DatasetLog
from datasetlog.transfer import FORMATS, export_dataset, import_datapoints

db = DatasetLog(":memory:")
ds = db.create_dataset(project_id="pr", name="large").id
db.create_datapoint(ds, {"inputs": {"doc": "x" * 300_000}, "target": {"a": "y" * 200_000}})
for fmt in FORMATS:
    out = io.BytesIO()
    export_dataset(db, ds, out, format=fmt)
    copy = db.create_dataset(project_id="pr", name=f"large-{fmt}").id
    import_datapoints(db, copy, io.BytesIO(out.getvalue()), format=fmt)
    assert [(d.inputs, d.target) for d in db.iter_datapoints(copy)] == [
        (d.inputs, d.target) for d in db.iter_datapoints(ds)
    ], fmt
print("ok")
"""


def test_large_datapoints_round_trip_in_every_format(tmp_path: Path) -> None:
    """Run in a fresh process: no earlier test may have raised the csv module's field limit."""
    package = Path(datasetlog.transfer.__file__).parents[2]  # this datasetlog, not another
    done = subprocess.run(
        [sys.executable, "-c", LARGE_ROUND_TRIP],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(package)},
        timeout=300,
    )
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr[-3000:]


def test_a_line_past_the_longest_is_refused_unread(
    db: DatasetLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(datasetlog.transfer.imports, "MAX_LINE", 100)
    ds = db.create_dataset(project_id="pr", name="qa").id
    content = b'{"inputs": {"q": "a"}}\n{"inputs": {"q": "' + b"z" * 200 + b'"}}\n'
    with pytest.raises(ValidationError) as bad:
        import_datapoints(db, ds, io.BytesIO(content))
    assert [(d.loc, d.type) for d in bad.value.details] == [(("line", 2), "too_long")]
    assert db.get_version(ds).number == 0


def test_a_bulk_import_refreshes_the_planner_statistics_on_postgres(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A table loaded in one transaction must not be planned as the empty one it was."""
    monkeypatch.setattr(datasetlog.writes.streams, "BULK", 3)
    location = new_schema_location(postgres_url)
    try:
        with DatasetLog(location) as log:
            ds = log.create_dataset(project_id="pr", name="bulk").id

            def analyzed() -> float:
                with log.store.reading() as conn:
                    query = "SELECT reltuples FROM pg_class WHERE oid = 'dl_rows'::regclass"
                    return float(conn.execute(query).fetchone()[0])

            assert analyzed() == 0  # as analyzed when the read models were made
            import_datapoints(log, ds, io.BytesIO(_lines(2)))
            assert analyzed() == 0  # below the bulk size: left to autovacuum
            import_datapoints(log, ds, io.BytesIO(_lines(3)))
            assert analyzed() == 5
    finally:
        drop_schema_of(location)
