"""Hypothesis strategies for v4 request bodies, for use in your own tests.

Hypothesis is an optional dependency (``pip install "datasetlog[testing]"``);
no runtime module of datasetlog imports this one. Every strategy produces plain
JSON-like data (dicts, lists, strings, numbers) as a v4 client would send it,
and keeps sizes small by default.

Added in 0.1.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

try:
    from hypothesis import strategies as st
except ImportError as error:
    raise ImportError(
        "datasetlog.testing.strategies needs hypothesis: pip install 'datasetlog[testing]'"
    ) from error

__all__ = [
    "INVALID_NAME_KINDS",
    "ROLES",
    "create_requests",
    "datapoint_bodies",
    "field_texts",
    "invalid_datapoint_bodies",
    "invalid_names",
    "invalid_requests",
    "json_values",
    "labels",
    "messages",
    "names",
    "target_values",
    "texts",
]

Loc = tuple[str | int, ...]
JSON = Any
ROLES: tuple[str, ...] = ("user", "assistant", "system", "tool")
"""Every chat role v4 accepts."""

_MIN_INT = -(2**63)
_MAX_INT = 2**63 - 1
_FIELDS = ("inputs", "messages", "target")
_UNKNOWN_KEYS = ("input", "inputs_", "output", "outputs", "label", "id", "metadata", "Target")
_BAD_ROLES = ("bot", "User", "USER", "human", "function", "", " user")
_LONE_SURROGATES = ("\ud800", "\udfff", "a\udc00b")
_NOT_JSON: tuple[object, ...] = ((1, 2), b"bytes", frozenset({1}), 1j)
_WIDE_INTEGERS = (2**64, -(2**63) - 1, 10**30, -(10**40))  # past what JSON readers keep


@functools.cache
def texts(*, max_size: int = 8) -> st.SearchStrategy[str]:
    """Valid Unicode strings (no lone surrogates), short by default."""
    return st.text(st.characters(codec="utf-8"), max_size=max_size)


# What a name may hold, restated here rather than imported, so that the strategies check the
# library's rules instead of repeating its code: characters str.isprintable accepts (no
# category C or Z but the space), none of the letters that draw as nothing (nor those NFKC
# turns into one), in Unicode normal form NFKC.
_BLANK_LETTERS = "\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0"
_NAME_CHARACTERS = st.characters(
    codec="utf-8",
    exclude_categories=("C", "Z"),  # what str.isprintable refuses, but the space
    include_characters=" ",
    exclude_characters=_BLANK_LETTERS,
)
_RESERVED_LABELS = ("latest",)


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


@functools.cache
def field_texts(*, max_size: int = 8) -> st.SearchStrategy[str]:
    """Texts every text field takes where it may be blank (descriptions, say): printable
    characters of any script, in Unicode normal form NFKC; ``""`` included.

    Changed in 0.2: no control, bidi, invisible or look-alike form (they are not names).
    """
    return st.text(_NAME_CHARACTERS, max_size=max_size).map(_nfkc)


@functools.cache
def names(*, max_size: int = 8) -> st.SearchStrategy[str]:
    """Valid dataset names, project ids and idempotency keys: non-blank :func:`field_texts`.

    Added in 0.2.
    """
    return st.text(_NAME_CHARACTERS, min_size=1, max_size=max_size).map(_nfkc).filter(str.strip)


def _unambiguous(label: str) -> bool:
    digits = label.isascii() and label.isdigit()
    return label == label.strip() and not (digits or label.startswith("dsv_"))


@functools.cache
def labels(*, max_size: int = 8) -> st.SearchStrategy[str]:
    """Valid version names and tags: names that read as no other version reference (not
    ``"latest"``, a ``dsv_`` id or digits) and neither begin nor end with whitespace.

    Added in 0.2.
    """
    return (
        names(max_size=max_size)
        .filter(_unambiguous)
        .filter(lambda label: label not in _RESERVED_LABELS)
    )


def _scalars() -> st.SearchStrategy[JSON]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=_MIN_INT, max_value=_MAX_INT),
        st.floats(allow_nan=False, allow_infinity=False),
        texts(),
    )


@functools.cache
def json_values(*, max_leaves: int = 6) -> st.SearchStrategy[JSON]:
    """Any JSON value: null, booleans, 64-bit integers, finite floats, strings, lists, objects."""
    return st.recursive(
        _scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(texts(), inner, max_size=3)
        ),
        max_leaves=max_leaves,
    )


@functools.cache
def target_values() -> st.SearchStrategy[JSON]:
    """One value of a target map: any JSON value but a top-level null."""
    return st.one_of(
        texts(),
        st.integers(min_value=_MIN_INT, max_value=_MAX_INT),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
        st.lists(json_values(), max_size=3),
        st.dictionaries(texts(), json_values(), max_size=3),
    )


def _tool_calls() -> st.SearchStrategy[dict[str, JSON]]:
    return st.fixed_dictionaries({"name": texts()}, optional={"arguments": json_values()})


@functools.cache
def messages() -> st.SearchStrategy[dict[str, JSON]]:
    """One v4 chat message: a role, and optional content, name and tool call."""
    return st.fixed_dictionaries(
        {"role": st.sampled_from(ROLES)},
        optional={
            "content": texts(),
            "name": st.none() | texts(),
            "tool_call": _tool_calls(),
        },
    )


@functools.cache
def datapoint_bodies() -> st.SearchStrategy[dict[str, JSON]]:
    """Valid v4 datapoint objects, ``{}`` included (every field is optional)."""
    return st.fixed_dictionaries(
        {},
        optional={
            "inputs": st.dictionaries(texts(), texts(), max_size=3),
            "messages": st.lists(messages(), max_size=3),
            "target": st.dictionaries(texts(), target_values(), max_size=3),
        },
    )


def _id_strategy(log_ids: st.SearchStrategy[str] | Sequence[str]) -> st.SearchStrategy[str] | None:
    if isinstance(log_ids, st.SearchStrategy):
        return log_ids
    return st.sampled_from(list(log_ids)) if log_ids else None


def create_requests(
    log_ids: st.SearchStrategy[str] | Sequence[str] = (),
) -> st.SearchStrategy[JSON]:
    """Valid create-datapoint bodies in all three v4 forms.

    Args:
        log_ids: Known log ids (or a strategy for them) for the
            ``{"log_ids": [...]}`` form; without any, that form is not drawn.

    Returns:
        One datapoint object, a non-empty list of them, or ``{"log_ids": [...]}``.
    """
    forms: list[st.SearchStrategy[JSON]] = [
        datapoint_bodies(),
        st.lists(datapoint_bodies(), min_size=1, max_size=4),
    ]
    ids = _id_strategy(log_ids)
    if ids is not None:
        forms.append(st.fixed_dictionaries({"log_ids": st.lists(ids, min_size=1, max_size=4)}))
    return st.one_of(forms)


# -- invalid bodies ------------------------------------------------------------------------
# Each helper below draws (bad value, loc relative to that value); the public strategies
# place the bad value in a body and prefix the loc with its path from "body".

Bad = tuple[JSON, Loc]


@functools.cache
def _not(*kinds: type) -> st.SearchStrategy[JSON]:
    """JSON values whose type is none of ``kinds``, and not null."""
    return json_values(max_leaves=3).filter(lambda v: v is not None and not isinstance(v, kinds))


def _insert(draw: st.DrawFn, items: st.SearchStrategy[JSON], bad: Bad) -> Bad:
    """Put a bad item among valid ones in a list; its loc gains its index."""
    before, after = draw(st.lists(items, max_size=2)), draw(st.lists(items, max_size=2))
    return [*before, bad[0], *after], (len(before), *bad[1])


def _bad_json(draw: st.DrawFn) -> Bad:
    """A value that is not plain finite JSON, nested up to three levels deep."""
    kind = draw(st.sampled_from(("float", "integer", "type", "surrogate", "surrogate key")))
    value: JSON
    loc: Loc = ()
    if kind == "float":
        value = draw(st.sampled_from((float("nan"), float("inf"), float("-inf"))))
    elif kind == "integer":
        value = draw(st.sampled_from(_WIDE_INTEGERS))
    elif kind == "type":
        value = draw(st.sampled_from(_NOT_JSON))
    elif kind == "surrogate":
        value = draw(st.sampled_from(_LONE_SURROGATES))
    else:
        key = draw(st.sampled_from(_LONE_SURROGATES))
        value, loc = {key: draw(json_values(max_leaves=1))}, (key,)
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            key = draw(texts(max_size=3))
            value, loc = {key: value}, (key, *loc)
        else:
            value, loc = _insert(draw, json_values(max_leaves=2), (value, loc))
    return value, loc


def _bad_inputs(draw: st.DrawFn) -> Bad:
    kind = draw(st.sampled_from(("not an object", "bad value", "surrogate key", "surrogate")))
    key = draw(texts())
    if kind == "not an object":
        return draw(_not(dict)), ()
    if kind == "bad value":
        return {key: draw(_not(str) | st.none())}, (key,)
    surrogate = draw(st.sampled_from(_LONE_SURROGATES))
    if kind == "surrogate key":
        return {surrogate: "x"}, (surrogate,)
    return {key: surrogate}, (key,)


def _bad_tool_call(draw: st.DrawFn) -> Bad:
    kind = draw(st.sampled_from(("not an object", "no name", "bad name", "arguments", "key")))
    if kind == "not an object":
        return draw(_not(dict)), ()
    if kind == "no name":
        return {"arguments": draw(json_values(max_leaves=2))}, ("name",)
    if kind == "bad name":
        return {"name": draw(_not(str))}, ("name",)
    if kind == "arguments":
        arguments, loc = _bad_json(draw)
        return {"name": "f", "arguments": arguments}, ("arguments", *loc)
    key = draw(st.sampled_from(_UNKNOWN_KEYS))
    return {"name": "f", key: 1}, (key,)


def _bad_message(draw: st.DrawFn) -> Bad:
    message = dict(draw(messages()))
    kind = draw(st.sampled_from(("role", "no role", "content", "name", "tool_call", "key")))
    loc: Loc = ()
    if kind == "no role":
        del message["role"]
        return message, ("role",)
    if kind == "role":
        value = draw(st.sampled_from(_BAD_ROLES) | st.integers() | st.booleans() | st.none())
    elif kind == "content":
        value = draw(_not(str) | st.sampled_from(_LONE_SURROGATES))
    elif kind == "name":
        value = draw(_not(str))
    elif kind == "tool_call":
        value, loc = _bad_tool_call(draw)
    else:
        kind = draw(st.sampled_from(("text", "input", "tool_calls")))
        value = "x"
    message[kind] = value
    return message, (kind, *loc)


def _bad_messages(draw: st.DrawFn) -> Bad:
    if draw(st.integers(0, 4)) == 0:
        return draw(_not(list)), ()
    return _insert(draw, messages(), _bad_message(draw))


def _bad_target(draw: st.DrawFn) -> Bad:
    kind = draw(st.sampled_from(("not an object", "null", "bad value", "surrogate key")))
    key = draw(texts())
    if kind == "not an object":
        return draw(_not(dict)), ()
    if kind == "null":
        return {key: None}, (key,)
    if kind == "bad value":
        value, loc = _bad_json(draw)
        return {key: value}, (key, *loc)
    surrogate = draw(st.sampled_from(_LONE_SURROGATES))
    return {surrogate: 1}, (surrogate,)


_FIELD_ERRORS: dict[str, Callable[[st.DrawFn], Bad]] = {
    "inputs": _bad_inputs,
    "messages": _bad_messages,
    "target": _bad_target,
}


@st.composite
def invalid_datapoint_bodies(draw: st.DrawFn) -> tuple[dict[str, JSON], Loc]:
    """Datapoint objects with one bad field or unknown key, and the loc of that problem.

    The loc is relative to the object, e.g. ``("inputs", "q")``; prefix it with
    the object's place in a request (``("body",)`` or ``("body", i)``).
    """
    body = dict(draw(datapoint_bodies()))
    field = draw(st.sampled_from((*_FIELDS, "unknown key")))
    if field == "unknown key":
        key = draw(st.sampled_from(_UNKNOWN_KEYS))
        body[key] = draw(json_values(max_leaves=2))
        return body, (key,)
    bad, loc = _FIELD_ERRORS[field](draw)
    body[field] = bad
    return body, (field, *loc)


def _bad_log_ids(draw: st.DrawFn) -> Bad:
    kind = draw(st.sampled_from(("empty", "not a list", "bad id", "key")))
    if kind == "empty":
        return {"log_ids": []}, ("log_ids",)
    if kind == "not a list":
        return {"log_ids": draw(_not(list))}, ("log_ids",)
    if kind == "bad id":
        bad_id = draw(_not(str) | st.none() | st.sampled_from(_LONE_SURROGATES))
        log_ids, loc = _insert(draw, texts(max_size=6), (bad_id, ()))
        return {"log_ids": log_ids}, ("log_ids", *loc)
    key = draw(st.sampled_from((*_FIELDS, *_UNKNOWN_KEYS)))
    return {"log_ids": ["log_1"], key: {}}, (key,)


@st.composite
def invalid_requests(draw: st.DrawFn) -> tuple[JSON, Loc]:
    """Invalid create-datapoint bodies, each with a loc its ValidationError must report.

    Covers wrong types at every depth, unknown keys (``input``), unknown or
    missing roles, null target values, NaN and infinities, values that are not
    JSON, lone surrogates, empty lists and bodies that are neither objects nor
    lists. The loc is the full v4 path, starting with ``"body"``.
    """
    kind = draw(st.sampled_from(("not a body", "empty", "object", "in a list", "item", "logs")))
    bad: Bad
    if kind == "not a body":
        bad = draw(st.none() | st.booleans() | st.integers() | st.floats() | texts()), ()
    elif kind == "empty":
        bad = [], ()
    elif kind == "object":
        bad = draw(invalid_datapoint_bodies())
    elif kind == "in a list":
        bad = _insert(draw, datapoint_bodies(), draw(invalid_datapoint_bodies()))
    elif kind == "item":
        bad = _insert(draw, datapoint_bodies(), (draw(_not(dict, list)), ()))
    else:
        bad = _bad_log_ids(draw)
    return bad[0], ("body", *bad[1])


# -- invalid names -------------------------------------------------------------------------

_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_C0_AND_C1 = "".join(map(chr, (*range(0x01, 0x20), *range(0x7F, 0xA0))))  # NUL has its own error
_SPECIAL_SPACES = "\u00a0\u1680\u2000\u2005\u200a\u202f\u205f\u3000"
_LOOK_ALIKE_FORMS = ("\uff41", "\u212a", "\ufb01", "\u00b2", "\U0001d41a", "\u2460", "\u2126")
_REFUSED: dict[str, st.SearchStrategy[str]] = {
    "control_character": st.sampled_from([*_C0_AND_C1, "\u2028", "\u2029"]),
    "bidi_character": st.sampled_from(_BIDI_CONTROLS),
    "invisible_character": st.sampled_from(_BLANK_LETTERS)
    | st.characters(categories=["Cf"], exclude_characters=_BIDI_CONTROLS),
    "space_character": st.sampled_from(_SPECIAL_SPACES),
    "private_use_character": st.characters(categories=["Co"]),
    "unassigned_character": st.characters(codec="utf-8", categories=["Cn"]),
    "not_normalized": st.sampled_from(_LOOK_ALIKE_FORMS),
}
INVALID_NAME_KINDS: tuple[str, ...] = tuple(_REFUSED)
"""The ValidationError type of each kind of name :func:`invalid_names` draws."""


@st.composite
def invalid_names(draw: st.DrawFn) -> tuple[str, str, int]:
    """Names with one refused character, its error type and the index the error names.

    Each is a valid label (see :func:`labels`) with one character slipped in:
    a control character or line separator (``"control_character"``), a bidi
    control (``"bidi_character"``), an invisible format character or blank
    letter (``"invisible_character"``), a space other than U+0020
    (``"space_character"``), a private-use or unassigned code point, or a
    form NFKC would change (``"not_normalized"``: a fullwidth letter, a
    ligature, an ``e`` with a separate combining accent). Every name field
    (names, project ids, version names, tags, keys) must refuse it.

    Added in 0.2.
    """
    valid = draw(labels(max_size=6))
    kind = draw(st.sampled_from(INVALID_NAME_KINDS))
    index = draw(st.integers(0, len(valid)))
    if kind == "not_normalized" and draw(st.booleans()):
        # an accent NFKC composes with the e before it: the e is still normal, the pair is not
        return valid[:index] + "e\u0301" + valid[index:], kind, index + 1
    return valid[:index] + draw(_REFUSED[kind]) + valid[index:], kind, index
