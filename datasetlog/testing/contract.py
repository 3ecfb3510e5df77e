"""EventStoreContract: every promise of the event-store protocol, as tests a backend inherits.

A backend author subclasses :class:`EventStoreContract` in a test module,
provides a ``make_store`` fixture and the two raw hooks, and pytest runs every
test against the backend::

    class TestMyEventStore(EventStoreContract):
        @pytest.fixture
        def make_store(self, tmp_path):
            opened = []
            def make():
                opened.append(MyEventStore(tmp_path / "store"))
                return opened[-1]
            yield make
            for store in opened:
                store.close()

        def raw_commits(self, store):
            ...  # read the commits as stored, without calling the store

        def raw_events(self, store):
            ...  # read the events as stored, without calling the store

``make_store`` gives a factory: each call opens another handle on the same
fresh, empty backing store (the test's own). Backends that cannot open a
second handle set ``reopens = False`` and the tests that need one skip.

Added in 0.1.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable, Iterator
from typing import ClassVar

try:
    import pytest
except ImportError as error:
    raise ImportError(
        "datasetlog.testing.contract needs pytest: pip install 'datasetlog[testing]'"
    ) from error

from datasetlog.errors import StoreError
from datasetlog.store.base import EventStore, StreamConflictError
from datasetlog.store.chain import GENESIS_HASH, commit_hash
from datasetlog.store.records import EncodedEvent, NewCommit, RawCommit, RawEvent, StoredCommit

MakeStore = Callable[[], EventStore]
AWKWARD_TEXTS = (
    "",
    "plain ascii",
    "Grüße 👋 — é\u0301 \U0001f600",
    "quotes \" and ' and backslashes \\ \\N \\\\",
    "tab\there\nnew line\r\nand carriage return",
    '{"json": "\\u0000 escaped NUL", "n": [1, 2.5e-7, -0.0, null, true]}',
    "\u2028\u2029 line separators, \ufeff BOM, \U0010ffff last code point",
    "long " * 20_000,
)
"""Texts whose bytes must come back exactly: escapes, non-BMP, separators, 100 kB."""


def event(
    payload: str = "{}", *, type: str = "thing_happened", schema_version: int = 1
) -> EncodedEvent:
    """An encoded event."""
    return EncodedEvent(type, schema_version, payload)


def new_commit(
    stream_id: str,
    sequence: int,
    *events: EncodedEvent,
    recorded_at: str = "2026-01-02T03:04:05.123456+00:00",
    metadata: str = "{}",
) -> NewCommit:
    """A commit of ``events`` (one plain event if none) at ``sequence`` of a stream."""
    return NewCommit(stream_id, sequence, recorded_at, metadata, events or (event(),))


def append(store: EventStore, *commits: NewCommit) -> list[StoredCommit]:
    """Append commits in one write transaction and return them as stored."""
    with store.write() as tx:
        return tx.append(list(commits))


class EventStoreContract(abc.ABC):
    """The event-store protocol's promises; subclass it once per backend.

    Attributes:
        reopens: Whether ``make_store`` can open a second handle on the same
            backing store (tests of reopening and of separate handles skip
            without it).
        many: How many commits the paging tests append (past any batch size).
    """

    reopens: ClassVar[bool] = True
    many: ClassVar[int] = 1_200

    @pytest.fixture
    def make_store(self) -> Iterator[MakeStore]:
        """Give a factory of handles on one fresh, empty backing store; close them after."""
        raise NotImplementedError("subclasses provide make_store")

    @abc.abstractmethod
    def raw_commits(self, store: EventStore) -> list[RawCommit]:
        """Every commit as stored, in position order, read WITHOUT calling ``store``."""

    @abc.abstractmethod
    def raw_events(self, store: EventStore) -> list[RawEvent]:
        """Every event as stored, in position order, read WITHOUT calling ``store``."""

    @pytest.fixture
    def store(self, make_store: MakeStore) -> EventStore:
        """A handle on the test's fresh store."""
        return make_store()

    # -- appending -------------------------------------------------------------------------

    def test_a_new_store_is_empty(self, store: EventStore) -> None:
        """A fresh store has no commits and no events."""
        assert list(store.read_all()) == []
        assert self.raw_commits(store) == []
        assert self.raw_events(store) == []

    def test_append_returns_the_commit_as_stored(self, store: EventStore) -> None:
        """An append returns each commit with its position, first event and hash."""
        given = new_commit("s", 1, event('{"a": 1}'), event('{"b": 2}'))
        [stored] = append(store, given)
        assert (stored.position, stored.first_event) == (1, 1)
        assert (stored.stream_id, stored.sequence, stored.events) == ("s", 1, given.events)
        assert (stored.recorded_at, stored.metadata) == (given.recorded_at, given.metadata)
        assert stored.hash == commit_hash(GENESIS_HASH, given)

    def test_what_append_returns_is_what_is_read_back(self, store: EventStore) -> None:
        """The commits an append returns equal those reads return later."""
        returned = append(store, new_commit("a", 1), new_commit("b", 1, event(), event()))
        assert list(store.read_all()) == returned

    def test_global_positions_rise_by_one_across_streams(self, store: EventStore) -> None:
        """Positions start at 1 and have no gaps, whichever streams commits go to."""
        for sequence in (1, 2, 3):
            append(store, new_commit("a", sequence))
            append(store, new_commit("b", sequence), new_commit("c", sequence))
        assert [c.position for c in store.read_all()] == list(range(1, 10))
        assert [c.position for c in self.raw_commits(store)] == list(range(1, 10))

    def test_event_positions_rise_by_one_across_commits(self, store: EventStore) -> None:
        """Each commit's events take the positions right after the previous commit's."""
        sizes = (3, 1, 4, 1, 5)
        for sequence, size in enumerate(sizes, start=1):
            append(store, new_commit("s", sequence, *(event() for _ in range(size))))
        firsts = [c.first_event for c in store.read_all()]
        assert firsts == [1, 4, 5, 9, 10]
        assert [e.position for e in self.raw_events(store)] == list(range(1, sum(sizes) + 1))

    def test_each_event_names_its_commit(self, store: EventStore) -> None:
        """A stored event records the position of the commit it belongs to."""
        append(store, new_commit("a", 1, event(), event()), new_commit("b", 1))
        assert [e.commit_position for e in self.raw_events(store)] == [1, 1, 2]

    def test_sequences_run_per_stream(self, store: EventStore) -> None:
        """Every stream numbers its own commits 1, 2, 3 ..."""
        for sequence in (1, 2):
            append(store, new_commit("a", sequence), new_commit("b", sequence))
        raw = [(c.stream_id, c.sequence) for c in self.raw_commits(store)]
        assert raw == [("a", 1), ("b", 1), ("a", 2), ("b", 2)]

    def test_one_transaction_may_append_several_commits_to_one_stream(
        self, store: EventStore
    ) -> None:
        """Commits 1 and 2 of a stream appended together both land, in order."""
        stored = append(store, new_commit("s", 1), new_commit("s", 2))
        assert [(c.position, c.sequence) for c in stored] == [(1, 1), (2, 2)]

    def test_hashes_chain_per_stream(self, store: EventStore) -> None:
        """Each commit's hash covers its content and its stream parent's hash."""
        append(store, new_commit("a", 1), new_commit("b", 1, event('{"x": 1}')))
        append(store, new_commit("a", 2, event('{"y": 2}')))
        parents = {"a": GENESIS_HASH, "b": GENESIS_HASH}
        for stored in store.read_all():
            assert stored.hash == commit_hash(parents[stored.stream_id], stored)
            parents[stored.stream_id] = stored.hash
        assert [c.hash for c in self.raw_commits(store)] == [c.hash for c in store.read_all()]

    def test_events_keep_their_order(self, store: EventStore) -> None:
        """A commit's events read back in the order they were given."""
        events = [event(f'{{"i": {i}}}', type=f"t{i % 3}") for i in range(50)]
        append(store, new_commit("s", 1, *events))
        [stored] = store.read_all()
        assert list(stored.events) == events

    # -- optimistic concurrency ------------------------------------------------------------

    def test_a_stale_sequence_is_refused(self, store: EventStore) -> None:
        """Appending at a sequence the stream already has raises StreamConflictError."""
        append(store, new_commit("s", 1), new_commit("s", 2))
        with pytest.raises(StreamConflictError):
            append(store, new_commit("s", 2, event('{"late": true}')))

    def test_a_sequence_past_the_head_is_refused(self, store: EventStore) -> None:
        """Skipping a sequence raises StreamConflictError: streams have no gaps."""
        append(store, new_commit("s", 1))
        with pytest.raises(StreamConflictError):
            append(store, new_commit("s", 3))

    def test_a_new_stream_starts_at_one(self, store: EventStore) -> None:
        """A stream's first commit must be sequence 1."""
        with pytest.raises(StreamConflictError):
            append(store, new_commit("s", 2))

    def test_a_refused_append_stores_nothing(self, store: EventStore) -> None:
        """A conflict leaves the store exactly as it was."""
        append(store, new_commit("s", 1))
        before = (self.raw_commits(store), self.raw_events(store))
        with pytest.raises(StreamConflictError):
            append(store, new_commit("s", 1, event(), event()))
        assert (self.raw_commits(store), self.raw_events(store)) == before

    def test_a_conflict_undoes_the_whole_transaction(self, store: EventStore) -> None:
        """When one commit of a transaction conflicts, the others land neither."""
        append(store, new_commit("s", 1))
        before = (self.raw_commits(store), self.raw_events(store))
        with pytest.raises(StreamConflictError):
            append(store, new_commit("fresh", 1, event(), event()), new_commit("s", 1))
        assert (self.raw_commits(store), self.raw_events(store)) == before
        assert list(store.read_stream("fresh")) == []

    def test_the_store_works_after_a_conflict(self, store: EventStore) -> None:
        """A refused append leaves the store usable: the right sequence lands next."""
        append(store, new_commit("s", 1))
        with pytest.raises(StreamConflictError):
            append(store, new_commit("s", 1))
        [stored] = append(store, new_commit("s", 2))
        assert (stored.position, stored.sequence) == (2, 2)

    def test_writers_racing_from_one_head_have_one_winner(self, make_store: MakeStore) -> None:
        """Writers that read the same head and then append at once: one wins, the rest conflict."""
        writers, rounds = 4, 10
        handles = [make_store() for _ in range(writers)] if self.reopens else [make_store()] * 4
        barrier = threading.Barrier(writers, timeout=60)
        outcomes: list[list[bool]] = [[] for _ in handles]

        def write(index: int) -> None:
            handle = handles[index]
            for _ in range(rounds):
                head = len(list(handle.read_stream("s")))
                barrier.wait()  # every writer has read the same head
                try:
                    append(handle, new_commit("s", head + 1, event(f'{{"writer": {index}}}')))
                    outcomes[index].append(True)
                except StreamConflictError:
                    outcomes[index].append(False)
                barrier.wait()  # every writer is done with this round

        threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [len(o) for o in outcomes] == [rounds] * writers
        assert [sum(o[r] for o in outcomes) for r in range(rounds)] == [1] * rounds
        assert [c.sequence for c in self.raw_commits(handles[0])] == list(range(1, rounds + 1))

    # -- failures ----------------------------------------------------------------------------

    def test_a_failed_transaction_stores_nothing(self, store: EventStore) -> None:
        """An error inside the write transaction, after appending, rolls the append back."""
        append(store, new_commit("s", 1))
        before = (self.raw_commits(store), self.raw_events(store))

        def fail_after_appending() -> None:
            with store.write() as tx:
                tx.append([new_commit("s", 2, event(), event())])
                raise RuntimeError("failed after the append")

        with pytest.raises(RuntimeError, match="after the append"):
            fail_after_appending()
        assert (self.raw_commits(store), self.raw_events(store)) == before
        [stored] = append(store, new_commit("s", 2))
        assert stored.position == 2

    def test_a_closed_store_refuses_use(self, store: EventStore) -> None:
        """Every operation on a closed store raises StoreError."""
        store.close()
        with pytest.raises(StoreError):
            append(store, new_commit("s", 1))
        with pytest.raises(StoreError):
            list(store.read_all())

    # -- reading -----------------------------------------------------------------------------

    def test_read_stream_yields_one_stream_in_order(self, store: EventStore) -> None:
        """read_stream yields only the stream's commits, by sequence."""
        for sequence in (1, 2, 3):
            append(store, new_commit("a", sequence), new_commit("b", sequence))
        assert [(c.stream_id, c.sequence) for c in store.read_stream("b")] == [
            ("b", 1),
            ("b", 2),
            ("b", 3),
        ]

    def test_read_stream_after_and_upto_bound_the_sequences(self, store: EventStore) -> None:
        """read_stream(after=a, upto=u) yields the sequences a < s <= u."""
        append(store, *(new_commit("s", n) for n in range(1, 8)))
        assert [c.sequence for c in store.read_stream("s", after=2)] == [3, 4, 5, 6, 7]
        assert [c.sequence for c in store.read_stream("s", upto=3)] == [1, 2, 3]
        assert [c.sequence for c in store.read_stream("s", after=2, upto=5)] == [3, 4, 5]
        assert list(store.read_stream("s", after=5, upto=5)) == []
        assert list(store.read_stream("s", after=7)) == []

    def test_read_stream_of_an_unknown_stream_is_empty(self, store: EventStore) -> None:
        """A stream never written reads as no commits."""
        append(store, new_commit("s", 1))
        assert list(store.read_stream("unknown")) == []

    def test_stream_ids_are_exact(self, store: EventStore) -> None:
        """Streams whose ids differ in case or by a character are separate streams."""
        append(store, new_commit("Évts", 1), new_commit("évts", 1), new_commit("évts ", 1))
        assert [c.stream_id for c in store.read_stream("évts")] == ["évts"]

    def test_read_all_after_skips_earlier_positions(self, store: EventStore) -> None:
        """read_all(after=p) yields the commits at positions above p."""
        append(store, *(new_commit("s", n) for n in range(1, 6)))
        assert [c.position for c in store.read_all(after=3)] == [4, 5]
        assert list(store.read_all(after=5)) == []

    def test_read_all_limit_caps_the_commits(self, store: EventStore) -> None:
        """read_all(limit=n) yields at most n commits, from the start or from ``after``."""
        append(store, *(new_commit("s", n) for n in range(1, 6)))
        assert [c.position for c in store.read_all(limit=2)] == [1, 2]
        assert [c.position for c in store.read_all(after=2, limit=2)] == [3, 4]
        assert list(store.read_all(limit=0)) == []

    def test_reads_page_through_many_commits(self, store: EventStore) -> None:
        """Reads past any internal batch size miss and repeat nothing."""
        append(store, *(new_commit("s", n) for n in range(1, self.many + 1)))
        assert [c.sequence for c in store.read_stream("s")] == list(range(1, self.many + 1))
        assert [c.position for c in store.read_all(after=7)] == list(range(8, self.many + 1))
        assert len(list(store.read_all(limit=self.many - 1))) == self.many - 1

    # -- fidelity ----------------------------------------------------------------------------

    def test_text_reads_back_byte_for_byte(self, store: EventStore) -> None:
        """Payloads, metadata, times and stream ids come back exactly as given."""
        commits = [
            new_commit(
                f"s{index}{text[:10]}",
                1,
                event(text, type=f"t{index}", schema_version=index + 1),
                recorded_at=f"2026-01-02T03:04:05.{index:06d}+05:30",
                metadata=text,
            )
            for index, text in enumerate(AWKWARD_TEXTS)
        ]
        append(store, *commits)
        stored = list(store.read_all())
        assert [c.events for c in stored] == [c.events for c in commits]
        assert [(c.stream_id, c.recorded_at, c.metadata) for c in stored] == [
            (c.stream_id, c.recorded_at, c.metadata) for c in commits
        ]
        raw = [(e.type, e.schema_version, e.payload) for e in self.raw_events(store)]
        assert raw == [
            (c.events[0].type, c.events[0].schema_version, c.events[0].payload) for c in commits
        ]
        assert [c.metadata for c in self.raw_commits(store)] == list(AWKWARD_TEXTS)

    def test_a_reopened_store_reads_the_same(self, make_store: MakeStore) -> None:
        """What one handle appended, a new handle reads back exactly after the first closes."""
        if not self.reopens:
            pytest.skip("this backend cannot open a second handle")
        first = make_store()
        appended = append(
            first, *(new_commit("s", i, event(t)) for i, t in enumerate(AWKWARD_TEXTS, 1))
        )
        first.close()
        assert list(make_store().read_all()) == appended

    # -- isolation ---------------------------------------------------------------------------

    def test_readers_never_see_half_a_commit(self, make_store: MakeStore) -> None:
        """While a writer appends commits of many events, readers see each whole or not at all."""
        writer = make_store()
        reader = make_store() if self.reopens else writer
        size, commits = 25, 40
        done = threading.Event()

        def write() -> None:
            try:
                for sequence in range(1, commits + 1):
                    append(writer, new_commit("s", sequence, *(event() for _ in range(size))))
            finally:
                done.set()

        thread = threading.Thread(target=write)
        thread.start()
        seen: list[int] = []
        while True:
            finished = done.is_set()
            stored = list(reader.read_all())
            assert all(len(c.events) == size for c in stored)
            assert [c.position for c in stored] == list(range(1, len(stored) + 1))
            seen.append(len(stored))
            if finished:
                break
        thread.join()
        assert seen == sorted(seen)
        assert seen[-1] == commits
