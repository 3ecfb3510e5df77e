"""V1-V3: ``verify()`` costs what the store holds, beside ``rebuild()`` of the same store.

Each case builds one store, then runs ``verify()`` and ``rebuild()`` on it,
each call in a fresh interpreter (so neither inherits the other's memory),
and reports the call's wall time and the process's peak RSS (``VmHWM``: the
interpreter, its imports and the call together; not ``ru_maxrss``, which a
child inherits from the process that forked it).

- V1: a dataset of ``--size`` datapoints (50k) and ``--forks`` forks of it
  (10, 40 and 200; PostgreSQL ``--pg-forks``, 10). A fork stores one commit,
  so verify should take about what it takes without forks: goal, verify
  within ``GOALS["V1"]`` times rebuild's time and under ``PEAK_MB`` peak RSS.
- V2: one ``restore`` bringing back ``--restores`` datapoints (4k, 8k and
  25k; PostgreSQL ``--pg-restores``, 4k), all deleted in the version before:
  verify linear in the restored datapoints (goal as V1's).
- V3: one commit of ``--big`` datapoints (1M; ``commit_datapoint_stream``;
  PostgreSQL ``--pg-big``, none by default): goal, verify under ``PEAK_MB``.

``--memory-cap MB`` runs each call under that address-space limit
(``RLIMIT_AS``), to see what a call does when memory runs out: the
``verify said`` column shows the report's first problem, or the error.

Run: ``python -m benchmarks.verify [--quick] [--size N] [--forks 10,40,200]
[--restores 4000,8000,25000] [--big N] [--pg-forks ...] [--pg-restores ...]
[--pg-big N] [--memory-cap MB] [--repeat R] [--backend sqlite|postgres|both]
[--postgres-url URL]``
"""

from __future__ import annotations

import gc
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from benchmarks._backend_base import Backend
from benchmarks._backends import open_backends
from benchmarks._config import REPO_ROOT
from benchmarks._datasets import build_dataset, open_db
from benchmarks._environment import print_header
from benchmarks._files import workdir
from benchmarks._memory import status_kib
from benchmarks._options import make_parser, parse, pick
from benchmarks._payloads import make_bodies
from benchmarks._tables import Table, fmt_count, fmt_ratio, fmt_time, verdict

GOALS = {"V1": 3.0, "V2": 3.0}
"""verify's time over rebuild's, at most."""
PEAK_MB = 300
"""verify's peak RSS, at most (issue #25's bound at 1M)."""
BIG_BATCH = 10_000
"""Datapoints per batch of V3's streamed commit."""
_PROBE = "from benchmarks.verify import probe_main; probe_main()"
TITLES = {
    "V1": "V1 verify() of a dataset and its forks vs rebuild() of the same store",
    "V2": "V2 verify() of a store whose last commit is one restore vs rebuild()",
    "V3": "V3 verify() of a store holding one big commit vs rebuild()",
}


@dataclass(frozen=True)
class Run:
    """One call in a fresh interpreter: its best time, peak RSS (and before it), what it said."""

    seconds: float
    peak_mb: float
    before_mb: float
    said: str

    def memory(self) -> str:
        """``peak (+growth)``: the process's peak RSS, and how far the call took it up."""
        return f"{self.peak_mb:.0f} MB (+{self.peak_mb - self.before_mb:.0f})"


def probe(call: str, location: str, *, repeat: int, memory_cap_mb: int | None) -> Run:
    """Run ``verify`` or ``rebuild`` on a store, ``repeat`` times, each in a fresh process."""
    runs = [_probe_once(call, location, memory_cap_mb) for _ in range(repeat)]
    best = min(runs, key=lambda run: run.seconds)
    peak = max(runs, key=lambda run: run.peak_mb)
    return Run(best.seconds, peak.peak_mb, peak.before_mb, best.said)


