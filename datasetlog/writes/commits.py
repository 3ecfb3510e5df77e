"""What every content write shares: the next version's commit, its name, an idempotency
key's earlier use, and the events that state a datapoint whole."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

import attrs

from datasetlog.errors import ConflictError, ErrorDetail, StoreError, ValidationError
from datasetlog.events import (
    Commit,
    DatapointAdded,
    DatapointRecord,
    DatapointRestored,
    Event,
    IdempotencyStamp,
    VersionNamed,
    VersionStamp,
)
from datasetlog.ids import DATAPOINT_PREFIX, VERSION_PREFIX, new_id, new_ids
from datasetlog.models import Datapoint
from datasetlog.readmodels import labels
from datasetlog.readmodels.rows import DatasetRow, VersionRow
from datasetlog.requests import DatapointRequest
from datasetlog.validation.fields import description_problems, label_problems
from datasetlog.writes.loop import WriteContext


@attrs.frozen
class VersionName:
    """The name (and description) a write gives the version it commits."""

    name: str
    description: str | None = None


def parse_version_name(name: object, description: object) -> VersionName | None:
    """The checked ``version_name=`` and ``version_description=`` of a write.

    Raises:
        ValidationError: A bad name or description, or a description without a name.
    """
    if name is None:
        if description is not None:
            problem = ErrorDetail(
                ("body", "version_description"), "give a version_name to describe", "missing"
            )
            raise ValidationError([problem])
        return None
    problems = [
        *label_problems(name, ("body", "version_name")),
        *description_problems(description, ("body", "version_description")),
    ]
    if problems:
        raise ValidationError(problems)
    return VersionName(name, description)  # type: ignore[arg-type]


def require_label_free(tx: WriteContext, row: DatasetRow, label: str) -> None:
    """Refuse a name or tag that the dataset already uses.

    Raises:
        ConflictError: ``label`` is a version name or tag of the dataset.
    """
    found = labels.label(tx.conn, row.key, label)
    if found is not None:
        raise ConflictError(
            f"dataset {row.id!r} already has a {found.kind} {label!r} (version {found.version})"
        )


def content_commit(
    tx: WriteContext,
    row: DatasetRow,
    events: list[Event],
    message: str,
    *,
    name: VersionName | None = None,
    idempotency: IdempotencyStamp | None = None,
) -> Commit:
    """The commit of the dataset's next content version (its name's event last).

    Raises:
        ConflictError: ``name`` is taken in the dataset.
    """
    number = row.version + 1
    if name is not None:
        require_label_free(tx, row, name.name)
        events = [*events, VersionNamed(number, name.name, name.description)]
    stamp = VersionStamp(number, new_id(VERSION_PREFIX), message)
    return Commit(
        row.id, row.sequence + 1, tx.now, tuple(events), version=stamp, idempotency=idempotency
    )


def earlier_use(tx: WriteContext, row: DatasetRow, stamp: IdempotencyStamp) -> VersionRow | None:
    """The version an earlier use of this idempotency key committed, or None on a first use.

    Raises:
        ConflictError: The key was used with another request.
        StoreError: The read models lack that version.
    """
    seen = tx.lookups.idempotency(tx.conn, row.key, stamp.key)
    if seen is None:
        return None
    if seen.request_hash != stamp.request_hash:
        raise ConflictError(f"idempotency key {stamp.key!r} was used with a different request")
    first = tx.lookups.version(tx.conn, row.key, seen.version)
    if first is None:
        raise StoreError(
            f"the read models are damaged: idempotency key {stamp.key!r} names version "
            f"{seen.version} of {row.id!r}, which they lack; run verify()"
        )
    return first


def added(
    requests: Sequence[DatapointRequest],
    now: datetime,
    sources: Sequence[str | None] | None = None,
) -> list[DatapointAdded]:
    """The events adding datapoints of these contents now, with fresh ids (and the logs
    they were made from, if any)."""
    return [
        DatapointAdded(
            id=datapoint_id,
            created_at=now,
            updated_at=now,
            inputs=request.inputs,
            messages=request.messages,
            target=request.target,
            source_project_data_id=source,
        )
        for datapoint_id, request, source in zip(
            new_ids(DATAPOINT_PREFIX, len(requests)),
            requests,
            sources or [None] * len(requests),
            strict=True,
        )
    ]


R = TypeVar("R", bound=DatapointRecord)


def stating(kind: type[R], datapoint_id: str, datapoint: Datapoint) -> R:
    """The event of ``kind`` that states ``datapoint`` whole (timestamps too) under an id."""
    return kind(
        id=datapoint_id,
        created_at=datapoint.created_at,
        updated_at=datapoint.updated_at,
        inputs=datapoint.inputs,
        messages=datapoint.messages,
        target=datapoint.target,
        source_project_data_id=datapoint.source_project_data_id,
    )


def restored(datapoint: Datapoint) -> DatapointRestored:
    """The event that gives a datapoint back the content and timestamps of ``datapoint``."""
    return stating(DatapointRestored, datapoint.id, datapoint)
