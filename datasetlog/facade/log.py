"""DatasetLog: the v4 Datasets operations over an event store; one call, one atomic commit.

The operations are grouped by area in the modules beside this one, one short
delegation each; here the store is opened and each area's readers and writers made.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from datasetlog.errors import ErrorDetail, ValidationError
from datasetlog.facade.datasets import DatasetOperations
from datasetlog.facade.proposals import ProposalOperations
from datasetlog.facade.reads import DatapointReadOperations
from datasetlog.facade.versions import VersionOperations
from datasetlog.facade.writes import DatapointWriteOperations
from datasetlog.integrity.report import VerifyReport
from datasetlog.integrity.verify import verify
from datasetlog.readmodels.access import ReadModels
from datasetlog.readmodels.replay import open_read_models, rebuild
from datasetlog.reads.compare import CompareReads
from datasetlog.reads.datapoints import DatapointReads
from datasetlog.reads.datasets import DatasetReads
from datasetlog.reads.history import HistoryReads
from datasetlog.reads.labels import LabelReads
from datasetlog.sources.base import LogSource
from datasetlog.store import Durability, SQLStore, open_store
from datasetlog.store.sqlite import require_durability
from datasetlog.writes.datapoints import DatapointWrites
from datasetlog.writes.datasets import DatasetWrites
from datasetlog.writes.forks import ForkWrites
from datasetlog.writes.labels import LabelWrites
from datasetlog.writes.loop import Writer
from datasetlog.writes.merges import MergeWrites
from datasetlog.writes.restore import RestoreWrites
from datasetlog.writes.streams import StreamedWrites
from datasetlog.writes.upsert import UpsertWrites


def _utcnow() -> datetime:
    return datetime.now(UTC)


class DatasetLog(
    DatasetOperations,
    VersionOperations,
    DatapointWriteOperations,
    ProposalOperations,
    DatapointReadOperations,
):
    """Versioned datasets with the v4 Datasets API's operations, as a library.

    Every content change appends one commit: a new version ``n + 1`` with an
    automatic commit message. Any committed version can be read back exactly.

    One object may be shared by threads: any number of them may read and write
    through it at once, each on a connection of its own (an in-memory store's
    one connection is taken in turn), and every read sees whole committed
    versions. Close it once every thread is done with it. It is not fork-safe:
    each process opens its own, after any fork.

    Changed in 0.2: an empty or blank ``store`` string is refused (it opened a
    private temporary database, or a file named by spaces).

    Args:
        store: An event store, or where to open one: a file path,
            ``"sqlite:///path"``, ``":memory:"`` or ``"postgresql://…"``.
        logs: Where ``{"log_ids": [...]}`` requests find their logs.
        durability: For SQLite paths: ``"normal"`` survives process crashes,
            ``"full"`` power loss too (see docs/reliability.md).
        max_retries: How often a write lost to a concurrent writer is retried
            before :class:`ConflictError` is raised.
        clock: Returns the current time (aware, UTC); for tests.

    Raises:
        ValidationError: An option is of the wrong type or value (``loc`` names it),
            or ``store`` is an empty or blank string.
        StoreError: The store cannot be opened (see :func:`~datasetlog.open_store`).
    """

    def __init__(
        self,
        store: SQLStore | str | Path = ":memory:",
        *,
        logs: LogSource | None = None,
        durability: Durability = "normal",
        max_retries: int = 8,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        require_durability(durability)
        if type(max_retries) is not int or not 0 <= max_retries <= 100:
            raise ValidationError(
                [ErrorDetail(("max_retries",), "expected an integer from 0 to 100", "max_retries")]
            )
        if isinstance(store, str) and not store.removeprefix("sqlite:///").strip():
            # SQLite would open "" as a private temporary database, and "  " as a file.
            raise ValidationError(
                [ErrorDetail(("store",), "expected a path, a URL or a store, got nothing", "store")]
            )
        if isinstance(store, str | Path):
            self.store: SQLStore = open_store(store, durability=durability)
            opened = True
        elif isinstance(store, SQLStore):
            self.store, opened = store, False
        else:
            kind = type(store).__name__
            raise ValidationError(
                [ErrorDetail(("store",), f"expected a path, a URL or a store, got {kind}", "store")]
            )
        if logs is not None and not isinstance(logs, LogSource):
            if opened:
                self.store.close()
            kind = type(logs).__name__
            raise ValidationError(
                [ErrorDetail(("logs",), f"expected a LogSource (get_logs), got {kind}", "logs")]
            )
        self.logs = logs
        models = ReadModels(self.store.dialect)
        self._schema = models.schema
        try:
            open_read_models(self.store, models.schema)
        except BaseException:
            if opened:
                self.store.close()
            raise
        writer = Writer(
            self.store, models.lookups, models.spans.layering, max_retries=max_retries, clock=clock
        )
        self._dataset_writes = DatasetWrites(writer)
        self._datapoint_writes = DatapointWrites(writer)
        self._streamed_writes = StreamedWrites(writer, models.spans, models.history, models.schema)
        self._label_writes = LabelWrites(writer)
        self._restore_writes = RestoreWrites(writer, models.history)
        self._upsert_writes = UpsertWrites(writer, models.spans, models.history)
        self._fork_writes = ForkWrites(writer)
        self._merge_writes = MergeWrites(writer, models.history)
        self._dataset_reads = DatasetReads(self.store, models)
        self._datapoint_reads = DatapointReads(self.store, models)
        self._history_reads = HistoryReads(self.store, models)
        self._label_reads = LabelReads(self.store, models)
        self._compare_reads = CompareReads(self._dataset_reads, self._datapoint_reads)

    def __repr__(self) -> str:
        return f"DatasetLog({self.store!r})"

    def __enter__(self) -> DatasetLog:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    def rebuild(self, *, progress: Callable[[int], object] | None = None) -> None:
        """Drop every read model and rebuild it from the event log, atomically.

        Each commit is replayed in batches of events, so a commit of any size
        rebuilds in constant memory. ``progress``, if given, is called with how
        many more events were applied (out of ``store.last_event()``).
        """
        rebuild(self.store, self._schema, progress)

    def verify(self, *, progress: Callable[[int], object] | None = None) -> VerifyReport:
        """Check the log, its hash chains and the read models against each other.

        Reads one snapshot; see :func:`datasetlog.integrity.verify`. The
        report is true when nothing is wrong. ``progress``, if given, is called
        with how many more events were checked (out of ``store.last_event()``).
        """
        return verify(self.store, progress)
