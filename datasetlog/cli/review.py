"""Diffs and merges printed to be reviewed: each entry with a hint of its content.

An added or removed datapoint prints as its id and a short hint of what it
holds: by default the first string of its inputs (else of its first
message), or the value at ``--show inputs.task_id``. A changed value prints
as ``old -> new``, or, for a long or multi-line string, as a unified line
diff. A merge conflict is named by its datapoint, with its hint and what
each side did.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import click
import orjson

from datasetlog import ABSENT, Change, Datapoint, FieldChange, MergeConflict, to_v4
from datasetlog.cli.output import say

HINT_WIDTH = 60
"""How many characters of a datapoint's content a hint shows."""

LINE_DIFF_AFTER = 60
"""A changed string longer than this (or holding a line break) prints as a line diff."""

FIELDS = ("id", "inputs", "messages", "target", "source_project_data_id")
"""The fields of a datapoint a ``--show`` path may start with."""

FieldPath = tuple[str | int, ...]
F = TypeVar("F", bound=Callable[..., Any])


def _parse_path(
    context: click.Context, param: click.Parameter, value: str | None
) -> FieldPath | None:
    if value is None:
        return None
    parts = value.split(".")
    if parts[0] not in FIELDS or "" in parts:
        raise click.BadParameter(
            f"expected a path into a datapoint, such as inputs.task_id or messages.0.content "
            f"(it starts with one of {', '.join(FIELDS)})"
        )
    return tuple(int(part) if part.isdigit() else part for part in parts)


def show_option(command: F) -> F:
    """``--show FIELD.PATH``: what of each datapoint is printed as its hint."""
    return click.option(
        "--show",
        callback=_parse_path,
        metavar="FIELD.PATH",
        help="What each entry shows of its content, e.g. inputs.task_id "
        "(default: the first string of its inputs).",
    )(command)


def _at(value: Any, path: FieldPath) -> Any:
    for part in path:
        found = isinstance(value, dict) and isinstance(part, str) and part in value
        if not (found or (isinstance(value, list) and isinstance(part, int) and part < len(value))):
            return None
        value = value[part]
    return value


def _first_string(values: Iterable[Any]) -> str | None:
    return next((value for value in values if isinstance(value, str) and value), None)


def hint(datapoint: Datapoint | None, show: FieldPath | None = None) -> str:
    """A short, one-line hint of a datapoint's content (empty when there is none)."""
    if datapoint is None:
        return ""
    record = to_v4(datapoint)
    if show is not None:
        value = _at(record, show)
    else:
        messages = record.get("messages") or [{}]
        value = _first_string((record.get("inputs") or {}).values())
        value = value or _first_string([messages[0].get("content")])
    if value is None:
        return ""
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    text = " ".join(text.split())  # one line: a hint, not the content
    return text if len(text) <= HINT_WIDTH else text[: HINT_WIDTH - 3] + "..."


def _entry(mark: str, datapoint_id: str, shown: str) -> str:
    return f"{mark} {datapoint_id}  {shown}".rstrip()


def _field_lines(field: FieldChange, labels: tuple[str, str]) -> Iterator[str]:
    path = ".".join(map(str, field.path))
    old, new = field.old, field.new
    if isinstance(old, str) and isinstance(new, str) and _long(old, new):
        yield f"    {path}:"
        before, after = old.splitlines(), new.splitlines()
        for line in difflib.unified_diff(before, after, *labels, n=2, lineterm=""):
            yield f"      {line}"
        return
    yield f"    {path}: {_value(old)} -> {_value(new)}"


def _long(old: str, new: str) -> bool:
    return max(len(old), len(new)) > LINE_DIFF_AFTER or "\n" in old + new


def _value(value: Any) -> str:
    return "ABSENT" if value is ABSENT else orjson.dumps(value).decode()


def entry_lines(
    added: Sequence[Datapoint],
    removed: Sequence[Datapoint],
    changed: Sequence[Change],
    *,
    show: FieldPath | None,
    labels: tuple[str, str],
) -> Iterator[str]:
    """The lines of a diff's entries: ``+`` added, ``-`` removed, ``~`` changed with each
    changed value under it (``labels`` name the two sides of a line diff)."""
    for datapoint in added:
        yield _entry("+", datapoint.id, hint(datapoint, show))
    for datapoint in removed:
        yield _entry("-", datapoint.id, hint(datapoint, show))
    for change in changed:
        yield _entry("~", change.datapoint_id, hint(change.after or change.before, show))
        for field in change.fields:
            yield from _field_lines(field, labels)


def _did(base: Datapoint | None, side: Datapoint | None) -> str:
    if side is None:
        return "deleted"
    return "added" if base is None else "changed"


def conflict_lines(
    conflicts: Sequence[MergeConflict], *, show: FieldPath | None = None, limit: int | None = None
) -> Iterator[str]:
    """A line naming each conflict (``!``): its datapoint, its hint, what each side did; past
    ``limit`` of them, a line counting the rest."""
    for conflict in conflicts[:limit]:
        content = conflict.source or conflict.target or conflict.base
        sides = (
            f"(source {_did(conflict.base, conflict.source)}, "
            f"target {_did(conflict.base, conflict.target)})"
        )
        yield _entry("!", conflict.datapoint_id, f"{hint(content, show)}  {sides}".lstrip())
    if limit is not None and len(conflicts) > limit:
        yield f"... and {len(conflicts) - limit} more conflict(s)"


def print_lines(lines: Iterable[str]) -> None:
    """Print each line, escaped (see :mod:`datasetlog.cli.output`)."""
    for line in lines:
        say(line)
