"""The values datasetlog returns and accepts: frozen attrs classes."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, TypeVar

import attrs

T = TypeVar("T")

JSONValue = Any
"""Any value that JSON can carry: None, bool, int, float, str, list, dict."""


class Role(enum.StrEnum):
    """Who speaks a chat message."""

    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"
    TOOL = "tool"


@attrs.frozen(slots=False)  # dict classes build faster; reads make millions
class ToolCall:
    """A tool call a message makes: a name and optional JSON arguments."""

    name: str
    arguments: JSONValue = None


@attrs.frozen(slots=False)  # dict classes build faster; reads make millions
class ChatMessage:
    """One chat message of a datapoint."""

    role: Role
    content: str | None = None
    name: str | None = None
    tool_call: ToolCall | None = None


@attrs.frozen(slots=False)  # dict classes build faster; reads make millions
class Datapoint:
    """One datapoint as it stands in some version of a dataset (v4 DatapointResponse).

    A datapoint keeps its ``id`` across versions; ``updated_at`` is when the
    content last changed at or before the version it was read from.
    """

    id: str
    dataset_id: str
    created_at: datetime
    updated_at: datetime
    inputs: dict[str, str] | None = None
    messages: list[ChatMessage] | None = None
    target: dict[str, JSONValue] | None = None
    source_project_data_id: str | None = None


@attrs.frozen
class Dataset:
    """A dataset and the size of its latest version (v4 DatasetResponse)."""

    id: str
    project_id: str
    name: str
    datapoint_count: int
    created_at: datetime
    updated_at: datetime
    description: str | None = None


@attrs.frozen
class Version:
    """One committed version of a dataset's content.

    Version 0 is the empty dataset; each content change commits ``parent + 1``.
    """

    dataset_id: str
    number: int
    id: str
    parent: int | None
    message: str
    created_at: datetime
    datapoint_count: int


def make_version(
    *,
    dataset_id: str,
    number: int,
    id: str,
    message: str,
    created_at: datetime,
    datapoint_count: int,
) -> Version:
    """Make a committed version; its ``parent`` is derived here, and only here.

    History is linear: version ``n`` was committed on version ``n - 1``, and
    version 0, the empty dataset, has no parent.
    """
    return Version(
        dataset_id=dataset_id,
        number=number,
        id=id,
        parent=number - 1 if number else None,
        message=message,
        created_at=created_at,
        datapoint_count=datapoint_count,
    )


@attrs.frozen
class Page:
    """One page of a version's datapoints (v4 PaginatedDataDatapointResponse)."""

    records: list[Datapoint]
    page: int
    size: int
    total: int


@attrs.frozen
class Log:
    """A stored log a datapoint can be made from (see :mod:`datasetlog.logs`)."""

    id: str
    inputs: dict[str, str] | None = None
    messages: list[ChatMessage] | None = None
    output: str | None = None


def assemble(cls: type[T], fields: dict[str, Any]) -> T:
    """Make a model object from its complete, already-valid field dict, as unpickling does.

    Skips the attrs-generated ``__init__`` (a frozen class sets each field
    through ``object.__setattr__``): for values datasetlog has just checked or
    reads back from its own store. ``fields`` must hold every field, in order.
    """
    made = object.__new__(cls)
    object.__setattr__(made, "__dict__", fields)
    return made
