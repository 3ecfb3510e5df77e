"""Upsert: a version holding a base version's content with a request's datapoints set, added
or removed, matched by content (or by a key: see ``keyed``), committed on top of the latest
version; or, dry, the diff that would be."""

from __future__ import annotations

import hashlib
from contextlib import nullcontext
from datetime import datetime
from typing import Any

import orjson

from datasetlog import messages
from datasetlog.content import content_key
from datasetlog.errors import ConflictError, ErrorDetail, Loc, StoreError, ValidationError
from datasetlog.events import (
    DatapointRestored,
    DatapointsDeleted,
    DatapointUpdated,
    Event,
    IdempotencyStamp,
)
from datasetlog.models import Datapoint, Diff, DiffCounts, UpsertResult
from datasetlog.readmodels.history import DiffPlan, History
from datasetlog.readmodels.rows import DatasetRow, VersionRow
from datasetlog.readmodels.spans import Spans
from datasetlog.reads.resolve import VersionRef, resolve_version
from datasetlog.requests import DatapointRequest
from datasetlog.serialization.converter import converter
from datasetlog.serialization.decode import datapoint_from_json
from datasetlog.validation.fields import DATASET_ID, require_id, text_problems
from datasetlog.validation.requests import datapoint_items, parse_items
from datasetlog.writes.commits import VersionName, added, content_commit, earlier_use, restored
from datasetlog.writes.keyed import (
    Key,
    KeyedItems,
    parse_key,
    refuse_repeated_base_keys,
    refuse_unknown_ids,
    request_keys,
    without_id,
)
from datasetlog.writes.loop import WriteContext, Writer, collector_paused
from datasetlog.writes.plans import (
    ACTIONS,
    Action,
    Held,
    Plan,
    content_key_of,
    held_datapoints,
    plain_key,
    plan,
    plan_keyed,
    request_key,
    stored_content,
    stored_part,
    unread_datapoints,
)


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
        key: str | None = None,
        dry_run: bool = False,
        allow_empty: bool = False,
    ) -> UpsertResult | Diff:
        """Commit the base with the request applied (or, dry, say what that would change);
        see ``DatasetLog.upsert``."""
        items, single = _parse(datapoints, action, expected_version, dry_run, allow_empty)
        require_id(dataset_id, DATASET_ID)
        keyed = parse_key(key)
        stamp = _stamp(idempotency_key, items, single, action, base, expected_version, name, key)
        checked_action: Action = action  # type: ignore[assignment]
        if keyed is None:
            plain = [plain_key(item) for item in items]
            known = {
                stored_content(item): key
                for item, key in zip(items, plain, strict=True)
                if key is not None
            }
        else:
            locs = _locs(items, single)
            read = request_keys(keyed, items, locs, new_allowed=action != "remove")

        def write(tx: WriteContext) -> UpsertResult | Diff:
            row = tx.live(dataset_id)
            head = _version(tx, row, row.version)
            found = resolve_version(tx.lookups, tx.conn, row, base, loc=("query", "base"))
            if keyed is None:
                held = list(held_datapoints(self._spans, tx.conn, row, found, known))
                keys, requests = _match(items, single, plain, {content_key_of(h) for h in held})
                made = plan(checked_action, held, keys, requests)
            else:
                held = list(unread_datapoints(self._spans, tx.conn, row, found))
                made = _keyed_plan(keyed, checked_action, items, single, locs, read, held)
            first = earlier_use(tx, row, stamp) if stamp is not None else None
            if first is not None:
                result = UpsertResult(first.to_version(row.id), 0, 0, len(items), False)
                return nothing(head, row) if dry_run else result
            if expected_version is not None and expected_version != row.version:
                raise ConflictError(
                    f"dataset {row.id!r} is at version {row.version}, not {expected_version}"
                )
            events = self._events(tx, row, found, head, held, made)
            added, changed = len(made.new), len(made.updated)
            removed = len(held) - len(made.kept)
            if not events:
                unchanged = UpsertResult(head.to_version(row.id), 0, 0, made.ignored, False)
                return nothing(head, row) if dry_run else unchanged
            message = messages.upsert(action, found.number, added, removed, changed)
            commit = content_commit(tx, row, events, message, name=name, idempotency=stamp)
            applied = tx.commit(commit)
            if dry_run:
                plan_ = DiffPlan(applied.dataset, head, applied.made_row())
                return self._history.diff(lambda: nullcontext(tx.conn), plan_)
            version = applied.made_version()
            return UpsertResult(version, added, removed, made.ignored, True, changed)

        with collector_paused():
            return self._writer.run(write, dry_run=dry_run)

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
        deleted_since: set[str] = set()
        already: set[str] = set()  # updated since the base to what the request asks
        if base.number == head.number:
            gone = [h.id for h in held if h.id not in kept]
        else:  # the base is older: also undo, for what is kept, what changed since
            plan_ = DiffPlan(row, base, head)
            changes = self._history.changes(lambda: nullcontext(tx.conn), plan_)
            differ: set[str] = set()
            gone = []
            for change in changes:
                datapoint_id = change.datapoint_id
                differ.add(datapoint_id)
                if change.after is not None and datapoint_id not in kept:
                    gone.append(datapoint_id)  # in the latest, not planned
                elif datapoint_id in made.updated:  # planned with the request's content
                    if change.after is None:
                        deleted_since.add(datapoint_id)
                    elif content_key(converter.unstructure(change.after)) == request_key(
                        made.updated[datapoint_id]
                    ):
                        already.add(datapoint_id)
                elif datapoint_id in kept:  # planned with the base's content
                    before = datapoint_from_json(row.id, kept[datapoint_id].payload)
                    undone.append(restored(before))
            gone += [h.id for h in held if h.id not in kept and h.id not in differ]
        events: list[Event] = [*undone]
        for held_id, request in made.updated.items():
            if held_id not in already:
                old = datapoint_from_json(row.id, kept[held_id].payload)
                kind = DatapointRestored if held_id in deleted_since else DatapointUpdated
                events.append(restated(kind, old, request, tx.now))
        if gone:
            events.append(DatapointsDeleted(gone))
        events += added(made.new, tx.now)
        return events


