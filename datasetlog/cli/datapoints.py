"""Commands on one datapoint: update and history (``show`` and ``delete`` take one too)."""

from __future__ import annotations

from typing import Any

import click
import orjson

from datasetlog import Datapoint, to_v4
from datasetlog.cli.output import json_lines, json_value, say, table
from datasetlog.cli.review import Path, hint, show_option
from datasetlog.cli.shared import json_option, opened

CONTENT_FIELDS = ("inputs", "messages", "target", "source_project_data_id")


def show_datapoint(datapoint: Datapoint, *, as_json: bool) -> None:
    """Print a datapoint: v4 JSON, or its ids and times, then each field as indented JSON."""
    if as_json:
        json_value(datapoint)
        return
    record = to_v4(datapoint)
    say(f"datapoint {datapoint.id} of dataset {datapoint.dataset_id}")
    say(f"created {record['created_at']}, updated {record['updated_at']}")
    for field in CONTENT_FIELDS:
        if field in record:
            say(f"{field}:")
            for line in orjson.dumps(record[field], option=orjson.OPT_INDENT_2).splitlines():
                say(f"  {line.decode()}")


def _json(context: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as error:
        raise click.BadParameter(f"not JSON: {error}") from error


@click.command("update")
@click.argument("datapoint_id")
@click.option("--inputs", callback=_json, metavar="JSON", help='New inputs: {"key": "text"}.')
@click.option(
    "--messages", callback=_json, metavar="JSON", help='New messages: [{"role": ..., ...}].'
)
@click.option("--target", callback=_json, metavar="JSON", help="New target: a JSON object.")
@json_option
def update(datapoint_id: str, inputs: Any, messages: Any, target: Any, as_json: bool) -> None:
    """Replace the given fields of a datapoint (the others are kept) as one new version."""
    if inputs is None and messages is None and target is None:
        raise click.UsageError("give --inputs, --messages or --target")
    with opened() as log:
        made = log.update_datapoint(datapoint_id, inputs=inputs, messages=messages, target=target)
    if as_json:
        json_value(made, committed=True)
    else:
        say(f"updated {made.id} of dataset {made.dataset_id}")


@click.command("history")
@click.argument("datapoint_id")
@show_option
@json_option
def history(datapoint_id: str, show: Path | None, as_json: bool) -> None:
    """Every version in which a datapoint was added, changed, deleted or restored."""
    with opened() as log:
        revisions = log.datapoint_history(datapoint_id)
    if as_json:
        json_lines(revisions)
        return
    rows = [
        (
            r.version.number,
            r.change,
            r.version.created_at.isoformat(timespec="seconds"),
            hint(r.datapoint, show),
        )
        for r in revisions
    ]
    table(rows, ("version", "change", "created", "content"))
