"""Hostile files and tables given to an import: each is refused with a ValidationError naming
where, in bounded memory, and nothing is written."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import datasets
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import datasetlog.transfer
from datasetlog import DatasetLog, DatasetLogError, ValidationError
from datasetlog.testing import drop_schema_of
from datasetlog.transfer import import_datapoints


@pytest.fixture
def db() -> Iterator[DatasetLog]:
    with DatasetLog(":memory:") as log:
        yield log


@pytest.fixture
def store(location: str) -> Iterator[DatasetLog]:
    """A store on each backend."""
    with DatasetLog(location) as log:
        yield log
    if location.startswith("postgresql"):
        drop_schema_of(location)


def _refused(db: DatasetLog, source: object, **options: object) -> ValidationError:
    """Import ``source`` into a new dataset: the ValidationError it raises (nothing written)."""
    ds = db.create_dataset(project_id="pr", name=f"n{len(db.list_datasets('pr'))}").id
    with pytest.raises(ValidationError) as refused:
        import_datapoints(db, ds, source, **options)  # type: ignore[call-overload]
    assert db.get_version(ds).number == 0
    return refused.value


def _repeated(cell: str, rows: int) -> bytes:
    """A Parquet file of ``rows`` rows whose ``inputs`` cell is ``cell``, stored once: a few
    hundred bytes, however many bytes its rows decode to."""
    column = pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array([cell]))
    out = io.BytesIO()
    pq.write_table(
        pa.table({"inputs": column}), out, compression="zstd", dictionary_pagesize_limit=1 << 30
    )
    return out.getvalue()


# -- Parquet that decodes to far more than it holds ------------------------------------------

IN_LITTLE_MEMORY = """
import io, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))  # 2 GiB of address space
from datasetlog import DatasetLog, ValidationError
from datasetlog.transfer import import_datapoints

db = DatasetLog(":memory:")
ds = db.create_dataset(project_id="pr", name="bomb").id
try:
    import_datapoints(db, ds, io.BytesIO(sys.stdin.buffer.read()), format="parquet")
except ValidationError as error:
    first, last = error.details[0], error.details[-1]
    print(first.loc, first.type, len(error.details), last.loc, error.omitted)
