"""Keyed sync: an upsert's items matched to the base's datapoints by a key, not by content.

The key is ``"id"`` (the datapoint ids an export writes) or a path into the
content, such as ``"inputs.task_id"``. An item whose key matches a base
datapoint of other content is an **update** of it: same id, same place, its
history continues. With ``"id"`` an item without an id is a new datapoint
(ids are the store's to give), and an id the base does not hold is refused;
with a path every item must hold the key. A key given twice, in the request
or in the base, is refused. Keys compare as canonical JSON (``1`` and ``"1"``
differ).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import attrs
import orjson

from datasetlog.errors import ErrorDetail, Loc, ValidationError
from datasetlog.writes.plans import plain_stored

ID = "id"
CONTENT_FIELDS = ("inputs", "messages", "target")
_SHOWN = 5  # ids or places named in one error, before "and N more"


@attrs.frozen
class Key:
    """What a keyed upsert matches datapoints by: their id, or the value at a content path."""

    spec: str
    path: tuple[str | int, ...]

    @property
    def by_id(self) -> bool:
        """Whether datapoints are matched by id."""
        return self.spec == ID

    def of(self, data: Any) -> bytes | None:
        """The key of a datapoint's (or item's) JSON data as canonical JSON; None if absent."""
        value = data
        for part in self.path:
            if type(part) is int:
                if not isinstance(value, list) or not -len(value) <= part < len(value):
                    return None
            elif not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        if value is None:
            return None
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def parse_key(spec: object) -> Key | None:
    """The checked ``key=`` of an upsert (None: match by content).

    Raises:
        ValidationError: It is neither ``"id"`` nor a path into ``inputs``,
            ``messages`` or ``target``, such as ``"inputs.task_id"``.
    """
    if spec is None:
        return None
    if type(spec) is not str or not spec:
        raise _bad_key(f"expected 'id' or a path such as 'inputs.task_id', got {spec!r}")
    if spec == ID:
        return Key(spec, (ID,))
    parts = spec.split(".")
    if parts[0] not in CONTENT_FIELDS or len(parts) < 2 or not all(parts):
        raise _bad_key(
            f"{spec!r} is not 'id' or a path into inputs, messages or target "
            "(such as 'inputs.task_id')"
        )
    path: tuple[str | int, ...] = tuple(
        int(part) if part.isascii() and part.isdigit() else part for part in parts
    )
    return Key(spec, path)


def _bad_key(message: str) -> ValidationError:
    return ValidationError([ErrorDetail(("query", "key"), message, "key")])


class KeyedItems(NamedTuple):
    """A keyed request's items read once: each one's key (None for an item that
    ``key="id"`` makes new) and its content as it would be stored, where it is
    JSON data as it stands (see :func:`~datasetlog.writes.plans.plain_stored`)."""

    keys: list[bytes | None]
    stored: list[bytes | None]


def request_keys(
    key: Key, items: Sequence[Any], locs: Sequence[Loc], *, new_allowed: bool = True
) -> KeyedItems:
    """Each item's key and stored content, in order.

    Raises:
        ValidationError: An item lacks the key (a path key, or an id where no
            new datapoint may be made), or two items hold one key; the
            problems name every such item.
    """
    of = key.of
    keys = [of(item) if isinstance(item, dict) else None for item in items]
    if key.by_id:
        stored = [plain_stored(without_id(item)) for item in items]
    else:
        stored = [plain_stored(item) for item in items]
    missing = keys.count(None)
    if (
        (missing and not (key.by_id and new_allowed))
        or len(set(keys)) - (1 if missing else 0) != len(keys) - missing
        or (key.by_id and not all(k.startswith(b'"') for k in keys if k is not None))
    ):
        raise ValidationError(_key_problems(key, keys, locs, new_allowed))
    return KeyedItems(keys, stored)


def _key_problems(
    key: Key, keys: list[bytes | None], locs: Sequence[Loc], new_allowed: bool
) -> list[ErrorDetail]:
    """What is wrong with a request's keys: every item missing one, of another type
    (``key="id"``) or repeating an earlier item's."""
    problems: list[ErrorDetail] = []
    first: dict[bytes, Loc] = {}
    for found, loc in zip(keys, locs, strict=True):
        if found is None and not (key.by_id and new_allowed):
            problems.append(ErrorDetail(loc, f"the item holds no {key.spec}", "missing_key"))
        elif found is not None and key.by_id and not found.startswith(b'"'):
            problems.append(ErrorDetail((*loc, ID), "expected a datapoint id", "string_type"))
        elif found is not None and found in first:
            shown = ".".join(map(str, first[found]))
            message = f"{key.spec} {found.decode()} is given twice (also at {shown})"
            problems.append(ErrorDetail(loc, message, "duplicate_key"))
        elif found is not None:
            first[found] = loc
    return problems


def refuse_repeated_base_keys(key: Key, repeated: dict[bytes, list[str]]) -> None:
    """Refuse a path key that the base holds more than once, naming the datapoints.

    Raises:
        ValidationError: Some key value is held by two or more base datapoints.
    """
    if not repeated:
        return
    problems = [
        ErrorDetail(
            ("query", "key"),
            f"the base holds {key.spec} {value.decode()} {len(ids)} times: "
            f"{_shown(ids)}; a key must name one datapoint",
            "duplicate_key",
        )
        for value, ids in repeated.items()
    ]
    raise ValidationError(problems)


def refuse_unknown_ids(unknown: Iterable[tuple[Loc, str]]) -> None:
    """Refuse the items whose id the base does not hold (``key="id"``).

    Raises:
        ValidationError: Naming each such item and id.
    """
    problems = [
        ErrorDetail(
            (*loc, ID),
            f"the base holds no datapoint {datapoint_id!r}; leave the id out to add a new one",
            "not_found",
        )
        for loc, datapoint_id in unknown
    ]
    if problems:
        raise ValidationError(problems)


def _shown(ids: list[str]) -> str:
    more = f" and {len(ids) - _SHOWN} more" if len(ids) > _SHOWN else ""
    return ", ".join(ids[:_SHOWN]) + more


def without_id(item: Any) -> Any:
    """An item as content to validate: a ``key="id"`` item less its ``id``."""
    if isinstance(item, dict) and ID in item:
        return {name: value for name, value in item.items() if name != ID}
    return item