def restated(
    kind: type[DatapointUpdated | DatapointRestored],
    old: Datapoint,
    request: DatapointRequest,
    now: datetime,
) -> DatapointUpdated | DatapointRestored:
    """The event giving a datapoint a request's content now, keeping its id and creation."""
    return kind(
        id=old.id,
        created_at=old.created_at,
        updated_at=now,
        inputs=request.inputs,
        messages=request.messages,
        target=request.target,
        source_project_data_id=old.source_project_data_id,
    )


def nothing(head: VersionRow, row: DatasetRow) -> Diff:
    """The diff of a dry run that would change nothing."""
    version = head.to_version(row.id)
    return Diff(version, version, [], [], [], DiffCounts(0, 0, 0))


def _keyed_plan(
    key: Key,
    action: Action,
    items: list[object],
    single: bool,
    locs: list[Loc],
    read: KeyedItems,
    held: list[Held],
) -> Plan:
    """The plan of a keyed upsert: items matched to the base by ``key``.

    An item whose stored form is its match's, byte for byte, holds that
    content, hence is valid, and is neither checked again nor decoded; so is
    a base datapoint of such an item's content, which holds that item's key.

    Raises:
        ValidationError: A bad item, (``key="id"``) an id naming no base
            datapoint, or a key the base holds twice.
    """
    keys, stored = read
    tails = [stored_part(h.payload) for h in held]
    if key.by_id:
        base_keys: list[bytes | None] = [orjson.dumps(h.id) for h in held]
        in_base = set(base_keys)
        pairs = zip(locs, keys, strict=True)
        refuse_unknown_ids((loc, orjson.loads(k)) for loc, k in pairs if k and k not in in_base)
    else:  # a base datapoint of an item's content holds that item's key
        of_content = {s: k for s, k in zip(stored, keys, strict=True) if s is not None}
        base_keys = [
            of_content[tail] if tail in of_content else key.of(orjson.loads(h.payload))
            for h, tail in zip(held, tails, strict=True)
        ]
        holders: dict[bytes, list[str]] = {}
        for h, k in zip(held, base_keys, strict=True):
            if k is not None:
                holders.setdefault(k, []).append(h.id)
        refuse_repeated_base_keys(key, {k: ids for k, ids in holders.items() if len(ids) > 1})
    by_key = {k: place for place, k in enumerate(base_keys) if k is not None}
    checked: list[tuple[int, object]] = []
    for index, (k, form) in enumerate(zip(keys, stored, strict=True)):
        place = by_key.get(k) if k is not None else None
        if place is None or form is None or form != tails[place]:
            checked.append((index, without_id(items[index]) if key.by_id else items[index]))
    requests: list[DatapointRequest | None] = [None] * len(items)
    for (index, _), request in zip(checked, parse_items(checked, single=single), strict=True):
        requests[index] = request
    return plan_keyed(action, held, base_keys, keys, requests)


def _locs(items: list[object], single: bool) -> list[Loc]:
    return [("body",) if single else ("body", i) for i in range(len(items))]


def _version(tx: WriteContext, row: DatasetRow, number: int) -> VersionRow:
    found = tx.lookups.version(tx.conn, row.key, number)
    if found is None:
        raise StoreError(f"the read models lack version {number} of {row.id!r}; run verify()")
    return found


def option_problems(
    action: object, expected_version: object, dry_run: object = False, allow_empty: object = False
) -> list[ErrorDetail]:
    """What is wrong with an upsert's action, expected version and flags (nothing, usually)."""
    problems: list[ErrorDetail] = [
        ErrorDetail(("query", name), "expected True or False", "bool_type")
        for name, value in (("dry_run", dry_run), ("allow_empty", allow_empty))
        if type(value) is not bool
    ]
    if action not in ACTIONS:
        problems.append(
            ErrorDetail(("body", "action"), f"expected one of {', '.join(ACTIONS)}", "action")
        )
    if expected_version is not None and (type(expected_version) is not int or expected_version < 0):
        problems.append(
            ErrorDetail(("body", "expected_version"), "expected a version number", "int_type")
        )
    return problems


def _parse(
    datapoints: Any, action: str, expected_version: object, dry_run: object, allow_empty: object
) -> tuple[list[object], bool]:
    """The request's items, unchecked, with the other arguments checked (all problems at once).

    Raises:
        ValidationError: A bad action, expected version or flag, a body of
            another shape, or a ``set`` of nothing without ``allow_empty``.
    """
    problems = option_problems(action, expected_version, dry_run, allow_empty)
    items: list[object] = []
    single = False
    try:
        items, single = datapoint_items(datapoints)
    except ValidationError as error:
        problems.extend(error.details)
    if not problems and not items and action == "set" and not allow_empty:
        problems.append(empty_set())
    if problems:
        raise ValidationError(problems)
    return items, single


def empty_set() -> ErrorDetail:
    """The refusal of a ``set`` from nothing, which would empty the dataset."""
    return ErrorDetail(
        ("body",),
        "a set of no datapoints would empty the dataset; pass allow_empty=True to mean it",
        "empty_set",
    )


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
    matched_by: str | None,
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
        **({"key": matched_by} if matched_by is not None else {}),
    }
    digest = hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return IdempotencyStamp(key, digest)
