"""Commands on the store: verify, rebuild, and the demo."""

from __future__ import annotations

import sys

import click

from datasetlog.cli.demo import demo as run_demo
from datasetlog.cli.output import json_value, progress_bar, say
from datasetlog.cli.reporting import reported
from datasetlog.cli.shared import opened, store_location


@click.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def verify(as_json: bool) -> None:
    """Check every commit, hash, event and read model; exit 1 if anything is wrong."""
    with opened() as log, progress_bar(log.store.last_event, "verifying") as progress:
        report = log.verify(progress=progress)
    if as_json:
        json_value(report)
    else:
        summary, _, _ = str(report).partition("\n")  # then one line per problem, each escaped
        say(summary)
        for problem in report.problems:
            say(f"- {problem}")
    if not report.ok:
        sys.exit(1)


@click.command("rebuild")
def rebuild() -> None:
    """Rebuild the read models from the events."""
    with opened() as log, progress_bar(log.store.last_event, "rebuilding") as progress:
        log.rebuild(progress=progress)
    say("rebuilt")


@click.command("demo")
@click.option(
    "--db",
    "demo_db",
    type=click.Path(dir_okay=False),
    help="The SQLite file the demo writes to (default: datasetlog-demo.db, or the group's --db).",
)
def demo(demo_db: str | None) -> None:
    """Commit a few versions to an SQLite file, rebuild an early one, diff it."""
    with reported():
        run_demo(demo_db or store_location("datasetlog-demo.db"))
