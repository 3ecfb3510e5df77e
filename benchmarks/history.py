"""H1-H5: navigating history costs what changed, never what the dataset holds.

Two datasets per backend get the same history on top of their bulk: a small
one (``--small``, 1k datapoints) and a big one (``--size``, 1M). The big one
first gets ``EXTRA_UPDATES`` one-datapoint updates, so its log is long too.
Then both get ``STEPS`` rounds of three commits, the same on both: update
one datapoint, delete ``CHANGE`` datapoints, add ``CHANGE``.

- H1: the diffs across the last three commits (one of each kind), big vs small.
- H2: ``restore`` of the version ``BACK`` commits back, then of the latest again
  (two forward commits of the same change), big vs small.
- H3: ``diff`` of two versions ``BACK`` commits apart on the big dataset vs the
  naive way: read both versions whole (v4 dicts) and compare them in Python.
- H4: a page (``list_datapoints``, size 50) of a version read by name, by tag,
  by ``as_of`` and by id, vs the same page read by number.
- H5: ``datapoint_history`` of a datapoint with ``STEPS + 1`` revisions, big vs small.

Run: ``python -m benchmarks.history [--quick] [--size N] [--small N]
[--backend sqlite|postgres|both] [--postgres-url URL]``
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchmarks._backend_base import Backend, Store
from benchmarks._backends import open_backends
from benchmarks._datasets import build_dataset
from benchmarks._environment import print_header
from benchmarks._files import workdir
from benchmarks._options import make_parser, parse, pick
from benchmarks._payloads import make_bodies
from benchmarks._tables import Table, fmt_count, fmt_speedup, fmt_timing, ratio_cells, verdict
from benchmarks._timing import interleaved
from datasetlog import DatasetLog

STEPS = 10
CHANGE = 10
BACK = 10
EXTRA_UPDATES = 1000
PAGE_SIZE = 50
GOALS = {"H1": 2.0, "H2": 2.0, "H3": 1 / 100, "H4": 1.05, "H5": 2.0}


@dataclass
class History:
    """A dataset with the benchmark's history: its id, the store, the tracked datapoint."""

    store: Store
    dataset_id: str
    tracked: str
    size: int

    @property
    def db(self) -> DatasetLog:
        return self.store.db

    def latest(self) -> int:
        return self.db.get_version(self.dataset_id).number


