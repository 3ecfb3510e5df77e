"""Commands moving data out: export (with a lock file) and check-lock."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from datasetlog.cli.shared import (
    dataset_id,
    opened,
    project_option,
    reported,
    version_ref,
)
from datasetlog.transfer import FORMATS, check_lock, export_dataset


@click.command("export")
@click.argument("dataset")
@click.option("--version", "version", help="A number, dsv_ id, name, tag or 'latest'.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="jsonl", show_default=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file written (default: standard output).",
)
@click.option("--lock", is_flag=True, help="Write a lock file beside the output.")
@project_option
def export(
    dataset: str,
    version: str | None,
    fmt: str,
    output: Path | None,
    lock: bool,
    project: str | None,
) -> None:
    """Write a version as JSON Lines or CSV: the same bytes for the same version, anywhere."""
    if lock and output is None:
        raise click.UsageError("--lock needs -o FILE to write the lock beside")
    with opened() as log:
        ds = dataset_id(log, dataset, project)
        dest = output if output is not None else sys.stdout.buffer
        made = export_dataset(log, ds, dest, version=version_ref(version), format=fmt, lock=lock)
    if output is not None:
        click.echo(
            f"{output}: version {made.version} ({made.datapoint_count} datapoints), "
            f"sha256 {made.sha256}",
            err=True,
        )


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
        click.echo(f"mismatch: {problem}", err=True)
    if not result.ok:
        sys.exit(1)
    where = "the file and the store" if result.against_store else "the file"
    click.echo(f"ok: version {result.lock.version} of {result.lock.dataset_id} ({where})")
