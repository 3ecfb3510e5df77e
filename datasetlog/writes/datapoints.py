"""Datapoint writes: add (one, many, or from logs), update one, delete many; each a new version."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import orjson

from datasetlog import messages as commit_messages
from datasetlog.errors import (
    ErrorDetail,
    NotFoundError,
    ValidationError,
)
from datasetlog.events import (
    DatapointsDeleted,
    DatapointUpdated,
    IdempotencyStamp,
)
from datasetlog.models import Datapoint, Version
from datasetlog.requests import DatapointRequest, LogsRequest
from datasetlog.serialization.converter import converter
from datasetlog.serialization.decode import (
    datapoint_from_json,
    datapoint_from_record,
    stored_datapoint,
)
from datasetlog.sources.base import LogSource
from datasetlog.validation.fields import (
    DATASET_ID,
    id_problems,
    require_id,
    require_ids,
    text_problems,
)
from datasetlog.validation.requests import parse_create_request, parse_datapoint_fields
from datasetlog.writes.commits import VersionName, added, content_commit, earlier_use
from datasetlog.writes.loop import WriteContext, Writer, collector_paused

CreateBody = Mapping[str, Any] | Sequence[Any] | DatapointRequest | LogsRequest
Content = tuple[DatapointRequest, str | None]  # a datapoint's content, and the log it came from
_DATAPOINT_ID = ("path", "datapoint_id")


class DatapointWrites:
    """The datapoint operations of DatasetLog."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer

    def commit(
        self,
        dataset_id: str,
        body: CreateBody,
        *,
        idempotency_key: str | None,
        logs: LogSource | None,
        name: VersionName | None,
    ) -> tuple[Version, list[Datapoint]]:
        """Add datapoints as a new version; see ``DatasetLog.commit_datapoints``."""
        with collector_paused():
            return self._commit(dataset_id, body, idempotency_key, logs, name)

    def _commit(
        self,
        dataset_id: str,
        body: CreateBody,
        idempotency_key: str | None,
        logs: LogSource | None,
        name: VersionName | None,
    ) -> tuple[Version, list[Datapoint]]:
        request = parse_create_request(body)
        if isinstance(request, LogsRequest):
            contents = _from_logs(logs, request.log_ids)
            message = commit_messages.add_datapoints(len(contents), from_logs=True)
        else:
            contents = [(r, None) for r in request]
            message = commit_messages.add_datapoints(len(contents))
        stamp = None
        if idempotency_key is not None:
            problems = text_problems(idempotency_key, ("idempotency_key",))
            if problems:
                raise ValidationError(problems)
            hashed = converter.unstructure(request)
            if name is not None:  # a repeat must name its version alike
                hashed = {"request": hashed, "version_name": converter.unstructure(name)}
            digest = hashlib.sha256(orjson.dumps(hashed, option=orjson.OPT_SORT_KEYS)).hexdigest()
            stamp = IdempotencyStamp(idempotency_key, digest)
        require_id(dataset_id, DATASET_ID)

        def write(tx: WriteContext) -> tuple[Version, list[Datapoint]]:
            row = tx.live(dataset_id)
            first = earlier_use(tx, row, stamp) if stamp is not None else None
            if first is not None:
                payloads = tx.lookups.added_in(tx.conn, row.key, first.number)
                datapoints = [datapoint_from_json(row.id, p) for p in payloads]
                return first.to_version(row.id), datapoints
            events = added([c for c, _ in contents], tx.now, [s for _, s in contents])
            commit = content_commit(tx, row, list(events), message, name=name, idempotency=stamp)
            version = tx.commit(commit).made_version()
            return version, [datapoint_from_record(row.id, event) for event in events]

        return self._writer.run(write)

    def update(
        self,
        datapoint_id: str,
        *,
        inputs: Mapping[str, str] | None,
        messages: Sequence[Any] | None,
        target: Mapping[str, Any] | None,
        name: VersionName | None,
    ) -> Datapoint:
        """Replace fields of a datapoint as a new version; see ``DatasetLog.update_datapoint``."""
        require_id(datapoint_id, _DATAPOINT_ID)
        fields = {
            key: value
            for key, value in (("inputs", inputs), ("messages", messages), ("target", target))
            if value is not None
        }
        if not fields:
            raise ValidationError(
                [ErrorDetail(("body",), "give inputs, messages or target", "missing")]
            )
        change = _Update(datapoint_id, frozenset(fields), parse_datapoint_fields(fields, ("body",)))
        [made] = self._writer.run(lambda tx: self._updated(tx, [change], name, single=True))
        return made

    def update_many(self, items: object, *, name: VersionName | None) -> list[Datapoint]:
        """Replace fields of many datapoints, one version per dataset; see
        ``DatasetLog.update_datapoints``."""
        changes = _parse_updates(items)
        return self._writer.run(lambda tx: self._updated(tx, changes, name, single=False))

    @staticmethod
    def _updated(
        tx: WriteContext, changes: list[_Update], name: VersionName | None, *, single: bool
    ) -> list[Datapoint]:
        """Commit the updates, one commit per dataset; the datapoints as updated, in order."""
        by_dataset: dict[str, list[DatapointUpdated]] = {}
        made = []
        for change in changes:
            found = tx.datapoint(change.datapoint_id)
            if found is None:
                raise NotFoundError(f"no datapoint {change.datapoint_id!r}")
            row = tx.live(found.dataset_id)
            old = stored_datapoint(row.id, change.datapoint_id, found.payload)
            given, content = change.fields, change.content
            event = DatapointUpdated(
                id=old.id,
                created_at=old.created_at,
                updated_at=tx.now,
                inputs=content.inputs if "inputs" in given else old.inputs,
                messages=content.messages if "messages" in given else old.messages,
                target=content.target if "target" in given else old.target,
                source_project_data_id=old.source_project_data_id,
            )
            by_dataset.setdefault(row.id, []).append(event)
            made.append(datapoint_from_record(row.id, event))
        for dataset_id, events in by_dataset.items():
            if single:
                message = commit_messages.update_datapoint(events[0].id)
            else:
                message = commit_messages.update_datapoints(len(events))
            row = tx.live(dataset_id)
            tx.commit(content_commit(tx, row, list(events), message, name=name))
        return made

    def delete(self, datapoint_ids: Sequence[str], *, name: VersionName | None) -> None:
        """Delete datapoints, one version per dataset; see ``DatasetLog.delete_datapoints``."""
        datapoint_ids = require_ids(datapoint_ids, ("body",))

        def write(tx: WriteContext) -> None:
            held: dict[str, str] = {}
            for datapoint_id in datapoint_ids:
                found = tx.lookups.datapoint(tx.conn, datapoint_id)
                if found is not None:
                    held[datapoint_id] = found.dataset_id
            missing = [datapoint_id for datapoint_id in datapoint_ids if datapoint_id not in held]
            if missing:  # a fork's inherited datapoints, found a few statements per fork
                held |= tx.layering.inherited_datasets(tx.conn, missing)
            by_dataset: dict[str, list[str]] = {}
            for datapoint_id in datapoint_ids:
                if datapoint_id not in held:
                    raise NotFoundError(f"no datapoint {datapoint_id!r}")
                by_dataset.setdefault(held[datapoint_id], []).append(datapoint_id)
            for dataset_id, ids in by_dataset.items():
                row = tx.live(dataset_id)
                message = commit_messages.delete_datapoints(len(ids))
                tx.commit(content_commit(tx, row, [DatapointsDeleted(ids)], message, name=name))

        self._writer.run(write)


