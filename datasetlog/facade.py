"""DatasetLog: the v4 Datasets operations over an event store; one call, one atomic commit."""

from __future__ import annotations

import gc
import hashlib
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import orjson

from datasetlog import integrity
from datasetlog.errors import (
    ConflictError,
    ErrorDetail,
    NotFoundError,
    StoreError,
    ValidationError,
)
from datasetlog.events import (
    Commit,
    DatapointAdded,
    DatapointsDeleted,
    DatapointUpdated,
    DatasetCreated,
    DatasetDeleted,
    DatasetUpdated,
    Event,
    IdempotencyStamp,
    VersionStamp,
)
from datasetlog.ids import DATAPOINT_PREFIX, DATASET_PREFIX, VERSION_PREFIX, new_id, new_ids
from datasetlog.logs import LogSource
from datasetlog.models import Datapoint, DatapointRequest, Dataset, LogsRequest, Version
from datasetlog.readmodels import DatasetRow, ReadModels
from datasetlog.reads import DatasetReads
from datasetlog.serialization import (
    converter,
    datapoint_from_json,
    datapoint_from_record,
    decode_commit,
    encode_commit,
)
from datasetlog.store import Durability, EventStore, VersionConflictError, open_store
from datasetlog.store.base import Transaction
from datasetlog.validation import (
    check_description,
    parse_create_request,
    parse_datapoint_fields,
    require_id,
    require_text,
)

T = TypeVar("T")
Build = Callable[[Any], tuple[list[Commit], T]]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large request is materialized.

    Building a hundred thousand acyclic objects that all survive triggers
    repeated full collections, which then cost about as much as the building
    itself; nothing made here is cyclic, so pausing frees no less memory.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


