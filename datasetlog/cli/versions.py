"""Commands on versions: list, show, diff, tag, untag, name, restore."""

from __future__ import annotations

import itertools

import click
import orjson

from datasetlog import Diff, to_v4
from datasetlog.cli.datapoints import show_datapoint
from datasetlog.cli.output import json_lines, json_value, say, table
from datasetlog.cli.review import FieldPath, entry_lines, print_lines, show_option
from datasetlog.cli.shared import dataset_id, json_option, names_datapoint, opened, project_option


@click.command("versions")
@click.argument("dataset")
@project_option
@json_option
def versions(dataset: str, project: str | None, as_json: bool) -> None:
    """List a dataset's versions, oldest first, with their names and tags."""
    with opened() as log:
        ds = dataset_id(log, dataset, project)
        found = log.list_versions(ds)
        tags = log.list_tags(ds)
    if as_json:
        json_lines(found)
        return
    tagged: dict[int, list[str]] = {}
    for tag in tags:
        tagged.setdefault(tag.version, []).append(tag.name)
    rows = [
        (
            v.number,
            v.id,
            v.datapoint_count,
            v.created_at.isoformat(timespec="seconds"),
            v.name,
            ",".join(tagged.get(v.number, [])),
            v.message,
        )
        for v in found
    ]
    table(rows, ("version", "id", "datapoints", "created", "name", "tags", "message"))


@click.command("show")
@click.argument("dataset", metavar="DATASET|DATAPOINT_ID")
@click.option("--version", "version", help="A number, dsv_ id, name, tag or 'latest'.")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="Datapoints shown in the table (--json prints all).",
)
@project_option
@json_option
def show(
    dataset: str,
    version: str | None,
    limit: int,
    project: str | None,
    as_json: bool,
) -> None:
    """Show a version of a dataset and its datapoints (JSON Lines with --json), or one
    datapoint (a dp_ id) as it stands in the latest version or in --version."""
    with opened() as log:
        if names_datapoint(log, dataset, project):
            show_datapoint(log.get_datapoint(dataset, version=version), as_json=as_json)
            return
        ds = dataset_id(log, dataset, project)
        found = log.get_version(ds, version)
        if as_json:
            json_lines(list(log.iter_datapoints(ds, version=found.number)))
            return
        shown = list(itertools.islice(log.iter_datapoints(ds, version=found.number), limit))
    named = f" ({found.name})" if found.name else ""
    say(
        f"version {found.number}{named} {found.id}: {found.datapoint_count} datapoints, "
        f"{found.message}"
    )
    rows = [
        (record["id"], *(_short(record.get(field)) for field in ("inputs", "messages", "target")))
        for record in (to_v4(d) for d in shown)
    ]
    table(rows, ("id", "inputs", "messages", "target"))
    if found.datapoint_count > len(shown):
        say(f"... {found.datapoint_count - len(shown)} more (--limit, or --json for all)")


def _short(value: object, width: int = 40) -> str:
    """A field as compact JSON, cut to ``width`` characters."""
    text = "" if value is None else orjson.dumps(value).decode()
    return text if len(text) <= width else text[: width - 3] + "..."


@click.command("diff")
@click.argument("dataset")
@click.argument("base")
@click.argument("target")
@click.option("--stat", is_flag=True, help="Only count what was added, removed and changed.")
@show_option
@project_option
@json_option
def diff(
    dataset: str,
    base: str,
    target: str,
    stat: bool,
    show: FieldPath | None,
    project: str | None,
    as_json: bool,
) -> None:
    """What changed from version BASE to version TARGET (any references): each datapoint
    added or removed with a hint of its content, each changed value old -> new."""
    with opened() as log:
        found = log.diff(dataset_id(log, dataset, project), base, target)
    counts = found.counts
    if as_json:
        json_value(counts if stat else found)
        return
    say(
        f"version {found.base.number} -> {found.target.number}: {counts.added} added, "
        f"{counts.removed} removed, {counts.changed} changed"
    )
    if not stat:
        _review(found, show)


def _review(found: Diff, show: FieldPath | None) -> None:
    """Print a diff's entries, each changed value under its datapoint."""
    labels = (f"version {found.base.number}", f"version {found.target.number}")
    print_lines(entry_lines(found.added, found.removed, found.changed, show=show, labels=labels))


@click.command("tag")
@click.argument("dataset")
@click.argument("tag")
@click.argument("version")
@project_option
def tag(dataset: str, tag: str, version: str, project: str | None) -> None:
    """Point TAG at VERSION (creating or moving it)."""
    with opened() as log:
        made = log.set_tag(dataset_id(log, dataset, project), tag, version)
    say(f"{made.name} -> version {made.version}")


@click.command("untag")
@click.argument("dataset")
@click.argument("tag")
@project_option
def untag(dataset: str, tag: str, project: str | None) -> None:
    """Delete a tag (its moves stay in the log)."""
    with opened() as log:
        log.delete_tag(dataset_id(log, dataset, project), tag)


@click.command("name")
@click.argument("dataset")
@click.argument("version")
@click.argument("name")
@click.option("--description", help="What the version is.")
@project_option
def name(
    dataset: str,
    version: str,
    name: str,
    description: str | None,
    project: str | None,
) -> None:
    """Give VERSION its NAME (once: names never change)."""
    with opened() as log:
        ds = dataset_id(log, dataset, project)
        log.name_version(ds, version, name, description=description)


@click.command("restore")
@click.argument("dataset")
@click.argument("version")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@show_option
@project_option
@json_option
def restore(
    dataset: str,
    version: str,
    dry_run: bool,
    show: FieldPath | None,
    project: str | None,
    as_json: bool,
) -> None:
    """Commit a new version with the content of VERSION (nothing, if the latest has it)."""
    with opened() as log:
        ds = dataset_id(log, dataset, project)
        if dry_run:
            planned = log.restore(ds, version, dry_run=True)
            if as_json:
                json_value(planned.counts, committed=False)
            elif planned:
                counts = planned.counts
                say(
                    f"would commit: {counts.added} added, {counts.removed} removed, "
                    f"{counts.changed} changed"
                )
                _review(planned, show)
            else:
                say(f"nothing to commit: version {planned.base.number} holds that content")
            return
        latest = log.get_version(ds).number
        made = log.restore(ds, version)
    # A restore to the content the latest version holds commits nothing and returns it.
    committed = made.number != latest
    if as_json:
        json_value(made, committed=committed)
    elif committed:
        say(f"version {made.number}: {made.message}")
    else:
        say(f"nothing to commit: version {made.number} holds that content")
