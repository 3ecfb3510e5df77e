"""The one cattrs converter: events to stored payloads and back, and the v4 JSON shape."""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator, Iterable
from datetime import datetime, timedelta
from typing import Any

import attrs
import cattrs
import orjson
from cattrs.gen import make_dict_unstructure_fn

from datasetlog.errors import StoreError, ValidationError
from datasetlog.events import (
    EVENT_TYPES,
    Commit,
    DatapointRecord,
    Event,
    IdempotencyStamp,
    VersionStamp,
)
from datasetlog.models import ChatMessage, Datapoint, JSONValue, Role, ToolCall, assemble
from datasetlog.store.base import EncodedEvent, NewCommit, StoredCommit


def make_converter() -> cattrs.Converter:
    """Build the converter behind every stored payload and every v4 rendering.

    Wire-format decisions:

    - Ids are plain strings with their prefix (``evts_``, ``dp_``, ``dsv_``).
    - Date-times are ISO-8601 strings with their UTC offset
      (``2026-01-02T03:04:05.123456+00:00``), read back as aware datetimes.
    - Enums (a message's ``role``) are their string value.
    - A field holding its default (``None``) is omitted, never written as null.
    - JSON values (``target``, tool-call ``arguments``) pass through unchanged.
    - An event's type tag and schema version live beside its payload, not in it.
    """
    converter = cattrs.Converter()
    converter.register_unstructure_hook(datetime, datetime.isoformat)
    converter.register_structure_hook(datetime, lambda value, _: datetime.fromisoformat(value))
    converter.register_unstructure_hook_factory(
        attrs.has,
        lambda cls: make_dict_unstructure_fn(cls, converter, _cattrs_omit_if_default=True),
    )
    return converter


def _add_trusted_fast_paths(converter: cattrs.Converter) -> cattrs.Converter:
    """Register hand-written hooks for the hot types, for already-validated data only.

    Reading and writing datapoints is the hot path; these hooks give the same
    results as the generated ones without per-field dispatch. Request
    validation uses :func:`make_converter` without them.
    """
    passthrough: tuple[Any, ...] = (dict[str, str] | None, dict[str, JSONValue] | None)
    for field_type in passthrough:
        converter.register_unstructure_hook_func(type_is(field_type), _identity)
        converter.register_structure_hook_func(type_is(field_type), _keep)
    converter.register_structure_hook(datetime, lambda value, _: _parse_datetime(value))
    converter.register_unstructure_hook(datetime, _format_datetime)
    converter.register_unstructure_hook(ChatMessage, _unstructure_message)
    converter.register_structure_hook(ChatMessage, lambda value, _: _structure_message(value))
    converter.register_unstructure_hook(DatapointRecord, _unstructure_record)
    converter.register_structure_hook(Datapoint, lambda value, _: _structure_datapoint(value))
    return converter


def type_is(expected: object) -> Callable[[Any], bool]:
    """A cattrs hook predicate matching exactly one (possibly generic) type."""
    return lambda cls: bool(cls == expected)


def _identity(value: Any) -> Any:
    return value


def _keep(value: Any, _: Any) -> Any:
    return value


