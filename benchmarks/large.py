"""P1, P2 and P8 at 1M datapoints: the same measurements as ``benchmarks.reads``, larger.

Builds one 1M-datapoint version (10 ``create_datapoint`` calls of 100k), the
floor table and the baselines, then times full reads and measures peak memory
growth while iterating it. Takes about five minutes.

PostgreSQL is measured at ``--pg-size`` datapoints (default 300k), in rounds of
its own against an SQLite floor of that size: building 1M datapoints on
PostgreSQL takes about a minute more, and reading them ~7 s a round, which
would take the script well past five minutes. ``--pg-size 1000000`` measures it
at 1M too.

Run: ``python -m benchmarks.large [--quick] [--size N] [--pg-size N]
[--backend sqlite|postgres|both] [--postgres-url URL]``
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks._backends import open_backends
from benchmarks._environment import print_header
from benchmarks._files import workdir
from benchmarks._options import make_parser, parse, pick
from benchmarks._tables import fmt_count
from benchmarks.reads import repeats, run_reads

PG_SIZE = 300_000
"""The default N on PostgreSQL (see the module docstring)."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser("P1, P2, P8 at 1M datapoints")
    parser.add_argument("--size", type=int, default=None, help="datapoints (default 1M)")
    parser.add_argument(
        "--pg-size", type=int, default=None, help="datapoints on PostgreSQL (default 300k)"
    )
    args = parse(parser, argv)
    size = pick(args.size, quick=args.quick, default=1_000_000, small=3_000)
    pg_size = pick(args.pg_size, quick=args.quick, default=PG_SIZE, small=size)
    rounds, baseline_rounds = repeats(size)
    with workdir() as tmp, open_backends(args, tmp) as backends:
        on_pg = ""
        if backends.postgres is not None and pg_size != size:
            on_pg = f" (PostgreSQL at N={fmt_count(pg_size)}, {args.repeat or repeats(pg_size)[0]})"
        print_header(
            "large",
            f"P1/P2/P8 at N={fmt_count(size)}, {args.repeat or rounds}{on_pg} paired rounds, "
            f"baselines best of {baseline_rounds}",
            backends.describe(),
        )
        tables = run_reads(
            backends, [size], repeat=args.repeat, memory=True, postgres_sizes=[pg_size]
        )
        for table in tables:
            table.print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
