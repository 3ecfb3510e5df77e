"""Events and commits to the records a store keeps, and back, dispatching on type tags."""

from __future__ import annotations

from datetime import datetime

import orjson

from datasetlog.errors import StoreError
from datasetlog.events import EVENT_TYPES, Commit, Event, IdempotencyStamp, VersionStamp
from datasetlog.serialization.converter import converter, dumps
from datasetlog.store.records import EncodedEvent, NewCommit, StoredCommit

_EVENT_CLASSES: dict[tuple[str, int], type[Event]] = {
    (cls.TYPE, cls.SCHEMA_VERSION): cls for cls in EVENT_TYPES
}


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
        sequence=commit.sequence,
        recorded_at=commit.recorded_at.isoformat(),
        metadata=dumps({k: v for k, v in metadata.items() if v is not None}),
        events=tuple(encode_event(event) for event in commit.events),
    )


def decode_commit(stored: StoredCommit) -> Commit:
    """Decode a stored commit into the domain commit the projector folds.

    Raises:
        StoreError: It does not decode (its type is unknown, or it is damaged).
    """
    try:
        return _decode_commit(stored)
    except StoreError:
        raise
    except Exception as error:  # a stored commit that no longer decodes: the store is damaged
        raise StoreError(
            f"commit {stored.position} ({stored.stream_id} #{stored.sequence}) "
            f"does not decode: {error!r}; run verify()"
        ) from error


def _decode_commit(stored: StoredCommit) -> Commit:
    metadata = orjson.loads(stored.metadata)
    version = metadata.get("version")
    idempotency = metadata.get("idempotency")
    return Commit(
        dataset_id=stored.stream_id,
        sequence=stored.sequence,
        recorded_at=datetime.fromisoformat(stored.recorded_at),
        events=tuple(decode_event(event) for event in stored.events),
        version=converter.structure(version, VersionStamp) if version else None,
        idempotency=converter.structure(idempotency, IdempotencyStamp) if idempotency else None,
    )