"""


def _import_in_little_memory(content: bytes) -> str:
    package = Path(datasetlog.transfer.__file__).parents[2]  # this datasetlog, not another
    done = subprocess.run(
        [sys.executable, "-c", IN_LITTLE_MEMORY],
        input=content,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(package)},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return done.stdout.decode().strip()


def test_a_parquet_file_of_5_gb_of_cells_is_read_in_bounded_memory() -> None:
    """A file of a few hundred bytes whose 5,000 rows hold 1 MB each is read a few rows at a
    time within 2 GiB: its cells are no JSON, and reading stops with the first batch, of
    eight (8 MB)."""
    bomb = _repeated("x" * 1_000_000, 5_000)
    assert len(bomb) < 1_000
    found = _import_in_little_memory(bomb)
    assert found == "('row', 1, 'inputs') json 8 ('row', 8, 'inputs') 0"


def test_a_parquet_row_past_the_longest_datapoint_is_refused_unread() -> None:
    """Rows over MAX_LINE bytes are refused at the first, before any is decoded."""
    found = _import_in_little_memory(_repeated("x" * ((64 << 20) + 1), 5_000))
    assert found == "('row', 1) too_long 1 ('row', 1) 0"


def test_batches_are_bounded_by_the_bytes_they_hold(db: DatasetLog) -> None:
    """Datapoints of a megabyte are stored eight at a time, not 5,000 at a time."""
    seen: list[int] = []
    ds = db.create_dataset(project_id="pr", name="large").id
    cell = '{"doc": "' + "x" * 1_000_000 + '"}'
    import_datapoints(
        db, ds, io.BytesIO(_repeated(cell, 24)), format="parquet", progress=seen.append
    )
    assert seen == [8, 8, 8]
    line = b'{"inputs": ' + cell.encode() + b"}\n"
    seen.clear()
    import_datapoints(db, ds, io.BytesIO(line * 20), progress=seen.append)
    assert seen == [8, 8, 4]


# -- duplicate keys -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "content", "loc"),
    [
        ("jsonl", b'{"inputs": {"q": "a"}}\n{"inputs": {"q": "a", "q": "b"}}\n', ("line", 2)),
        ("jsonl", b'{"inputs": {"q": "a"}, "inputs": {"q": "b"}}\n', ("line", 1)),
        ("jsonl", b'{"messages": [{"role": "user", "role": "system"}]}\n', ("line", 1)),
        ("jsonl", b'{"target": {"a": 1, "\\u0061": 2}}\n', ("line", 1)),
        ("csv", b'inputs\r\n"{""q"": ""a"", ""q"": ""b""}"\r\n', ("line", 2, "inputs")),
        ("parquet", _repeated('{"q": "a", "q": "b"}', 1), ("row", 1, "inputs")),
    ],
)
def test_a_key_given_twice_is_refused(
    db: DatasetLog, fmt: str, content: bytes, loc: tuple[object, ...]
) -> None:
    """A reader keeping the last of two keys would change the datapoint silently: refused."""
    refused = _refused(db, io.BytesIO(content), format=fmt)
    assert [(d.loc, d.type) for d in refused.details] == [(loc, "duplicate_key")]


def test_a_colon_in_a_string_is_no_duplicate(db: DatasetLog) -> None:
    """Text not written as orjson writes it, with colons in its strings, is read as it is."""
    ds = db.create_dataset(project_id="pr", name="colons").id
    content = b'{ "inputs" : { "q" : "a:b", "r": "\\u003a" } }\n'
    import_datapoints(db, ds, io.BytesIO(content))
    assert [d.inputs for d in db.iter_datapoints(ds)] == [{"q": "a:b", "r": ":"}]


# -- tables -------------------------------------------------------------------------------------


def test_a_dataframe_column_mixing_text_and_numbers_names_the_cells(db: DatasetLog) -> None:
    """pandas holds anything in an object column; each cell that is no text is named."""
    frame = pd.DataFrame({"inputs": ['{"q": "a"}', 1, None, 2.5]})
    refused = _refused(db, frame)
    assert [(d.loc, d.msg) for d in refused.details] == [
        (("row", 2, "inputs"), "expected JSON text, got int"),
        (("row", 4, "inputs"), "expected JSON text, got float"),
    ]


@pytest.mark.parametrize("kind", ["pandas", "arrow", "parquet"])
def test_a_column_name_given_twice_is_refused(db: DatasetLog, kind: str) -> None:
    """Which of two "inputs" columns holds the datapoints? Neither is guessed."""
    table = pa.table([pa.array(["{}"]), pa.array(["{}"])], names=["inputs", "inputs"])
    source: object = table
    options: dict[str, object] = {}
    if kind == "pandas":
        source = pd.DataFrame([["{}", "{}"]], columns=["inputs", "inputs"])
    elif kind == "parquet":
        out = io.BytesIO()
        pq.write_table(table, out)
        source, options = io.BytesIO(out.getvalue()), {"format": "parquet"}
    refused = _refused(db, source, **options)
    assert [(d.loc, d.msg) for d in refused.details] == [
        (("column", "inputs"), "given more than once")
    ]


def test_a_hugging_face_selection_imports_the_rows_it_shows(db: DatasetLog) -> None:
    """A selection (or shuffle) maps indices over the table: its rows, not the table's."""
    table = pa.table({"inputs": [f'{{"n": "{n}"}}' for n in range(3)]})
    chosen = datasets.Dataset(table).select([2, 0])
    ds = db.create_dataset(project_id="pr", name="hf").id
    assert import_datapoints(db, ds, chosen).added == 2
    assert [d.inputs for d in db.iter_datapoints(ds)] == [{"n": "2"}, {"n": "0"}]


# -- standard input onto a full temporary folder ------------------------------------------------


class _Pipe(io.RawIOBase):
    """A binary source that cannot seek, as standard input."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        return self._data.readinto(buffer)


@pytest.fixture
def full_temp_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Temporary files are made on a device that is always full (``/dev/full``)."""
    monkeypatch.setattr(
        tempfile,
        "TemporaryFile",
        lambda: open("/dev/full", "w+b"),  # noqa: SIM115 (the import's stack closes it)
    )


@pytest.mark.usefixtures("full_temp_folder")
def test_a_pipe_spooled_onto_a_full_temporary_folder_is_a_clear_error(db: DatasetLog) -> None:
    """No OSError traceback: a DatasetLogError naming the folder, and nothing written."""
    ds = db.create_dataset(project_id="pr", name="piped").id
    with pytest.raises(DatasetLogError, match=r"temporary file in .*No space left"):
        import_datapoints(db, ds, _Pipe(b'{"inputs": {"q": "a"}}\n' * 100_000))
    assert db.get_version(ds).number == 0


FULL_TEMP_CLI = """
import sys, tempfile
tempfile.TemporaryFile = lambda: open("/dev/full", "w+b")  # a temporary folder with no room
from datasetlog.cli import main
sys.exit(main())
"""