def _probe_once(call: str, location: str, memory_cap_mb: int | None) -> Run:
    spec = {"call": call, "location": location, "cap_mb": memory_cap_mb}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(spec)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        nan = float("nan")
        return Run(nan, nan, nan, f"crashed (rc {done.returncode}): {last[:80]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return Run(result["seconds"], result["peak_mb"], result["before_mb"], result["said"])


def probe_main() -> None:
    """The subprocess side of :func:`probe`: one call, then its figures as one JSON line."""
    spec = json.loads(sys.argv[1])
    if spec["cap_mb"]:
        limit = spec["cap_mb"] << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    db = open_db(spec["location"])
    gc.collect()
    before_kib = status_kib("VmHWM") or 0
    said = "ok"
    start = time.perf_counter()
    try:
        if spec["call"] == "verify":
            report = db.verify()
            first = report.first
            said = "ok" if report else f"{first.what}: {first.detail[:60]}" if first else "?"
        else:
            db.rebuild()
    except Exception as error:  # what a call raises is a result to show, not a crash
        said = f"raised {error!r}"[:100]
    seconds = time.perf_counter() - start
    db.close()
    peak_kib = status_kib("VmHWM") or 0
    figures = {"seconds": seconds, "said": said}
    figures |= {"peak_mb": peak_kib * 1024 / 1e6, "before_mb": before_kib * 1024 / 1e6}
    print(json.dumps(figures))


def build_forks(backend: Backend, size: int, forks: int) -> str:
    """A store holding a dataset of ``size`` datapoints and ``forks`` forks of it."""
    store = backend.new_store(f"verify-forks-{size}-{forks}")
    source = build_dataset(store.db, size, seed=51).dataset_id
    for i in range(forks):
        store.db.fork(source, name=f"fork-{i}")
    store.close()
    backend.after_build(store.location)
    return store.location


def build_restore(backend: Backend, restored: int) -> str:
    """A store whose last commit restores ``restored`` datapoints, all deleted before it."""
    store = backend.new_store(f"verify-restore-{restored}")
    db = store.db
    built = build_dataset(db, restored, seed=52, keep_ids=True)
    for start in range(0, restored, 10_000):
        db.delete_datapoints(built.ids[start : start + 10_000])
    db.restore(built.dataset_id, built.version)
    assert db.get_dataset(built.dataset_id).datapoint_count == restored
    store.close()
    backend.after_build(store.location)
    return store.location


def build_big(backend: Backend, size: int) -> str:
    """A store holding one commit of ``size`` datapoints."""
    store = backend.new_store(f"verify-big-{size}")
    dataset = store.db.create_dataset(project_id="bench", name="big").id

    def batches() -> Iterator[list[Any]]:
        for start in range(0, size, BIG_BATCH):
            yield make_bodies(53, start, min(BIG_BATCH, size - start))

    store.db.commit_datapoint_stream(dataset, batches(), count=size)
    store.close()
    backend.after_build(store.location)
    return store.location


@dataclass(frozen=True)
class Case:
    """One store to verify: its target, its label, and how it is built."""

    target: str
    label: str
    build: Callable[[Backend], str]


def measure(table: Table, case: Case, backend: Backend, *, repeat: int, cap: int | None) -> None:
    """Build a case's store, run rebuild and verify on it, and add the row."""
    location = case.build(backend)
    verified = probe("verify", location, repeat=repeat, memory_cap_mb=cap)
    rebuilt = probe("rebuild", location, repeat=repeat, memory_cap_mb=cap)
    ratio = verified.seconds / rebuilt.seconds
    goal = GOALS.get(case.target)
    bounded = verified.peak_mb <= PEAK_MB
    ok = verified.said == "ok" and bounded and (goal is None or ratio <= goal)
    goal_text = f"<= {goal:g}x, " if goal is not None else ""
    table.add(
        case.target,
        case.label,
        backend.name,
        fmt_time(rebuilt.seconds),
        fmt_time(verified.seconds),
        fmt_ratio(ratio),
        f"{goal_text}<= {PEAK_MB} MB",
        verdict(ok),
        rebuilt.memory(),
        verified.memory(),
        verified.said,
    )


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip() and int(part) > 0]


