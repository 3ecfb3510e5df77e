"""The one cattrs converter, behind every stored payload and every v4 rendering."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import attrs
import cattrs
import orjson
from cattrs.gen import make_dict_unstructure_fn

from datasetlog.events import DatapointRecord
from datasetlog.models import ChatMessage, Datapoint, JSONValue, Role
from datasetlog.serialization.decode import (
    ROLES,
    datapoints_from_json,
    parse_datetime,
    structure_tool_call,
)


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


def type_is(expected: object) -> Callable[[Any], bool]:
    """A cattrs hook predicate matching exactly one (possibly generic) type."""
    return lambda cls: bool(cls == expected)


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
    converter.register_structure_hook(datetime, lambda value, _: parse_datetime(value))
    converter.register_unstructure_hook(datetime, format_datetime)
    converter.register_unstructure_hook(ChatMessage, _unstructure_message)
    converter.register_structure_hook(ChatMessage, lambda value, _: _structure_message(value))
    converter.register_unstructure_hook(DatapointRecord, _unstructure_record)
    converter.register_structure_hook(Datapoint, lambda value, _: _structure_datapoint(value))
    return converter


def _identity(value: Any) -> Any:
    return value


def _keep(value: Any, _: Any) -> Any:
    return value


def format_datetime(value: datetime) -> str:
    """A datetime as ISO-8601 with its offset (cached: commits share their timestamps)."""
    # Equal instants in other zones are equal datetimes: key on the offset too.
    return _format_instant(value, value.utcoffset())


@functools.lru_cache(maxsize=4096)
def _format_instant(value: datetime, offset: timedelta | None) -> str:
    return value.isoformat()


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
        ROLES[data["role"]],
        data.get("content"),
        data.get("name"),
        None if tool_call is None else structure_tool_call(tool_call),
    )


def _structure_datapoint(data: dict[str, Any]) -> Datapoint:
    return next(datapoints_from_json(data["dataset_id"], [[data]]))


def _unstructure_record(record: DatapointRecord) -> dict[str, Any]:
    """A datapoint's stored payload: its v4 JSON object less ``dataset_id``."""
    data: dict[str, Any] = {
        "id": record.id,
        "created_at": format_datetime(record.created_at),
        "updated_at": format_datetime(record.updated_at),
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


converter = _add_trusted_fast_paths(make_converter())
"""The converter for trusted data: stored payloads and results to render."""


def dumps(value: Any) -> str:
    """Encode unstructured data as compact JSON text."""
    return orjson.dumps(value).decode()
