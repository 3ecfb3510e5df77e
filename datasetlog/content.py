"""A datapoint's content as JSON data, compared strictly, and the field-level changes between two.

Both the fast diff and the reference fold compare through here, on the
datapoint's v4 JSON data: ``1``, ``1.0`` and ``True`` differ, as they do in
JSON, and a key that is missing differs from a key holding ``null``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from datasetlog.models import ABSENT, FieldChange, Path

IDENTITY = frozenset({"id", "dataset_id", "created_at", "updated_at"})
"""The keys of a datapoint's JSON that say which datapoint it is and when, not what it holds."""


def content_of(data: Mapping[str, Any]) -> dict[str, Any]:
    """A datapoint's content: its v4 JSON data without the identity keys."""
    return {key: value for key, value in data.items() if key not in IDENTITY}


def same(a: Any, b: Any) -> bool:
    """Whether two JSON values are equal, telling apart the types JSON tells apart."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(value, b[key]) for key, value in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def field_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FieldChange]:
    """Every value that differs between two contents, at its path, in path order.

    Objects are compared key by key and lists item by item; where the two
    sides are of different types, the whole value is one change.
    """
    return list(_changes(old, new, ()))


def _changes(old: Any, new: Any, path: Path) -> Iterator[FieldChange]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = list(old) + [key for key in new if key not in old]
        for key in sorted(keys, key=str):
            yield from _changes(old.get(key, ABSENT), new.get(key, ABSENT), (*path, key))
    elif isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            before = old[index] if index < len(old) else ABSENT
            after = new[index] if index < len(new) else ABSENT
            yield from _changes(before, after, (*path, index))
    elif not same(old, new):
        yield FieldChange(path, old, new)


def content_key(data: Mapping[str, Any]) -> bytes:
    """What makes two datapoints the same for upserts: their inputs, messages and target.

    Canonical JSON (keys sorted, ``1`` and ``1.0`` apart) of those three of a
    datapoint's v4 JSON data, or of a request's.
    """
    return orjson.dumps(
        [data.get("inputs"), data.get("messages"), data.get("target")],
        option=orjson.OPT_SORT_KEYS,
    )
