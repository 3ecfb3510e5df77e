"""The command-line options every script takes."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from benchmarks._tables import QUICK_NOTE, stop_judging


def add_backend_options(parser: argparse.ArgumentParser) -> None:
    """``--backend sqlite|postgres|both`` and ``--postgres-url URL``."""
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgres", "both"),
        default=None,
        help="the backends to measure datasetlog on (default: both when a PostgreSQL "
        "server can be started or is given, else sqlite)",
    )
    parser.add_argument(
        "--postgres-url",
        default=None,
        metavar="URL",
        help="use this PostgreSQL server (postgresql://user@host:port/db, no query string) "
        "instead of starting a throwaway one; each store gets a fresh schema, dropped after",
    )


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse a script's arguments; a ``--quick`` run judges no target, and says so."""
    args = parser.parse_args(argv)
    if args.quick:
        stop_judging()
        print(f"\n{QUICK_NOTE}\n")
    return args


def make_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    parser.add_argument("--repeat", type=int, default=None, help="paired rounds per figure")
    add_backend_options(parser)
    return parser


def pick(value: int | None, *, quick: bool, default: int, small: int) -> int:
    """An explicit argument, else the quick or the default size."""
    if value is not None:
        return value
    return small if quick else default
