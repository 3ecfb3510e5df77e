"""The ``datasetlog`` command: a thin shell over :class:`~datasetlog.DatasetLog`.

Every command opens the store named by ``--db PATH`` or ``--url URL`` (or
``DATASETLOG_URL``; default ``./datasetlog.db``; only ``create`` makes a new
one), makes one library call and prints its result: aligned tables for people,
``--json`` for programs. Every string it prints is escaped where it could act
on a terminal (see :mod:`datasetlog.cli.output`).
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from datasetlog import __version__
from datasetlog.cli import admin, datapoints, datasets, transfer, versions
from datasetlog.cli.output import ASCII_OPTION, EscapingGroup
from datasetlog.cli.shared import DEFAULT_DB

COMMANDS = (
    datasets.datasets,
    datasets.create,
    datasets.rename,
    datasets.delete,
    datasets.fork,
    datasets.merge,
    versions.versions,
    versions.show,
    versions.diff,
    versions.tag,
    versions.untag,
    versions.name,
    versions.restore,
    datapoints.update,
    datapoints.history,
    transfer.export,
    transfer.import_command,
    transfer.check_lock_command,
    admin.verify,
    admin.rebuild,
    admin.demo,
)


@click.group(cls=EscapingGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    type=click.Path(dir_okay=False),
    help=f"An SQLite store file (default: ./{DEFAULT_DB}).",
)
@click.option(
    "--url",
    envvar="DATASETLOG_URL",
    help="The store as a URL: postgresql://... or sqlite:///path (env DATASETLOG_URL).",
)
@click.option(
    "--ascii",
    ASCII_OPTION,
    is_flag=True,
    help="Print every non-ASCII character as an escape (\\u0430), to tell look-alikes apart.",
)
@click.version_option(__version__, prog_name="datasetlog")
def cli(db: str | None, url: str | None, ascii_only: bool) -> None:
    """Event-sourced dataset versioning: datasets, versions, diffs, forks, exports."""


for command in COMMANDS:
    cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="datasetlog")
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return 0