def _from_logs(logs: LogSource | None, log_ids: list[str]) -> list[Content]:
    """The contents of datapoints made from stored logs, in the order of ``log_ids``."""
    if logs is None:
        raise ValidationError(
            [ErrorDetail(("body", "log_ids"), "no log source is configured", "no_log_source")]
        )
    found = logs.get_logs(log_ids)
    problems = [
        ErrorDetail(("body", "log_ids", i), f"no log {log_id!r}", "not_found")
        for i, log_id in enumerate(log_ids)
        if log_id not in found
    ]
    if problems:
        raise ValidationError(problems)
    contents: list[Content] = []
    for i, log_id in enumerate(log_ids):
        log = found[log_id]
        fields = converter.unstructure(log)
        content = {
            "inputs": fields.get("inputs"),
            "messages": fields.get("messages"),
            "target": {"output": log.output} if log.output is not None else None,
        }
        content = {k: v for k, v in content.items() if v is not None}
        request = parse_datapoint_fields(content, ("body", "log_ids", i))
        contents.append((request, log_id))
    return contents


@attrs.frozen
class _Update:
    """One datapoint's update: its id, the fields given and their checked content."""

    datapoint_id: str
    fields: frozenset[str]
    content: DatapointRequest


_UPDATABLE = frozenset(("inputs", "messages", "target"))


def _parse_updates(items: object) -> list[_Update]:
    """The checked items of ``update_datapoints``: ``{"id": ..., <fields to replace>}`` each.

    Raises:
        ValidationError: Every problem: not a non-empty list, an item that is no
            object, a bad or repeated id, no field or an unknown one, a bad value.
    """
    if isinstance(items, str | bytes) or not isinstance(items, Sequence) or not items:
        raise ValidationError(
            [ErrorDetail(("body",), "expected a non-empty list of updates", "list_type")]
        )
    problems: list[ErrorDetail] = []
    updates: list[_Update] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        loc = ("body", index)
        if not isinstance(item, Mapping):
            problems.append(ErrorDetail(loc, "expected an object with an id", "dict_type"))
            continue
        found = id_problems(item.get("id"), (*loc, "id"))
        if not found and item["id"] in seen:
            found = [ErrorDetail((*loc, "id"), f"{item['id']!r} given twice", "duplicate")]
        problems += found
        unknown = [key for key in item if key != "id" and key not in _UPDATABLE]
        problems += [  # whatever its value: a typo given as None is still a typo
            ErrorDetail((*loc, key), "not a field an update replaces", "extra_forbidden")
            for key in unknown
        ]
        fields = {key: item[key] for key in _UPDATABLE if item.get(key) is not None}
        if not fields and not unknown:
            problems.append(ErrorDetail(loc, "give inputs, messages or target", "missing"))
        try:
            content = parse_datapoint_fields(fields, loc)
        except ValidationError as error:
            problems += error.details
            continue
        if not found:
            seen.add(item["id"])
            updates.append(_Update(item["id"], frozenset(fields), content))
    if problems:
        raise ValidationError(problems)
    return updates
