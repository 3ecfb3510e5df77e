"""U1, U2: ``upsert(action="set")`` of N datapoints onto N, 1% differing, vs
``create_datapoint`` of N; U1 matched by content, U2 by key (``inputs.task_id``, the 1%
updated in place).

Two requests of N datapoint bodies, A and B, differ in 1% of their items. A
dataset holding A is upserted with B, then A, then B...: each call keeps 99%
and commits the 1% that changed (as many deletes and adds). Each round times
one such upsert beside a ``create_datapoint`` of the N bodies of A into a fresh
dataset of the same store. Then the store's growth is measured for one upsert
and one create (SQLite: file + WAL after a TRUNCATE checkpoint; PostgreSQL: the
``dl_`` tables after VACUUM).

Run: ``python -m benchmarks.upserts [--quick] [--size N] [--backend sqlite|postgres|both]
[--postgres-url URL]``
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from benchmarks._backend_base import Backend
from benchmarks._backends import open_backends
from benchmarks._environment import print_header
from benchmarks._files import workdir
from benchmarks._options import make_parser, parse, pick
from benchmarks._payloads import Body, make_bodies
from benchmarks._tables import Table, fmt_bytes, fmt_count, fmt_timing, ratio_cells, verdict
from benchmarks._timing import interleaved

U1_GOAL = 0.5
U2_GOAL = 0.5
KEY = "inputs.task_id"
U1_BYTES_GOAL = 0.05
"""An upsert changing 1% (as many deletes as adds) may grow the store by 5% of a full create."""
DIFFER = 0.01


def requests(n: int) -> tuple[list[Body], list[Body]]:
    """Two requests of ``n`` bodies that differ in 1% of their items (spread evenly)."""
    first = make_bodies(13, 0, n)
    step = round(1 / DIFFER)
    second = list(first)
    for i in range(0, n, step):
        second[i] = make_bodies(14, i, 1)[0]
    return first, second


def keyed_requests(n: int) -> tuple[list[Body], list[Body]]:
    """Two requests of ``n`` keyed bodies whose targets differ in 1% of their items."""
    first = make_bodies(15, 0, n)
    for number, body in enumerate(first):
        body["inputs"]["task_id"] = f"T/{number}"
    second = list(first)
    for i in range(0, n, round(1 / DIFFER)):
        second[i] = {**first[i], "target": {"answer": f"edited {i}", "score": 1.0}}
    return first, second


def u2_row(table: Table, backend: Backend, n: int, rounds: int) -> None:
    """U2's row of one backend: a keyed set updating 1% in place vs a create."""
    first, second = keyed_requests(n)
    store = backend.new_store("upserts-keyed/datasetlog")
    db = store.db
    synced = db.create_dataset(project_id="bench", name="synced").id
    db.create_datapoint(synced, first)
    backend.after_build(store.location)
    turn = iter(range(10**9))
    made = iter(range(10**9))

    def upsert() -> None:
        result = db.upsert(synced, second if next(turn) % 2 == 0 else first, key=KEY)
        assert (result.added, result.removed) == (0, 0)
        assert result.changed == len(range(0, n, round(1 / DIFFER)))

    def create() -> None:
        fresh = db.create_dataset(project_id="bench", name=f"fresh-{next(made)}").id
        db.create_datapoint(fresh, first)

    created, upserted = interleaved([create, upsert], repeat=rounds)
    ratio, cell = ratio_cells(upserted, created)
    table.add(
        "U2",
        f"{fmt_count(n)}, {DIFFER:.0%} changed, key {KEY}",
        backend.name,
        fmt_timing(created),
        fmt_timing(upserted),
        cell,
        f"<= {U2_GOAL}x",
        verdict(ratio <= U2_GOAL),
    )
    store.close()


def u1_rows(tables: dict[str, Table], backend: Backend, n: int, rounds: int) -> None:
    """U1's time and bytes rows of one backend."""
    first, second = requests(n)
    store = backend.new_store("upserts/datasetlog")
    db = store.db
    synced = db.create_dataset(project_id="bench", name="synced").id
    db.upsert(synced, first)
    backend.after_build(store.location)
    turn = iter(range(10**9))
    made = iter(range(10**9))

    def upsert() -> None:
        result = db.upsert(synced, second if next(turn) % 2 == 0 else first)
        assert result.added == result.removed == len(range(0, n, round(1 / DIFFER)))

    def create() -> None:
        fresh = db.create_dataset(project_id="bench", name=f"fresh-{next(made)}").id
        db.create_datapoint(fresh, first)

    created, upserted = interleaved([create, upsert], repeat=rounds)
    ratio, cell = ratio_cells(upserted, created)
    tables["U1"].add(
        "U1",
        f"{fmt_count(n)}, {DIFFER:.0%} differ",
        backend.name,
        fmt_timing(created),
        fmt_timing(upserted),
        cell,
        f"<= {U1_GOAL}x",
        verdict(ratio <= U1_GOAL),
    )
    grew_create = _growth(backend, store.location, create)
    grew_upsert = _growth(backend, store.location, upsert)
    share = grew_upsert / grew_create
    tables["U1 bytes"].add(
        "U1 bytes",
        f"{fmt_count(n)}, {DIFFER:.0%} differ",
        backend.name,
        fmt_bytes(grew_create),
        fmt_bytes(grew_upsert),
        f"{share:.3f}x",
        f"<= {U1_BYTES_GOAL}x",
        verdict(share <= U1_BYTES_GOAL),
    )
    store.close()


def _growth(backend: Backend, location: str, write: Callable[[], None]) -> int:
    """How many bytes the store grows by one call of ``write``."""
    backend.settle(location)
    before = backend.total_bytes(location)
    write()
    backend.settle(location)
    return backend.total_bytes(location) - before


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser("U1: upsert set vs create")
    parser.add_argument("--size", type=int, default=None, help="datapoints (default 100k)")
    args = parse(parser, argv)
    n = pick(args.size, quick=args.quick, default=100_000, small=2_000)
    rounds = pick(args.repeat, quick=args.quick, default=5, small=2)
    with workdir() as tmp, open_backends(args, tmp) as backends:
        print_header(
            "upserts", f"U1, U2 at N={fmt_count(n)}, {rounds} paired rounds", backends.describe()
        )
        tables = {
            "U1": Table(
                f"U1 upsert(action='set') of {fmt_count(n)} onto {fmt_count(n)}, "
                f"{DIFFER:.0%} differing, vs create_datapoint of {fmt_count(n)}",
                floor="create_datapoint",
                ours="upsert set",
                extras=[],
                backend=True,
            ),
            "U2": Table(
                f"U2 upsert(action='set', key={KEY!r}) of {fmt_count(n)} onto {fmt_count(n)}, "
                f"{DIFFER:.0%} updated in place, vs create_datapoint of {fmt_count(n)}",
                floor="create_datapoint",
                ours="keyed set",
                extras=[],
                backend=True,
            ),
            "U1 bytes": Table(
                "U1 bytes the store grows: one upsert vs one create_datapoint",
                floor="create_datapoint",
                ours="upsert set",
                extras=[],
                backend=True,
            ),
        }
        for backend in backends.chosen:
            u1_rows(tables, backend, n, rounds)
            u2_row(tables["U2"], backend, n, rounds)
        tables["U1"].note(
            "the synced dataset alternates between two requests that differ in 1% of items: "
            "each upsert keeps 99% and deletes and adds 1%."
        )
        for table in tables.values():
            table.print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