def build_history(backend: Backend, key: str, n: int, *, extra_updates: int) -> History:
    """A dataset of ``n`` datapoints, then the benchmark's history of change on top."""
    store = backend.new_store(key)
    db = store.db
    built = build_dataset(db, n, seed=12, keep_ids=True)
    ds, ids = built.dataset_id, built.ids
    for i in range(extra_updates):  # a long log before the history measured
        db.update_datapoint(ids[-1 - i % (n // 4)], inputs={"question": f"edit {i}"})
    tracked = ids[n // 2]
    doomed = iter(ids[: n // 2])
    added = n
    for step in range(STEPS):
        db.update_datapoint(tracked, target={"answer": f"step {step}", "score": step / STEPS})
        db.delete_datapoints([next(doomed) for _ in range(CHANGE)])
        db.create_datapoint(ds, make_bodies(12, added, CHANGE))
        added += CHANGE
    db.name_version(ds, db.get_version(ds).number - BACK, "golden")
    db.set_tag(ds, "prod", "golden")
    backend.after_build(store.location)
    return History(store, ds, tracked, n)


# Reads of a millisecond or less (H1, H4, H5) take three times the rounds: on a shared
# machine their best settles only over many samples.


def _pair_ratio(
    tables: dict[str, Table],
    target: str,
    label: str,
    backend: Backend,
    small: Callable[[], object],
    big: Callable[[], object],
    rounds: int,
) -> None:
    slow, fast = interleaved([small, big], repeat=rounds, collect=False)
    ratio, cell = ratio_cells(fast, slow)
    goal = GOALS[target]
    tables[target].add(
        target,
        label,
        backend.name,
        fmt_timing(slow),
        fmt_timing(fast),
        cell,
        f"<= {goal:g}x",
        verdict(ratio <= goal),
    )


def _adjacent_diffs(h: History) -> Callable[[], None]:
    latest = h.latest()

    def run() -> None:
        for newer in (latest, latest - 1, latest - 2):
            diff = h.db.diff(h.dataset_id, newer - 1, newer)
            assert diff

    return run


def _restores(h: History) -> Callable[[], None]:
    """Restore the version BACK commits before the built history's end, then that end again.

    Each round commits the same two changes (later rounds restore versions
    further back by number, but no further by content).
    """
    end = h.latest()

    def run() -> None:
        latest = h.latest()
        back = h.db.restore(h.dataset_id, end - BACK)
        again = h.db.restore(h.dataset_id, end)
        assert (back.number, again.number) == (latest + 1, latest + 2)

    return run


def _naive_diff(db: DatasetLog, ds: str, base: int, target: int) -> int:
    """Read both versions whole and compare them by id in Python: what a user would write."""
    old = {d["id"]: d for d in db.iter_datapoints_v4(ds, version=base)}
    new = {d["id"]: d for d in db.iter_datapoints_v4(ds, version=target)}
    added = new.keys() - old.keys()
    removed = old.keys() - new.keys()
    changed = [i for i in old.keys() & new.keys() if old[i] != new[i]]
    return len(added) + len(removed) + len(changed)


def history_rows(
    tables: dict[str, Table], backend: Backend, small_n: int, big_n: int, rounds: int
) -> None:
    """Every row of one backend."""
    small = build_history(backend, "history/small", small_n, extra_updates=0)
    big = build_history(backend, "history/big", big_n, extra_updates=EXTRA_UPDATES)
    sizes = f"{fmt_count(big_n)} vs {fmt_count(small_n)}"
    _pair_ratio(
        tables,
        "H1",
        f"{sizes}: 3 adjacent diffs",
        backend,
        _adjacent_diffs(small),
        _adjacent_diffs(big),
        3 * rounds,
    )
    latest = big.latest()
    entries = len(list(big.db.iter_diff(big.dataset_id, latest - BACK, latest)))
    assert entries == _naive_diff(big.db, big.dataset_id, latest - BACK, latest)
    naive, ours = interleaved(
        [
            lambda: _naive_diff(big.db, big.dataset_id, latest - BACK, latest),
            lambda: big.db.diff(big.dataset_id, latest - BACK, latest),
        ],
        repeat=max(2, rounds // 25),
    )
    ratio, _ = ratio_cells(ours, naive)
    cell = f"{fmt_speedup(naive.best / ours.best)} (med {fmt_speedup(naive.median / ours.median)})"
    tables["H3"].add(
        "H3",
        f"{fmt_count(big_n)}: {BACK} commits apart ({entries} entries)",
        backend.name,
        fmt_timing(naive),
        fmt_timing(ours),
        cell,
        ">= 100x faster",
        verdict(ratio <= GOALS["H3"]),
    )
    ds, db = big.dataset_id, big.db
    golden = db.get_version(ds, "golden")
    by_number = _page(db, ds, version=golden.number)
    for label, read in (
        ("by name", _page(db, ds, version="golden")),
        ("by tag", _page(db, ds, version="prod")),
        ("by as_of", _page(db, ds, as_of=golden.created_at)),
        ("by id", _page(db, ds, version=golden.id)),
    ):
        _pair_ratio(
            tables,
            "H4",
            f"{fmt_count(big_n)}: page 1 {label}",
            backend,
            by_number,
            read,
            3 * rounds,
        )
    _pair_ratio(
        tables,
        "H5",
        f"{sizes}: {STEPS + 1} revisions",
        backend,
        lambda: small.db.datapoint_history(small.tracked),
        lambda: big.db.datapoint_history(big.tracked),
        3 * rounds,
    )
    # Last: restores add versions to both datasets.
    _pair_ratio(
        tables,
        "H2",
        f"{sizes}: restore {BACK} back + forward",
        backend,
        _restores(small),
        _restores(big),
        max(5, rounds // 10),
    )
    small.store.close()
    big.store.close()


def _page(db: DatasetLog, ds: str, **where: object) -> Callable[[], None]:
    def read() -> None:
        page = db.list_datapoints(ds, size=PAGE_SIZE, **where)  # type: ignore[arg-type]
        assert len(page.records) == PAGE_SIZE

    return read


def _tables(big_n: int, small_n: int) -> dict[str, Table]:
    """One table per target, with a backend column."""
    big, small = fmt_count(big_n), fmt_count(small_n)
    titles = {
        "H1": (f"H1 diff of adjacent versions: {big} vs {small}", small, big),
        "H2": (f"H2 restore {BACK} commits back (and forward again): {big} vs {small}", small, big),
        "H3": (f"H3 diff {BACK} commits apart on {big} vs the naive way", "naive", "datasetlog"),
        "H4": (f"H4 list_datapoints page 1 (size {PAGE_SIZE})", "by number", "by reference"),
        "H5": (f"H5 datapoint_history ({STEPS + 1} revisions): {big} vs {small}", small, big),
    }
    return {
        target: Table(title, floor=floor, ours=ours, extras=[], backend=True)
        for target, (title, floor, ours) in titles.items()
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser("H1-H5: diff, restore, references and history cost what changed")
    parser.add_argument("--size", type=int, default=None, help="the big dataset (default 1M)")
    parser.add_argument("--small", type=int, default=None, help="the small one (default 1k)")
    args = parse(parser, argv)
    big_n = pick(args.size, quick=args.quick, default=1_000_000, small=3_000)
    small_n = pick(args.small, quick=args.quick, default=1_000, small=400)
    rounds = pick(args.repeat, quick=args.quick, default=100, small=5)
    with workdir() as tmp, open_backends(args, tmp) as backends:
        print_header(
            "history",
            f"H1-H5 at N={fmt_count(big_n)} vs {fmt_count(small_n)}, {rounds} paired rounds "
            f"(H1, H4, H5 {3 * rounds}, H2 {max(5, rounds // 10)}, H3 {max(2, rounds // 25)})",
            backends.describe(),
        )
        tables = _tables(big_n, small_n)
        for backend in backends.chosen:
            history_rows(tables, backend, small_n, big_n, rounds)
        tables["H1"].note(
            f"each dataset: N datapoints in commits of 100k (the big one then {EXTRA_UPDATES} "
            f"one-datapoint updates elsewhere), then {STEPS} x (update the tracked datapoint, "
            f"delete {CHANGE}, add {CHANGE}); the same change on both."
        )
        tables["H3"].note("the entries are checked equal to the naive count first.")
        for target in sorted(tables):
            tables[target].print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
