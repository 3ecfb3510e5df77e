"""``verify(store)``: every check of a store, in one snapshot, as one report."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from datasetlog.errors import DatasetLogError
from datasetlog.integrity.projection import compare_projection
from datasetlog.integrity.replay import compare_read_models
from datasetlog.integrity.report import (
    MAX_PROBLEMS,
    EnoughProblemsError,
    Problem,
    Problems,
    VerifyIncompleteError,
    VerifyReport,
    raise_if_resource,
)
from datasetlog.integrity.scan import LogScan
from datasetlog.readmodels.access import ReadModels
from datasetlog.readmodels.schema import Schema
from datasetlog.store.base import Connection, EngineCheck, SQLStore
from datasetlog.store.dialect import SQLITE
from datasetlog.store.sqlite import SQLiteConnection

SCRATCH_CACHE_KIB = 16_384
"""The page cache of the scratch database of replayed read models."""


@contextmanager
def _scratch() -> Iterator[SQLiteConnection]:
    """A connection to a private SQLite file in a temporary folder, inside a transaction,
    for read models replayed from the log.

    A file, not ``:memory:``: the read models of a million datapoints would
    take hundreds of MB in memory, and here they take disk space in ``TMPDIR``
    and a page cache of ``SCRATCH_CACHE_KIB``. Nothing in it needs to survive
    a crash, so it is never synced, and it holds no event log (so opening it
    runs no store migration).
    """
    with tempfile.TemporaryDirectory(prefix="datasetlog-verify-") as folder:
        raw = sqlite3.connect(Path(folder) / "replayed.db", isolation_level=None)
        try:
            raw.execute("PRAGMA synchronous = OFF")
            raw.execute(f"PRAGMA cache_size = -{SCRATCH_CACHE_KIB}")
            raw.execute("BEGIN")
            yield SQLiteConnection(raw)
        finally:
            raw.close()


def verify(store: SQLStore, progress: Callable[[int], object] | None = None) -> VerifyReport:
    """Check a store's commits, events, hash chains and read models against each other.

    Reads one snapshot of the store; writers may carry on meanwhile. The same
    checks run on every backend (see :mod:`datasetlog.integrity`). Its time
    and memory grow with what the store holds (a fork costs what it stores,
    not a copy of its source), and a commit's events are read in batches.
    Fresh read models are replayed into a temporary file (in ``TMPDIR``).

    Args:
        store: The store to check.
        progress: If given, called with how many more events were scanned, as
            each commit is.

    Returns:
        A report naming each problem found (up to ``MAX_PROBLEMS``) with its
        dataset, version, commit and event where known; it is true when there
        is none. A store too damaged to read is reported as ``unreadable``.
        The database's own integrity check runs last (``engine`` problems;
        what it cannot check is in ``not_checked``).

    Raises:
        VerifyIncompleteError: Memory or temporary disk space ran out before
            the checks finished: nothing is then said about the store.
            Changed in 0.2: such failures were reported as problems.
    """
    problems = Problems()
    models = ReadModels(store.dialect)
    scan: LogScan | None = None
    try:
        with _scratch() as replayed, store.snapshot() as conn:
            Schema(SQLITE).ensure(replayed)
            scan = LogScan(problems, replayed, progress)
            with suppress(EnoughProblemsError):
                _check(store, conn, scan, models, replayed)
    except VerifyIncompleteError:
        raise
    except Exception as error:  # a store damaged past reading still gets a report
        raise_if_resource(error, "reading the store")
        problems.found.append(Problem(what="unreadable", detail=_describe(error)))
    if scan is not None:
        scan.name_gaps()
    engine = _check_engine(store)
    found = [*problems.found, *(Problem(what="engine", detail=p) for p in engine.problems)]
    unchecked = [engine.not_checked] if engine.not_checked else []
    found = found[:MAX_PROBLEMS]
    commits, events = (scan.commits, scan.events) if scan is not None else (0, 0)
    return VerifyReport(not found, found, commits, events, unchecked)


def _check(
    store: SQLStore, conn: Connection, scan: LogScan, models: ReadModels, replayed: Connection
) -> None:
    """The checks of one snapshot: the log scan, then the read models and the projection."""
    problems = scan.problems
    scan.run(store, conn)
    missing = models.schema.missing(conn)
    for table in missing:
        problems.add("read_model", detail=f"the read-model table {table} is missing")
    if missing:
        return
    if scan.replayed:
        compare_read_models(problems, models.schema, conn, replayed, scan.last_position)
    fold = scan.fold
    for dataset_id, state in fold.datasets.items():
        if fold.folds(dataset_id) and not state.deleted:
            compare_projection(problems, models, conn, state)


def _check_engine(store: SQLStore) -> EngineCheck:
    """The database's own check, or what kept it from running."""
    try:
        return store.check_engine()
    except Exception as error:  # as above: report, never raise
        raise_if_resource(error, "running the engine's check")
        return EngineCheck(problems=(f"the engine's check failed: {_describe(error)}",))


def _describe(error: Exception) -> str:
    return str(error) if isinstance(error, DatasetLogError) else repr(error)
