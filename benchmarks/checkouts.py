"""A/B: the same calls timed on two checkouts of datasetlog, in alternating processes.

Run: ``python -m benchmarks.checkouts BEFORE AFTER [--size N] [--pairs K] [--repeat R]``.
BEFORE and AFTER are checkout folders or git revisions (checked out into temporary
worktrees, removed after). Each pair of rounds runs one process per checkout, the
order swapping every pair, so drift on a shared machine falls on both sides alike.
Every process builds its own SQLite store from the same bodies and times
``create_datapoint``, the three reads, ``export_dataset``, ``import_datapoints`` and
an ``upsert`` set with 1% changed (see ``_checkout_child.py``).

Two full runs made hours apart compare machines as much as code; this compares code.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import orjson

from benchmarks._environment import git, print_header
from benchmarks._files import workdir
from benchmarks._payloads import make_bodies
from benchmarks._tables import QUICK_NOTE, Table, fmt_count, fmt_timing, ratio_cells
from benchmarks._timing import Timing

CHILD = Path(__file__).resolve().parent / "_checkout_child.py"
CALLS = (
    ("create_datapoint", "create_datapoint (100k per call)"),
    ("iter_datapoints", "iter_datapoints (objects)"),
    ("iter_datapoints_v4", "iter_datapoints_v4 (dicts)"),
    ("iter_datapoints_json", "iter_datapoints_json (bytes)"),
    ("export_dataset", "export_dataset (JSONL, file object)"),
    ("import_datapoints", "import_datapoints (that JSONL file)"),
    ("upsert", "upsert set, 1% changed"),
)


class CheckoutError(Exception):
    """A BEFORE or AFTER that cannot be measured: not a checkout, or its run failed."""


@contextlib.contextmanager
def checkout(spec: str, scratch: Path) -> Iterator[tuple[Path, str]]:
    """The folder holding ``spec``'s ``datasetlog`` package, and a label for it."""
    folder = Path(spec)
    if folder.is_dir():
        if not (folder / "datasetlog" / "__init__.py").is_file():
            raise CheckoutError(f"{spec}: no datasetlog package in this folder")
        yield folder.resolve(), f"{spec} @ {_short_head(folder)}"
        return
    resolved = git("rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}")
    if resolved is None:
        raise CheckoutError(f"{spec}: neither a checkout folder nor a git revision")
    tree = Path(tempfile.mkdtemp(dir=scratch)) / "checkout"
    if git("worktree", "add", "--detach", str(tree), resolved) is None:
        raise CheckoutError(f"{spec}: git could not check it out")
    try:
        yield tree, spec if resolved.startswith(spec) else f"{spec} @ {resolved[:7]}"
    finally:
        git("worktree", "remove", "--force", str(tree))


def _short_head(folder: Path) -> str:
    return git("rev-parse", "--short", "HEAD", cwd=folder) or "no git"


def run_side(tree: Path, bodies: Path, repeat: int) -> dict[str, list[float]]:
    """One process timing the calls on the checkout in ``tree``."""
    with tempfile.TemporaryDirectory(prefix="datasetlog-ab-", dir=bodies.parent) as folder:
        done = subprocess.run(
            [sys.executable, str(CHILD), str(bodies), folder, str(repeat)],
            env={**os.environ, "PYTHONPATH": str(tree)},
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise CheckoutError(f"the run on {tree} failed:\n{done.stderr[-4000:]}")
    samples: dict[str, list[float]] = orjson.loads(done.stdout.strip().splitlines()[-1])
    return samples


def measure(
    trees: Sequence[Path], bodies: Path, *, pairs: int, repeat: int
) -> list[dict[str, Timing]]:
    """Each checkout's timings over ``pairs`` pairs of processes, the order swapped each pair."""
    collected: list[dict[str, list[float]]] = [{} for _ in trees]
    for pair in range(pairs):
        order = range(len(trees)) if pair % 2 == 0 else reversed(range(len(trees)))
        for side in order:
            for name, samples in run_side(trees[side], bodies, repeat).items():
                collected[side].setdefault(name, []).extend(samples)
    return [{name: Timing(tuple(s)) for name, s in side.items()} for side in collected]


def table(
    labels: Sequence[str], timings: Sequence[dict[str, Timing]], n: int, *, quick: bool
) -> Table:
    before, after = timings
    result = Table(
        "A/B the same calls on two checkouts, alternating processes",
        floor=f"before ({labels[0]})",
        ours=f"after ({labels[1]})",
        ratio="after / before",
        extras=(),
    )
    verdict_text = "not judged" if quick else "info"
    for name, title in CALLS:
        _, cell = ratio_cells(after[name], before[name])
        cells = (fmt_timing(before[name]), fmt_timing(after[name]), cell, "-", verdict_text)
        result.add(title, fmt_count(n), *cells)
    result.note(
        "before, after: best of all rounds (median in brackets); ratio = best/best (med/med)"
    )
    result.note("below 1.00x the after checkout is faster; a few % either way is noise")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", help="a checkout folder or a git revision")
    parser.add_argument("after", help="a checkout folder or a git revision")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    parser.add_argument("--size", type=int, default=None, help="datapoints (default 100k)")
    parser.add_argument("--pairs", type=int, default=None, help="pairs of processes (default 3)")
    parser.add_argument("--repeat", type=int, default=None, help="rounds per process (default 3)")
    args = parser.parse_args(argv)
    n = args.size or (300 if args.quick else 100_000)
    pairs = args.pairs or (1 if args.quick else 3)
    repeat = args.repeat or (1 if args.quick else 3)
    if min(n, pairs, repeat) < 1:
        parser.error("--size, --pairs and --repeat must be at least 1")
    if args.quick:
        print(f"\n{QUICK_NOTE}\n")
    settings = f"N={fmt_count(n)}, {pairs} pairs of processes, {repeat} rounds each"
    print_header("checkouts", settings, "backends: sqlite only (a file per process)")
    with workdir() as scratch, contextlib.ExitStack() as stack:
        try:
            sides = [
                stack.enter_context(checkout(spec, scratch)) for spec in (args.before, args.after)
            ]
            bodies = scratch / "bodies.jsonl"
            bodies.write_bytes(b"".join(orjson.dumps(b) + b"\n" for b in make_bodies(11, 0, n)))
            timings = measure([tree for tree, _ in sides], bodies, pairs=pairs, repeat=repeat)
        except CheckoutError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        table([label for _, label in sides], timings, n, quick=args.quick).print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
