"""The one cattrs converter: events to stored payloads and back, and the v4 JSON shape."""

from __future__ import annotations

from datetime import datetime
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
from datasetlog.models import Datapoint
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


converter = make_converter()
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


def record_json(record: DatapointRecord) -> str:
    """Encode a datapoint record as the v4 JSON of its datapoint, less ``dataset_id``."""
    return dumps(converter.unstructure(record))


def datapoint_from_record(dataset_id: str, record: DatapointRecord) -> Datapoint:
    """Make the user-facing datapoint of a record in a dataset."""
    return Datapoint(
        id=record.id,
        dataset_id=dataset_id,
        created_at=record.created_at,
        updated_at=record.updated_at,
        inputs=record.inputs,
        messages=record.messages,
        target=record.target,
        source_project_data_id=record.source_project_data_id,
    )


def datapoint_from_json(dataset_id: str, payload: str | bytes) -> Datapoint:
    """Decode a stored datapoint payload (see :func:`record_json`)."""
    data = orjson.loads(payload)
    data["dataset_id"] = dataset_id
    return converter.structure(data, Datapoint)


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
