"""Bad requests: a ValidationError naming every problem and where, and nothing written."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datasetlog import DatasetLog, ValidationError
from datasetlog.testing.strategies import (
    datapoint_bodies,
    invalid_datapoint_bodies,
    invalid_requests,
)
from datasetlog.validation.limits import (
    MAX_DATAPOINTS_PER_REQUEST,
    MAX_JSON_DEPTH,
    MAX_STRING_LENGTH,
)
from datasetlog.validation.requests import parse_create_request

Loc = tuple[str | int, ...]
Shared = tuple[DatasetLog, str, str]
FIELDS = ("inputs", "messages", "target")


@pytest.fixture(scope="module")
def shared() -> Iterator[Shared]:
    """One log, with a dataset holding one datapoint, reused by every example of a module."""
    with DatasetLog(":memory:") as db:
        ds = db.create_dataset(project_id="pr_1", name="qa")
        [dp] = db.create_datapoint(ds.id, {"inputs": {"q": "1"}})
        yield db, ds.id, dp.id


def state(db: DatasetLog, dataset_id: str) -> tuple[int, list[Any]]:
    """The commit count and the dataset's versions, to show nothing changed."""
    return len(list(db.store.read_all())), db.list_versions(dataset_id)


def details_of(body: Any) -> list[tuple[Loc, str]]:
    """Parse a create body that must be invalid; return its (loc, type) pairs."""
    with pytest.raises(ValidationError) as error:
        parse_create_request(body)
    return [(d.loc, d.type) for d in error.value.details]


def locs_of(body: Any) -> list[Loc]:
    """The locs of the ValidationError a create body raises."""
    return [loc for loc, _ in details_of(body)]


# -- properties ----------------------------------------------------------------------------


@given(bad=invalid_requests())
def test_invalid_create_fails_at_its_loc_and_writes_nothing(
    shared: Shared, bad: tuple[Any, Loc]
) -> None:
    """Every invalid body is a ValidationError that names its loc, and nothing changes."""
    db, dataset_id, _ = shared
    body, loc = bad
    before = state(db, dataset_id)
    with pytest.raises(ValidationError) as error:
        db.create_datapoint(dataset_id, body)
    assert loc in [d.loc for d in error.value.details]
    assert state(db, dataset_id) == before


@given(bad=invalid_requests())
def test_every_detail_has_loc_msg_and_type(bad: tuple[Any, Loc]) -> None:
    """Each detail has a loc under "body", a readable msg and a snake_case type."""
    with pytest.raises(ValidationError) as error:
        parse_create_request(bad[0])
    assert error.value.details
    for detail in error.value.details:
        assert detail.loc[0] == "body"
        assert all(type(step) in (str, int) for step in detail.loc)
        assert isinstance(detail.msg, str)
        assert detail.msg
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", detail.type)


@given(bads=st.lists(invalid_datapoint_bodies(), min_size=2, max_size=4), good=datapoint_bodies())
def test_every_bad_item_of_a_list_is_reported(bads: list[tuple[Any, Loc]], good: Any) -> None:
    """In a list, every invalid datapoint is reported at its own index."""
    reported = locs_of([good, *(item for item, _ in bads)])
    for index, (_, loc) in enumerate(bads, start=1):
        assert ("body", index, *loc) in reported


@given(bad=invalid_datapoint_bodies().filter(lambda pair: pair[1][0] in FIELDS))
def test_invalid_update_fails_at_its_loc_and_writes_nothing(
    shared: Shared, bad: tuple[Any, Loc]
) -> None:
    """An update with a bad field is a ValidationError at that field's loc; nothing changes."""
    db, dataset_id, datapoint_id = shared
    body, loc = bad
    fields = {key: body[key] for key in FIELDS if key in body}
    before = state(db, dataset_id)
    with pytest.raises(ValidationError) as error:
        db.update_datapoint(datapoint_id, **fields)
    assert ("body", *loc) in [d.loc for d in error.value.details]
    assert state(db, dataset_id) == before


@given(body=datapoint_bodies())
def test_dict_subclasses_validate_like_dicts(body: dict[str, Any]) -> None:
    """A valid body gives the same request as a plain dict or as a dict subclass.

    Plain dicts may take the fast path, subclasses always take cattrs' detailed
    one: both must make the same objects, down to each message's field dict.
    """
    detailed_requests = parse_create_request(OrderedDict(body))
    plain_requests = parse_create_request(body)
    assert isinstance(plain_requests, list)
    assert isinstance(detailed_requests, list)
    [plain], [detailed] = plain_requests, detailed_requests
    assert plain == detailed
    messages = zip(plain.messages or [], detailed.messages or [], strict=True)
    assert all(list(vars(p).items()) == list(vars(d).items()) for p, d in messages)


# -- examples ------------------------------------------------------------------------------


