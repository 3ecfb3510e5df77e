"""The shipped Hypothesis strategies generate what they claim."""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from datasetlog import DatapointRequest, LogsRequest, ValidationError
from datasetlog.testing.strategies import (
    INVALID_NAME_KINDS,
    ROLES,
    create_requests,
    datapoint_bodies,
    field_texts,
    invalid_datapoint_bodies,
    invalid_names,
    invalid_requests,
    json_values,
    labels,
    messages,
    names,
    target_values,
    texts,
)
from datasetlog.validation.fields import description_problems, label_problems, text_problems
from datasetlog.validation.requests import parse_create_request

T = TypeVar("T")
Loc = tuple[str | int, ...]
LOG_IDS = ["log_1", "log_2"]


def some(strategy: st.SearchStrategy[T], condition: Callable[[T], bool]) -> T:
    """An example of ``strategy`` meeting ``condition``; fails if none is found."""
    search = settings(max_examples=2000, database=None, phases=[Phase.generate])
    return find(strategy, condition, settings=search)


def is_json(value: Any) -> bool:
    """Whether ``value`` survives strict JSON encoding unchanged."""
    return bool(json.loads(json.dumps(value, allow_nan=False)) == value)


def rejected_at(body: Any) -> list[Loc]:
    """The locs a body's ValidationError names."""
    with pytest.raises(ValidationError) as error:
        parse_create_request(body)
    return [d.loc for d in error.value.details]


# -- valid data ----------------------------------------------------------------------------


@given(value=json_values())
def test_json_values_are_plain_json(value: Any) -> None:
    """``json_values`` yields finite, 64-bit, strictly encodable JSON."""
    assert is_json(value)


@given(text=texts())
def test_texts_are_valid_unicode(text: str) -> None:
    """``texts`` never yields lone surrogates."""
    assert text.encode("utf-8").decode("utf-8") == text


@given(value=target_values())
def test_target_values_are_never_null(value: Any) -> None:
    """A target value is any JSON but a top-level null."""
    assert value is not None
    assert is_json(value)


@given(message=messages())
def test_messages_have_a_known_role(message: dict[str, Any]) -> None:
    """Every message has one of the four v4 roles and only v4 fields."""
    assert message["role"] in ROLES
    assert set(message) <= {"role", "content", "name", "tool_call"}


@given(body=datapoint_bodies())
def test_datapoint_bodies_are_valid(body: dict[str, Any]) -> None:
    """Every datapoint body passes validation as one datapoint and is plain JSON."""
    [request] = parse_create_request(body)  # type: ignore[misc]
    assert isinstance(request, DatapointRequest)
    assert is_json(body)


@given(body=create_requests(LOG_IDS))
def test_create_requests_are_valid(body: Any) -> None:
    """Every create request passes validation; log forms use only the given ids."""
    request = parse_create_request(body)
    if isinstance(request, LogsRequest):
        assert set(request.log_ids) <= set(LOG_IDS)
    else:
        assert len(request) >= 1


@given(body=create_requests(st.just("log_x")))
def test_create_requests_take_a_strategy_of_ids(body: Any) -> None:
    """Log ids may come from a strategy."""
    request = parse_create_request(body)
    if isinstance(request, LogsRequest):
        assert set(request.log_ids) == {"log_x"}


@given(body=create_requests())
def test_create_requests_without_ids_have_no_log_form(body: Any) -> None:
    """Without log ids, no ``{"log_ids": ...}`` body is drawn."""
    assert not isinstance(parse_create_request(body), LogsRequest)


@pytest.mark.parametrize(
    ("strategy", "condition"),
    [
        (datapoint_bodies(), lambda b: b == {}),
        (datapoint_bodies(), lambda b: set(b) == {"inputs", "messages", "target"}),
        (messages(), lambda m: "arguments" in m.get("tool_call", {})),
        (messages(), lambda m: "name" in m and m["name"] is None),
        (
            target_values(),
            lambda v: isinstance(v, dict) and any(isinstance(x, list) for x in v.values()),
        ),
        (json_values(), lambda v: isinstance(v, float) and not v.is_integer()),
        (create_requests(LOG_IDS), lambda b: isinstance(b, list) and len(b) > 1),
        (create_requests(LOG_IDS), lambda b: isinstance(b, dict) and "log_ids" in b),
    ],
    ids=[
        "empty object",
        "every field",
        "tool call arguments",
        "null name",
        "nested target",
        "fractional float",
        "list form",
        "log form",
    ],
)
def test_valid_strategies_reach_every_form(
    strategy: st.SearchStrategy[Any], condition: Callable[[Any], bool]
) -> None:
    """Each valid strategy can produce the notable shapes it promises."""
    assert condition(some(strategy, condition))


