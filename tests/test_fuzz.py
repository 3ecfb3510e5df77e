"""Hostile input at every public entry point of DatasetLog.

Every call with malformed input must raise ValidationError (NotFoundError for an
unknown but well-formed id) and nothing else, and must leave the store exactly
as it was. Inputs: wrong types at every depth, strings over MAX_STRING_LENGTH,
nesting far past MAX_JSON_DEPTH, lone surrogates, NaN and infinities, SQL-looking
keys, 10,000-item lists, bytes and arbitrary objects.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datasetlog import (
    ChatMessage,
    DatapointRequest,
    DatasetLog,
    DatasetLogError,
    NotFoundError,
    ValidationError,
)
from datasetlog.readmodels.schema import TABLES, Schema
from datasetlog.testing.strategies import datapoint_bodies, invalid_requests
from datasetlog.validation.limits import (
    MAX_DATAPOINTS_PER_REQUEST,
    MAX_JSON_DEPTH,
    MAX_STRING_LENGTH,
)

SQL = "'; DROP TABLE dl_events; --"
HUGE = "x" * (MAX_STRING_LENGTH + 1)  # built once: 10 MB
LONE_SURROGATES = ("\ud800", "a\udfffb", "\udc00" * 3)


def _deep(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels):
        value = [value]
    return value


DEEP = _deep(10_000)  # far past MAX_JSON_DEPTH, and past Python's recursion limit


# Strategies build the giants on each draw: st.just(giant) would be repr()ed by Hypothesis.
def _huge() -> str:
    return HUGE


def _deep_list() -> list[Any]:
    return DEEP


def _long_list() -> list[int]:
    return [0] * 10_000


class Opaque:
    """An arbitrary object that is no JSON value."""


@attrs.frozen
class World:
    """A store with a few datasets, and the ids in it."""

    db: DatasetLog
    dataset: str
    datapoints: tuple[str, ...]
    gone: str  # a deleted dataset

    def known(self) -> set[str]:
        return {self.dataset, self.gone, *self.datapoints}


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """One in-memory store shared by every example of this module (none may change it)."""
    with DatasetLog(":memory:") as db:
        dataset = db.create_dataset(project_id="pr", name="main").id
        added = db.create_datapoint(dataset, [{"inputs": {"q": "1"}}, {"target": {"a": 1}}])
        db.update_datapoint(added[0].id, target={"b": [1, 2]})
        gone = db.create_dataset(project_id="pr", name="gone").id
        db.delete_dataset(gone)
        yield World(db, dataset, tuple(d.id for d in added), gone)


def _fingerprint(db: DatasetLog) -> tuple[object, ...]:
    """Everything stored: commit hashes (which cover every event) and every read-model row."""
    with db.store.reading() as conn:
        hashes = conn.execute("SELECT hash FROM dl_commits ORDER BY position").fetchall()
        events = conn.execute("SELECT count(*), max(position) FROM dl_events").fetchone()
        models = [list(Schema.dump(conn, table)) for table in TABLES]
    return tuple(hashes), tuple(events), tuple(models)


def _rejects(
    world: World, call: Callable[[], object], error: type[DatasetLogError] = ValidationError
) -> DatasetLogError:
    """Run a call (draining what it returns); it must raise ``error`` and change nothing."""

    def drained() -> None:
        result = call()
        if isinstance(result, Iterator):
            list(itertools.islice(result, 10))

    before = _fingerprint(world.db)
    with pytest.raises(error) as raised:
        drained()
    assert _fingerprint(world.db) == before
    return raised.value


# -- strategies ----------------------------------------------------------------------------


def wrong_types() -> st.SearchStrategy[Any]:
    """Values of every type but ``str`` (and ``None``), including huge and deep ones."""
    return st.one_of(
        st.booleans(),
        st.integers(),
        st.floats(),
        st.binary(max_size=8),
        st.complex_numbers(max_magnitude=10),
        st.tuples(st.integers()),
        st.frozensets(st.integers(), max_size=2),
        st.builds(object),
        st.builds(Opaque),
        st.lists(st.integers(), min_size=1, max_size=3),
        st.builds(_long_list),
        st.builds(_deep_list),
        st.dictionaries(st.text(max_size=3), st.integers(), min_size=1, max_size=2),
    )


def bad_strings() -> st.SearchStrategy[str]:
    """Strings no field accepts: too long, or holding a lone surrogate."""
    return st.one_of(st.builds(_huge), st.sampled_from(LONE_SURROGATES))


def bad_text() -> st.SearchStrategy[Any]:
    """What no text field accepts: a wrong type or a bad string."""
    return st.one_of(wrong_types(), bad_strings())


def bad_json() -> st.SearchStrategy[Any]:
    """A value inside a target that is no plain, finite JSON, maybe nested in JSON."""
    leaf = st.one_of(
        st.sampled_from([float("nan"), float("inf"), float("-inf")]),
        st.binary(max_size=4),
        st.tuples(st.integers()),
        st.frozensets(st.integers(), max_size=2),
        st.builds(Opaque),
        st.complex_numbers(max_magnitude=10),
        st.builds(_deep_list),
        st.builds(_deep, st.just(MAX_JSON_DEPTH + 1)),
        bad_strings(),
        st.dictionaries(
            st.one_of(st.integers(), st.sampled_from(LONE_SURROGATES)), st.none(), min_size=1
        ),
    )
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.builds(lambda v: [1, "a", v], inner), st.builds(lambda v: {SQL: v}, inner)
        ),
        max_leaves=3,
    )


def bad_inputs() -> st.SearchStrategy[Any]:
    return st.one_of(
        wrong_types().filter(lambda v: not isinstance(v, dict)),
        st.builds(lambda v: {SQL: v}, st.one_of(st.none(), bad_text())),
        st.builds(
            lambda k: {k: "x"},
            st.one_of(
                st.integers(),
                st.tuples(st.integers()),
                st.sampled_from(LONE_SURROGATES),
                st.builds(_huge),
            ),
        ),
    )


def bad_target() -> st.SearchStrategy[Any]:
    return st.one_of(
        wrong_types().filter(lambda v: not isinstance(v, dict)),
        st.just({"k": None}),
        st.builds(lambda v: {"k": v}, bad_json()),
        st.builds(lambda k: {k: 1}, st.one_of(st.integers(), st.none(), bad_strings())),
    )


def bad_messages() -> st.SearchStrategy[Any]:
    bad_message = st.one_of(
        wrong_types().filter(lambda v: not isinstance(v, dict)),
        st.builds(
            lambda r: {"role": r},
            st.one_of(st.none(), st.sampled_from(["admin", SQL]), bad_text(), st.just(["user"])),
        ),
        st.builds(lambda c: {"role": "user", "content": c}, bad_text()),
        st.builds(lambda n: {"role": "user", "name": n}, bad_text()),
        st.just({"role": "user", SQL: "x"}),
        st.builds(
            lambda a: {"role": "tool", "tool_call": {"name": "f", "arguments": a}}, bad_json()
        ),
        st.builds(lambda t: {"role": "tool", "tool_call": t}, st.one_of(bad_text(), st.just({}))),
    )
    placed = st.builds(lambda m, n: [{"role": "user"}] * n + [m], bad_message, st.integers(0, 3))
    return st.one_of(wrong_types().filter(lambda v: not isinstance(v, list)), placed)


def hostile_bodies() -> st.SearchStrategy[Any]:
    """Create-datapoint bodies with one hostile part, as plain data or request objects."""
    field = st.one_of(
        st.builds(lambda v: {"inputs": v}, bad_inputs()),
        st.builds(lambda v: {"target": v}, bad_target()),
        st.builds(lambda v: {"messages": v}, bad_messages()),
        st.builds(lambda v: {SQL: v}, st.text(max_size=3)),
        st.builds(lambda v: {"log_ids": v}, st.one_of(st.just([]), bad_text())),
    )
    return st.one_of(
        wrong_types().filter(lambda v: not isinstance(v, dict | list)),
        bad_strings(),
        st.just([]),
        field,
        st.builds(lambda good, bad: [*good, bad], st.lists(datapoint_bodies(), max_size=3), field),
        st.builds(lambda v: DatapointRequest(inputs=v), bad_inputs()),
        st.builds(lambda v: DatapointRequest(target=v), bad_target()),
    )


def unknown_ids() -> st.SearchStrategy[str]:
    """Well-formed ids (non-blank strings within the length limit, no NUL) that name nothing."""
    characters = st.characters(codec="utf-8", exclude_characters="\x00")
    return st.one_of(
        st.text(characters, min_size=1, max_size=40).filter(str.strip),
        st.sampled_from([SQL, "evts_" + "a" * 24, "dp_" + "a" * 24, "%", "*"]),
    )


FUZZ = settings(deadline=None)
# A failing example holding a 10 MB string makes Hypothesis warn while it prints it.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

# -- every entry point rejects hostile input -----------------------------------------------


@FUZZ
@given(field=st.sampled_from(["project_id", "name", "description"]), bad=bad_text())
def test_create_dataset_rejects_hostile_fields(world: World, field: str, bad: Any) -> None:
    """create_dataset with one hostile field raises ValidationError and writes nothing."""
    fields: dict[str, Any] = {"project_id": "pr", "name": "new", "description": None}
    fields[field] = bad
    _rejects(world, lambda: world.db.create_dataset(**fields))


@FUZZ
@given(field=st.sampled_from(["project_id", "name"]), blank=st.sampled_from(["", " ", "\t\n"]))
def test_create_dataset_rejects_blank_names(world: World, field: str, blank: str) -> None:
    """create_dataset with a blank project id or name raises ValidationError."""
    fields = {"project_id": "pr", "name": "new", field: blank}
    _rejects(world, lambda: world.db.create_dataset(**fields))


@FUZZ
@given(field=st.sampled_from(["name", "description", "neither"]), bad=bad_text())
def test_update_dataset_rejects_hostile_fields(world: World, field: str, bad: Any) -> None:
    """update_dataset with a hostile field, or none given, raises ValidationError."""
    fields = {} if field == "neither" else {field: bad}
    _rejects(world, lambda: world.db.update_dataset(world.dataset, **fields))


@FUZZ
@given(case=invalid_requests())
def test_create_datapoint_rejects_invalid_bodies(world: World, case: tuple[Any, Any]) -> None:
    """Each invalid body of datasetlog.strategies raises ValidationError naming its loc."""
    body, loc = case
    error = _rejects(world, lambda: world.db.create_datapoint(world.dataset, body))
    assert isinstance(error, ValidationError)
    assert loc in [detail.loc for detail in error.details]


@FUZZ
@given(body=hostile_bodies())
def test_create_datapoint_rejects_hostile_bodies(world: World, body: Any) -> None:
    """A body with a hostile part anywhere raises ValidationError and writes nothing."""
    _rejects(world, lambda: world.db.create_datapoint(world.dataset, body))


@FUZZ
@given(key=st.one_of(bad_text(), st.just("")))
def test_create_datapoint_rejects_hostile_idempotency_keys(world: World, key: Any) -> None:
    """A hostile idempotency key raises ValidationError and writes nothing."""
    _rejects(world, lambda: world.db.create_datapoint(world.dataset, {}, idempotency_key=key))


@FUZZ
@given(
    fields=st.one_of(
        st.just({}),
        st.builds(lambda v: {"inputs": v}, bad_inputs()),
        st.builds(lambda v: {"target": v}, bad_target()),
        st.builds(lambda v: {"messages": v}, bad_messages()),
    )
)
def test_update_datapoint_rejects_hostile_fields(world: World, fields: dict[str, Any]) -> None:
    """update_datapoint with a hostile field, or none given, raises ValidationError."""
    _rejects(world, lambda: world.db.update_datapoint(world.datapoints[0], **fields))


@FUZZ
@given(
    ids=st.one_of(
        st.just([]),
        st.sampled_from([b"dp", {"dp_x": 1}, {"dp_x"}, 5, None, Opaque(), "dp_x"]),
        st.builds(
            lambda good, bad: [*good, bad],
            st.lists(st.text(max_size=5), max_size=2, unique=True),
            st.one_of(st.integers(), st.none(), st.floats(), st.binary(max_size=3), st.tuples()),
        ),
        st.builds(lambda v: [v, v], st.text(max_size=5)),
    )
)
def test_delete_datapoints_rejects_hostile_lists(world: World, ids: Any) -> None:
    """delete_datapoints with a non-list, an empty list, a non-string or a repeat is rejected."""
    _rejects(world, lambda: world.db.delete_datapoints(ids))


def _not_int() -> st.SearchStrategy[Any]:
    return wrong_types().filter(lambda v: type(v) is not int)


@FUZZ
@given(
    paging=st.one_of(
        st.builds(lambda v: {"page": v}, st.one_of(_not_int(), st.integers(max_value=0))),
        st.builds(
            lambda v: {"size": v},
            st.one_of(_not_int(), st.integers(max_value=0), st.integers(min_value=1001)),
        ),
        st.builds(lambda v: {"version": v}, _not_int()),
    )
)
def test_list_datapoints_rejects_hostile_paging(world: World, paging: dict[str, Any]) -> None:
    """list_datapoints with a hostile page, size or version raises ValidationError."""
    _rejects(world, lambda: world.db.list_datapoints(world.dataset, **paging))


@FUZZ
@given(
    read=st.sampled_from(["get_version", "iter_datapoints", "iter_datapoints_v4"]),
    bad=_not_int(),
)
def test_version_readers_reject_hostile_versions(world: World, read: str, bad: Any) -> None:
    """Reading a version given as neither a number nor an id raises ValidationError."""
    method = getattr(world.db, read)
    call = (
        (lambda: method(world.dataset, bad))
        if read == "get_version"
        else (lambda: method(world.dataset, version=bad))
    )
    _rejects(world, call)


def _by_dataset(db: DatasetLog, dataset_id: str) -> list[Callable[[], object]]:
    return [
        lambda: db.get_dataset(dataset_id),
        lambda: db.update_dataset(dataset_id, name="renamed"),
        lambda: db.delete_dataset(dataset_id),
        lambda: db.create_datapoint(dataset_id, {}),
        lambda: db.list_versions(dataset_id),
        lambda: db.get_version(dataset_id, 0),
        lambda: db.list_datapoints(dataset_id),
        lambda: db.iter_datapoints(dataset_id),
        lambda: db.iter_datapoints_v4(dataset_id),
    ]


def _by_datapoint(db: DatasetLog, datapoint_id: str) -> list[Callable[[], object]]:
    return [
        lambda: db.get_datapoint(datapoint_id),
        lambda: db.update_datapoint(datapoint_id, target={"a": 1}),
        lambda: db.delete_datapoints([datapoint_id]),
    ]


@FUZZ
@given(data=st.data(), unknown=unknown_ids())
def test_unknown_ids_are_not_found(world: World, data: st.DataObject, unknown: str) -> None:
    """Any well-formed id that names nothing raises NotFoundError and writes nothing."""
    if unknown in world.known():
        return
    calls = _by_dataset(world.db, unknown) + _by_datapoint(world.db, unknown)
    _rejects(world, data.draw(st.sampled_from(calls)), NotFoundError)


@FUZZ
@given(data=st.data())
def test_deleted_dataset_is_not_found(world: World, data: st.DataObject) -> None:
    """Every call naming a deleted dataset raises NotFoundError and writes nothing."""
    _rejects(world, data.draw(st.sampled_from(_by_dataset(world.db, world.gone))), NotFoundError)


@FUZZ
@given(
    version=st.one_of(
        st.integers(min_value=3, max_value=2**63 - 1),
        st.integers(min_value=-(2**63), max_value=-1),
        # A string of ASCII digits reads as a version number; "latest" is the latest.
        unknown_ids().filter(lambda ref: not (ref.isascii() and ref.isdigit()) or int(ref) > 2),
    ).filter(lambda ref: ref != "latest")
)
def test_unknown_versions_are_not_found(world: World, version: int | str) -> None:
    """A version number, id, name or tag the dataset never had raises NotFoundError."""
    _rejects(world, lambda: world.db.get_version(world.dataset, version), NotFoundError)


# -- the extremes, once each ---------------------------------------------------------------


def test_more_datapoints_than_the_limit_are_too_many(world: World) -> None:
    """A request of MAX_DATAPOINTS_PER_REQUEST + 1 datapoints is rejected as too_many."""
    body: list[dict[str, Any]] = [{}] * (MAX_DATAPOINTS_PER_REQUEST + 1)
    assert len(body) == 100_001
    error = _rejects(world, lambda: world.db.create_datapoint(world.dataset, body))
    assert isinstance(error, ValidationError)
    assert [(d.loc, d.type) for d in error.details] == [(("body",), "too_many")]


def test_one_bad_item_in_ten_thousand_is_named(world: World) -> None:
    """In a 10,000-item request, the one bad item is named by its index."""
    body: list[Any] = [{"inputs": {"q": "ok"}}] * 9_999 + [{"inputs": {"q": b"bytes"}}]
    error = _rejects(world, lambda: world.db.create_datapoint(world.dataset, body))
    assert isinstance(error, ValidationError)
    assert [(d.loc, d.type) for d in error.details] == [
        (("body", 9_999, "inputs", "q"), "string_type")
    ]


@pytest.mark.parametrize("where", ["target", "arguments"])
def test_ten_thousand_levels_of_nesting_are_too_deep(world: World, where: str) -> None:
    """10,000 nested lists in a target or tool-call arguments are rejected as too_deep."""
    body: dict[str, Any] = (
        {"target": {"t": DEEP}}
        if where == "target"
        else {"messages": [{"role": "tool", "tool_call": {"name": "f", "arguments": DEEP}}]}
    )
    error = _rejects(world, lambda: world.db.create_datapoint(world.dataset, body))
    assert isinstance(error, ValidationError)
    assert [d.type for d in error.details] == ["too_deep"]


def test_string_over_the_limit_is_too_long(world: World) -> None:
    """A string one character over MAX_STRING_LENGTH is rejected as too_long."""
    error = _rejects(
        world, lambda: world.db.create_datapoint(world.dataset, {"inputs": {"q": HUGE}})
    )
    assert isinstance(error, ValidationError)
    assert [(d.loc, d.type) for d in error.details] == [(("body", "inputs", "q"), "too_long")]


def test_sql_looking_text_is_stored_verbatim() -> None:
    """SQL-looking names, keys and values are data: stored and read back as given."""
    with DatasetLog(":memory:") as db:
        dataset = db.create_dataset(project_id=SQL, name=SQL, description=SQL)
        body = {
            "inputs": {SQL: SQL},
            "target": {SQL: [SQL, {SQL: SQL}]},
            "messages": [{"role": "user", "content": SQL, "name": SQL}],
        }
        [added] = db.create_datapoint(dataset.id, body, idempotency_key=SQL)
        assert db.get_datapoint(added.id) == added
        assert added.inputs == {SQL: SQL}
        assert added.target == {SQL: [SQL, {SQL: SQL}]}
        assert [d.name for d in db.list_datasets(SQL)] == [SQL]
        assert db.verify()


# -- cases found by fuzzing, kept as explicit examples ---------------------------------------

MALFORMED_IDS: tuple[object, ...] = (5, None, b"evts_x", ["evts_x"], Opaque(), "", " ", HUGE)


def test_malformed_dataset_ids_are_validation_errors(world: World) -> None:
    """A dataset id that is not a string is a ValidationError."""
    for bad in MALFORMED_IDS:
        for call in _by_dataset(world.db, bad):  # type: ignore[arg-type]
            _rejects(world, call)


def test_malformed_datapoint_ids_are_validation_errors(world: World) -> None:
    """A datapoint id that is not a string is a ValidationError."""
    for bad in MALFORMED_IDS:
        for call in _by_datapoint(world.db, bad):  # type: ignore[arg-type]
            _rejects(world, call)


def test_malformed_project_id_is_a_validation_error(world: World) -> None:
    """list_datasets of a project id that is not a string is a ValidationError."""
    _rejects(world, lambda: world.db.list_datasets(5))  # type: ignore[arg-type]


def test_lone_surrogate_ids_are_datasetlog_errors(world: World) -> None:
    """An id holding a lone surrogate is a ValidationError."""
    for call in _by_dataset(world.db, "\ud800") + _by_datapoint(world.db, "\ud800"):
        _rejects(world, call)


def test_version_number_beyond_64_bits_is_not_found(world: World) -> None:
    """A version number past SQLite's integers is not found."""
    _rejects(world, lambda: world.db.get_version(world.dataset, 2**64), NotFoundError)


