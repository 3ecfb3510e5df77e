"""Commands on datasets: list, create, rename, delete (a dataset, or datapoints), fork, merge."""

from __future__ import annotations

import click

from datasetlog.cli.output import json_lines, json_value, say, table
from datasetlog.cli.review import FieldPath, conflict_lines, entry_lines, print_lines, show_option
from datasetlog.cli.shared import dataset_id, json_option, names_datapoint, opened, project_option


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
    """Create an empty dataset (and the store, if it does not exist); print its id."""
    with opened(create=True) as log:
        made = log.create_dataset(project_id=project, name=name, description=description)
    json_value(made, committed=True) if as_json else say(made.id)


@click.command("rename")
@click.argument("dataset")
@click.argument("new_name")
@project_option
def rename(dataset: str, new_name: str, project: str | None) -> None:
    """Rename a dataset (given by id or name)."""
    with opened() as log:
        log.update_dataset(dataset_id(log, dataset, project), name=new_name)


@click.command("delete")
@click.argument("targets", nargs=-1, required=True, metavar="DATASET|DATAPOINT_ID...")
@project_option
@json_option
def delete(targets: tuple[str, ...], project: str | None, as_json: bool) -> None:
    """Delete a dataset (its history stays in the log), or datapoints by id (one new version
    of each dataset they are in)."""
    with opened() as log:
        if len(targets) == 1 and not names_datapoint(log, targets[0], project):
            deleted = [dataset_id(log, targets[0], project)]
            log.delete_dataset(deleted[0])
        else:
            deleted = list(targets)
            log.delete_datapoints(deleted)
    if as_json:
        json_value({"deleted": deleted}, committed=True)


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
    json_value(made, committed=True) if as_json else say(made.id)


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
@show_option
@project_option
@json_option
def merge(
    source: str,
    into: str,
    dry_run: bool,
    on_conflict: str,
    show: FieldPath | None,
    project: str | None,
    as_json: bool,
) -> None:
    """Merge what SOURCE changed since the merge base into INTO (a fork and its source);
    with --dry-run, every entry it would apply and every conflict, named."""
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
    summary = (
        f"{counts.added} added, {counts.removed} removed, {counts.changed} changed, "
        f"{len(result.conflicts)} conflict(s)"
    )
    if result.committed:
        say(f"committed version {result.version.number}: {summary}")
    elif dry_run and (counts.added or counts.removed or counts.changed):
        say(f"would commit: {summary}")
        labels = (f"version {result.version.number}", "the merge")
        print_lines(
            entry_lines(result.added, result.removed, result.changed, show=show, labels=labels)
        )
    else:
        say(f"nothing to commit (latest version {result.version.number}): {summary}")
    print_lines(conflict_lines(result.conflicts, show=show))
