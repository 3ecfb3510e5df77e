"""Domain events: immutable facts about a dataset, grouped into commits.

Pure data: no I/O and no serialization here (see :mod:`datasetlog.serialization`).
Each event class has a stable ``TYPE`` tag and ``SCHEMA_VERSION``, stored with
every event, so that renaming a class never orphans stored data.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, get_args

import attrs

from datasetlog.models import ChatMessage, JSONValue


@attrs.frozen
class DatapointRecord:
    """A datapoint's identity and full content, as the events that state one carry it."""

    id: str
    created_at: datetime
    updated_at: datetime
    inputs: dict[str, str] | None = None
    messages: list[ChatMessage] | None = None
    target: dict[str, JSONValue] | None = None
    source_project_data_id: str | None = None


@attrs.frozen
class DatasetCreated:
    """A dataset came into being, empty, in a project."""

    TYPE: ClassVar[str] = "dataset_created"
    SCHEMA_VERSION: ClassVar[int] = 1
    project_id: str
    name: str
    description: str | None = None


@attrs.frozen
class DatasetForked:
    """A dataset came into being as a fork: its version 0 holds a version of another dataset.

    The fork's datapoints are the source's, each under the id
    :func:`datasetlog.ids.derived_id` gives it in the fork; no datapoint is
    copied into the fork's log.
    """

    TYPE: ClassVar[str] = "dataset_forked"
    SCHEMA_VERSION: ClassVar[int] = 1
    project_id: str
    name: str
    source_id: str
    source_version: int
    description: str | None = None


@attrs.frozen
class DatasetMerged:
    """A commit brings in the changes of another dataset up to one of its versions.

    It sits in the merge commit, beside the datapoint events that apply them;
    the next merge from that dataset starts from ``source_version``.
    """

    TYPE: ClassVar[str] = "dataset_merged"
    SCHEMA_VERSION: ClassVar[int] = 1
    source_id: str
    source_version: int


@attrs.frozen
class DatasetUpdated:
    """A dataset's name and/or description changed (``None`` leaves one as it was)."""

    TYPE: ClassVar[str] = "dataset_updated"
    SCHEMA_VERSION: ClassVar[int] = 1
    name: str | None = None
    description: str | None = None


@attrs.frozen
class DatasetDeleted:
    """A dataset was deleted: no longer listed or found, its history kept."""

    TYPE: ClassVar[str] = "dataset_deleted"
    SCHEMA_VERSION: ClassVar[int] = 1


@attrs.frozen
class DatapointAdded(DatapointRecord):
    """A datapoint was appended to a dataset; a commit adding n datapoints has n of these.

    One event per datapoint keeps every stored event small, and lets the read
    models point at the event that holds a datapoint's content instead of
    storing a second copy.
    """

    TYPE: ClassVar[str] = "datapoint_added"
    SCHEMA_VERSION: ClassVar[int] = 1


@attrs.frozen
class DatapointUpdated(DatapointRecord):
    """A datapoint's content was replaced (the event states all of it); it keeps its place."""

    TYPE: ClassVar[str] = "datapoint_updated"
    SCHEMA_VERSION: ClassVar[int] = 1


@attrs.frozen
class DatapointsDeleted:
    """Datapoints were removed from a dataset."""

    TYPE: ClassVar[str] = "datapoints_deleted"
    SCHEMA_VERSION: ClassVar[int] = 1
    datapoint_ids: list[str]


@attrs.frozen
class DatapointRestored(DatapointRecord):
    """A datapoint took back the content it had in an earlier version, at its old place.

    A restore states the datapoint whole, timestamps included, so the restored
    version reads exactly like the version it restores.
    """

    TYPE: ClassVar[str] = "datapoint_restored"
    SCHEMA_VERSION: ClassVar[int] = 1


@attrs.frozen
class VersionNamed:
    """A content version was given its name (unique in the dataset, never changed)."""

    TYPE: ClassVar[str] = "version_named"
    SCHEMA_VERSION: ClassVar[int] = 1
    version: int
    name: str
    description: str | None = None


@attrs.frozen
class TagSet:
    """A tag was pointed at a content version: created, or moved from where it was."""

    TYPE: ClassVar[str] = "tag_set"
    SCHEMA_VERSION: ClassVar[int] = 1
    name: str
    version: int


@attrs.frozen
class TagDeleted:
    """A tag was removed; its moves stay in the log."""

    TYPE: ClassVar[str] = "tag_deleted"
    SCHEMA_VERSION: ClassVar[int] = 1
    name: str


Event = (
    DatasetCreated
    | DatasetForked
    | DatasetMerged
    | DatasetUpdated
    | DatasetDeleted
    | DatapointAdded
    | DatapointUpdated
    | DatapointsDeleted
    | DatapointRestored
    | VersionNamed
    | TagSet
    | TagDeleted
)
EVENT_TYPES: tuple[type[Event], ...] = get_args(Event)
"""Every event class, in the union's order."""


@attrs.frozen
class VersionStamp:
    """The content version a commit creates: its number, id and commit message."""

    number: int
    id: str
    message: str


@attrs.frozen
class IdempotencyStamp:
    """The idempotency key a commit was written under, and a hash of its request."""

    key: str
    request_hash: str


@attrs.frozen
class Commit:
    """One atomic commit of events to one dataset's stream.

    ``sequence`` is the commit's place in the dataset's stream (1 for the
    creation). ``version`` is set on the creation (version 0) and on every
    content change; renames, deletion, names and tags leave it ``None``. A
    fork's creation (version 0) holds :class:`DatasetForked` instead.
    """

    dataset_id: str
    sequence: int
    recorded_at: datetime
    events: tuple[Event, ...]
    version: VersionStamp | None = None
    idempotency: IdempotencyStamp | None = None