def test_integer_beyond_64_bits_in_a_target_is_a_validation_error(world: World) -> None:
    """A target integer JSON cannot store is a ValidationError."""
    _rejects(world, lambda: world.db.create_datapoint(world.dataset, {"target": {"n": 2**64}}))


def test_overlong_inputs_key_is_too_long(world: World) -> None:
    """An inputs key over MAX_STRING_LENGTH is rejected."""
    _rejects(world, lambda: world.db.create_datapoint(world.dataset, {"inputs": {HUGE: "x"}}))


def test_unhashable_role_is_a_validation_error(world: World) -> None:
    """A message role that is a list is a ValidationError."""
    body = {"messages": [{"role": ["user"]}]}
    _rejects(world, lambda: world.db.create_datapoint(world.dataset, body))


def test_unhashable_ids_in_a_delete_are_validation_errors(world: World) -> None:
    """delete_datapoints([[...]]) is a ValidationError."""
    _rejects(world, lambda: world.db.delete_datapoints([["dp_x"]]))  # type: ignore[list-item]


def test_request_objects_with_wrong_contents_are_validation_errors(world: World) -> None:
    """A DatapointRequest holding a non-message is a ValidationError."""
    body = DatapointRequest(messages=[Opaque()])  # type: ignore[list-item]
    _rejects(world, lambda: world.db.create_datapoint(world.dataset, body))


def test_request_objects_with_unknown_roles_are_validation_errors(world: World) -> None:
    """A ChatMessage with an unknown role is a ValidationError."""
    body = DatapointRequest(messages=[ChatMessage(role="admin")])  # type: ignore[arg-type]
    _rejects(world, lambda: world.db.create_datapoint(world.dataset, body))


@pytest.mark.parametrize("batch", [0, -1, "10"])
def test_iter_datapoints_rejects_a_bad_batch(world: World, batch: object) -> None:
    """iter_datapoints(batch=...) below 1 or not an int is a ValidationError at the call."""
    with pytest.raises(ValidationError):
        world.db.iter_datapoints(world.dataset, batch=batch)  # type: ignore[arg-type]


def test_store_keeps_its_tables_after_hostile_input(world: World) -> None:
    """After all of the above, the shared store still verifies and has its tables."""
    with world.db.store.reading() as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema").fetchall()}
    assert {"dl_events", "dl_commits", "dl_rows"} <= tables
    assert world.db.verify()
    assert isinstance(sqlite3.sqlite_version, str)
