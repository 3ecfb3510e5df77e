"""Run every benchmark script in turn, each in its own interpreter, and print all tables.

Run: ``python -m benchmarks.run_all [--quick] [--only reads,pages] [--out FILE]
[--backend sqlite|postgres|both] [--postgres-url URL]``

Starts at most one PostgreSQL server for the whole run (none with ``--postgres-url``
or ``--backend sqlite``) and hands it to every script, each of which works in
fresh schemas and drops them. Exits non-zero if any script failed; the others still run.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks._config import REPO_ROOT
from benchmarks._environment import environment
from benchmarks._options import add_backend_options
from benchmarks._postgres import postgres_for
from benchmarks._tables import QUICK_NOTE

SCRIPTS = (
    "reads",
    "pages",
    "writes",
    "large",
    "history",
    "upserts",
    "forks",
    "transfer",
    "verify",
    "baseline_eventsourcing",
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the smoke test")
    parser.add_argument("--only", default=",".join(SCRIPTS), help="comma-separated scripts")
    parser.add_argument("--out", type=Path, default=None, help="also write the output here")
    add_backend_options(parser)
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(SCRIPTS))
    if unknown:
        parser.error(f"unknown scripts {unknown}; choose from {', '.join(SCRIPTS)}")
    with postgres_for(args.backend, args.postgres_url) as postgres:
        backend = args.backend or ("both" if postgres.url else "sqlite")
        options = ["--backend", backend]
        if postgres.url:
            options += ["--postgres-url", postgres.url]
        return _run(chosen, args.quick, args.out, options, postgres.note)


def _run(
    chosen: Sequence[str], quick: bool, out_path: Path | None, options: list[str], note: str
) -> int:
    """Run the chosen scripts with ``options``; print (and write) their output."""
    out = out_path.open("w") if out_path else None

    def emit(text: str) -> None:
        print(text, end="", flush=True)
        if out is not None:
            out.write(text)
            out.flush()

    emit(f"# datasetlog benchmarks{' (quick)' if quick else ''}\n\n{environment()}\n\n")
    if quick:
        emit(f"{QUICK_NOTE[0].upper()}{QUICK_NOTE[1:]}.\n\n")
    emit(f"PostgreSQL: {note}\n\n")
    failed = []
    for name in chosen:
        command = [
            *(sys.executable, "-m", f"benchmarks.{name}"),
            *(["--quick"] if quick else []),
            *options,
        ]
        start = time.perf_counter()
        with subprocess.Popen(
            command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as process:
            assert process.stdout is not None
            for line in process.stdout:
                emit(line)
        elapsed = time.perf_counter() - start
        status = "ok" if process.returncode == 0 else f"FAILED (exit {process.returncode})"
        emit(f"(benchmarks.{name}: {status} in {elapsed:.0f} s)\n\n")
        if process.returncode != 0:
            failed.append(name)
    if out is not None:
        out.close()
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
