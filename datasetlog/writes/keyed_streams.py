"""A keyed upsert of any size, on the latest version, in bounded memory.

The base is held as one 128-bit entry per datapoint (a 96-bit digest of its
key above its 32-bit ordinal, sorted, in two arrays of 64-bit halves, looked
up by bisection) and a 64-bit
digest of its content by ordinal; the request, while it is read the first
time, as the line matched to each ordinal and one int per new item's key, to
find keys given twice. The batches are read
twice: first to validate them and plan, then to write. An update's old
datapoint (for its id and creation time) is read back at its ordinal, a
batch of them at a time, so nothing of the base's JSON is held.
"""

from __future__ import annotations

import bisect
import hashlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import pairwise
from typing import Any

import attrs
import orjson

from datasetlog.content import content_key
from datasetlog.errors import ErrorDetail, ValidationError
from datasetlog.events import DatapointsDeleted, DatapointUpdated, Event
from datasetlog.readmodels.history import History
from datasetlog.readmodels.layers import View, view_of
from datasetlog.readmodels.rows import DatasetRow, VersionRow
from datasetlog.readmodels.spans import Spans
from datasetlog.requests import DatapointRequest
from datasetlog.serialization.decode import datapoint_from_json
from datasetlog.store.base import Connection
from datasetlog.validation.requests import parse_items
from datasetlog.writes.commits import added
from datasetlog.writes.keyed import (
    ID,
    Key,
    refuse_repeated_base_keys,
    refuse_unknown_ids,
    without_id,
)
from datasetlog.writes.loop import CommitWriter
from datasetlog.writes.plans import Action, request_key
from datasetlog.writes.upsert import restated

_ORDINAL = 32
_ORDINALS = (1 << _ORDINAL) - 1
_LOW = (1 << 64) - 1
_PAGE = 2000
DELETED_PER_EVENT = 10_000
"""Datapoint ids per deletion event."""


def key_digest(key: bytes) -> int:
    """A key's 96-bit digest: two of a billion keys collide with odds of about 1 in 10^11."""
    return int.from_bytes(hashlib.blake2b(key, digest_size=12).digest())


def content_digest(key: bytes) -> int:
    """A content key's 64-bit digest, to tell an update from an unchanged item."""
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest())


class KeyedBase:
    """The latest version's datapoints by key digest, with their content digests.

    Args:
        entries: ``digest << 32 | ordinal`` of every datapoint holding the key.
        contents: Each ordinal's content digest (0 where none is live).
        live: 1 at each ordinal live in the version.
    """

    def __init__(self, entries: list[int], contents: array[int], live: bytearray) -> None:
        entries.sort()
        self.high = array("Q", (entry >> 64 for entry in entries))
        """The top 64 bits of each sorted entry's digest, for bisection."""
        self.low = array("Q", (entry & _LOW for entry in entries))
        """The rest of each sorted entry: its digest's last 32 bits above its ordinal."""
        self.contents = contents
        self.live = live
        self.asked = array("Q", bytes(8 * len(live)))
        """At each ordinal, 1 + the line of the item matched to it (0: none yet)."""

    @classmethod
    def read(
        cls, spans: Spans, conn: Connection, row: DatasetRow, version: VersionRow, key: Key
    ) -> KeyedBase:
        """Read a version's keys and content digests, a page of spans at a time.

        Raises:
            ValidationError: A path key the version holds more than once.
        """
        view = view_of(conn, row, version)
        entries: list[int] = []
        contents = array("Q", bytes(8 * version.ordinal_bound))
        live = bytearray(version.ordinal_bound)
        for ordinal, data in _spans(spans, conn, view):
            live[ordinal] = 1
            contents[ordinal] = content_digest(content_key(data))
            found = orjson.dumps(data[ID]) if key.by_id else key.of(data)
            if found is not None:
                entries.append(key_digest(found) << _ORDINAL | ordinal)
        base = cls(entries, contents, live)
        base.refuse_repeats(spans, conn, view, key)
        return base

    def refuse_repeats(self, spans: Spans, conn: Connection, view: View, key: Key) -> None:
        """Refuse a key digest that more than one datapoint holds, naming them."""
        repeated: set[int] = set()
        for at in range(1, len(self.high)):
            before, after = self.low[at - 1], self.low[at]
            if self.high[at - 1] == self.high[at] and before >> _ORDINAL == after >> _ORDINAL:
                repeated.update((before & _ORDINALS, after & _ORDINALS))
        if not repeated:
            return
        holders: dict[bytes, list[str]] = {}
        for ordinal, data in _spans(spans, conn, view):
            if ordinal in repeated:
                value = key.of(data)
                if value is not None:
                    holders.setdefault(value, []).append(str(data[ID]))
        refuse_repeated_base_keys(key, {k: ids for k, ids in holders.items() if len(ids) > 1})

    def find(self, digest: int) -> int | None:
        """The ordinal of the datapoint whose key has this digest, or None."""
        high, rest = digest >> _ORDINAL, digest & _ORDINALS
        at = bisect.bisect_left(self.high, high)
        while at < len(self.high) and self.high[at] == high:
            if self.low[at] >> _ORDINAL == rest:
                return self.low[at] & _ORDINALS
            at += 1
        return None

    def kept(self, action: Action) -> bytearray:
        """Which live ordinals the action keeps (1) or removes (0)."""
        if action == "add":
            return bytearray(self.live)
        pairs = zip(self.asked, self.live, strict=True)
        if action == "set":
            return bytearray(1 if asked and live else 0 for asked, live in pairs)
        return bytearray(1 if live and not asked else 0 for asked, live in pairs)


