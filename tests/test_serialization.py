"""The converter: every event and model round-trips, and renders as v4 JSON."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from datasetlog import (
    ChatMessage,
    Datapoint,
    DatapointRequest,
    Dataset,
    ErrorDetail,
    Log,
    LogsRequest,
    Page,
    StoreError,
    ToolCall,
    ValidationError,
    Version,
    to_v4,
    to_v4_json,
)
from datasetlog.events import (
    EVENT_TYPES,
    Commit,
    DatapointAdded,
    DatapointRestored,
    DatapointsDeleted,
    DatapointUpdated,
    DatasetCreated,
    DatasetDeleted,
    DatasetForked,
    DatasetMerged,
    DatasetUpdated,
    Event,
    IdempotencyStamp,
    TagDeleted,
    TagSet,
    VersionNamed,
    VersionStamp,
)
from datasetlog.serialization.codec import decode_commit, decode_event, encode_commit, encode_event
from datasetlog.serialization.converter import converter
from datasetlog.serialization.decode import datapoint_from_json
from datasetlog.store import EncodedEvent, StoredCommit
from datasetlog.testing.strategies import datapoint_bodies, texts
from datasetlog.validation.requests import parse_create_request

ISO_WITH_OFFSET = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?[+-]\d\d:\d\d")

# -- strategies for values of every type ---------------------------------------------------

offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
moments = st.datetimes(timezones=st.just(UTC) | offsets)
optional_texts = st.none() | texts()


def _request(body: dict[str, Any]) -> DatapointRequest:
    parsed = parse_create_request(body)
    assert isinstance(parsed, list)
    return parsed[0]


def _first_message(request: DatapointRequest) -> ChatMessage:
    assert request.messages
    return request.messages[0]


requests = datapoint_bodies().map(_request)


def _record(
    cls: type[DatapointAdded] | type[DatapointUpdated] | type[DatapointRestored],
) -> st.SearchStrategy[Any]:
    return st.builds(
        lambda request, **fields: cls(
            inputs=request.inputs, messages=request.messages, target=request.target, **fields
        ),
        requests,
        id=texts(),
        created_at=moments,
        updated_at=moments,
        source_project_data_id=optional_texts,
    )


events: st.SearchStrategy[Event] = st.one_of(
    st.builds(DatasetCreated, project_id=texts(), name=texts(), description=optional_texts),
    st.builds(DatasetUpdated, name=optional_texts, description=optional_texts),
    st.just(DatasetDeleted()),
    _record(DatapointAdded),
    _record(DatapointUpdated),
    st.builds(DatapointsDeleted, datapoint_ids=st.lists(texts(), max_size=3)),
    _record(DatapointRestored),
    st.builds(
        VersionNamed, version=st.integers(0, 10**6), name=texts(), description=optional_texts
    ),
    st.builds(TagSet, name=texts(), version=st.integers(0, 10**6)),
    st.builds(TagDeleted, name=texts()),
    st.builds(
        DatasetForked,
        project_id=texts(),
        name=texts(),
        source_id=texts(),
        source_version=st.integers(0, 10**6),
        description=optional_texts,
    ),
    st.builds(DatasetMerged, source_id=texts(), source_version=st.integers(0, 10**6)),
)
commits = st.builds(
    Commit,
    dataset_id=texts(),
    sequence=st.integers(1, 10**6),
    recorded_at=moments,
    events=st.lists(events, min_size=1, max_size=3).map(tuple),
    version=st.none() | st.builds(VersionStamp, st.integers(0, 10**6), texts(), texts()),
    idempotency=st.none() | st.builds(IdempotencyStamp, texts(), texts()),
)
datapoints = st.builds(
    lambda request, **fields: Datapoint(
        inputs=request.inputs, messages=request.messages, target=request.target, **fields
    ),
    requests,
    id=texts(),
    dataset_id=texts(),
    created_at=moments,
    updated_at=moments,
    source_project_data_id=optional_texts,
)
datasets = st.builds(
    Dataset,
    id=texts(),
    project_id=texts(),
    name=texts(),
    datapoint_count=st.integers(0, 10**9),
    created_at=moments,
    updated_at=moments,
    description=optional_texts,
)
versions = st.builds(
    Version,
    dataset_id=texts(),
    number=st.integers(0, 10**6),
    id=texts(),
    parent=st.none() | st.integers(0, 10**6),
    message=texts(),
    created_at=moments,
    datapoint_count=st.integers(0, 10**9),
    name=optional_texts,
    description=optional_texts,
)
pages = st.builds(
    Page,
    records=st.lists(datapoints, max_size=3),
    page=st.integers(1, 100),
    size=st.integers(1, 1000),
    total=st.integers(0, 10**6),
    version=versions,
)
messages = requests.filter(lambda r: bool(r.messages)).map(_first_message)
tool_calls = messages.filter(lambda m: m.tool_call is not None).map(lambda m: m.tool_call)
logs = st.builds(
    lambda request, **fields: Log(inputs=request.inputs, messages=request.messages, **fields),
    requests,
    id=texts(),
    output=optional_texts,
)
models: st.SearchStrategy[Any] = st.one_of(
    datapoints,
    datasets,
    versions,
    pages,
    messages,
    tool_calls,
    requests,
    st.builds(LogsRequest, st.lists(texts(), max_size=3)),
    logs,
)


def assert_only_json(value: Any) -> None:
    """Fail unless ``value`` holds only JSON types (exactly, not subclasses)."""
    if type(value) is dict:
        for key, item in value.items():
            assert type(key) is str
            assert_only_json(item)
    elif type(value) is list:
        for item in value:
            assert_only_json(item)
    elif type(value) is float:
        assert math.isfinite(value)
    else:
        assert value is None or type(value) in (str, int, bool), type(value)


# -- round trips ---------------------------------------------------------------------------


@given(event=events)
def test_events_round_trip_through_the_converter(event: Event) -> None:
    """Unstructuring then structuring an event gives it back."""
    assert converter.structure(converter.unstructure(event), type(event)) == event


@given(event=events)
def test_events_round_trip_through_encoding(event: Event) -> None:
    """Encoding an event for the store and decoding it gives it back."""
    assert decode_event(encode_event(event)) == event


@given(event=events)
def test_unstructured_events_hold_only_json(event: Event) -> None:
    """An unstructured event is plain JSON data."""
    assert_only_json(converter.unstructure(event))


@given(commit=commits)
def test_commits_round_trip_through_the_store_format(commit: Commit) -> None:
    """A commit encoded for the store and read back decodes to the same commit."""
    new = encode_commit(commit)
    stored = StoredCommit(
        position=1,
        stream_id=new.stream_id,
        sequence=new.sequence,
        recorded_at=new.recorded_at,
        metadata=new.metadata,
        events=new.events,
        hash="0" * 64,
        first_event=1,
    )
    assert decode_commit(stored) == commit


@given(model=models)
def test_models_round_trip_through_the_converter(model: Any) -> None:
    """Unstructuring then structuring a model gives it back."""
    assert converter.structure(converter.unstructure(model), type(model)) == model


@given(model=models)
def test_unstructured_models_hold_only_json(model: Any) -> None:
    """A model rendered with ``to_v4`` is plain JSON data."""
    assert_only_json(to_v4(model))


@given(model=models)
def test_v4_output_round_trips_through_json(model: Any) -> None:
    """``to_v4`` output survives ``json.dumps``/``json.loads`` unchanged, as ``to_v4_json``."""
    rendered = to_v4(model)
    assert json.loads(json.dumps(rendered, allow_nan=False)) == rendered
    assert json.loads(to_v4_json(model)) == rendered


@given(model=datapoints)
def test_decoded_datapoints_are_the_constructed_ones(model: Datapoint) -> None:
    """Datapoints decoded from stored JSON (made without ``__init__``) are exactly those
    the constructor makes: the same field dicts, in field order, equality and evolve."""
    record = DatapointAdded(
        id=model.id,
        created_at=model.created_at,
        updated_at=model.updated_at,
        inputs=model.inputs,
        messages=model.messages,
        target=model.target,
        source_project_data_id=model.source_project_data_id,
    )
    decoded = datapoint_from_json(model.dataset_id, encode_event(record).payload)
    assert vars(decoded) == vars(model)
    assert [vars(m) for m in decoded.messages or []] == [vars(m) for m in model.messages or []]
    assert decoded == model
    assert attrs.evolve(decoded, target=None) == attrs.evolve(model, target=None)
    assert list(vars(decoded)) == [field.name for field in attrs.fields(Datapoint)]


# -- v4 shapes -----------------------------------------------------------------------------


@given(dataset=datasets)
def test_dataset_has_the_v4_fields(dataset: Dataset) -> None:
    """A dataset renders as v4 DatasetResponse: ``description`` only when set."""
    required = {"id", "project_id", "name", "datapoint_count", "created_at", "updated_at"}
    optional = {"description"} if dataset.description is not None else set()
    assert set(to_v4(dataset)) == required | optional


@given(datapoint=datapoints)
def test_datapoint_has_the_v4_fields(datapoint: Datapoint) -> None:
    """A datapoint renders as v4 DatapointResponse: optional fields only when set."""
    rendered = to_v4(datapoint)
    optional = ("inputs", "messages", "target", "source_project_data_id")
    expected = {"id", "dataset_id", "created_at", "updated_at"}
    expected |= {name for name in optional if getattr(datapoint, name) is not None}
    assert set(rendered) == expected


@given(datapoint=datapoints)
def test_messages_have_the_v4_fields(datapoint: Datapoint) -> None:
    """A message renders role, and content, name and tool_call only when set."""
    for message, rendered in zip(
        datapoint.messages or [], to_v4(datapoint).get("messages", []), strict=True
    ):
        assert rendered["role"] == message.role.value
        assert set(rendered) <= {"role", "content", "name", "tool_call"}
        if message.tool_call is not None:
            assert set(rendered["tool_call"]) <= {"name", "arguments"}


@given(page=pages)
def test_page_has_the_v4_fields(page: Page) -> None:
    """A page renders as v4 PaginatedDataDatapointResponse."""
    rendered = to_v4(page)
    assert set(rendered) == {"records", "page", "size", "total", "version"}
    assert rendered["records"] == [to_v4(d) for d in page.records]
    assert rendered["version"] == to_v4(page.version)


@given(value=st.one_of(datasets, datapoints, versions))
def test_datetimes_are_iso_8601_with_an_offset(value: Any) -> None:
    """Every date-time renders as ISO-8601 with its UTC offset."""
    rendered = to_v4(value)
    for name in ("created_at", "updated_at"):
        if name in rendered:
            assert ISO_WITH_OFFSET.fullmatch(rendered[name])
            assert datetime.fromisoformat(rendered[name]) == getattr(value, name)


def test_datetime_renders_with_its_own_offset() -> None:
    """A date-time keeps its own offset, even after an equal instant in another zone."""
    utc = datetime(2026, 1, 1, 12, tzinfo=UTC)
    paris = utc.astimezone(timezone(timedelta(hours=1)))
    to_v4(Version("evts_x", 0, "dsv_x", "Create dataset", utc, 0))
    rendered = to_v4(Version("evts_x", 0, "dsv_x", "Create dataset", paris, 0))
    assert rendered["created_at"] == "2026-01-01T13:00:00+01:00"


def test_validation_error_has_the_v4_shape() -> None:
    """A ValidationError renders as HTTPValidationError: detail entries of loc, msg, type."""
    error = ValidationError(
        [
            ErrorDetail(("body", 2, "inputs", "q"), "expected a string", "string_type"),
            ErrorDetail(("body",), "give at least one datapoint", "empty_list"),
        ]
    )
    assert to_v4(error) == {
        "detail": [
            {"loc": ["body", 2, "inputs", "q"], "msg": "expected a string", "type": "string_type"},
            {"loc": ["body"], "msg": "give at least one datapoint", "type": "empty_list"},
        ]
    }
    assert json.loads(to_v4_json(error)) == to_v4(error)


def test_enum_role_renders_as_its_string() -> None:
    """A message's role is its plain string value."""
    rendered = to_v4(ChatMessage(role="tool", tool_call=ToolCall("f")))  # type: ignore[arg-type]
    assert rendered == {"role": "tool", "tool_call": {"name": "f"}}
    assert type(rendered["role"]) is str