class DatasetLog(DatasetReads):
    """Versioned datasets with the v4 Datasets API's operations, as a library.

    Every content change appends one commit: a new version ``n + 1`` with an
    automatic commit message. Any committed version can be read back exactly.

    Args:
        store: An event store, or where to open one: a file path,
            ``"sqlite:///path"``, ``":memory:"`` or ``"postgresql://…"``.
        logs: Where ``{"log_ids": [...]}`` requests find their logs.
        durability: For SQLite paths: ``"normal"`` survives process crashes,
            ``"full"`` power loss too (see the README).
        max_retries: How often a write lost to a concurrent writer is retried
            before :class:`ConflictError` is raised.
        clock: Returns the current time (aware, UTC); for tests.
    """

    def __init__(
        self,
        store: EventStore | str | Path = ":memory:",
        *,
        logs: LogSource | None = None,
        durability: Durability = "normal",
        max_retries: int = 8,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.store: EventStore = (
            open_store(store, durability=durability) if isinstance(store, str | Path) else store
        )
        self.logs = logs
        self.max_retries = max_retries
        self._clock = clock
        self._models = ReadModels(postgres=self.store.dialect == "postgres")
        with self.store.reading() as conn:
            current = self._models.current(conn)
        if current:
            return
        if self.store.read_only:
            raise StoreError(
                "the store's read models are missing or outdated; "
                "open it writable once to rebuild them"
            )
        # Another process may be doing the same: ensure() re-checks under the write lock.
        with self.store.write() as tx:
            if self._models.ensure(tx.connection):
                self._replay(tx)

    def __enter__(self) -> DatasetLog:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    # -- writing ---------------------------------------------------------------------------

    def _write(self, build: Build[T]) -> T:
        """Run read-check-append in one transaction, retrying lost races with backoff."""
        for attempt in range(self.max_retries + 1):
            try:
                with self.store.write() as tx:
                    commits, result = build(tx.connection)
                    stored = self.store.append(tx, [encode_commit(c) for c in commits])
                    for commit, done in zip(commits, stored, strict=True):
                        self._models.apply(tx.connection, commit, done.position, done.first_event)
                    return result
            except VersionConflictError as error:
                if attempt == self.max_retries:
                    raise ConflictError(
                        f"lost {attempt + 1} races to concurrent writers; retrying is safe"
                    ) from error
                time.sleep(random.uniform(0, 0.005 * 2**attempt))
        raise AssertionError("unreachable")

    def _content_commit(
        self,
        row: DatasetRow,
        events: tuple[Event, ...],
        message: str,
        now: datetime,
        idempotency: IdempotencyStamp | None = None,
        version_id: str | None = None,
    ) -> Commit:
        return Commit(
            dataset_id=row.id,
            sequence=row.sequence + 1,
            recorded_at=now,
            events=events,
            version=VersionStamp(row.version + 1, version_id or new_id(VERSION_PREFIX), message),
            idempotency=idempotency,
        )

    def create_dataset(
        self, *, project_id: str, name: str, description: str | None = None
    ) -> Dataset:
        """Create an empty dataset (version 0) in a project.

        Raises:
            ValidationError: A field is empty or not a string.
            ConflictError: The project already has a live dataset of that name.
        """
        errors = [
            *require_text(project_id, ("body", "project_id")),
            *require_text(name, ("body", "name")),
            *check_description(description, ("body", "description")),
        ]
        if errors:
            raise ValidationError(errors)
        dataset_id = new_id(DATASET_PREFIX)

        def build(conn: Any) -> tuple[list[Commit], None]:
            if self._models.name_taken(conn, project_id, name):
                raise ConflictError(f"project {project_id!r} already has a dataset {name!r}")
            event = DatasetCreated(project_id=project_id, name=name, description=description)
            stamp = VersionStamp(0, new_id(VERSION_PREFIX), "Create dataset")
            return [Commit(dataset_id, 1, self._clock(), (event,), version=stamp)], None

        self._write(build)
        return self.get_dataset(dataset_id)

    def update_dataset(
        self, dataset_id: str, *, name: str | None = None, description: str | None = None
    ) -> Dataset:
        """Rename and/or redescribe a dataset; its content versions are unchanged.

        Raises:
            ValidationError: Neither field given, or one is empty or not a string.
            NotFoundError: No live dataset has this id.
            ConflictError: The new name is taken in the project.
        """
        errors = [
            *(require_text(name, ("body", "name")) if name is not None else []),
            *check_description(description, ("body", "description")),
        ]
        if name is None and description is None:
            errors.append(ErrorDetail(("body",), "give a name or a description", "missing"))
        if errors:
            raise ValidationError(errors)

        def build(conn: Any) -> tuple[list[Commit], None]:
            row = self._live(conn, dataset_id)
            if name is not None and self._models.name_taken(
                conn, row.project_id, name, other_than=dataset_id
            ):
                raise ConflictError(f"project {row.project_id!r} already has a dataset {name!r}")
            event = DatasetUpdated(name=name, description=description)
            return [Commit(dataset_id, row.sequence + 1, self._clock(), (event,))], None

        self._write(build)
        return self.get_dataset(dataset_id)

    def delete_dataset(self, dataset_id: str) -> None:
        """Delete a dataset: it is no longer listed or found; its history stays in the log.

        Raises:
            NotFoundError: No live dataset has this id.
        """

        def build(conn: Any) -> tuple[list[Commit], None]:
            row = self._live(conn, dataset_id)
            return [Commit(dataset_id, row.sequence + 1, self._clock(), (DatasetDeleted(),))], None

        self._write(build)

    def create_datapoint(
        self,
        dataset_id: str,
        body: Mapping[str, Any] | Sequence[Any] | DatapointRequest | LogsRequest,
        *,
        idempotency_key: str | None = None,
    ) -> list[Datapoint]:
        """Add datapoints as a new committed version and return them in request order.

        ``body`` is one datapoint, a list of them, or ``{"log_ids": [...]}``, as
        plain v4 JSON data or the request types. With ``idempotency_key``, a
        repeat of the same request returns the first call's datapoints without
        committing again.

        Raises:
            ValidationError: Every problem of the body, or unknown log ids.
            NotFoundError: No live dataset has this id.
            ConflictError: The idempotency key was used with another body.
        """
        return self.commit_datapoints(dataset_id, body, idempotency_key=idempotency_key)[1]

    def commit_datapoints(
        self,
        dataset_id: str,
        body: Mapping[str, Any] | Sequence[Any] | DatapointRequest | LogsRequest,
        *,
        idempotency_key: str | None = None,
    ) -> tuple[Version, list[Datapoint]]:
        """Like :meth:`create_datapoint`, but also return the version committed."""
        with _collector_paused():
            return self._commit_datapoints(dataset_id, body, idempotency_key)

    def _commit_datapoints(
        self,
        dataset_id: str,
        body: Mapping[str, Any] | Sequence[Any] | DatapointRequest | LogsRequest,
        idempotency_key: str | None,
    ) -> tuple[Version, list[Datapoint]]:
        request = parse_create_request(body)
        if isinstance(request, LogsRequest):
            contents = self._from_logs(request.log_ids)
            message = f"Add {_plural(len(contents), 'datapoint')} from logs"
        else:
            contents = [(r, None) for r in request]
            message = f"Add {_plural(len(contents), 'datapoint')}"
        stamp = None
        if idempotency_key is not None:
            errors = require_text(idempotency_key, ("idempotency_key",))
            if errors:
                raise ValidationError(errors)
            digest = hashlib.sha256(
                orjson.dumps(converter.unstructure(request), option=orjson.OPT_SORT_KEYS)
            ).hexdigest()
            stamp = IdempotencyStamp(idempotency_key, digest)

        def build(conn: Any) -> tuple[list[Commit], tuple[Version, list[Datapoint]]]:
            row = self._live(conn, dataset_id)
            if stamp is not None:
                seen = self._models.idempotent_version(conn, row.key, stamp.key)
                if seen is not None:
                    if seen[0] != stamp.request_hash:
                        raise ConflictError(
                            f"idempotency key {stamp.key!r} was used with a different request"
                        )
                    payloads = self._models.added_in(conn, row.key, seen[1])
                    first = self._committed_version(conn, row, seen[1])
                    return [], (first, [datapoint_from_json(row.id, p) for p in payloads])
            now = self._clock()
            events = [
                DatapointAdded(
                    id=datapoint_id,
                    created_at=now,
                    updated_at=now,
                    inputs=content.inputs,
                    messages=content.messages,
                    target=content.target,
                    source_project_data_id=source,
                )
                for datapoint_id, (content, source) in zip(
                    new_ids(DATAPOINT_PREFIX, len(contents)), contents, strict=True
                )
            ]
            version_id = new_id(VERSION_PREFIX)
            commit = self._content_commit(
                row, tuple(events), message, now, idempotency=stamp, version_id=version_id
            )
            datapoints = [datapoint_from_record(row.id, event) for event in events]
            version = Version(
                dataset_id=row.id,
                number=row.version + 1,
                id=version_id,
                parent=row.version,
                message=message,
                created_at=now,
                datapoint_count=row.datapoint_count + len(datapoints),
            )
            return [commit], (version, datapoints)

        return self._write(build)

    def _from_logs(self, log_ids: list[str]) -> list[tuple[DatapointRequest, str | None]]:
        if self.logs is None:
            raise ValidationError(
                [ErrorDetail(("body", "log_ids"), "no log source is configured", "no_log_source")]
            )
        found = self.logs.get_logs(log_ids)
        errors = [
            ErrorDetail(("body", "log_ids", i), f"no log {log_id!r}", "not_found")
            for i, log_id in enumerate(log_ids)
            if log_id not in found
        ]
        if errors:
            raise ValidationError(errors)
        contents: list[tuple[DatapointRequest, str | None]] = []
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

    def update_datapoint(
        self,
        datapoint_id: str,
        *,
        inputs: Mapping[str, str] | None = None,
        messages: Sequence[Any] | None = None,
        target: Mapping[str, Any] | None = None,
    ) -> Datapoint:
        """Replace the given fields of a datapoint as a new committed version.

        Fields left as ``None`` keep their content; at least one must be given.

        Raises:
            ValidationError: No field given, or a field is malformed.
            NotFoundError: No datapoint of a live dataset has this id.
        """
        require_id(datapoint_id, ("path", "datapoint_id"))
        fields = {
            key: value
            for key, value in (("inputs", inputs), ("messages", messages), ("target", target))
            if value is not None
        }
        if not fields:
            raise ValidationError(
                [ErrorDetail(("body",), "give inputs, messages or target", "missing")]
            )
        change = parse_datapoint_fields(fields, ("body",))

        def build(conn: Any) -> tuple[list[Commit], Datapoint]:
            found = self._models.datapoint(conn, datapoint_id)
            if found is None:
                raise NotFoundError(f"no datapoint {datapoint_id!r}")
            row = self._live(conn, found[0])
            old = datapoint_from_json(row.id, found[1])
            now = self._clock()
            event = DatapointUpdated(
                id=old.id,
                created_at=old.created_at,
                updated_at=now,
                inputs=change.inputs if "inputs" in fields else old.inputs,
                messages=change.messages if "messages" in fields else old.messages,
                target=change.target if "target" in fields else old.target,
                source_project_data_id=old.source_project_data_id,
            )
            message = f"Update datapoint {datapoint_id}"
            commit = self._content_commit(row, (event,), message, now)
            return [commit], datapoint_from_record(row.id, event)

        return self._write(build)

    def delete_datapoints(self, datapoint_ids: Sequence[str]) -> None:
        """Delete datapoints: one new version of each dataset they belong to, atomically.

        Raises:
            ValidationError: The list is empty, holds a non-string or a duplicate.
            NotFoundError: An id names no datapoint of a live dataset; nothing is deleted.
        """
        if isinstance(datapoint_ids, str) or not isinstance(datapoint_ids, Sequence):
            raise ValidationError([ErrorDetail(("body",), "expected a list of ids", "list_type")])
        errors: list[ErrorDetail] = []
        seen: set[str] = set()
        for i, value in enumerate(datapoint_ids):
            problems = require_text(value, ("body", i))
            if problems:
                errors.extend(problems)
            elif value in seen:
                errors.append(ErrorDetail(("body", i), f"{value!r} given twice", "duplicate"))
            else:
                seen.add(value)
        if not datapoint_ids:
            errors.append(ErrorDetail(("body",), "give at least one id", "empty_list"))
        if errors:
            raise ValidationError(errors)

        def build(conn: Any) -> tuple[list[Commit], None]:
            by_dataset: dict[str, list[str]] = {}
            for datapoint_id in datapoint_ids:
                found = self._models.datapoint(conn, datapoint_id)
                if found is None:
                    raise NotFoundError(f"no datapoint {datapoint_id!r}")
                by_dataset.setdefault(found[0], []).append(datapoint_id)
            now = self._clock()
            commits = []
            for dataset_id, ids in by_dataset.items():
                row = self._live(conn, dataset_id)
                message = f"Delete {_plural(len(ids), 'datapoint')}"
                events = (DatapointsDeleted(ids),)
                commits.append(self._content_commit(row, events, message, now))
            return commits, None

        self._write(build)

    # -- maintenance -----------------------------------------------------------------------

    def _replay(self, tx: Transaction) -> None:
        for stored in self.store.read_all():
            commit = decode_commit(stored)
            self._models.apply(tx.connection, commit, stored.position, stored.first_event)

    def rebuild(self) -> None:
        """Drop every read model and rebuild it from the event log, atomically."""
        with self.store.write() as tx:
            self._models.drop(tx.connection)
            self._models.ensure(tx.connection)
            self._replay(tx)

    def verify(self) -> integrity.VerifyReport:
        """Check the log, its hash chains and the read models against each other (one snapshot).

        See :mod:`datasetlog.integrity`; the report is true when nothing is wrong.
        """
        return integrity.verify(self)
