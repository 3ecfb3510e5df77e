"""P1, P2 and P8 at 1M datapoints: the same measurements as ``benchmarks.reads``, larger.

Builds one 1M-datapoint version (10 ``create_datapoint`` calls of 100k), the
floor table and the baselines, then times full reads and measures peak memory
growth while iterating it. Takes a few minutes.

Run: ``python -m benchmarks.large [--quick] [--size N]``
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks._common import fmt_count, make_parser, pick, print_header, workdir
from benchmarks.reads import repeats, run_reads


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser("P1, P2, P8 at 1M datapoints")
    parser.add_argument("--size", type=int, default=None, help="datapoints (default 1M)")
    args = parser.parse_args(argv)
    size = pick(args.size, quick=args.quick, default=1_000_000, small=3_000)
    rounds, baseline_rounds = repeats(size)
    print_header(
        "large",
        f"P1/P2/P8 at N={fmt_count(size)}, {args.repeat or rounds} paired rounds, "
        f"baselines best of {baseline_rounds}",
    )
    with workdir() as tmp:
        for table in run_reads(tmp, [size], repeat=args.repeat, memory=True):
            table.print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
