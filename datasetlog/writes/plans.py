"""What an upsert plans: the base datapoints it keeps (and updates) and the contents it adds.

Without a key, items match base datapoints by **content**: ``inputs``,
``messages`` and ``target`` as canonical JSON. With one (see
:mod:`datasetlog.writes.keyed`), by the key, and a match of other content is
an update.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal, NamedTuple, TypeGuard, get_args

import attrs
import orjson

from datasetlog.content import content_key
from datasetlog.readmodels.layers import view_of
from datasetlog.readmodels.rows import DatasetRow, VersionRow
from datasetlog.readmodels.spans import Spans
from datasetlog.requests import DatapointRequest
from datasetlog.serialization.converter import converter
from datasetlog.store.base import Connection

Action = Literal["set", "add", "remove"]
ACTIONS: tuple[str, ...] = get_args(Action)
_BATCH = 2000


class Held(NamedTuple):
    """A datapoint of the base version: its id, content key and stored JSON (UTF-8).

    The content key is None where it was left unread: a keyed upsert compares
    stored bytes first and reads only the keys it must (see :func:`content_key_of`).
    """

    id: str
    key: bytes | None
    payload: bytes


def content_key_of(held: Held) -> bytes:
    """A base datapoint's content key, read from its stored JSON if it was left unread."""
    return held.key if held.key is not None else content_key(orjson.loads(held.payload))


@attrs.frozen
class Plan:
    """What the new version holds: base datapoints kept (in order), the new contents of
    those a keyed upsert updates (by id), and requests to add."""

    kept: list[Held]
    new: list[DatapointRequest]
    ignored: int
    updated: dict[str, DatapointRequest] = attrs.Factory(dict)


def request_key(request: DatapointRequest) -> bytes:
    """A request's content key, as :func:`~datasetlog.content.content_key` of its JSON."""
    return content_key(converter.unstructure(request))


_FIELDS = frozenset(("inputs", "messages", "target"))


_PLAIN = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def plain_key(item: object) -> bytes | None:
    """The content key of a body item that is JSON data as it stands, else None.

    Such an item equal to stored content is that content, hence valid, and
    needs no other check. Anything else (other keys, dates, subclasses of
    str or int, values JSON cannot hold) returns None and is validated. NaN
    and infinities, which encode as ``null``, are caught by decoding keys
    holding a ``null`` back; tuples, enums and UUIDs count as the JSON they
    encode as.
    """
    if not _is_body(item):
        return None
    return _plain_json([item.get("inputs"), item.get("messages"), item.get("target")], _PLAIN)


def _is_body(item: object) -> TypeGuard[dict[str, Any]]:
    """Whether an item is a dict of datapoint content fields and nothing else."""
    return type(item) is dict and _FIELDS.issuperset(item)


def _plain_json(fields: object, option: int) -> bytes | None:
    """``fields`` as JSON if they are JSON data as they stand (see :func:`plain_key`)."""
    try:
        encoded = orjson.dumps(fields, option=option)
    except TypeError:
        return None
    if b"null" in encoded and orjson.loads(encoded) != fields:
        return None
    return encoded


def stored_content(item: Any) -> bytes:
    """How a datapoint made from this plain item stores its content: its stored JSON after
    its timestamps (``,"inputs":...}``, or ``}`` when it holds nothing)."""
    return _after_timestamps(orjson.dumps(_stored_fields(item)))


def _stored_fields(item: Any) -> dict[str, Any]:
    return {
        name: item[name] for name in ("inputs", "messages", "target") if item.get(name) is not None
    }


def _after_timestamps(encoded: bytes) -> bytes:
    """A JSON object of content fields as it follows a stored datapoint's timestamps."""
    return b"," + encoded[1:] if encoded != b"{}" else b"}"


_STORED = _PLAIN & ~orjson.OPT_SORT_KEYS


def plain_stored(item: object) -> bytes | None:
    """:func:`stored_content` of a body item that is JSON data as it stands, else None.

    The same items are plain as for :func:`plain_key`: one whose stored form
    is a base datapoint's, byte for byte, holds that content, hence is valid.
    """
    if not _is_body(item):
        return None
    encoded = _plain_json(_stored_fields(item), _STORED)
    return None if encoded is None else _after_timestamps(encoded)


def stored_part(payload: bytes) -> bytes:
    """A stored datapoint's content as stored: its JSON after its timestamps (as
    :func:`stored_content`)."""
    return payload[payload.find(b'"', payload.find(b'"updated_at":"') + 14) + 1 :]


