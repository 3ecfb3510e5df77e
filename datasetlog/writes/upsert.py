"""Upsert: a version holding a base version's content with a request's datapoints set, added
or removed, matched by content, committed on top of the latest version."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from typing import Any, Literal, get_args

import attrs
import orjson

from datasetlog import messages
from datasetlog.content import content_key
from datasetlog.errors import ConflictError, ErrorDetail, StoreError, ValidationError
from datasetlog.events import (
    DatapointAdded,
    DatapointRestored,
    DatapointsDeleted,
    Event,
    IdempotencyStamp,
)
from datasetlog.ids import DATAPOINT_PREFIX, new_ids
from datasetlog.models import UpsertResult
from datasetlog.readmodels.history import DiffPlan, History
from datasetlog.readmodels.rows import DatasetRow, VersionRow
from datasetlog.readmodels.spans import Spans
from datasetlog.reads.resolve import VersionRef, resolve_version
from datasetlog.requests import DatapointRequest, LogsRequest
from datasetlog.serialization.converter import converter
from datasetlog.serialization.decode import datapoint_from_json
from datasetlog.store.base import Connection
from datasetlog.validation.fields import require_id, text_problems
from datasetlog.validation.requests import parse_create_request
from datasetlog.writes.commits import VersionName, content_commit
from datasetlog.writes.loop import Outcome, WriteContext, Writer, collector_paused

Action = Literal["set", "add", "remove"]
ACTIONS: tuple[str, ...] = get_args(Action)
_DATASET_ID = ("path", "dataset_id")
_BATCH = 2000


@attrs.frozen
class Held:
    """A datapoint of the base version: its id, content key and stored JSON data."""

    id: str
    key: bytes
    data: dict[str, Any]


@attrs.frozen
class Plan:
    """What the new version holds: base datapoints kept (in order) and requests to add."""

    kept: list[Held]
    new: list[DatapointRequest]
    ignored: int


def request_key(request: DatapointRequest) -> bytes:
    """A request's content key, as :func:`~datasetlog.content.content_key` of its JSON."""
    return content_key(converter.unstructure(request))


def plan(action: Action, base: list[Held], requests: list[DatapointRequest]) -> Plan:
    """Apply ``action`` to the base's datapoints, matching the request's by content."""
    keys = [request_key(request) for request in requests]
    in_base = {held.key for held in base}
    if action == "remove":
        asked = set(keys)
        kept = [held for held in base if held.key not in asked]
        return Plan(kept, [], sum(1 for key in dict.fromkeys(keys) if key not in in_base))
    new: dict[bytes, DatapointRequest] = {}
    for key, request in zip(keys, requests, strict=True):
        if key not in in_base and key not in new:
            new[key] = request
    if action == "add":
        return Plan(base, list(new.values()), len(requests) - len(new))
    asked = set(keys)
    kept, seen = [], set()
    for held in base:  # set: the first datapoint of each asked content stays
        if held.key in asked and held.key not in seen:
            kept.append(held)
            seen.add(held.key)
    return Plan(kept, list(new.values()), len(requests) - len(new))


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
        requests = _parse(datapoints, action, expected_version)
        require_id(dataset_id, _DATASET_ID)
        stamp = _stamp(idempotency_key, requests, action, base, expected_version, name)
        checked_action: Action = action  # type: ignore[assignment]

        def build(tx: WriteContext) -> Outcome[UpsertResult]:
            row = tx.live(dataset_id)
            head = _version(tx, row, row.version)
            if stamp is not None:
                seen = tx.lookups.idempotency(tx.conn, row.key, stamp.key)
                if seen is not None:
                    if seen.request_hash != stamp.request_hash:
                        raise ConflictError(
                            f"idempotency key {stamp.key!r} was used with a different request"
                        )
                    first = _version(tx, row, seen.version).to_version(row.id)
                    return Outcome([], UpsertResult(first, 0, 0, len(requests), False))
            if expected_version is not None and expected_version != row.version:
                raise ConflictError(
                    f"dataset {row.id!r} is at version {row.version}, not {expected_version}"
                )
            found = resolve_version(tx.lookups, tx.conn, row, base, loc=("query", "base"))
            held = list(self._held(tx.conn, row, found))
            made = plan(checked_action, held, requests)
            events = self._events(tx, row, found, head, held, made)
            added = len(made.new)
            removed = len(held) - len(made.kept)
            if not events:
                return Outcome([], UpsertResult(head.to_version(row.id), 0, 0, made.ignored, False))
            message = messages.upsert(action, found.number, added, removed)
            commit, version = content_commit(
                tx,
                row,
                events,
                message,
                name=name,
                idempotency=stamp,
                datapoint_count=len(made.kept) + added,
            )
            return Outcome([commit], UpsertResult(version, added, removed, made.ignored, True))

        with collector_paused():
            return self._writer.run(build)

    def _held(self, conn: Connection, row: DatasetRow, version: VersionRow) -> Iterator[Held]:
        """The base version's datapoints, in order, read on the write's own connection."""
        start = 0
        while True:
            page = self._spans.page(conn, row.key, version, start=start, limit=_BATCH)
            for span in page:
                data = orjson.loads(span.payload)
                yield Held(data["id"], content_key(data), data)
            if len(page) < _BATCH:
                return
            start = page[-1].ordinal + 1

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
        restored: list[Event] = []
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
                    before = datapoint_from_json(row.id, kept[change.datapoint_id].data)
                    restored.append(_restored(before))
            gone += [h.id for h in held if h.id not in kept and h.id not in differ]
        events: list[Event] = [*restored]
        if gone:
            events.append(DatapointsDeleted(gone))
        ids = new_ids(DATAPOINT_PREFIX, len(made.new))
        events += [
            DatapointAdded(
                id=datapoint_id,
                created_at=tx.now,
                updated_at=tx.now,
                inputs=request.inputs,
                messages=request.messages,
                target=request.target,
            )
            for datapoint_id, request in zip(ids, made.new, strict=True)
        ]
        return events


