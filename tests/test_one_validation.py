"""One validation for every write path: a hostile value is refused by each write and each
import format exactly as ``create_datapoint`` refuses it (the same error types, at the same
place within the datapoint), and changes nothing; a valid one is stored as it was written.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasetlog import DatasetLog, ValidationError
from datasetlog.serialization.converter import converter
from datasetlog.testing.strategies import datapoint_bodies, invalid_datapoint_bodies
from datasetlog.transfer import import_datapoints
from datasetlog.transfer.imports import KNOWN_FIELDS

CONTENT = ("inputs", "messages", "target")
Problems = list[tuple[tuple[Any, ...], str]]


def _json_text(value: Any) -> str | None:
    """``value`` as JSON text, every number as written (an infinity as ``1e400``, which JSON's
    grammar allows and no double holds), or None where no JSON text holds it."""
    if value is None or type(value) is bool:
        return json.dumps(value)
    if type(value) is int:
        return str(value)
    if type(value) is float:
        if math.isnan(value):
            return None
        return repr(value) if math.isfinite(value) else ("1e400" if value > 0 else "-1e400")
    if type(value) is str:
        return json.dumps(value)  # ASCII escapes, lone surrogates included
    if type(value) is list:
        items = [_json_text(item) for item in value]
        return None if None in items else f"[{', '.join(items)}]"  # type: ignore[arg-type]
    if type(value) is dict:
        if any(type(key) is not str for key in value):
            return None
        pairs = [(json.dumps(key), _json_text(item)) for key, item in value.items()]
        if any(text is None for _, text in pairs):
            return None
        return "{" + ", ".join(f"{key}: {text}" for key, text in pairs) + "}"
    return None


def _jsonl(body: dict[str, Any]) -> bytes | None:
    if any(key in KNOWN_FIELDS and key not in CONTENT for key in body):
        return None  # an export's own field (its id, say): read as an export's, not refused
    text = _json_text(body)
    return None if text is None else text.encode() + b"\n"


def _cells(body: dict[str, Any]) -> dict[str, str] | None:
    """The body as CSV cells / Parquet text, or None if it holds a key no column holds."""
    if any(key not in CONTENT for key in body):
        return None
    cells = {name: _json_text(value) for name, value in body.items()}
    return None if None in cells.values() else cells  # type: ignore[return-value]


def _csv(cells: dict[str, str]) -> bytes:
    quote = '"{}"'.format
    header = ",".join(cells)
    row = ",".join(quote(text.replace('"', '""')) for text in cells.values())
    return f"{header}\n{row}\n".encode()


def _parquet(cells: dict[str, str]) -> bytes:
    table = pa.table({name: pa.array([text], pa.string()) for name, text in cells.items()})
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def _refusal(write: Callable[[], object]) -> Problems:
    with pytest.raises(ValidationError) as refused:
        write()
    return [(detail.loc, detail.type) for detail in refused.value.details]


def _within(problems: Problems, depth: int) -> Problems:
    """Each problem's place within the datapoint (its ``loc`` past ``depth`` leading parts)."""
    return [(loc[depth:], kind) for loc, kind in problems]