# The datapoints of one commit share their timestamps: convert each once.
@functools.lru_cache(maxsize=4096)
def _parse_datetime(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _format_datetime(value: datetime) -> str:
    # Equal instants in other zones are equal datetimes: key on the offset too.
    return _format_instant(value, value.utcoffset())


@functools.lru_cache(maxsize=4096)
def _format_instant(value: datetime, offset: timedelta | None) -> str:
    return value.isoformat()


_ROLES = {role.value: role for role in Role}
_ROLE_VALUES = {role: role.value for role in Role}  # a dict lookup beats Enum.value


def _unstructure_message(message: ChatMessage) -> dict[str, Any]:
    data: dict[str, Any] = {"role": _ROLE_VALUES[message.role]}
    if message.content is not None:
        data["content"] = message.content
    if message.name is not None:
        data["name"] = message.name
    if message.tool_call is not None:
        data["tool_call"] = converter.unstructure(message.tool_call)
    return data


def _structure_message(data: dict[str, Any]) -> ChatMessage:
    tool_call = data.get("tool_call")
    return ChatMessage(
        _ROLES[data["role"]],
        data.get("content"),
        data.get("name"),
        None if tool_call is None else _structure_tool_call(tool_call),
    )


def _structure_tool_call(data: dict[str, Any]) -> ToolCall:
    return ToolCall(data["name"], data.get("arguments"))


def _unstructure_record(record: DatapointRecord) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": record.id,
        "created_at": _format_datetime(record.created_at),
        "updated_at": _format_datetime(record.updated_at),
    }
    if record.inputs is not None:
        data["inputs"] = record.inputs
    if record.messages is not None:
        data["messages"] = [_unstructure_message(m) for m in record.messages]
    if record.target is not None:
        data["target"] = record.target
    if record.source_project_data_id is not None:
        data["source_project_data_id"] = record.source_project_data_id
    return data


def _structure_datapoint(data: dict[str, Any]) -> Datapoint:
    return next(datapoints_from_json(data["dataset_id"], [[data]]))


def datapoints_from_json(
    dataset_id: str, chunks: Iterable[Iterable[str | bytes | dict[str, Any]]]
) -> Generator[Datapoint, None, None]:
    """Decode stored datapoint payloads, chunk by chunk, into datapoints of a dataset.

    The hot read path, kept in one loop with its names bound locally: the same
    result as structuring each payload with the converter, at a fraction of the
    cost per row. Payloads may also be already-decoded dicts.

    Stored payloads were validated when written, so the objects are made as
    unpickling makes them: a new instance given its complete field dict,
    without running ``__init__`` (about a tenth of the cost of a version read).
    """
    loads, roles, parse, tool_call = orjson.loads, _ROLES, _parse_datetime, _structure_tool_call
    # models.assemble, inlined: this loop runs once per datapoint of a version.
    new, set_fields = object.__new__, object.__setattr__  # frozen classes refuse plain setattr
    for chunk in chunks:
        for payload in chunk:
            data = payload if isinstance(payload, dict) else loads(payload)
            messages = data.get("messages")
            if messages is not None:
                built = []
                for m in messages:
                    message = new(ChatMessage)
                    set_fields(
                        message,
                        "__dict__",
                        {
                            "role": roles[m["role"]],
                            "content": m.get("content"),
                            "name": m.get("name"),
                            "tool_call": tool_call(m["tool_call"]) if "tool_call" in m else None,
                        },
                    )
                    built.append(message)
                messages = built
            datapoint = new(Datapoint)
            set_fields(
                datapoint,
                "__dict__",
                {
                    "id": data["id"],
                    "dataset_id": dataset_id,
                    "created_at": parse(data["created_at"]),
                    "updated_at": parse(data["updated_at"]),
                    "inputs": data.get("inputs"),
                    "messages": messages,
                    "target": data.get("target"),
                    "source_project_data_id": data.get("source_project_data_id"),
                },
            )
            yield datapoint


def v4_json_array(dataset_id: str, chunks: Iterable[list[bytes]]) -> Generator[bytes, None, None]:
    """Render stored datapoint payloads as one v4 JSON array, piece by piece, without decoding.

    A datapoint event's payload is the datapoint's v4 JSON object without its
    ``dataset_id`` (see :func:`_unstructure_record`), so each is copied with
    ``"dataset_id"`` spliced in as its first key. The pieces joined parse to
    the same value as ``to_v4_json`` of the decoded datapoints; one piece per
    non-empty chunk, the last one closing the array.
    """
    head = b'{"dataset_id":' + orjson.dumps(dataset_id) + b","
    separator = b"," + head
    opening = b"[" + head
    for chunk in chunks:
        if chunk:
            yield opening + separator.join([payload[1:] for payload in chunk])
            opening = separator
    yield b"[]" if opening[0] == ord("[") else b"]"