def test_every_problem_of_one_datapoint_is_reported() -> None:
    """Bad inputs, messages and target of one datapoint are all reported together."""
    body = {
        "inputs": {"q": 1},
        "messages": [{"role": "bot"}, {"content": "x"}],
        "target": {"a": None, "b": float("nan")},
        "input": {},
    }
    assert set(details_of(body)) == {
        (("body", "inputs", "q"), "string_type"),
        (("body", "messages", 0, "role"), "enum"),
        (("body", "messages", 1, "role"), "missing"),
        (("body", "target", "a"), "null_target"),
        (("body", "target", "b"), "finite_number"),
        (("body", "input"), "extra_forbidden"),
    }


def test_readme_example_locs() -> None:
    """The README's example: a wrong type and an unknown key, at their list positions."""
    assert locs_of([{"inputs": {"q": 1}}, {"input": {}}]) == [
        ("body", 0, "inputs", "q"),
        ("body", 1, "input"),
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("text", [(("body",), "body_type")]),
        (None, [(("body",), "body_type")]),
        ([], [(("body",), "empty_list")]),
        ({"log_ids": []}, [(("body", "log_ids"), "empty_list")]),
        ({"log_ids": "log_1"}, [(("body", "log_ids"), "list_type")]),
        ({"log_ids": ["a", 2]}, [(("body", "log_ids", 1), "string_type")]),
        ({"log_ids": ["a"], "inputs": {}}, [(("body", "inputs"), "extra_forbidden")]),
        ({"target": []}, [(("body", "target"), "dict_type")]),
        ({"target": {"a": (1,)}}, [(("body", "target", "a"), "json_type")]),
        ({"target": {"a": [float("inf")]}}, [(("body", "target", "a", 0), "finite_number")]),
        ({"inputs": {"\ud800": "x"}}, [(("body", "inputs", "\ud800"), "string_unicode")]),
        (
            {"messages": [{"role": "user", "tool_call": {}}]},
            [(("body", "messages", 0, "tool_call", "name"), "missing")],
        ),
    ],
    ids=lambda value: repr(value)[:40],
)
def test_specific_errors(body: Any, expected: list[tuple[Loc, str]]) -> None:
    """Typical mistakes are reported with their loc and type."""
    assert details_of(body) == expected


def test_too_many_datapoints_is_invalid() -> None:
    """More than MAX_DATAPOINTS_PER_REQUEST datapoints is a ``too_many`` error."""
    assert details_of([{}] * (MAX_DATAPOINTS_PER_REQUEST + 1)) == [(("body",), "too_many")]


def test_too_many_log_ids_is_invalid() -> None:
    """More than MAX_DATAPOINTS_PER_REQUEST log ids is a ``too_many`` error."""
    body = {"log_ids": ["log_1"] * (MAX_DATAPOINTS_PER_REQUEST + 1)}
    assert details_of(body) == [(("body", "log_ids"), "too_many")]


def test_too_long_string_is_invalid() -> None:
    """A string longer than MAX_STRING_LENGTH is a ``too_long`` error."""
    body = {"target": {"a": "x" * (MAX_STRING_LENGTH + 1)}}
    assert details_of(body) == [(("body", "target", "a"), "too_long")]


def test_too_long_inputs_key_is_invalid() -> None:
    """An inputs key longer than MAX_STRING_LENGTH is a ``too_long`` error too."""
    key = "k" * (MAX_STRING_LENGTH + 1)
    [(loc, kind)] = details_of({"inputs": {key: "v"}})
    assert (loc == ("body", "inputs", key), kind) == (True, "too_long")


def test_nesting_at_the_limit_is_valid() -> None:
    """A target value nested MAX_JSON_DEPTH levels deep is accepted."""
    value: Any = 1
    for _ in range(MAX_JSON_DEPTH):
        value = [value]
    assert parse_create_request({"target": {"a": value}})


def test_nesting_beyond_the_limit_is_invalid() -> None:
    """A target value nested deeper than MAX_JSON_DEPTH is a ``too_deep`` error."""
    value: Any = 1
    for _ in range(MAX_JSON_DEPTH + 1):
        value = [value]
    [(loc, kind)] = details_of({"target": {"a": value}})
    assert kind == "too_deep"
    assert loc[:3] == ("body", "target", "a")


def test_integer_beyond_64_bits_is_invalid() -> None:
    """An integer the store cannot encode is a ValidationError, not an encoder crash."""
    assert locs_of({"target": {"n": 2**70}}) == [("body", "target", "n")]


def test_non_string_keys_are_reported() -> None:
    """Keys that are not strings are reported, even mixed with unknown string keys."""
    assert len(details_of({1: "x", "bogus": 2})) == 2


def test_unhashable_role_is_an_enum_error() -> None:
    """A role that is a list is reported as a bad role, not raised as a TypeError."""
    body = {"messages": [{"role": ["user"]}]}
    assert details_of(body) == [(("body", "messages", 0, "role"), "enum")]


def test_non_object_message_is_a_dict_type_error() -> None:
    """A message that is not an object is a ``dict_type`` error, like a non-object datapoint."""
    body = {"messages": [None]}
    assert details_of(body) == [(("body", "messages", 0), "dict_type")]
