"""Library errors as the command line says them: its own spellings, in a few lines.

A library error names what the library was given: ``query.on_conflict``, a
dataset's id, ``on_conflict='source'``. Here, in one place, that becomes what
the user typed: the option ``--on-conflict`` or the argument ``INTO``, without
the HTTP location (``path``, ``query``, ``body``) a service would need, and the
dataset as it was named on the command line. A ``ValidationError`` prints its
first :data:`SHOWN_PROBLEMS` problems and how many more there were, so a file
in the wrong format is a short error, not one line per line of the file.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from datasetlog import (
    DatasetLogError,
    ErrorDetail,
    InterruptedAfterCommit,
    MergeConflictError,
    ValidationError,
)
from datasetlog.cli.output import say
from datasetlog.cli.review import conflict_lines

SHOWN_PROBLEMS = 3
"""How many problems of a ValidationError are printed before the count of the rest."""

HTTP_LOCATIONS = frozenset({"path", "query", "body"})
"""The first element of a v4 ``loc`` that says where in an HTTP request a value was."""

FILE_PLACES = frozenset({"line", "row"})
"""The first element of an import's ``loc``: a line of JSONL or CSV, a row of Parquet."""

LIBRARY_NAMES = {
    "dataset_id": "dataset",
    "source_id": "source",
    "format": "fmt",
    "dest": "output",
    "source": "file",
    "lock": "lockfile",
    "project_id": "project",
}
"""The command-line parameter a library parameter is, where the command has none of the
library's name. Every other name (``on_conflict``, ``version``, ``into``, ``tag``,
``inputs``...) is the command's parameter of that name, spelled as the command spells it
(``--on-conflict``, ``--version``, ``INTO``, ``TAG``)."""

_TYPED = "datasetlog.typed"  # the click context's record of dataset ids and what named them


def remember_typed(dataset_id: str, given: str) -> None:
    """Note that the user named the dataset ``dataset_id`` as ``given``, for its errors."""
    if dataset_id != given:
        click.get_current_context().meta.setdefault(_TYPED, {})[dataset_id] = given


def spelled(loc: tuple[str | int, ...]) -> str:
    """Where a library ``loc`` points, in the command's spelling (empty if nowhere more
    precise than the request itself)."""
    parts = list(loc)
    if parts and parts[0] in HTTP_LOCATIONS:
        parts.pop(0)
    if not parts or all(isinstance(part, int) for part in parts):
        return ""  # the request as a whole, or an item of an argument list: the message says
    head, rest = parts[0], ".".join(map(str, parts[1:]))
    if head in FILE_PLACES and len(parts) > 1 and isinstance(parts[1], int):
        within = ".".join(map(str, parts[2:]))  # a column, then a path into its value
        return f"{head} {parts[1]}, {within}" if within else f"{head} {parts[1]}"
    param = _parameter(str(head))
    if param is None:
        return ".".join(map(str, parts))
    return f"{param} at {rest}" if rest else param


def _parameter(name: str) -> str | None:
    """How the running command spells the library's parameter ``name``, if it has one."""
    context = click.get_current_context(silent=True)
    if context is None:
        return None
    params = {param.name: param for param in context.command.params}
    param = params.get(name) or params.get(LIBRARY_NAMES.get(name, name))
    if isinstance(param, click.Option):
        return max(param.opts, key=len)
    return None if param is None else param.human_readable_name


_KEYWORD = re.compile(r"\b([a-z][a-z_]*)=(True|'[^']*')")
"""A keyword argument a library message suggests, such as ``allow_empty=True``."""


def _as_typed(message: str) -> str:
    """A message with each dataset id the user gave by name put back as that name, and each
    keyword argument it suggests spelled as the command's option (``--allow-empty``)."""
    context = click.get_current_context(silent=True)
    for dataset_id, given in (context.meta.get(_TYPED, {}) if context else {}).items():
        message = message.replace(repr(dataset_id), repr(given))
    return _KEYWORD.sub(_option_of, message)


def _option_of(suggested: re.Match[str]) -> str:
    option = _parameter(suggested.group(1))
    if option is None or not option.startswith("-"):
        return suggested.group(0)
    value = suggested.group(2)
    return option if value == "True" else f"{option} {value.strip(chr(39))}"


def _problem(detail: ErrorDetail) -> str:
    where = spelled(detail.loc)
    message = _as_typed(detail.msg)
    return f"error: {where}: {message}" if where else f"error: {message}"


def _report_validation(error: ValidationError) -> None:
    listed = error.listed
    for detail in listed[:SHOWN_PROBLEMS]:
        say(_problem(detail), err=True)
    more = len(listed) - SHOWN_PROBLEMS + error.omitted
    if more > 0:  # found before reading stopped: an import stops within a batch of lines
        say(f"error: and {more:,} more problem(s)", err=True)


def _report_conflicts(error: MergeConflictError) -> None:
    count = len(error.conflicts)
    say(
        f"error: {count} datapoint(s) changed on both sides since the merge base; nothing was "
        "written (--on-conflict source or --on-conflict target settles them, --dry-run "
        "reviews the merge)",
        err=True,
    )
    show = click.get_current_context().params.get("show")  # a merge's --show, if given
    for line in conflict_lines(error.conflicts, show=show, limit=SHOWN_PROBLEMS * 3):
        say(line, err=True)


@contextmanager
def reported() -> Iterator[None]:
    """Turn a DatasetLogError into a short error on standard error and exit status 1; an
    interrupt that came after a commit says the write landed (exit status 130)."""
    try:
        yield
    except ValidationError as error:
        _report_validation(error)
        sys.exit(1)
    except MergeConflictError as error:
        _report_conflicts(error)
        sys.exit(1)
    except DatasetLogError as error:
        say(f"error: {_as_typed(str(error))}", err=True)
        sys.exit(1)
    except InterruptedAfterCommit:
        say("interrupted after the commit: the write landed, whole", err=True)
        sys.exit(130)  # as a shell reports a command ended by SIGINT
