"""Commands on one datapoint: update and history (``show`` and ``delete`` take one too)."""

from __future__ import annotations

from typing import IO, Any

import click
import orjson

from datasetlog import Datapoint, to_v4
from datasetlog.cli.output import json_lines, json_value, say, table
from datasetlog.cli.review import FieldPath, hint, show_option
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
@click.argument("datapoint_id", required=False)
@click.option("--inputs", callback=_json, metavar="JSON", help='New inputs: {"key": "text"}.')
@click.option(
    "--messages", callback=_json, metavar="JSON", help='New messages: [{"role": ..., ...}].'
)
@click.option("--target", callback=_json, metavar="JSON", help="New target: a JSON object.")
@click.option(
    "--from",
    "edits",
    type=click.File("rb"),
    metavar="FILE",
    help='Many updates as one version per dataset: JSON Lines of {"id": ..., "target": ...} '
    "(- for standard input).",
)
@json_option
def update(
    datapoint_id: str | None,
    inputs: Any,
    messages: Any,
    target: Any,
    edits: IO[bytes] | None,
    as_json: bool,
) -> None:
    """Replace the given fields of a datapoint (the others are kept) as one new version; with
    --from FILE, of every datapoint the file names, as one version per dataset."""
    fields = inputs is not None or messages is not None or target is not None
    if edits is not None:
        if datapoint_id is not None or fields:
            raise click.UsageError("give DATAPOINT_ID and fields, or --from FILE, not both")
        updates = _updates(edits)
        with opened() as log:
            made = log.update_datapoints(updates)
        if as_json:
            json_lines(made)
        else:
            say(f"updated {len(made)} datapoint(s)")
        return
    if datapoint_id is None:
        raise click.UsageError("give DATAPOINT_ID (or --from FILE)")
    if not fields:
        raise click.UsageError("give --inputs, --messages or --target")
    with opened() as log:
        one = log.update_datapoint(datapoint_id, inputs=inputs, messages=messages, target=target)
    if as_json:
        json_value(one, committed=True)
    else:
        say(f"updated {one.id} of dataset {one.dataset_id}")


def _updates(edits: IO[bytes]) -> list[Any]:
    """The updates a JSON Lines file holds, one object a line (blank lines skipped)."""
    updates = []
    for number, line in enumerate(edits, start=1):
        if not line.strip():
            continue
        try:
            updates.append(orjson.loads(line))
        except orjson.JSONDecodeError as error:
            raise click.BadParameter(f"line {number} is not JSON: {error}") from error
    return updates


@click.command("history")
@click.argument("datapoint_id")
@show_option
@json_option
def history(datapoint_id: str, show: FieldPath | None, as_json: bool) -> None:
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
