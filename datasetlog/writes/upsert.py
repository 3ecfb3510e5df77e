"""Upsert: a version holding a base version's content with a request's datapoints set, added
or removed, matched by content, committed on top of the latest version."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any, Literal, NamedTuple, get_args

import attrs
import orjson

from datasetlog import messages
from datasetlog.content import content_key
from datasetlog.errors import ConflictError, ErrorDetail, StoreError, ValidationError
from datasetlog.events import (
    DatapointsDeleted,
    Event,
    IdempotencyStamp,
)
from datasetlog.models import UpsertResult
from datasetlog.readmodels.history import DiffPlan, History
from datasetlog.readmodels.layers import view_of
from datasetlog.readmodels.rows import DatasetRow, VersionRow
from datasetlog.readmodels.spans import Spans
from datasetlog.reads.resolve import VersionRef, resolve_version
from datasetlog.requests import DatapointRequest
from datasetlog.serialization.converter import converter
from datasetlog.serialization.decode import datapoint_from_json
from datasetlog.store.base import Connection
from datasetlog.validation.fields import DATASET_ID, require_id, text_problems
from datasetlog.validation.requests import datapoint_items, parse_items
from datasetlog.writes.commits import VersionName, added, content_commit, earlier_use, restored
from datasetlog.writes.loop import WriteContext, Writer, collector_paused

Action = Literal["set", "add", "remove"]
ACTIONS: tuple[str, ...] = get_args(Action)
_BATCH = 2000


class Held(NamedTuple):
    """A datapoint of the base version: its id, content key and stored JSON (UTF-8)."""

    id: str
    key: bytes
    payload: bytes


@attrs.frozen
class Plan:
    """What the new version holds: base datapoints kept (in order) and requests to add."""

    kept: list[Held]
    new: list[DatapointRequest]
    ignored: int


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
    if type(item) is not dict or not _FIELDS.issuperset(item):
        return None
    fields = [item.get("inputs"), item.get("messages"), item.get("target")]
    try:
        key = orjson.dumps(fields, option=_PLAIN)
    except TypeError:
        return None
    if b"null" in key and orjson.loads(key) != fields:
        return None
    return key


def stored_content(item: Any) -> bytes:
    """How a datapoint made from this plain item stores its content: its stored JSON after
    its timestamps (``,"inputs":...}``, or ``}`` when it holds nothing)."""
    fields = {
        name: item[name] for name in ("inputs", "messages", "target") if item.get(name) is not None
    }
    return b"," + orjson.dumps(fields)[1:] if fields else b"}"


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
    start, loads, known = 0, orjson.loads, known or {}
    view = view_of(conn, row, version)
    while True:
        rows = spans.rows(conn, view, start, _BATCH, as_bytes=True)
        for _, payload in rows:
            end = payload.find(b'"', payload.find(b'"updated_at":"') + 14)
            key = known.get(payload[end + 1 :])
            if key is not None and payload.startswith(b'{"id":"'):
                yield Held(payload[7 : payload.index(b'"', 7)].decode(), key, payload)
            else:
                data = loads(payload)
                yield Held(data["id"], content_key(data), payload)
        if len(rows) < _BATCH:
            return
        start = rows[-1][0] + 1


class UpsertWrites:
    """``DatasetLog.upsert``."""

    def __init__(self, writer: Writer, spans: Spans, history: History) -> None:
        self._writer = writer
        self._spans = spans
        self._history = history

    def upsert(
        self,
        dataset_id: str,
        datapoints: Any,
        *,
        action: str,
        base: VersionRef,
        expected_version: int | None,
        name: VersionName | None,
        idempotency_key: str | None,
    ) -> UpsertResult:
        """Commit the base with the request applied; see ``DatasetLog.upsert``."""
        items, single = _parse(datapoints, action, expected_version)
        require_id(dataset_id, DATASET_ID)
        stamp = _stamp(idempotency_key, items, single, action, base, expected_version, name)
        checked_action: Action = action  # type: ignore[assignment]
        plain = [plain_key(item) for item in items]
        known = {
            stored_content(item): key
            for item, key in zip(items, plain, strict=True)
            if key is not None
        }

        def write(tx: WriteContext) -> UpsertResult:
            row = tx.live(dataset_id)
            head = _version(tx, row, row.version)
            found = resolve_version(tx.lookups, tx.conn, row, base, loc=("query", "base"))
            held = list(held_datapoints(self._spans, tx.conn, row, found, known))
            keys, requests = _match(items, single, plain, {h.key for h in held})
            first = earlier_use(tx, row, stamp) if stamp is not None else None
            if first is not None:
                return UpsertResult(first.to_version(row.id), 0, 0, len(items), False)
            if expected_version is not None and expected_version != row.version:
                raise ConflictError(
                    f"dataset {row.id!r} is at version {row.version}, not {expected_version}"
                )
            made = plan(checked_action, held, keys, requests)
            events = self._events(tx, row, found, head, held, made)
            added = len(made.new)
            removed = len(held) - len(made.kept)
            if not events:
                return UpsertResult(head.to_version(row.id), 0, 0, made.ignored, False)
            message = messages.upsert(action, found.number, added, removed)
            commit = content_commit(tx, row, events, message, name=name, idempotency=stamp)
            version = tx.commit(commit).made_version()
            return UpsertResult(version, added, removed, made.ignored, True)

        with collector_paused():
            return self._writer.run(write)

    def _events(
        self,
        tx: WriteContext,
        row: DatasetRow,
        base: VersionRow,
        head: VersionRow,
        held: list[Held],
        made: Plan,
    ) -> list[Event]:
        """The events that turn the latest version into the planned one."""
        kept = {h.id: h for h in made.kept}
        undone: list[Event] = []
        if base.number == head.number:
            gone = [h.id for h in held if h.id not in kept]
        else:  # the base is older: also undo, for what is kept, what changed since
            plan_ = DiffPlan(row, base, head)
            changes = self._history.changes(lambda: nullcontext(tx.conn), plan_)
            differ: set[str] = set()
            gone = []
            for change in changes:
                differ.add(change.datapoint_id)
                if change.after is not None and change.datapoint_id not in kept:
                    gone.append(change.datapoint_id)  # in the latest, not planned
                elif change.datapoint_id in kept:  # planned with the base's content
                    before = datapoint_from_json(row.id, kept[change.datapoint_id].payload)
                    undone.append(restored(before))
            gone += [h.id for h in held if h.id not in kept and h.id not in differ]
        events: list[Event] = [*undone]
        if gone:
            events.append(DatapointsDeleted(gone))
        events += added(made.new, tx.now)
        return events


def _version(tx: WriteContext, row: DatasetRow, number: int) -> VersionRow:
    found = tx.lookups.version(tx.conn, row.key, number)
    if found is None:
        raise StoreError(f"the read models lack version {number} of {row.id!r}; run verify()")
    return found


def option_problems(action: object, expected_version: object) -> list[ErrorDetail]:
    """What is wrong with an upsert's action and expected version (nothing, usually)."""
    problems: list[ErrorDetail] = []
    if action not in ACTIONS:
        problems.append(
            ErrorDetail(("body", "action"), f"expected one of {', '.join(ACTIONS)}", "action")
        )
    if expected_version is not None and (type(expected_version) is not int or expected_version < 0):
        problems.append(
            ErrorDetail(("body", "expected_version"), "expected a version number", "int_type")
        )
    return problems