def _restored(datapoint: Any) -> DatapointRestored:
    return DatapointRestored(
        id=datapoint.id,
        created_at=datapoint.created_at,
        updated_at=datapoint.updated_at,
        inputs=datapoint.inputs,
        messages=datapoint.messages,
        target=datapoint.target,
        source_project_data_id=datapoint.source_project_data_id,
    )


def _version(tx: WriteContext, row: DatasetRow, number: int) -> VersionRow:
    found = tx.lookups.version(tx.conn, row.key, number)
    if found is None:
        raise StoreError(f"the read models lack version {number} of {row.id!r}; run verify()")
    return found


def _parse(datapoints: Any, action: str, expected_version: object) -> list[DatapointRequest]:
    """The request's datapoints, checked with the other arguments (all problems at once)."""
    problems: list[ErrorDetail] = []
    if action not in ACTIONS:
        problems.append(
            ErrorDetail(("body", "action"), f"expected one of {', '.join(ACTIONS)}", "action")
        )
    if expected_version is not None and (type(expected_version) is not int or expected_version < 0):
        problems.append(
            ErrorDetail(("body", "expected_version"), "expected a version number", "int_type")
        )
    request: list[DatapointRequest] | LogsRequest = []
    if not (type(datapoints) in (list, tuple) and not datapoints):  # "set" to nothing empties
        try:
            request = parse_create_request(datapoints)
        except ValidationError as error:
            problems.extend(error.details)
    if isinstance(request, LogsRequest):
        problems.append(ErrorDetail(("body",), "upsert takes datapoints, not log ids", "log_ids"))
    if problems:
        raise ValidationError(problems)
    return request  # type: ignore[return-value]


def _stamp(
    key: str | None,
    requests: Sequence[DatapointRequest],
    action: str,
    base: VersionRef,
    expected_version: int | None,
    name: VersionName | None,
) -> IdempotencyStamp | None:
    if key is None:
        return None
    problems = text_problems(key, ("idempotency_key",))
    if problems:
        raise ValidationError(problems)
    request = {
        "upsert": converter.unstructure(list(requests)),
        "action": action,
        "base": [type(base).__name__, str(base)],
        "expected_version": expected_version,
        "version_name": converter.unstructure(name),
    }
    digest = hashlib.sha256(orjson.dumps(request, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return IdempotencyStamp(key, digest)