def test_the_cli_reports_a_full_temporary_folder_in_one_line(tmp_path: Path) -> None:
    """``datasetlog import NAME -`` from a pipe exits 1 with one line on standard error."""
    store = tmp_path / "store.db"
    with DatasetLog(store) as log:
        log.create_dataset(project_id="pr", name="piped")
    package = Path(datasetlog.transfer.__file__).parents[2]
    done = subprocess.run(
        [sys.executable, "-c", FULL_TEMP_CLI, "--db", str(store), "import", "piped", "-"],
        input=b'{"inputs": {}}\n' * 100_000,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(package)},
        timeout=300,
    )
    assert done.returncode == 1
    assert done.stderr.decode().startswith("error: cannot copy the input to a temporary file")
    assert done.stderr.count(b"\n") == 1
    with DatasetLog(store) as log:
        assert log.list_datasets("pr")[0].datapoint_count == 0


# -- a file rewritten while it is read ----------------------------------------------------------


def _numbered(prefix: str, count: int) -> bytes:
    return b"".join(b'{"inputs": {"n": "%s-%05d"}}\n' % (prefix.encode(), n) for n in range(count))


def test_a_file_rewritten_during_an_import_is_refused(store: DatasetLog, tmp_path: Path) -> None:
    """Once 5,000 old lines are stored, the file is rewritten in place (as many lines, as many
    bytes): the version would be half of each, so it is refused and nothing is written."""
    ds = store.create_dataset(project_id="pr", name="torn").id
    path = tmp_path / "data.jsonl"
    path.write_bytes(_numbered("old", 12_000))

    def rewrite(count: int) -> None:
        path.write_bytes(_numbered("new", 12_000))

    with pytest.raises(ValidationError) as refused:
        import_datapoints(store, ds, path, progress=rewrite)
    assert [(d.loc, d.type) for d in refused.value.details] == [(("source",), "changed")]
    assert store.get_version(ds).number == 0
    assert store.verify().ok


def test_a_file_rewritten_between_the_readings_of_an_upsert_is_refused(
    store: DatasetLog, tmp_path: Path
) -> None:
    """The upsert's second reading must be of the file its first reading planned from: the same
    lines with each pair swapped, read from line 5,001 on, commit an order neither file has."""
    ds = store.create_dataset(project_id="pr", name="torn").id
    store.create_datapoint(ds, {"inputs": {"n": "base"}})
    path = tmp_path / "data.jsonl"
    lines = _numbered("line", 12_000).splitlines(keepends=True)
    path.write_bytes(b"".join(lines))

    def rewrite(count: int) -> None:
        swapped = [line for pair in zip(lines[1::2], lines[::2], strict=True) for line in pair]
        path.write_bytes(b"".join(swapped))

    with pytest.raises(ValidationError) as refused:
        import_datapoints(store, ds, path, action="add", progress=rewrite)
    assert [(d.loc, d.type) for d in refused.value.details] == [(("source",), "changed")]
    assert store.get_version(ds).number == 1
    assert store.verify().ok


def test_a_file_left_alone_imports_with_every_check(store: DatasetLog, tmp_path: Path) -> None:
    """The checks refuse nothing sound: a file read twice as it is imports, by both paths."""
    ds = store.create_dataset(project_id="pr", name="sound").id
    path = tmp_path / "data.jsonl"
    path.write_bytes(_numbered("line", 12_000))
    assert import_datapoints(store, ds, path).added == 12_000
    assert import_datapoints(store, ds, path, action="set").committed is False


def _parquet_bytes() -> bytes:
    out = io.BytesIO()
    pq.write_table(pa.table({"inputs": ['{"q": "a"}']}), out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("head", "named"),
    [
        (_parquet_bytes(), "a Parquet file"),
        (b"\x1f\x8b\x08\x00" + bytes(200), "gzip-compressed"),
        (b"PK\x03\x04" + bytes(200), "a ZIP archive"),
        (b"SQLite format 3\x00" + bytes(200), "an SQLite database"),
    ],
)
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_file_of_another_format_is_one_error_naming_it(
    db: DatasetLog, head: bytes, named: str, fmt: str
) -> None:
    """A binary file read as JSONL or CSV is one problem at the source that names what the
    file is, not one "not JSON" per line; read as Parquet, a Parquet file imports."""
    refused = _refused(db, io.BytesIO(head), format=fmt)
    assert [(d.loc, d.type) for d in refused.details] == [(("source",), "format")]
    assert f"not {fmt.upper()}: this is {named}" in refused.details[0].msg
    if named == "a Parquet file":
        ds = db.create_dataset(project_id="pr", name="as-parquet").id
        assert import_datapoints(db, ds, io.BytesIO(head), format="parquet").added == 1