def _spans(spans: Spans, conn: Connection, view: View) -> Iterator[tuple[int, Any]]:
    """A version's datapoints as ``(ordinal, JSON data)``, a page at a time."""
    start = 0
    while True:
        rows = spans.rows(conn, view, start, _PAGE, as_bytes=True)
        for ordinal, payload in rows:
            yield int(ordinal), orjson.loads(payload)
        if len(rows) < _PAGE:
            return
        start = rows[-1][0] + 1


@attrs.frozen
class KeyedPlan:
    """What a keyed streamed upsert does, counted; ``kept`` marks the live ordinals kept."""

    kept: bytearray
    items: int
    added: int
    removed: int
    changed: int
    ignored: int


@attrs.frozen
class _Item:
    """One request item as both readings see it."""

    line: int
    key: bytes | None
    request: DatapointRequest
    ordinal: int | None
    changes: bool


def _items(
    key: Key, base: KeyedBase, batch: Sequence[Any], offset: int, *, new_allowed: bool
) -> tuple[list[_Item], list[ErrorDetail]]:
    """One batch's items, validated and matched to the base, and the problems of their keys
    (a missing key, an id the base lacks).

    Raises:
        ValidationError: A batch that is no list, or an item that is no datapoint.
    """
    if isinstance(batch, str | bytes) or not isinstance(batch, Sequence) or not batch:
        problem = ErrorDetail(("body",), "expected batches that are non-empty lists", "batch")
        raise ValidationError([problem])
    numbered = list(enumerate(batch, start=offset))
    requests = parse_items([(line, without_id(item)) for line, item in numbered], single=False)
    problems: list[ErrorDetail] = []
    unknown: list[tuple[tuple[str | int, ...], str]] = []
    made: list[_Item] = []
    for (line, item), request in zip(numbered, requests, strict=True):
        found = key.of(item) if isinstance(item, dict) else None
        if found is None and not (key.by_id and new_allowed):
            missing = f"the item holds no {key.spec}"
            problems.append(ErrorDetail(("body", line), missing, "missing_key"))
        elif found is not None and key.by_id and not isinstance(orjson.loads(found), str):
            wrong = ErrorDetail(("body", line, ID), "expected a datapoint id", "string_type")
            problems.append(wrong)
        ordinal = base.find(key_digest(found)) if found is not None else None
        if found is not None and ordinal is None and key.by_id:
            unknown.append((("body", line), orjson.loads(found)))
        digest = content_digest(request_key(request))
        changes = ordinal is not None and base.contents[ordinal] != digest
        made.append(_Item(line, found, request, ordinal, changes))
    try:
        refuse_unknown_ids(unknown)
    except ValidationError as error:
        problems.extend(error.details)
    return made, problems


