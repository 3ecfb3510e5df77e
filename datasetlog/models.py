"""The values datasetlog returns and accepts: frozen attrs classes."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal, TypeVar

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


# Models holding JSON values (dicts, lists) hash on the fields that identify them: equal
# objects still hash alike, and a datapoint can be a dict key or set member whatever it holds.


@attrs.frozen(slots=False, hash=False)  # dict classes build faster; reads make millions
class ToolCall:
    """A tool call a message makes: a name and optional JSON arguments."""

    name: str
    arguments: JSONValue = None

    def __hash__(self) -> int:
        return hash(self.name)


@attrs.frozen(slots=False, hash=False)  # dict classes build faster; reads make millions
class ChatMessage:
    """One chat message of a datapoint."""

    role: Role
    content: str | None = None
    name: str | None = None
    tool_call: ToolCall | None = None

    def __hash__(self) -> int:
        return hash((self.role, self.content, self.name))


@attrs.frozen(slots=False, hash=False)  # dict classes build faster; reads make millions
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

    def __hash__(self) -> int:
        return hash((self.id, self.dataset_id, self.updated_at))


@attrs.frozen
class ForkPoint:
    """Where a fork came from: a dataset and the version its version 0 holds."""

    dataset_id: str
    version: int


@attrs.frozen
class Dataset:
    """A dataset and the size of its latest version (v4 DatasetResponse).

    ``forked_from`` is set on a fork (see ``DatasetLog.fork``); v4 renders
    omit it when unset.
    """

    id: str
    project_id: str
    name: str
    datapoint_count: int
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    forked_from: ForkPoint | None = None


@attrs.frozen
class Version:
    """One committed version of a dataset's content.

    Version 0 is the empty dataset and has no parent; each content change
    commits ``parent + 1``. A version may carry a ``name``, unique in its
    dataset and never changed, and that name's ``description``.
    """

    dataset_id: str
    number: int
    id: str
    message: str
    created_at: datetime
    datapoint_count: int
    parent: int | None = None
    name: str | None = None
    description: str | None = None


def make_version(
    *,
    dataset_id: str,
    number: int,
    id: str,
    message: str,
    created_at: datetime,
    datapoint_count: int,
    name: str | None = None,
    description: str | None = None,
) -> Version:
    """Make a committed version; its ``parent`` is derived here, and only here.

    History is linear: version ``n`` was committed on version ``n - 1``, and
    version 0, the empty dataset, has no parent.
    """
    return Version(
        dataset_id=dataset_id,
        number=number,
        id=id,
        message=message,
        created_at=created_at,
        datapoint_count=datapoint_count,
        parent=number - 1 if number else None,
        name=name,
        description=description,
    )


@attrs.frozen(hash=False)
class Page:
    """One page of a version's datapoints (v4 PaginatedDataDatapointResponse).

    Iterating a page yields its records; ``len(page)`` is how many it holds.
    ``version`` is the version read, whatever reference named it.
    """

    records: list[Datapoint]
    page: int
    size: int
    total: int
    version: Version

    def __iter__(self) -> Iterator[Datapoint]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __hash__(self) -> int:
        return hash((self.page, self.size, self.total, *self.records))


@attrs.frozen
class Tag:
    """A movable pointer at a content version of a dataset, and when it was last set."""

    name: str
    version: int
    set_at: datetime


@attrs.frozen
class TagMove:
    """One move of a tag: from a version (None: created) to a version (None: deleted)."""

    name: str
    at: datetime
    from_version: int | None = None
    to_version: int | None = None


class _Absent(enum.Enum):
    ABSENT = "absent"

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT = _Absent.ABSENT
"""Where a :class:`FieldChange` has no old (or new) value: the key or item did not exist."""

Path = tuple[str | int, ...]
"""Where a value sits in a datapoint: keys and list indexes, e.g. ``("messages", 0, "content")``."""


@attrs.frozen(hash=False)
class FieldChange:
    """One value that differs between two states of a datapoint.

    ``old`` or ``new`` is :data:`ABSENT` where the key or list item did not
    exist (which is not the same as a JSON ``null``); JSON renders omit it.
    """

    path: Path
    old: JSONValue = ABSENT
    new: JSONValue = ABSENT

    def __hash__(self) -> int:
        return hash(self.path)


ChangeKind = Literal["added", "removed", "changed"]


@attrs.frozen(hash=False)
class Change:
    """One entry of a diff: a datapoint added, removed, or changed (with what changed).

    ``before`` is None for an added datapoint and ``after`` for a removed one;
    ``fields`` lists a changed datapoint's differing values, in path order.
    """

    kind: ChangeKind
    before: Datapoint | None = None
    after: Datapoint | None = None
    fields: list[FieldChange] = attrs.Factory(list)

    @property
    def datapoint_id(self) -> str:
        """The id of the datapoint the entry is about."""
        either = self.after if self.after is not None else self.before
        assert either is not None
        return either.id

    def __hash__(self) -> int:
        return hash((self.kind, self.datapoint_id))


@attrs.frozen
class DiffCounts:
    """How many datapoints a diff adds, removes and changes."""

    added: int
    removed: int
    changed: int


@attrs.frozen(hash=False)
class Diff:
    """How to go from one version (``base``) to another (``target``), in dataset order.

    ``added`` are in ``target`` only, ``removed`` in ``base`` only, and
    ``changed`` in both with other content. ``counts`` sums them up.
    """

    base: Version
    target: Version
    added: list[Datapoint]
    removed: list[Datapoint]
    changed: list[Change]
    counts: DiffCounts

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def __hash__(self) -> int:
        return hash((self.base, self.target))


RevisionKind = Literal["added", "changed", "deleted", "restored"]


@attrs.frozen(hash=False)
class Revision:
    """A version in which a datapoint was added, changed, deleted or restored.

    ``datapoint`` is its content in that version (None where it was deleted).
    """

    version: Version
    change: RevisionKind
    datapoint: Datapoint | None = None

    def __hash__(self) -> int:
        return hash((self.version, self.change))


@attrs.frozen
class UpsertResult:
    """What an upsert did: the version it committed (or the latest, if it changed nothing).

    ``added``, ``removed`` and ``changed`` count datapoints (``changed``: those
    a keyed upsert updated in place); ``ignored`` counts request items that
    changed nothing (already present, repeated, or, for ``remove``, matching
    no datapoint). ``committed`` is False when nothing was written.
    """

    version: Version
    added: int
    removed: int
    ignored: int
    committed: bool
    changed: int = 0


@attrs.frozen(hash=False)
class MergeConflict:
    """A datapoint both sides of a merge changed differently since the merge base.

    ``base``, ``source`` and ``target`` are its content at the merge base, in
    the source and in the target (None where it is not there: never added, or
    deleted). ``datapoint_id`` is its id in the target, or in the source when
    the target never held it.
    """

    datapoint_id: str
    base: Datapoint | None
    source: Datapoint | None
    target: Datapoint | None

    def __hash__(self) -> int:
        return hash(self.datapoint_id)


OnConflict = Literal["fail", "source", "target"]
"""What a merge does with a conflict: refuse, take the source's side, or keep the target's."""


@attrs.frozen(hash=False)
class MergeResult:
    """What a merge applies to its target, and the version that holds it.

    ``version`` is the version committed, or the target's latest when nothing
    was written (``committed`` False: a dry run, or nothing to apply).
    ``source`` is the source version merged and ``base`` the source version
    the merge started from. ``added``, ``removed`` and ``changed`` are what
    the merge does to the target's latest version, as a diff lists them, and
    ``conflicts`` every conflict found, however it was settled.
    """

    version: Version
    source: Version
    base: Version
    added: list[Datapoint]
    removed: list[Datapoint]
    changed: list[Change]
    counts: DiffCounts
    conflicts: list[MergeConflict]
    committed: bool

    def __hash__(self) -> int:
        return hash((self.version, self.source, self.committed))


@attrs.frozen(hash=False)
class Log:
    """A stored log a datapoint can be made from (see :mod:`datasetlog.sources`)."""

    id: str
    inputs: dict[str, str] | None = None
    messages: list[ChatMessage] | None = None
    output: str | None = None

    def __hash__(self) -> int:
        return hash(self.id)


def assemble(cls: type[T], fields: dict[str, Any]) -> T:
    """Make a model object from its complete, already-valid field dict, as unpickling does.

    Skips the attrs-generated ``__init__`` (a frozen class sets each field
    through ``object.__setattr__``): for values datasetlog has just checked or
    reads back from its own store. ``fields`` must hold every field, in order.
    """
    made = object.__new__(cls)
    object.__setattr__(made, "__dict__", fields)
    return made
