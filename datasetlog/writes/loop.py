"""The write loop: read-check-commit in one transaction, and the one way a commit is written.

Every write runs as a function of a :class:`WriteContext`: it reads the read
models as they stand inside the transaction, appends its commits through
:meth:`WriteContext.commit` (a whole commit) or :meth:`WriteContext.open_commit`
(one streamed in batches), and returns what it built from what those
commits wrote (:class:`~datasetlog.readmodels.apply.Applied`). A whole
commit is a streamed commit with one batch.
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar, cast

import attrs

from datasetlog.errors import ConflictError, ErrorDetail, InterruptedAfterCommit, ValidationError
from datasetlog.events import Commit, Event
from datasetlog.readmodels.apply import Applied, CommitApplication
from datasetlog.readmodels.layers import Layering
from datasetlog.readmodels.lookups import Lookups
from datasetlog.readmodels.rows import DatapointRow, DatasetRow
from datasetlog.serialization.codec import encode_commit, encode_event
from datasetlog.store.base import Connection, SQLStore, SQLTransaction, StreamConflictError
from datasetlog.validation.limits import MAX_REQUEST_SIZE

T = TypeVar("T")


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large request is materialized.

    Building a hundred thousand acyclic objects that all survive triggers
    repeated full collections, which then cost about as much as the building
    itself; nothing made here is cyclic, so pausing frees no less memory.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@attrs.define
class WriteContext:
    """What a write sees and does inside its transaction: the read models as they stand,
    the time, and the commits it appends.

    Dataset rows are read once per transaction and kept as each commit
    leaves them, so a write and its commits never read one twice.
    """

    tx: SQLTransaction
    lookups: Lookups
    layering: Layering
    now: datetime
    _rows: dict[str, DatasetRow] = attrs.Factory(dict)

    @property
    def conn(self) -> Connection:
        """The transaction's connection."""
        return self.tx.connection

    def live(self, dataset_id: str) -> DatasetRow:
        """The live dataset with this id (NotFoundError if there is none)."""
        row = self._rows.get(dataset_id)
        if row is None or row.deleted:
            row = self._rows[dataset_id] = self.lookups.live(self.conn, dataset_id)
        return row

    def datapoint(self, datapoint_id: str) -> DatapointRow | None:
        """A datapoint's latest content in a live dataset (forks' inherited ones too), or None."""
        return self.layering.datapoint(self.conn, self.lookups, datapoint_id)

    def commit(self, commit: Commit) -> Applied:
        """Append a whole commit and apply it to the read models; return what it wrote.

        Raises:
            ValidationError: Its stored JSON would pass ``MAX_REQUEST_SIZE`` characters.
        """
        return self.open_commit(commit, limit=MAX_REQUEST_SIZE).close()

    def open_commit(self, commit: Commit, *, limit: int | None = None) -> CommitWriter:
        """Begin a commit whose events come in batches; ``commit.events`` go in last.

        Args:
            commit: The commit, with the events that close it (a version's name).
            limit: The most characters of stored JSON it may hold, if any.
        """
        row = self._rows.get(commit.dataset_id)
        if row is None and commit.sequence > 1:  # a dataset the write did not read
            row = self.lookups.dataset(self.conn, commit.dataset_id, include_deleted=True)
        return CommitWriter(self, commit, row, limit)

    def record(self, applied: Applied) -> None:
        """Keep the dataset row as a commit of this transaction left it."""
        self._rows[applied.dataset.id] = applied.dataset


class CommitWriter:
    """A commit being appended and applied to the read models, its events in batches.

    The one way any commit is written: a whole commit is one with a single
    batch. Nothing of it is in the log until :meth:`close`, and a transaction
    that ends before then stores none of it.
    """

    def __init__(
        self, context: WriteContext, commit: Commit, row: DatasetRow | None, limit: int | None
    ) -> None:
        self._context = context
        self._closing = commit.events
        self._opened = context.tx.open_commit(encode_commit(attrs.evolve(commit, events=())))
        self._applying = CommitApplication(context.conn, commit, row)
        self._limit = limit
        self._size = 0

    def add(self, events: Sequence[Event]) -> None:
        """Append the next events and apply them to the read models.

        Raises:
            ValidationError: The commit would pass its size limit.
        """
        if not events:
            return
        encoded = [encode_event(event) for event in events]
        if self._limit is not None:
            self._size += sum(len(event.payload) for event in encoded)
            if self._size > self._limit:
                raise _too_large(self._size, self._limit)
        self._applying.feed(events, self._opened.append(encoded))

    def close(self) -> Applied:
        """Append the closing events, record the commit and return what it wrote."""
        self.add(self._closing)
        stored = self._opened.close()
        applied = self._applying.finish(stored.position)
        self._context.record(applied)
        return applied


def _too_large(size: int, limit: int) -> ValidationError:
    return ValidationError(
        [
            ErrorDetail(
                ("body",),
                f"the request stores {size:,} characters of JSON, more than the {limit:,} "
                "one call may",
                "too_large",
            )
        ]
    )


Write = Callable[[WriteContext], T]


class _RolledBack(Exception):
    """Ends a dry run's transaction, which the store then rolls back, carrying its result."""

    def __init__(self, result: Any) -> None:
        super().__init__("a dry run")
        self.result: Any = result


class Writer:
    """Runs writes against one store and its read models.

    Args:
        store: The store to append to.
        lookups: The read models' lookups, for the checks a write makes.
        layering: Their reads through forks' layers.
        max_retries: How often a write lost to a concurrent writer is retried
            before :class:`ConflictError` is raised.
        clock: Returns the current time (aware, UTC).
    """

    def __init__(
        self,
        store: SQLStore,
        lookups: Lookups,
        layering: Layering,
        *,
        max_retries: int,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.lookups = lookups
        self.layering = layering
        self.max_retries = max_retries
        self.clock = clock

    def run(self, write: Write[T], *, retry: bool = True, dry_run: bool = False) -> T:
        """Run a write in one transaction: all of it lands, or none.

        A write lost to a concurrent writer is retried (``retry=False`` for one
        that streams what can be read once: it takes the write lock before it
        reads, so only a lock held past the store's timeout makes it lose).
        With ``dry_run`` the write runs whole, read models included, and its
        transaction is rolled back: what it returns is what it would have done.

        Raises:
            ConflictError: Every attempt lost its race (retrying is safe).
            InterruptedAfterCommit: Ctrl-C arrived once the write had committed;
                it carries the write's result.
        """
        attempts = self.max_retries + 1 if retry else 1
        for attempt in range(attempts):
            try:
                return self._attempt(write, dry_run)
            except StreamConflictError as error:
                if attempt == attempts - 1:
                    raise ConflictError(
                        f"lost {attempt + 1} race(s) to concurrent writers; retrying is safe"
                    ) from error
                time.sleep(random.uniform(0, 0.005 * 2**attempt))
        raise AssertionError("unreachable")

    def _attempt(self, write: Write[T], dry_run: bool) -> T:
        """One transaction of a write; an interrupt after its COMMIT still reports the result."""
        written = False
        try:
            with self.store.write() as tx:
                context = WriteContext(tx, self.lookups, self.layering, self.clock())
                result = write(context)
                if dry_run:
                    raise _RolledBack(result)
                written = True
        except _RolledBack as rolled_back:
            return cast(T, rolled_back.result)
        except KeyboardInterrupt as interrupt:
            if written and tx.committed:
                raise InterruptedAfterCommit(result) from interrupt
            raise
        return result
