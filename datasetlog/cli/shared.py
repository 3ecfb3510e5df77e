"""What every command shares: the store option, finding a dataset, output, and errors.

Each command opens the store, makes one library call and prints its result
(sqlite-utils' CLI is the model) through :mod:`datasetlog.cli.output`. Errors
are one line on stderr (a ``ValidationError`` one line per problem) and exit
status 1; usage errors exit 2, as click makes them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click

from datasetlog import (
    DatasetLog,
    DatasetLogError,
    InterruptedAfterCommit,
    NotFoundError,
    ValidationError,
)
from datasetlog.cli.output import say
from datasetlog.ids import DATASET_PREFIX

DEFAULT_DB = "datasetlog.db"
F = TypeVar("F", bound=Callable[..., Any])


def json_option(command: F) -> F:
    """``--json``: print JSON (JSON Lines for listings) instead of a table."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for programs.")(command)


def project_option(command: F) -> F:
    """``--project``: where a dataset named by name is looked up (env DATASETLOG_PROJECT)."""
    return click.option(
        "--project",
        envvar="DATASETLOG_PROJECT",
        help="The project of a dataset given by name, when names clash (env DATASETLOG_PROJECT).",
    )(command)


@contextmanager
def opened() -> Iterator[DatasetLog]:
    """The DatasetLog of the store ``--db`` or ``--url`` names; library errors become one
    clear line."""
    with reported(), DatasetLog(store_location()) as log:
        yield log


def store_location(default: str = DEFAULT_DB) -> str:
    """Where the command's store is: ``--url``, else ``--db``, else ``default``."""
    options = click.get_current_context().find_root().params
    db, url = options.get("db"), options.get("url")
    if db and url:
        raise click.UsageError("give --db or --url, not both")
    return str(url or db or default)


@contextmanager
def reported() -> Iterator[None]:
    """Turn a DatasetLogError into a one-line error (one per problem) and exit status 1; an
    interrupt that came after a commit says the write landed (exit status 130)."""
    try:
        yield
    except ValidationError as error:
        for detail in error.details:
            where = ".".join(str(part) for part in detail.loc)
            say(f"error: {where}: {detail.msg}", err=True)
        sys.exit(1)
    except DatasetLogError as error:
        say(f"error: {error}", err=True)
        sys.exit(1)
    except InterruptedAfterCommit:
        say("interrupted after the commit: the write landed, whole", err=True)
        sys.exit(130)  # as a shell reports a command ended by SIGINT


def dataset_id(log: DatasetLog, given: str, project: str | None) -> str:
    """A dataset argument as an id: an ``evts_`` id as it is, else a name, looked up in
    ``project`` if given, else in every project (where it must name one dataset)."""
    if given.startswith(DATASET_PREFIX):
        return given
    found = [d for d in log.list_datasets(project) if d.name == given]
    if not found:
        where = f"project {project!r}" if project else "the store"
        raise NotFoundError(f"{where} has no dataset named {given!r}")
    if len(found) > 1:
        projects = ", ".join(sorted(d.project_id for d in found))
        raise click.UsageError(
            f"datasets named {given!r} are in projects {projects}: give --project"
        )
    return found[0].id
