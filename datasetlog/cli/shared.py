"""What every command shares: the store option, finding a dataset or datapoint, errors.

Each command opens the store, makes one library call and prints its result
(sqlite-utils' CLI is the model) through :mod:`datasetlog.cli.output`. Errors
are a few lines on stderr (see :mod:`datasetlog.cli.reporting`) and exit
status 1; usage errors exit 2, as click makes them. Only ``create`` (and the
demo) may create a store: every other command needs one that exists, so a
mistyped ``--db`` is "no such store", not a new empty file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from datasetlog import DatasetLog, NotFoundError
from datasetlog.cli.reporting import remember_typed, reported
from datasetlog.ids import DATAPOINT_PREFIX, DATASET_PREFIX

DEFAULT_DB = "datasetlog.db"
URL_VARIABLE = "DATASETLOG_URL"
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
def opened(*, create: bool = False) -> Iterator[DatasetLog]:
    """The DatasetLog of the store ``--db`` or ``--url`` names; library errors become a
    short report. Unless ``create``, an SQLite store file must exist already.
    """
    with reported():
        location = store_location()
        if not create:
            require_store(location)
        with DatasetLog(location) as log:
            yield log


def store_location(default: str = DEFAULT_DB) -> str:
    """Where the command's store is: ``--url`` (or DATASETLOG_URL), else ``--db``, else
    ``default``."""
    root = click.get_current_context().find_root()
    db, url = root.params.get("db"), root.params.get("url")
    for given, option in ((db, "--db"), (url, "--url")):
        if given is not None and not given.strip():
            raise click.UsageError(f"{option} is empty: give the store's path or URL")
    if db and url:
        if root.get_parameter_source("url") is ParameterSource.ENVIRONMENT:
            raise click.UsageError(
                f"--db and {URL_VARIABLE} (set in the environment) both name a store: "
                f"give one (unset {URL_VARIABLE} to use --db)"
            )
        raise click.UsageError("give --db or --url, not both")
    return str(url or db or default)


def require_store(location: str) -> None:
    """Refuse an SQLite file that does not exist, before opening it would create it.

    Raises:
        NotFoundError: ``location`` is a path (or ``sqlite:///path``) with no file.
    """
    if location.startswith(("postgresql://", "postgres://")) or location == ":memory:":
        return
    path = location.removeprefix("sqlite:///")
    if "://" not in path and not os.path.exists(path):
        raise NotFoundError(f"no such store: {path}")


def dataset_id(log: DatasetLog, given: str, project: str | None) -> str:
    """A dataset argument as an id: the id of a dataset, else a name, looked up in
    ``project`` if given, else in every project (where it must name one dataset); a name
    that begins ``evts_`` as ids do is found once no dataset has it as its id."""
    if given.startswith(DATASET_PREFIX):
        try:
            return log.get_dataset(given).id
        except NotFoundError:
            pass
    found = [d for d in log.list_datasets(project) if d.name == given]
    if not found and given.startswith(DATASET_PREFIX):
        raise NotFoundError(f"no dataset has the id or name {given!r}")
    if not found:
        where = f"project {project!r}" if project else "the store"
        raise NotFoundError(f"{where} has no dataset named {given!r}")
    if len(found) > 1:
        projects = ", ".join(sorted(d.project_id for d in found))
        raise click.UsageError(
            f"datasets named {given!r} are in projects {projects}: give --project"
        )
    remember_typed(found[0].id, given)
    return found[0].id


def names_datapoint(log: DatasetLog, given: str, project: str | None) -> bool:
    """Whether an argument names a datapoint: it starts ``dp_`` and no dataset (of
    ``project``, if given) has it as its name."""
    if not given.startswith(DATAPOINT_PREFIX):
        return False
    return not any(d.name == given for d in log.list_datasets(project))