def _writes(db: DatasetLog, ds: str, existing: str, body: dict[str, Any]) -> dict[str, Any]:
    """Every write path, each as (call, how many leading loc parts place the datapoint)."""
    writes: dict[str, Any] = {
        "upsert set": (lambda: db.upsert(ds, [body]), 2),
        "upsert add": (lambda: db.upsert(ds, [body], action="add"), 2),
        "stream": (lambda: db.commit_datapoint_stream(ds, [[body]], count=1), 2),
        "upsert stream": (lambda: db.upsert_stream(ds, lambda: [[body]], action="add"), 2),
    }
    if "id" not in body:  # where an item's id is no unknown key but what it is matched by
        item = {"id": existing, **body}
        writes["update many"] = (lambda: db.update_datapoints([item]), 2)
        writes["keyed upsert"] = (lambda: db.upsert(ds, [body], action="add", key="id"), 2)
    if set(body) <= set(CONTENT):
        writes["update"] = (lambda: db.update_datapoint(existing, **body), 1)
    lines = _jsonl(body)
    if lines is not None:
        writes["jsonl"] = (lambda: import_datapoints(db, ds, io.BytesIO(lines), format="jsonl"), 2)
    cells = _cells(body)
    if cells is not None:
        csv_file, parquet_file = _csv(cells), _parquet(cells)
        writes["csv"] = (lambda: import_datapoints(db, ds, io.BytesIO(csv_file), format="csv"), 2)
        writes["parquet"] = (
            lambda: import_datapoints(db, ds, io.BytesIO(parquet_file), format="parquet"),
            2,
        )
    return writes


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bad=invalid_datapoint_bodies())
def test_every_write_path_refuses_a_value_as_create_does(bad: tuple[dict[str, Any], Any]) -> None:
    """The same hostile datapoint, given to every write and written in every import format,
    is refused with create's error types at create's place in the datapoint; nothing changes."""
    body, _ = bad
    db = DatasetLog(":memory:")
    ds = db.create_dataset(project_id="pr", name="n").id
    existing = db.create_datapoint(ds, {"inputs": {"q": "kept"}})[0].id
    version = db.get_version(ds).number
    expected = _within(_refusal(lambda: db.create_datapoint(ds, body)), 1)
    for path, (write, depth) in _writes(db, ds, existing, body).items():
        assert _within(_refusal(write), depth) == expected, path
        assert db.get_version(ds).number == version, path
    assert [d.id for d in db.iter_datapoints(ds)] == [existing]


_EDGES = st.sampled_from(
    (2**64 - 1, -(2**63), 2**63, 12345678901234567890, 0.1, 1e308, -0.0, "12345678901234567890")
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=datapoint_bodies(), edge=_EDGES)
def test_every_import_format_stores_a_value_as_create_does(body: dict[str, Any], edge: Any) -> None:
    """A valid datapoint, integers at the 64-bit edges and long digit runs included, is
    stored by each import format exactly as ``create_datapoint`` stores it."""
    body = {**body, "target": {**(body.get("target") or {}), "edge": edge}}
    db = DatasetLog(":memory:")
    created = db.create_dataset(project_id="pr", name="created").id
    db.create_datapoint(created, body)
    [stored] = [converter.unstructure(d) for d in db.iter_datapoints(created)]
    cells = _cells(body)
    lines = _jsonl(body)
    assert cells is not None
    assert lines is not None
    files = {"jsonl": lines, "csv": _csv(cells), "parquet": _parquet(cells)}
    for fmt, data in files.items():
        ds = db.create_dataset(project_id="pr", name=fmt).id
        import_datapoints(db, ds, io.BytesIO(data), format=fmt)
        [imported] = [converter.unstructure(d) for d in db.iter_datapoints(ds)]
        written = {name: orjson.dumps(imported.get(name)) for name in CONTENT}
        assert written == {name: orjson.dumps(stored.get(name)) for name in CONTENT}, fmt


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_byte_order_mark_where_a_file_starts_is_skipped(fmt: str) -> None:
    """A UTF-8 byte-order mark (as Notepad and Excel write) starts a file that imports as
    the same file without it; a mark anywhere else is content, refused where it stands."""
    plain = {"jsonl": b'{"inputs": {"q": "a"}}\n', "csv": b'inputs\n"{""q"": ""a""}"\n'}[fmt]
    db = DatasetLog(":memory:")
    ds = db.create_dataset(project_id="pr", name="n").id
    done = import_datapoints(db, ds, io.BytesIO(b"\xef\xbb\xbf" + plain), format=fmt)
    assert done.added == 1
    assert [d.inputs for d in db.iter_datapoints(ds)] == [{"q": "a"}]
    with pytest.raises(ValidationError) as refused:
        import_datapoints(db, ds, io.BytesIO(plain + b"\xef\xbb\xbf" + plain), format=fmt)
    mark_line = {"jsonl": 2, "csv": 3}[fmt]  # CSV: its header, its row, then the mark
    assert refused.value.details[0].loc[:2] == ("line", mark_line)
    assert db.get_version(ds).number == 1