def _listed(sizes: list[int]) -> str:
    return ", ".join(fmt_count(n) for n in sizes) or "none"


def cases(size: int, forks: list[int], restores: list[int], big: int) -> list[Case]:
    """The cases of one backend, in table order."""
    found = [
        Case(
            "V1",
            f"{fmt_count(size)} + {count} forks",
            partial(build_forks, size=size, forks=count),
        )
        for count in forks
    ]
    found += [
        Case(
            "V2",
            f"restore of {fmt_count(count)}",
            partial(build_restore, restored=count),
        )
        for count in restores
    ]
    if big:
        found.append(Case("V3", f"1 commit of {fmt_count(big)}", partial(build_big, size=big)))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser("V1-V3: verify() against rebuild()")
    parser.add_argument("--size", type=int, default=None, help="V1's dataset (default 50k)")
    parser.add_argument("--forks", default=None, help="V1's fork counts (default 10,40,200)")
    parser.add_argument("--restores", default=None, help="V2's sizes (default 4000,8000,25000)")
    parser.add_argument("--big", type=int, default=None, help="V3's commit (default 1M; 0: none)")
    parser.add_argument("--pg-forks", default=None, help="V1 on PostgreSQL (default 10)")
    parser.add_argument("--pg-restores", default=None, help="V2 on PostgreSQL (default 4000)")
    parser.add_argument("--pg-big", type=int, default=None, help="V3 on PostgreSQL (default 0)")
    parser.add_argument("--memory-cap", type=int, default=None, help="RLIMIT_AS of each call, MB")
    args = parse(parser, argv)
    quick = args.quick
    size = pick(args.size, quick=quick, default=50_000, small=300)
    forks = _sizes(args.forks or ("2" if quick else "10,40,200"))
    restores = _sizes(args.restores or ("50" if quick else "4000,8000,25000"))
    big = pick(args.big, quick=quick, default=1_000_000, small=500)
    pg_forks = _sizes(args.pg_forks or ("2" if quick else "10"))
    pg_restores = _sizes(args.pg_restores or ("50" if quick else "4000"))
    pg_big = pick(args.pg_big, quick=quick, default=0, small=500)
    repeat = args.repeat or 1
    with workdir() as tmp, open_backends(args, tmp) as backends:
        print_header(
            "verify",
            f"V1 {fmt_count(size)} with {_listed(forks)} forks (PostgreSQL {_listed(pg_forks)}), "
            f"V2 restores of {_listed(restores)} (PostgreSQL {_listed(pg_restores)}), "
            f"V3 {fmt_count(big)} (PostgreSQL {fmt_count(pg_big)}); best of {repeat}, "
            "each call in a fresh process"
            + (f", under RLIMIT_AS {args.memory_cap} MB" if args.memory_cap else ""),
            backends.describe(),
        )
        tables = {
            target: Table(
                title,
                floor="rebuild()",
                ours="verify()",
                extras=["rebuild peak RSS", "verify peak RSS", "verify said"],
                backend=True,
            )
            for target, title in TITLES.items()
        }
        for backend in backends.chosen:
            on_pg = backend is backends.postgres
            chosen = (
                cases(size, pg_forks, pg_restores, pg_big)
                if on_pg
                else cases(size, forks, restores, big)
            )
            for case in chosen:
                measure(tables[case.target], case, backend, repeat=repeat, cap=args.memory_cap)
                print(f"  done: {case.target} {case.label} on {backend.name}", flush=True)
        for table in tables.values():
            if not table.rows:
                continue  # e.g. V3 on PostgreSQL, which --pg-big leaves out by default
            table.note(
                "peak RSS is the whole process's (VmHWM), interpreter, imports and open store "
                "included; (+N) is how far the call raised it. Time is the call's alone"
            )
            table.print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
