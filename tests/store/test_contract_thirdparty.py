"""The contract kit as a third party uses it: a store of its own passes, a broken one fails.

``ListEventStore`` is a small in-memory store written only against the public
contract (``datasetlog.store`` records, ``datasetlog.testing.contract``). It
passes every test of the contract. ``StaleAppendStore`` is the same store with
one bug, the one optimistic concurrency exists to prevent: it accepts a
commit at any sequence. The contract must fail it, and name the tests that
caught it.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from datasetlog import StoreError
from datasetlog.store import (
    GENESIS_HASH,
    EventStore,
    NewCommit,
    RawCommit,
    RawEvent,
    StoredCommit,
    StreamConflictError,
    commit_hash,
)
from datasetlog.testing.contract import EventStoreContract, MakeStore


class ListTransaction:
    """A transaction of a ListEventStore: commits staged until it ends well."""

    def __init__(self, store: ListEventStore) -> None:
        self.store = store
        self.staged: list[StoredCommit] = []

    def append(self, commits: Sequence[NewCommit]) -> list[StoredCommit]:
        """Stage commits at the next positions, checking each stream's sequence."""
        stored = []
        for commit in commits:
            known = [*self.store.commits, *self.staged]
            stream = [c for c in known if c.stream_id == commit.stream_id]
            self.store.check_sequence(commit, len(stream))
            last = known[-1] if known else None
            done = StoredCommit(
                position=len(known) + 1,
                stream_id=commit.stream_id,
                sequence=commit.sequence,
                recorded_at=commit.recorded_at,
                metadata=commit.metadata,
                events=commit.events,
                hash=commit_hash(stream[-1].hash if stream else GENESIS_HASH, commit),
                first_event=last.first_event + len(last.events) if last else 1,
            )
            self.staged.append(done)
            stored.append(done)
        return stored


class ListEventStore:
    """An event store in a Python list, behind one lock."""

    read_only = False

    def __init__(self) -> None:
        self.commits: list[StoredCommit] = []
        self.lock = threading.RLock()
        self.closed = False

    def check_sequence(self, commit: NewCommit, head: int) -> None:
        """Refuse a commit that is not one past its stream's head."""
        if commit.sequence != head + 1:
            raise StreamConflictError(f"stream {commit.stream_id} is at {head}")

    def _open(self) -> None:
        if self.closed:
            raise StoreError("the store is closed")

    @contextmanager
    def write(self) -> Iterator[ListTransaction]:
        """A transaction holding the lock; its commits land when it ends well."""
        self._open()
        with self.lock:
            tx = ListTransaction(self)
            yield tx
            self.commits.extend(tx.staged)

    def _snapshot(self) -> list[StoredCommit]:
        self._open()
        with self.lock:
            return list(self.commits)

    def read_stream(
        self, stream_id: str, *, after: int = 0, upto: int | None = None
    ) -> Iterator[StoredCommit]:
        """A stream's commits with ``after < sequence <= upto``."""
        for commit in self._snapshot():
            within = upto is None or commit.sequence <= upto
            if commit.stream_id == stream_id and commit.sequence > after and within:
                yield commit

    def read_all(self, *, after: int = 0, limit: int | None = None) -> Iterator[StoredCommit]:
        """Up to ``limit`` commits with position above ``after``."""
        found = [c for c in self._snapshot() if c.position > after]
        yield from found if limit is None else found[:limit]

    def close(self) -> None:
        """Refuse any further use."""
        self.closed = True


class StaleAppendStore(ListEventStore):
    """The same store with a bug: it appends at whatever sequence it is given."""

    def check_sequence(self, commit: NewCommit, head: int) -> None:
        """Accept everything (the bug)."""


def _raw_commits(store: EventStore) -> list[RawCommit]:
    assert isinstance(store, ListEventStore)
    return [
        RawCommit(
            c.position,
            c.stream_id,
            c.sequence,
            c.recorded_at,
            c.metadata,
            c.first_event,
            len(c.events),
            c.hash,
        )
        for c in store.commits
    ]


def _raw_events(store: EventStore) -> list[RawEvent]:
    assert isinstance(store, ListEventStore)
    return [
        RawEvent(c.first_event + i, c.position, e.type, e.schema_version, e.payload, None)
        for c in store.commits
        for i, e in enumerate(c.events)
    ]


class ListStoreContract(EventStoreContract):
    """The contract's raw hooks for list stores: they read the lists themselves."""

    reopens = False  # one object is the whole store

    def raw_commits(self, store: EventStore) -> list[RawCommit]:
        """The commits from the list itself."""
        return _raw_commits(store)

    def raw_events(self, store: EventStore) -> list[RawEvent]:
        """The events from the list itself."""
        return _raw_events(store)


class TestListEventStore(ListStoreContract):
    """A third party's store, passing the contract."""

    @pytest.fixture
    def make_store(self) -> Iterator[MakeStore]:
        """One in-memory store; every call gives it again."""
        store = ListEventStore()
        yield lambda: store
        store.close()


class BrokenStaleAppendContract(ListStoreContract):
    """The contract on the broken store; collected only by the test below (its name)."""

    @pytest.fixture
    def make_store(self) -> Iterator[MakeStore]:
        """One broken in-memory store."""
        store = StaleAppendStore()
        yield lambda: store
        store.close()


def test_the_contract_fails_a_store_that_accepts_stale_appends() -> None:
    """Run on a store that accepts stale appends, the contract fails its concurrency tests."""
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", f"{__file__}::BrokenStaleAppendContract"),
            *("-o", "python_classes=Broken*", "-p", "no:cacheprovider", "-q", "-rf"),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parent,
    )
    failed = sorted(
        line.split("::")[-1].split(" ")[0]
        for line in result.stdout.splitlines()
        if line.startswith("FAILED")
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert failed == [
        "test_a_conflict_undoes_the_whole_transaction",
        "test_a_new_stream_starts_at_one",
        "test_a_refused_append_stores_nothing",
        "test_a_sequence_past_the_head_is_refused",
        "test_a_stale_sequence_is_refused",
        "test_the_store_works_after_a_conflict",
        "test_writers_racing_from_one_head_have_one_winner",
    ], result.stdout
