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

**Every value as it was written.** orjson reads an integer outside 64 bits
as the nearest float, silently, and cannot hold some JSON at all (a lone
surrogate escape such as ``"\\ud800"``, a number such as ``1e400`` past
a double). Such text is read again by Python's own reader, which keeps
each of these as written, so that the write's validation refuses it as it
refuses the same value given to ``create_datapoint`` (``int_range``,
``string_unicode``, ``finite_number``) rather than storing another value or
calling the text not JSON. Only text that holds a run of 19 digits (where
an integer past 64 bits must) or that orjson refused is read twice.

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
import re
from contextlib import suppress
from typing import Any, NoReturn

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
    """The JSON value that ``text`` holds, every key and number of it as written.

    Raises:
        orjson.JSONDecodeError: It is not one JSON value.
        DuplicateKeyError: An object in it holds a key twice.
    """
    try:
        value = _loads(text)
    except orjson.JSONDecodeError as error:
        return _as_written(text, error)
    if type(value) is dict or type(value) is list:  # on the hot path: each step counts
        raw = text if type(text) is bytes else text.encode()  # type: ignore[union-attr]
        try:
            written = _dumps(value)
        except orjson.JSONEncodeError:  # nested past what orjson writes: look the slow way
            return _as_written(raw, None)
        if not (raw.startswith(written) and not raw[len(written) :].strip()):
            # Not as orjson writes it (as exports are): an integer may have become a float.
            if _LONG_DIGITS.search(raw):
                return _as_written(raw, None)
            _check_by_colons(raw, written)
    elif type(value) is float and _LONG_DIGITS.search(
        text if type(text) is bytes else text.encode()  # type: ignore[union-attr]
    ):
        return _as_written(text, None)
    return value


_LONG_DIGITS = re.compile(rb"[0-9]{19}")
"""Where an integer orjson cannot hold may be: it has at least 19 digits (2**63 has 19)."""


class _NotJSON(ValueError):
    """A constant Python's reader takes and JSON has not (``NaN``, ``Infinity``)."""


def _not_a_constant(name: str) -> NoReturn:
    raise _NotJSON(name)


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise DuplicateKeyError(key)
            seen.add(key)
    return value


def _as_written(text: bytes | str, refused: orjson.JSONDecodeError | None) -> Any:
    """``text`` read by Python's reader, which keeps every integer and escape as written.

    Raises:
        orjson.JSONDecodeError: ``refused``, if that reader refuses the text too
            (or, reading text orjson took, it is nested past Python's stack).
        DuplicateKeyError: An object in it holds a key twice.
    """
    try:
        decoded = text.decode() if type(text) is bytes else text
        return json.loads(decoded, object_pairs_hook=_unique, parse_constant=_not_a_constant)
    except DuplicateKeyError:
        raise
    except (ValueError, RecursionError):  # UnicodeDecodeError, json's and ours
        if refused is not None:
            raise refused from None
    # Text orjson read but Python cannot (nested past its stack): deep enough to be refused
    # in any field, so orjson's value stands.
    return _loads(text)


def _check_by_colons(raw: bytes, written: bytes) -> None:
    """Raise if ``raw`` decoded as the value ``written`` lost a key (see the module)."""
    colons = raw.count(b":")
    if b"\\" in raw:
        colons += raw.count(b"\\u003a") + raw.count(b"\\u003A")
    if written.count(b":") != colons:
        _refuse_duplicates(raw)


def _refuse_duplicates(text: bytes) -> None:
    """Parse ``text`` again key by key; raise on the first key an object holds twice."""
    with suppress(RecursionError):  # nested past Python's stack: refused in any field anyway
        json.loads(text, object_pairs_hook=_unique)


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
