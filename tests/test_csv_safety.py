"""CSV exports a spreadsheet opens without running a formula, read back exactly."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest

from datasetlog import DatasetLog, DictLogSource
from datasetlog.testing import drop_schema_of
from datasetlog.transfer import export_dataset, import_datapoints

RUN_AS_FORMULA = ("=", "+", "-", "@", "\t", "\r")
LOG_IDS = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "'quoted", "''", "log_1"]


@pytest.fixture
def store(location: str) -> Iterator[DatasetLog]:
    """A store on each backend, with logs whose ids a spreadsheet would run."""
    logs = DictLogSource([{"id": log_id, "inputs": {"q": log_id}} for log_id in LOG_IDS])
    with DatasetLog(location, logs=logs) as db:
        yield db
    if location.startswith("postgresql"):
        drop_schema_of(location)


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode(), newline="")))


def cell_text(cell: str) -> str:
    """A cell's value by the documented convention: drop one leading apostrophe."""
    return cell[1:] if cell.startswith("'") else cell


def test_no_exported_cell_starts_as_a_formula(store: DatasetLog) -> None:
    """Log ids starting with = + - @ come out with an apostrophe before them, and the
    documented convention gives every cell's value back exactly."""
    ds = store.create_dataset(project_id="pr", name="logs").id
    store.create_datapoint(ds, {"log_ids": LOG_IDS})
    out = io.BytesIO()
    export_dataset(store, ds, out, format="csv")
    rows = _rows(out.getvalue())
    cells = [cell for row in rows for cell in row.values()]
    assert not [cell for cell in cells if cell.startswith(RUN_AS_FORMULA)]
    assert [cell_text(row["source_project_data_id"]) for row in rows] == LOG_IDS
    records = list(store.iter_datapoints_v4(ds))
    for row, record in zip(rows, records, strict=True):
        assert cell_text(row["id"]) == record["id"]
        assert cell_text(row["created_at"]) == record["created_at"]


def test_an_export_with_formula_like_cells_imports_as_it_was(store: DatasetLog) -> None:
    """The round trip stays lossless: an import takes the apostrophes off again."""
    ds = store.create_dataset(project_id="pr", name="logs").id
    store.create_datapoint(ds, {"log_ids": LOG_IDS})
    out = io.BytesIO()
    export_dataset(store, ds, out, format="csv")
    copy = store.create_dataset(project_id="pr", name="copy").id
    import_datapoints(store, copy, io.BytesIO(out.getvalue()), format="csv")
    assert [d.inputs for d in store.iter_datapoints(copy)] == [{"q": i} for i in LOG_IDS]


def test_a_json_cell_written_inert_is_read_as_its_json(store: DatasetLog) -> None:
    """A JSON cell with the apostrophe of the convention (a spreadsheet's doing, say) reads as
    the JSON after it."""
    ds = store.create_dataset(project_id="pr", name="hand").id
    content = b'inputs,target\r\n\'{"q": "-1"},\'{"a": -1}\r\n'
    import_datapoints(store, ds, io.BytesIO(content), format="csv")
    [datapoint] = store.iter_datapoints(ds)
    assert (datapoint.inputs, datapoint.target) == ({"q": "-1"}, {"a": -1})