# -- invalid data --------------------------------------------------------------------------


@given(bad=invalid_requests())
def test_invalid_requests_fail_at_their_loc(bad: tuple[Any, Loc]) -> None:
    """Every invalid request is rejected, naming its paired loc under "body"."""
    body, loc = bad
    assert loc[0] == "body"
    assert loc in rejected_at(body)


@given(bad=invalid_datapoint_bodies(), index=st.integers(0, 2))
def test_invalid_datapoint_bodies_fail_at_their_loc(bad: tuple[Any, Loc], index: int) -> None:
    """An invalid datapoint object fails at its loc, alone or inside a list."""
    body, loc = bad
    assert ("body", *loc) in rejected_at(body)
    assert ("body", index, *loc) in rejected_at([{}] * index + [body])


@pytest.mark.parametrize(
    "condition",
    [
        lambda bad: bad[1] == ("body",) and not isinstance(bad[0], list),
        lambda bad: bad[0] == [],
        lambda bad: "role" in bad[1],
        lambda bad: "input" in bad[1],
        lambda bad: "log_ids" in bad[1],
        lambda bad: len(bad[1]) >= 6,
        lambda bad: any(isinstance(s, str) and "\ud800" in s for s in bad[1]),
        lambda bad: any(isinstance(v, float) and not math.isfinite(v) for v in _leaves(bad[0])),
        lambda bad: (
            isinstance(bad[0], dict)
            and isinstance(bad[0].get("target"), dict)
            and None in bad[0]["target"].values()
        ),
    ],
    ids=[
        "not an object",
        "empty list",
        "bad role",
        "unknown key input",
        "bad log ids",
        "deep loc",
        "lone surrogate",
        "NaN or infinity",
        "null target",
    ],
)
def test_invalid_requests_reach_every_kind(condition: Callable[[tuple[Any, Loc]], bool]) -> None:
    """``invalid_requests`` produces each kind of mistake it promises."""
    assert condition(some(invalid_requests(), condition))


def _leaves(value: Any) -> list[Any]:
    """Every scalar inside nested lists and dicts."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


# -- names ---------------------------------------------------------------------------------


@given(text=field_texts())
def test_field_texts_are_valid_descriptions_and_valid_names_when_not_blank(text: str) -> None:
    """``field_texts`` is what every text field takes: any description, and a name unless blank."""
    assert description_problems(text, ("description",)) == []
    if text.strip():
        assert text_problems(text, ("name",)) == []


@given(name=names())
def test_names_are_valid_names(name: str) -> None:
    """Every drawn name passes the name rules: printable, NFKC, not blank."""
    assert text_problems(name, ("name",)) == []


@given(label=labels())
def test_labels_are_valid_version_names_and_tags(label: str) -> None:
    """Every drawn label passes the version name and tag rules."""
    assert label_problems(label, ("tag",)) == []


@given(bad=invalid_names())
def test_invalid_names_fail_with_their_type_and_index(bad: tuple[str, str, int]) -> None:
    """Every invalid name is refused as a name and as a label, of its type, at its index."""
    name, kind, index = bad
    for problems in (text_problems(name, ("name",)), label_problems(name, ("tag",))):
        [detail] = problems
        assert detail.type == kind
        assert f"at index {index}" in detail.msg


@pytest.mark.parametrize("kind", INVALID_NAME_KINDS)
def test_invalid_names_reach_every_kind(kind: str) -> None:
    """``invalid_names`` draws each kind of refused name it promises."""
    assert some(invalid_names(), lambda bad: bad[1] == kind)[1] == kind


@pytest.mark.parametrize(
    ("strategy", "condition"),
    [
        (names(), lambda n: not n.isascii()),
        (names(), lambda n: " " in n.strip()),
        (labels(), lambda n: any(unicodedata.category(c) == "Mn" for c in n)),
        (field_texts(), lambda t: t == ""),
        (invalid_names(), lambda bad: "\u0301" in bad[0]),
    ],
    ids=["non-ASCII name", "inner space", "combining mark", "empty text", "decomposed accent"],
)
def test_name_strategies_reach_every_form(
    strategy: st.SearchStrategy[Any], condition: Callable[[Any], bool]
) -> None:
    """The name strategies produce the notable shapes they promise."""
    assert condition(some(strategy, condition))
