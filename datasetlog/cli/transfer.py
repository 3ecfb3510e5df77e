"""Commands moving data: export (with a lock file), import, and check-lock."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from datasetlog import Diff
from datasetlog.cli.output import json_value, progress_bar, say
from datasetlog.cli.reporting import reported
from datasetlog.cli.review import FieldPath, entry_lines, print_lines, show_option
from datasetlog.cli.shared import dataset_id, json_option, opened, project_option
from datasetlog.transfer import (
    FORMATS,
    check_lock,
    datapoints_in,
    export_dataset,
    import_datapoints,
    require_format,
)


@click.command("export")
@click.argument("dataset")
@click.option("--version", "version", help="A number, dsv_ id, name, tag or 'latest'.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="Default: from -o FILE's extension (.jsonl, .ndjson, .csv, .parquet); jsonl to stdout.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="The file written (default, or -: standard output).",
)
@click.option("--lock", is_flag=True, help="Write a lock file beside the output.")
@project_option
def export(
    dataset: str,
    version: str | None,
    fmt: str | None,
    output: Path | None,
    lock: bool,
    project: str | None,
) -> None:
    """Write a version as JSON Lines, CSV or Parquet: the same bytes for the same version."""
    if output is not None and str(output) == "-":
        output = None  # standard output, as without -o
    if lock and output is None:
        raise click.UsageError("--lock needs -o FILE to write the lock beside")
    with opened() as log:
        ds = dataset_id(log, dataset, project)
        if output is None:
            made = export_dataset(log, ds, sys.stdout.buffer, version=version, format=fmt)
        else:
            header = require_format(fmt, output) == "csv"  # a CSV's header is a line too

            def total() -> int:
                return log.get_version(ds, version).datapoint_count + header

            with progress_bar(total, f"exporting {output.name}") as advance:
                made = export_dataset(
                    log, ds, output, version=version, format=fmt, lock=lock, progress=advance
                )
    if output is not None:
        digest = f", sha256 {made.sha256}" if made.sha256 else ""
        say(
            f"{output}: version {made.version.number} ({made.datapoint_count} datapoints){digest}",
            err=True,
        )


@click.command("import")
@click.argument("dataset")
@click.argument(
    "file", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path)
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="Default: from FILE's extension; jsonl from standard input (FILE -).",
)
@click.option(
    "--action",
    type=click.Choice(["add", "set", "remove"]),
    help="Upsert with this action (default: add every line, as create_datapoint does).",
)
@click.option(
    "--key",
    metavar="id|FIELD.PATH",
    help="With --action: match lines to datapoints by their id, or by a value such as "
    "inputs.task_id, and update matches in place (default: match by content).",
)
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option(
    "--allow-empty",
    is_flag=True,
    help="Let --action set from a file of no datapoint empty the dataset (refused otherwise).",
)
@click.option("--version-name", help="A name for the version committed.")
@show_option
@project_option
@json_option
def import_command(
    dataset: str,
    file: Path,
    fmt: str | None,
    action: str | None,
    key: str | None,
    dry_run: bool,
    allow_empty: bool,
    version_name: str | None,
    show: FieldPath | None,
    project: str | None,
    as_json: bool,
) -> None:
    """Commit the datapoints of a JSONL, CSV or Parquet FILE (as export writes them; - for
    standard input) as one version, whatever its size."""
    piped = str(file) == "-"
    source = sys.stdin.buffer if piped else file
    with (
        opened() as log,
        progress_bar(
            lambda: None if piped or dry_run else datapoints_in(file, format=fmt),
            f"importing {file.name}",
        ) as advance,
    ):
        done = import_datapoints(
            log,
            dataset_id(log, dataset, project),
            source,
            format=fmt,
            action=action,
            key=key,
            dry_run=dry_run,
            allow_empty=allow_empty,
            version_name=version_name,
            progress=advance,
        )
    if isinstance(done, Diff):
        counts = done.counts
        if as_json:
            json_value(counts, committed=False)
        elif done:
            say(
                f"would commit: {counts.added} added, {counts.removed} removed, "
                f"{counts.changed} changed"
            )
            labels = (f"version {done.base.number}", "the file")
            print_lines(
                entry_lines(done.added, done.removed, done.changed, show=show, labels=labels)
            )
        else:
            say(f"nothing to commit: version {done.base.number} holds that content")
        return
    if as_json:
        json_value(done.version, committed=done.committed, added=done.added,
                   removed=done.removed, changed=done.changed, ignored=done.ignored)  # fmt: skip
        return
    what = f"version {done.version.number}" if done.committed else "nothing to commit"
    changed = f", {done.changed} changed" if done.changed else ""
    say(f"{what}: {done.added} added, {done.removed} removed{changed}, {done.ignored} ignored")


@click.command("check-lock")
@click.argument("lockfile", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--offline", is_flag=True, help="Check the file alone, without opening a store.")
def check_lock_command(lockfile: Path, offline: bool) -> None:
    """Check an export against its lock file (and the store); exit 1 on any mismatch."""
    if offline:
        with reported():
            result = check_lock(lockfile)
    else:
        with opened() as log:
            result = check_lock(lockfile, log)
    for problem in result.problems:
        say(f"mismatch: {problem}", err=True)
    if not result.ok:
        sys.exit(1)
    where = "the file and the store" if result.against_store else "the file"
    say(f"ok: version {result.lock.version} of {result.lock.dataset_id} ({where})")