def plan(action: Action, key: Key, base: KeyedBase, batches: Iterable[Sequence[Any]]) -> KeyedPlan:
    """Read the batches once, validating them, and plan the upsert.

    Raises:
        ValidationError: A bad item, a missing, repeated or unknown key.
    """
    seen: list[int] = []  # digest << 32 | line of each new item's key, for keys given twice
    problems: list[ErrorDetail] = []
    items = added_count = changed = 0
    for batch in batches:
        try:
            batch_items, found = _items(key, base, batch, items, new_allowed=action != "remove")
        except ValidationError as error:  # the batch's content: with what came before
            raise ValidationError([*problems, *error.details]) from error
        problems += found
        for item in batch_items:
            if item.ordinal is None:
                added_count += 1
                if item.key is not None:
                    seen.append(key_digest(item.key) << _ORDINAL | item.line)
            elif base.asked[item.ordinal]:  # a key an earlier item matched
                problems.append(_given_twice(key, item, base.asked[item.ordinal] - 1))
            else:
                base.asked[item.ordinal] = item.line + 1
                changed += item.changes
        items += len(batch)
    problems += _repeated_items(seen, key)
    if problems:
        raise ValidationError(problems)
    kept = base.kept(action)
    removed = sum(base.live) - sum(kept)
    if action == "remove":
        return KeyedPlan(kept, items, 0, removed, 0, items - removed)
    return KeyedPlan(kept, items, added_count, removed, changed, items - added_count - changed)


def _given_twice(key: Key, item: _Item, earlier: int) -> ErrorDetail:
    value = item.key.decode() if item.key is not None else ""
    message = f"{key.spec} {value} is given twice (also at body.{earlier})"
    return ErrorDetail(("body", item.line), message, "duplicate_key")


def _repeated_items(seen: list[int], key: Key) -> list[ErrorDetail]:
    """The problems of new items' keys given twice, from ``digest << 32 | line`` of each."""
    seen.sort()
    return [
        ErrorDetail(
            ("body", entry & _ORDINALS),
            f"{key.spec} is given twice (also at body.{before & _ORDINALS})",
            "duplicate_key",
        )
        for before, entry in pairwise(seen)
        if before >> _ORDINAL == entry >> _ORDINAL
    ]


def write(
    streamed: CommitWriter,
    spans: Spans,
    history: History,
    conn: Connection,
    view: View,
    key: Key,
    action: Action,
    base: KeyedBase,
    planned: KeyedPlan,
    batches: Iterable[Sequence[Any]],
    now: Any,
    progress: Callable[[int], object] | None,
) -> None:
    """Write the plan: deletions, then each batch's updates and additions.

    Raises:
        ValidationError: The batches are not what the plan read.
    """
    gone: list[str] = []
    for ordinal, data in _spans(spans, conn, view):
        if base.live[ordinal] and not planned.kept[ordinal]:
            gone.append(str(data[ID]))
            if len(gone) == DELETED_PER_EVENT:
                streamed.add([DatapointsDeleted(gone)])
                gone = []
    if gone:
        streamed.add([DatapointsDeleted(gone)])
    items = added_count = changed = 0
    for batch in batches:
        batch_items, problems = _items(key, base, batch, items, new_allowed=action != "remove")
        if problems:  # the first reading found none: the batches changed since
            raise ValidationError(problems)
        items += len(batch_items)
        if action != "remove":
            updates = [item for item in batch_items if item.ordinal is not None and item.changes]
            new = [item.request for item in batch_items if item.ordinal is None]
            streamed.add(_updated(history, conn, view, updates, now) + list(added(new, now)))
            added_count, changed = added_count + len(new), changed + len(updates)
        if progress is not None:
            progress(len(batch_items))
    if (items, added_count, changed) != (planned.items, planned.added, planned.changed):
        raise ValidationError(
            [ErrorDetail(("batches",), "the batches changed between readings", "changed")]
        )


def _updated(
    history: History, conn: Connection, view: View, updates: list[_Item], now: Any
) -> list[Event]:
    """The events giving matched datapoints their new content, read back at their ordinals."""
    at = {item.ordinal: item for item in updates if item.ordinal is not None}
    if not at:
        return []
    version = view.version.number
    spans = history.spans_at(conn, view, sorted(at), version, version)
    return [
        restated(
            DatapointUpdated, datapoint_from_json(view.dataset.id, span.payload), item.request, now
        )
        for span in spans
        if (item := at.get(span.ordinal)) is not None
    ]