# -- stored events -------------------------------------------------------------------------


def test_event_type_tags_are_stable() -> None:
    """Each event is stored under a fixed type tag and schema version, never a class path."""
    tags = {(cls.TYPE, cls.SCHEMA_VERSION) for cls in EVENT_TYPES}
    assert tags == {
        ("dataset_created", 1),
        ("dataset_forked", 1),
        ("dataset_merged", 1),
        ("dataset_updated", 1),
        ("dataset_deleted", 1),
        ("datapoint_added", 1),
        ("datapoint_updated", 1),
        ("datapoints_deleted", 1),
        ("datapoint_restored", 1),
        ("version_named", 1),
        ("tag_set", 1),
        ("tag_deleted", 1),
    }


def test_stored_payload_omits_unset_fields() -> None:
    """An event's payload leaves out fields that hold their default."""
    encoded = encode_event(DatasetCreated(project_id="pr_1", name="qa"))
    assert (encoded.type, encoded.schema_version) == ("dataset_created", 1)
    assert json.loads(encoded.payload) == {"project_id": "pr_1", "name": "qa"}


@pytest.mark.parametrize(
    "encoded",
    [EncodedEvent("dataset_renamed", 1, "{}"), EncodedEvent("dataset_created", 2, "{}")],
    ids=["unknown tag", "newer schema"],
)
def test_unknown_event_types_are_a_store_error(encoded: EncodedEvent) -> None:
    """An event tag or schema version this datasetlog does not know is a StoreError."""
    with pytest.raises(StoreError):
        decode_event(encoded)
