"""The write loop: read-check-append in one transaction, retrying races lost to other writers."""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Generic, TypeVar

import attrs

from datasetlog.errors import ConflictError, ErrorDetail, ValidationError
from datasetlog.events import Commit
from datasetlog.readmodels.apply import apply_commit
from datasetlog.readmodels.layers import Layering
from datasetlog.readmodels.lookups import Lookups
from datasetlog.readmodels.rows import DatapointRow, DatasetRow
from datasetlog.serialization.codec import encode_commit
from datasetlog.store.base import Connection, SQLStore, SQLTransaction, StreamConflictError
from datasetlog.store.records import NewCommit
from datasetlog.validation.limits import MAX_REQUEST_SIZE

T = TypeVar("T")


@attrs.frozen
class Outcome(Generic[T]):
    """What a write decided: the commits to append, and the result to return once they land."""

    commits: list[Commit]
    result: T


@attrs.frozen
class WriteContext:
    """What a write sees inside its transaction: the read models as they stand, and the time."""

    conn: Connection
    lookups: Lookups
    layering: Layering
    now: datetime

    def live(self, dataset_id: str) -> DatasetRow:
        """The live dataset with this id (NotFoundError if there is none)."""
        return self.lookups.live(self.conn, dataset_id)

    def datapoint(self, datapoint_id: str) -> DatapointRow | None:
        """A datapoint's latest content in a live dataset (forks' inherited ones too), or None."""
        return self.layering.datapoint(self.conn, self.lookups, datapoint_id)


Build = Callable[[WriteContext], Outcome[T]]
Write = Callable[[SQLTransaction, WriteContext], T]


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


def _require_size(commits: list[NewCommit]) -> None:
    """Refuse a write whose stored JSON would pass ``MAX_REQUEST_SIZE`` characters."""
    size = sum(len(event.payload) for commit in commits for event in commit.events)
    if size > MAX_REQUEST_SIZE:
        raise ValidationError(
            [
                ErrorDetail(
                    ("body",),
                    f"the request stores {size:,} characters of JSON, "
                    f"more than the {MAX_REQUEST_SIZE:,} one call may",
                    "too_large",
                )
            ]
        )


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

    def run(self, build: Build[T]) -> T:
        """Build commits from what the read models hold, append them, apply them; all or nothing.

        Raises:
            ConflictError: Every attempt lost its race (retrying is safe).
        """
        for attempt in range(self.max_retries + 1):
            try:
                with self.store.write() as tx:
                    conn = tx.connection
                    context = WriteContext(conn, self.lookups, self.layering, self.clock())
                    outcome = build(context)
                    encoded = [encode_commit(c) for c in outcome.commits]
                    _require_size(encoded)
                    stored = tx.append(encoded)
                    for commit, done in zip(outcome.commits, stored, strict=True):
                        apply_commit(conn, commit, done.position, done.first_event)
                    return outcome.result
            except StreamConflictError as error:
                if attempt == self.max_retries:
                    raise ConflictError(
                        f"lost {attempt + 1} races to concurrent writers; retrying is safe"
                    ) from error
                time.sleep(random.uniform(0, 0.005 * 2**attempt))
        raise AssertionError("unreachable")

    def run_once(self, write: Write[T]) -> T:
        """Run a write that appends and applies its own commit (streamed), in one transaction.

        It is not retried: what it streams can be read once. The write lock is
        taken before it reads the read models, so no other writer can get in
        between; only a lock held past the store's timeout makes it lose.

        Raises:
            ConflictError: The store stayed busy with another writer (retrying is safe).
        """
        try:
            with self.store.write() as tx:
                return write(
                    tx, WriteContext(tx.connection, self.lookups, self.layering, self.clock())
                )
        except StreamConflictError as error:
            raise ConflictError(f"{error}; retrying is safe") from error
