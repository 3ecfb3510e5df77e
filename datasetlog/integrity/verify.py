"""``verify(store)``: every check of a store, in one snapshot, as one report."""

from __future__ import annotations

from collections.abc import Callable

from datasetlog.errors import DatasetLogError
from datasetlog.integrity.projection import compare_projection
from datasetlog.integrity.replay import compare_read_models
from datasetlog.integrity.report import (
    MAX_PROBLEMS,
    EnoughProblemsError,
    Problem,
    Problems,
    VerifyReport,
)
from datasetlog.integrity.scan import LogScan
from datasetlog.readmodels.access import ReadModels
from datasetlog.readmodels.schema import Schema
from datasetlog.store.base import EngineCheck, SQLStore
from datasetlog.store.sqlite import SQLiteEventStore


def verify(store: SQLStore, progress: Callable[[int], object] | None = None) -> VerifyReport:
    """Check a store's commits, events, hash chains and read models against each other.

    Reads one snapshot of the store; writers may carry on meanwhile. The same
    checks run on every backend (see :mod:`datasetlog.integrity`).

    Args:
        store: The store to check.
        progress: If given, called with how many more events were scanned, as
            each commit is.

    Returns:
        A report naming each problem found (up to ``MAX_PROBLEMS``) with its
        dataset, version, commit and event where known; it is true when there
        is none. It never raises: a store too damaged to read is reported as
        ``unreadable``. The database's own integrity check runs last
        (``engine`` problems; what it cannot check is in ``not_checked``).
    """
    problems = Problems()
    models = ReadModels(store.dialect)
    scratch = SQLiteEventStore(":memory:")  # fresh read models, replayed from the log
    scan = LogScan(problems, scratch.connection(), progress)
    try:
        with store.snapshot() as conn, scratch.write() as replay:
            Schema(scratch.dialect).ensure(replay.connection)
            try:
                scan.run(store, conn)
                missing = models.schema.missing(conn)
                for table in missing:
                    problems.add("read_model", detail=f"the read-model table {table} is missing")
                if not missing:
                    if scan.replayed:
                        compare_read_models(
                            problems, models.schema, conn, replay.connection, scan.last_position
                        )
                    for stream in scan.streams.values():
                        if stream.state is not None and not (stream.failed or stream.state.deleted):
                            compare_projection(problems, models, conn, stream.state)
            except EnoughProblemsError:
                pass
    except Exception as error:  # a store damaged past reading still gets a report
        problems.found.append(Problem(what="unreadable", detail=_describe(error)))
    finally:
        scratch.close()
    scan.name_gaps()
    engine = _check_engine(store)
    found = [*problems.found, *(Problem(what="engine", detail=p) for p in engine.problems)]
    unchecked = [engine.not_checked] if engine.not_checked else []
    found = found[:MAX_PROBLEMS]
    return VerifyReport(not found, found, scan.commits, scan.events, unchecked)


def _check_engine(store: SQLStore) -> EngineCheck:
    """The database's own check, or what kept it from running."""
    try:
        return store.check_engine()
    except Exception as error:  # as above: report, never raise
        return EngineCheck(problems=(f"the engine's check failed: {_describe(error)}",))


def _describe(error: Exception) -> str:
    return str(error) if isinstance(error, DatasetLogError) else repr(error)
