"""The text conventions of transfer files: JSON with each key once, and CSV cells no spreadsheet
runs, undone exactly."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from datasetlog.transfer.cells import DuplicateKeyError, cell_text, inert_cell, json_value

RUN_AS_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@given(st.text())
def test_the_cell_convention_is_inert_and_undone_exactly(text: str) -> None:
    """Any text as a cell starts as no formula, and reads back as the same text."""
    cell = inert_cell(text)
    assert not cell.startswith(RUN_AS_FORMULA)
    assert cell_text(cell) == text


@pytest.mark.parametrize("text", ["=1", "+1", "-1", "@a", "\tx", "\rx", "'x", "''", "-"])
def test_each_formula_start_gets_one_apostrophe(text: str) -> None:
    """Each start a spreadsheet runs, and the apostrophe itself, gets one apostrophe."""
    assert inert_cell(text) == f"'{text}"


@pytest.mark.parametrize("text", ["x=1", '{"a": -1}', "[1]", "", " =1", "dp_1"])
def test_other_text_is_left_as_it_is(text: str) -> None:
    """What starts otherwise (JSON content, ids, empty) is written unchanged."""
    assert inert_cell(text) == text


def _owned(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise DuplicateKeyError(keys[0])
    return dict(pairs)


KEYS = st.sampled_from(["q", "a", ":", "a:b", "\u003a", "q\\", ""])
SPACE = st.sampled_from(["", " ", "\n\t "])


@st.composite
def json_texts(draw: st.DrawFn, depth: int = 0) -> str:
    """JSON text with duplicate keys sometimes, colons in strings, escapes and odd spacing."""
    kind = draw(
        st.sampled_from(["object", "list", "string", "number"] if depth < 3 else ["number"])
    )
    space = draw(SPACE)
    if kind == "object":
        items = draw(st.lists(st.tuples(KEYS, st.booleans()), max_size=4))
        members = []
        for key, escaped in items:
            name = json.dumps(key, ensure_ascii=escaped).replace(":", "\\u003a" if escaped else ":")
            members.append(f"{name}{space}:{space}{draw(json_texts(depth + 1))}")
        return "{" + f",{space}".join(members) + "}"
    if kind == "list":
        return "[" + ",".join(draw(st.lists(json_texts(depth + 1), max_size=3))) + "]"
    if kind == "string":
        return json.dumps(
            draw(st.text(alphabet=':a\\"\u00e9', max_size=5)), ensure_ascii=draw(st.booleans())
        )
    return str(draw(st.integers(-5, 5)))


@given(json_texts(), st.booleans())
def test_json_is_refused_exactly_when_an_object_holds_a_key_twice(text: str, raw: bool) -> None:
    """The fast check agrees with a reader that sees every key (Python's, pair by pair)."""
    try:
        expected: Any = json.loads(text, object_pairs_hook=_owned)
    except DuplicateKeyError:
        with pytest.raises(DuplicateKeyError):
            json_value(text.encode() if raw else text)
        return
    assert json_value(text.encode() if raw else text) == expected


def test_text_as_orjson_writes_it_is_read_in_one_step() -> None:
    """An export's own line (orjson's writing) is accepted, and a duplicate is named."""
    line = orjson.dumps({"inputs": {"q": "a:b"}, "target": {"a": [1, {"b": None}]}}) + b"\n"
    assert json_value(line) == orjson.loads(line)
    with pytest.raises(DuplicateKeyError, match="'q'"):
        json_value(b'{"inputs": {"q": "a", "q": "b"}}')
