"""Text cells of the files an import reads and an export writes: JSON read strictly, and CSV
cells that no spreadsheet runs.

**JSON, one value, each key once.** A line, CSV cell or Parquet value holds
one JSON value. An object that holds a key twice is refused
(``duplicate_key``): orjson, like most readers, would keep the last value
silently, so that ``{"q": "a", "q": "b"}`` read as ``{"q": "b"}``. The check
costs one write of the decoded value, not a second parse. Text that is that
writing (as every export is) holds each key once. Otherwise colons are
counted: written back, a value has one colon per key kept and one per colon
in its strings, and the text has one per key it holds and at least one per
colon in its strings (literal, or escaped as ``\\u003a``), so equal counts
prove that every key was kept. Only text whose counts differ (a duplicate,
or a rare escape such as ``\\\\u003a``) is parsed again, slowly, to name the
key.

**CSV cells a spreadsheet leaves alone.** A spreadsheet runs a cell that
starts with ``=``, ``+``, ``-`` or ``@`` (some also a tab or a carriage
return) as a formula. An export writes such a cell with an apostrophe before
it (``=1+2`` as ``'=1+2``), as OWASP advises, and a cell that starts with an
apostrophe with one more (``'a`` as ``''a``). An import drops one leading
apostrophe from every cell, so each cell reads back exactly as it was.
Datapoint content never changes (its JSON starts with ``{`` or ``[``); a
``source_project_data_id`` (a log id) may.
"""

from __future__ import annotations

import json
from contextlib import suppress
from typing import Any

import orjson

MAX_LINE = 64 << 20
"""The longest datapoint read, in bytes of text (a JSON line; a CSV record's or Parquet
row's cells): a longer one is refused unread (no datapoint that can be stored needs it)."""


class DuplicateKeyError(ValueError):
    """JSON text with an object holding ``key`` twice."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the key {key!r} appears twice in one object")
        self.key = key


_loads, _dumps = orjson.loads, orjson.dumps


def json_value(text: bytes | str) -> Any:
    """The JSON value that ``text`` holds, every key of it kept.

    Raises:
        orjson.JSONDecodeError: It is not one JSON value.
        DuplicateKeyError: An object in it holds a key twice.
    """
    value = _loads(text)
    if type(value) is dict or type(value) is list:  # on the hot path: each step counts
        raw = text if type(text) is bytes else text.encode()  # type: ignore[union-attr]
        try:
            written = _dumps(value)
        except orjson.JSONEncodeError:  # nested past what orjson writes: look the slow way
            _refuse_duplicates(raw)
            return value
        if not (raw.startswith(written) and not raw[len(written) :].strip()):
            _check_by_colons(raw, written)  # not as orjson writes it (as exports are)
    return value


def _check_by_colons(raw: bytes, written: bytes) -> None:
    """Raise if ``raw`` decoded as the value ``written`` lost a key (see the module)."""
    colons = raw.count(b":")
    if b"\\" in raw:
        colons += raw.count(b"\\u003a") + raw.count(b"\\u003A")
    if written.count(b":") != colons:
        _refuse_duplicates(raw)


def _refuse_duplicates(text: bytes) -> None:
    """Parse ``text`` again key by key; raise on the first key an object holds twice."""

    def unique(pairs: list[tuple[str, Any]]) -> None:
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKeyError(key)
            seen.add(key)

    with suppress(RecursionError):  # nested past Python's stack: refused in any field anyway
        json.loads(text, object_pairs_hook=unique)


def not_json(error: orjson.JSONDecodeError) -> str:
    """A JSON error's message, placed within its line or cell (from character 1)."""
    return f"not JSON: {error.msg} (at character {error.pos + 1})"


_RUN_AS_FORMULA = ("=", "+", "-", "@", "\t", "\r", "'")
"""How a cell a spreadsheet would run starts, and the apostrophe that marks one written inert."""


def inert_cell(text: str) -> str:
    """``text`` as a CSV cell no spreadsheet runs: an apostrophe before it if it starts as a
    formula (or with an apostrophe); :func:`cell_text` gives ``text`` back."""
    return f"'{text}" if text.startswith(_RUN_AS_FORMULA) else text


def cell_text(cell: str) -> str:
    """The text an exported CSV cell holds: the cell without one leading apostrophe."""
    return cell[1:] if cell.startswith("'") else cell