def _parse(datapoints: Any, action: str, expected_version: object) -> tuple[list[object], bool]:
    """The request's items, unchecked, with the other arguments checked (all problems at once).

    Raises:
        ValidationError: A bad action or expected version, or a body of another shape.
    """
    problems = option_problems(action, expected_version)
    items: list[object] = []
    single = False
    try:
        items, single = datapoint_items(datapoints)
    except ValidationError as error:
        problems.extend(error.details)
    if problems:
        raise ValidationError(problems)
    return items, single


def _match(
    items: list[object], single: bool, plain: list[bytes | None], in_base: set[bytes]
) -> tuple[list[bytes], list[DatapointRequest | None]]:
    """Each item's content key, and the item validated unless it equals base content.

    Raises:
        ValidationError: Every problem of the items that needed validating.
    """
    keys: list[bytes] = []
    requests: list[DatapointRequest | None] = []
    unmatched: list[tuple[int, object]] = []
    for index, (item, key) in enumerate(zip(items, plain, strict=True)):
        if key is None or key not in in_base:
            unmatched.append((index, item))
        keys.append(key or b"")
        requests.append(None)
    for (index, _), request in zip(unmatched, parse_items(unmatched, single=single), strict=True):
        keys[index] = request_key(request)
        requests[index] = request
    return keys, requests


def _stamp(
    key: str | None,
    items: list[object],
    single: bool,
    action: str,
    base: VersionRef,
    expected_version: int | None,
    name: VersionName | None,
) -> IdempotencyStamp | None:
    """The idempotency stamp of a request (None without a key).

    Raises:
        ValidationError: A bad key, or items that are not JSON data.
    """
    if key is None:
        return None
    problems = text_problems(key, ("idempotency_key",))
    if problems:
        raise ValidationError(problems)
    try:
        body = orjson.loads(orjson.dumps(items))
    except TypeError:  # not plain JSON data: validation names what is wrong, if anything
        body = converter.unstructure(parse_items(list(enumerate(items)), single=single))
    request = {
        "upsert": body,
        "action": action,
        "base": [type(base).__name__, str(base)],
        "expected_version": expected_version,
        "version_name": converter.unstructure(name),
    }
    digest = hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return IdempotencyStamp(key, digest)