def plan(
    action: Action,
    base: list[Held],
    keys: list[bytes],
    requests: list[DatapointRequest | None],
) -> Plan:
    """Apply ``action`` to the base's datapoints, matching the request's items by content.

    ``requests[i]`` is the validated item, or None where it matched the base
    (such an item is never added).
    """
    in_base = {held.key for held in base}
    if action == "remove":
        asked = set(keys)
        kept = [held for held in base if held.key not in asked]
        return Plan(kept, [], sum(1 for key in dict.fromkeys(keys) if key not in in_base))
    new: dict[bytes, DatapointRequest] = {}
    for key, request in zip(keys, requests, strict=True):
        if request is not None and key not in in_base and key not in new:
            new[key] = request
    if action == "add":
        return Plan(base, list(new.values()), len(keys) - len(new))
    asked = set(keys)
    kept, seen = [], set()
    for held in base:  # set: the first datapoint of each asked content stays
        if held.key in asked and held.key not in seen:
            kept.append(held)
            seen.add(held.key)
    return Plan(kept, list(new.values()), len(keys) - len(new))


def held_datapoints(
    spans: Spans,
    conn: Connection,
    row: DatasetRow,
    version: VersionRow,
    known: dict[bytes, bytes] | None = None,
) -> Iterator[Held]:
    """A version's datapoints, in order, read on the write's own connection.

    A datapoint whose stored content is byte for byte a request item's (in
    ``known``, by :func:`stored_content`) takes that item's key undecoded;
    the others are decoded and keyed.
    """
    loads, known = orjson.loads, known or {}
    for payload in _payloads(spans, conn, row, version):
        key = known.get(stored_part(payload))
        if key is not None and payload.startswith(b'{"id":"'):
            yield Held(payload[7 : payload.index(b'"', 7)].decode(), key, payload)
        else:
            data = loads(payload)
            yield Held(data["id"], content_key(data), payload)


def unread_datapoints(
    spans: Spans, conn: Connection, row: DatasetRow, version: VersionRow
) -> Iterator[Held]:
    """A version's datapoints, in order, with their content keys left unread (None)."""
    for payload in _payloads(spans, conn, row, version):
        if payload.startswith(b'{"id":"'):
            yield Held(payload[7 : payload.index(b'"', 7)].decode(), None, payload)
        else:
            yield Held(orjson.loads(payload)["id"], None, payload)


def _payloads(
    spans: Spans, conn: Connection, row: DatasetRow, version: VersionRow
) -> Iterator[bytes]:
    start, view = 0, view_of(conn, row, version)
    while True:
        rows = spans.rows(conn, view, start, _BATCH, as_bytes=True)
        for _, payload in rows:
            yield payload
        if len(rows) < _BATCH:
            return
        start = rows[-1][0] + 1


def plan_keyed(
    action: Action,
    base: list[Held],
    base_keys: list[bytes | None],
    keys: list[bytes | None],
    requests: list[DatapointRequest | None],
) -> Plan:
    """Apply ``action`` to the base, matching items to datapoints by key (see ``keyed``).

    ``base_keys[i]`` is base datapoint ``i``'s key and ``keys[j]`` item ``j``'s
    (None: a new datapoint); both hold no key twice. ``requests[j]`` is the
    item's content, None where it equals its match's. A matched datapoint of
    other content is updated in place; one of the same content is kept (the
    item is ignored). ``set`` keeps the matched, in base order, and adds the
    rest; ``add`` keeps the whole base; ``remove`` drops the matched.
    """
    by_key = {k: held for held, k in zip(base, base_keys, strict=True) if k is not None}
    asked = {k: request for k, request in zip(keys, requests, strict=True) if k is not None}
    if action == "remove":
        kept = [held for held, k in zip(base, base_keys, strict=True) if k not in asked]
        return Plan(kept, [], len(requests) - (len(base) - len(kept)))
    new = [
        request
        for k, request in zip(keys, requests, strict=True)
        if request is not None and k not in by_key
    ]
    updated = {
        by_key[k].id: request
        for k, request in asked.items()
        if k in by_key and request is not None and request_key(request) != content_key_of(by_key[k])
    }
    if action == "add":
        kept = base
    else:
        pairs = zip(base, base_keys, strict=True)
        kept = [held for held, k in pairs if k is not None and k in asked]
    return Plan(kept, new, len(requests) - len(new) - len(updated), updated)