def v4_json_page(records: bytes, *, page: int, size: int, total: int) -> bytes:
    """Render a v4 page of datapoints around its records (from :func:`v4_json_array`)."""
    fields = orjson.dumps({"page": page, "size": size, "total": total})
    return b'{"records":' + records + b"," + fields[1:]


converter = _add_trusted_fast_paths(make_converter())
_EVENT_CLASSES: dict[tuple[str, int], type[Event]] = {
    (cls.TYPE, cls.SCHEMA_VERSION): cls for cls in EVENT_TYPES
}


def dumps(value: Any) -> str:
    """Encode unstructured data as compact JSON text."""
    return orjson.dumps(value).decode()


def encode_event(event: Event) -> EncodedEvent:
    """Encode an event as its type tag, schema version and JSON payload."""
    return EncodedEvent(event.TYPE, event.SCHEMA_VERSION, dumps(converter.unstructure(event)))


def decode_event(encoded: EncodedEvent) -> Event:
    """Decode a stored event by dispatching on its type tag and schema version.

    Raises:
        StoreError: The tag or schema version is unknown to this datasetlog.
    """
    cls = _EVENT_CLASSES.get((encoded.type, encoded.schema_version))
    if cls is None:
        raise StoreError(
            f"unknown event type {encoded.type!r} v{encoded.schema_version}; "
            "the store was written by a newer datasetlog"
        )
    return converter.structure(orjson.loads(encoded.payload), cls)


def encode_commit(commit: Commit) -> NewCommit:
    """Encode a domain commit for the store."""
    metadata = {
        "version": converter.unstructure(commit.version) if commit.version else None,
        "idempotency": converter.unstructure(commit.idempotency) if commit.idempotency else None,
    }
    return NewCommit(
        stream_id=commit.dataset_id,
        stream_version=commit.sequence,
        recorded_at=commit.recorded_at.isoformat(),
        metadata=dumps({k: v for k, v in metadata.items() if v is not None}),
        events=tuple(encode_event(event) for event in commit.events),
    )


def decode_commit(stored: StoredCommit) -> Commit:
    """Decode a stored commit into the domain commit the projector folds."""
    metadata = orjson.loads(stored.metadata)
    version = metadata.get("version")
    idempotency = metadata.get("idempotency")
    return Commit(
        dataset_id=stored.stream_id,
        sequence=stored.stream_version,
        recorded_at=datetime.fromisoformat(stored.recorded_at),
        events=tuple(decode_event(event) for event in stored.events),
        version=converter.structure(version, VersionStamp) if version else None,
        idempotency=converter.structure(idempotency, IdempotencyStamp) if idempotency else None,
    )


def datapoint_from_record(dataset_id: str, record: DatapointRecord) -> Datapoint:
    """Make the user-facing datapoint of a record in a dataset.

    A record's fields are already valid, so the datapoint is assembled from
    its field dict, as :func:`datapoints_from_json` makes them.
    """
    return assemble(
        Datapoint,
        {
            "id": record.id,
            "dataset_id": dataset_id,
            "created_at": record.created_at,
            "updated_at": record.updated_at,
            "inputs": record.inputs,
            "messages": record.messages,
            "target": record.target,
            "source_project_data_id": record.source_project_data_id,
        },
    )


def datapoint_from_json(dataset_id: str, payload: str | bytes) -> Datapoint:
    """Decode one stored datapoint payload: a ``datapoint_added`` or ``_updated`` event's."""
    return next(datapoints_from_json(dataset_id, [[payload]]))


def to_v4(value: Any) -> Any:
    """Render a result, a list of results or a :class:`ValidationError` as v4 JSON data.

    The result holds only JSON types (dicts, lists, strings, numbers, booleans,
    null) and matches the v4 response shapes: date-times are ISO-8601 with
    their offset and unset optional fields are omitted.
    """
    if isinstance(value, ValidationError):
        return {
            "detail": [{"loc": list(d.loc), "msg": d.msg, "type": d.type} for d in value.details]
        }
    return converter.unstructure(value)


def to_v4_json(value: Any) -> bytes:
    """Render like :func:`to_v4`, as compact UTF-8 JSON bytes."""
    return orjson.dumps(to_v4(value))
