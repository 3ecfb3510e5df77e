"""Commands on datasets: list, create, rename, delete, fork, merge."""

from __future__ import annotations

import click

from datasetlog.cli.output import json_lines, json_value, say, table
from datasetlog.cli.shared import dataset_id, json_option, opened, project_option


@click.command("datasets")
@click.option(
    "--project", envvar="DATASETLOG_PROJECT", help="The project listed (default: every project)."
)
@json_option
def datasets(project: str | None, as_json: bool) -> None:
    """List the datasets of a project, or of every project."""
    with opened() as log:
        found = log.list_datasets(project)
    if as_json:
        json_lines(found)
        return
    rows = [
        (d.id, d.project_id, d.name, d.datapoint_count, d.updated_at.isoformat(timespec="seconds"))
        for d in found
    ]
    table(rows, ("id", "project", "name", "datapoints", "updated"))


@click.command("create")
@click.argument("name")
@click.option("--project", envvar="DATASETLOG_PROJECT", required=True, help="Its project.")
@click.option("--description", help="What it holds.")
@json_option
def create(name: str, project: str, description: str | None, as_json: bool) -> None:
    """Create an empty dataset; print its id."""
    with opened() as log:
        made = log.create_dataset(project_id=project, name=name, description=description)
    json_value(made) if as_json else say(made.id)


@click.command("rename")
@click.argument("dataset")
@click.argument("new_name")
@project_option
def rename(dataset: str, new_name: str, project: str | None) -> None:
    """Rename a dataset (given by id or name)."""
    with opened() as log:
        log.update_dataset(dataset_id(log, dataset, project), name=new_name)


@click.command("delete")
@click.argument("dataset")
@project_option
def delete(dataset: str, project: str | None) -> None:
    """Delete a dataset (its history stays in the log)."""
    with opened() as log:
        log.delete_dataset(dataset_id(log, dataset, project))


@click.command("fork")
@click.argument("dataset")
@click.argument("name")
@click.option("--version", "version", help="The version forked (default: the latest).")
@project_option
@json_option
def fork(
    dataset: str,
    name: str,
    version: str | None,
    project: str | None,
    as_json: bool,
) -> None:
    """Fork a version of a dataset as a new dataset NAME; print its id."""
    with opened() as log:
        made = log.fork(dataset_id(log, dataset, project), name=name, version=version)
    json_value(made) if as_json else say(made.id)


@click.command("merge")
@click.argument("source")
@click.argument("into")
@click.option("--dry-run", is_flag=True, help="Show what would be applied; write nothing.")
@click.option(
    "--on-conflict",
    type=click.Choice(["fail", "source", "target"]),
    default="fail",
    show_default=True,
    help="What to do with a datapoint both sides changed.",
)
@project_option
@json_option
def merge(
    source: str,
    into: str,
    dry_run: bool,
    on_conflict: str,
    project: str | None,
    as_json: bool,
) -> None:
    """Merge what SOURCE changed since the merge base into INTO (a fork and its source)."""
    with opened() as log:
        result = log.merge(
            dataset_id(log, source, project),
            into=dataset_id(log, into, project),
            dry_run=dry_run,
            on_conflict=on_conflict,  # type: ignore[arg-type]
        )
    if as_json:
        json_value(result)
        return
    counts = result.counts
    done = "committed version" if result.committed else "nothing committed; latest version"
    say(
        f"{done} {result.version.number}: {counts.added} added, {counts.removed} removed, "
        f"{counts.changed} changed, {len(result.conflicts)} conflict(s)"
    )
