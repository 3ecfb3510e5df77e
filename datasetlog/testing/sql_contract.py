"""SQLStoreContract: what an SQL store promises beyond the event log, as inherited tests.

An SQL backend's test class subclasses :class:`SQLStoreContract` instead of
:class:`~datasetlog.testing.contract.EventStoreContract` (it includes it) and
gives the same ``make_store`` fixture and raw hooks.

Added in 0.2.
"""

from __future__ import annotations

try:
    import pytest
except ImportError as error:
    raise ImportError(
        "datasetlog.testing.sql_contract needs pytest: pip install 'datasetlog[testing]'"
    ) from error

from datasetlog.errors import StoreError
from datasetlog.store.base import KeyedScan, SQLStore, SQLTransaction, StreamConflictError
from datasetlog.store.chain import commit_hash
from datasetlog.store.dialect import EVENTS
from datasetlog.store.records import EncodedEvent, NewCommit, StoredCommit
from datasetlog.testing.contract import EventStoreContract, append, event, new_commit


def stream_in(
    store: SQLStore, commit: NewCommit, *batches: tuple[EncodedEvent, ...]
) -> StoredCommit:
    """Append ``commit`` opened with its own events, then ``batches``, in one transaction."""
    with store.write() as tx:
        opened = tx.open_commit(commit)
        for batch in batches:
            opened.append(batch)
        return opened.close()


class SQLStoreContract(EventStoreContract):
    """The promises an SQL store adds: commits of any size appended in batches.

    Its ``make_store`` gives :class:`~datasetlog.store.base.SQLStore` handles.
    """

    def test_a_streamed_commit_is_stored_as_if_appended_whole(self, store: SQLStore) -> None:
        """Events appended in batches store and hash exactly as one append of them all."""
        append(store, new_commit("s", 1))
        events = tuple(event(f'{{"n": {n}}}') for n in range(7))
        whole = new_commit("s", 2, *events[:2])
        stored = stream_in(store, whole, events[2:5], (), events[5:])
        expected = NewCommit(whole.stream_id, 2, whole.recorded_at, whole.metadata, events)
        assert (stored.position, stored.first_event, stored.events) == (2, 2, ())
        parent = next(iter(store.read_stream("s"))).hash
        assert stored.hash == commit_hash(parent, expected)
        [read] = store.read_stream("s", after=1)
        assert (read.events, read.hash, read.first_event) == (events, stored.hash, 2)
        raw = self.raw_commits(store)[-1]
        assert (raw.first_event, raw.event_count, raw.hash) == (2, 7, stored.hash)
        assert [e.commit_position for e in self.raw_events(store)] == [1] + [2] * 7
        [after] = append(store, new_commit("s", 3))
        assert (after.position, after.first_event) == (3, 9)

    def test_append_positions_of_a_streamed_commit(self, store: SQLStore) -> None:
        """Each batch appended returns the global position of its first event."""
        with store.write() as tx:
            opened = tx.open_commit(new_commit("s", 1, event(), event()))
            assert opened.append((event(), event(), event())) == 3
            assert opened.append((event(),)) == 6
            opened.close()

    def test_a_streamed_commit_checks_its_sequence(self, store: SQLStore) -> None:
        """Opening a commit at a stale sequence is a StreamConflictError; nothing is stored."""
        append(store, new_commit("s", 1))
        with pytest.raises(StreamConflictError):
            stream_in(store, new_commit("s", 1))
        assert len(self.raw_commits(store)) == 1

    def test_a_commit_left_open_stores_nothing(self, store: SQLStore) -> None:
        """A transaction that ends with its commit open raises StoreError and stores none of it."""
        with pytest.raises(StoreError, match="never closed"), store.write() as tx:
            tx.open_commit(new_commit("s", 1)).append((event(), event()))
        assert (self.raw_commits(store), self.raw_events(store)) == ([], [])

    def test_an_interrupted_streamed_commit_stores_nothing(self, store: SQLStore) -> None:
        """An error between batches (Ctrl-C included) rolls every batch back."""
        append(store, new_commit("s", 1))
        before = (self.raw_commits(store), self.raw_events(store))

        def fail_between_batches(failure: BaseException) -> None:
            with store.write() as tx:
                opened = tx.open_commit(new_commit("s", 2))
                opened.append((event(), event()))
                raise failure

        for failure in (RuntimeError("disk full"), KeyboardInterrupt()):
            with pytest.raises(type(failure)):
                fail_between_batches(failure)
            assert (self.raw_commits(store), self.raw_events(store)) == before
        assert stream_in(store, new_commit("s", 2), (event(),)).position == 2

    def test_nothing_else_is_appended_while_a_commit_is_open(self, store: SQLStore) -> None:
        """Appending or opening another commit while one is open is refused; after it closes,
        the transaction goes on."""
        with store.write() as tx:
            opened = tx.open_commit(new_commit("a", 1))
            with pytest.raises(StoreError):
                tx.append([new_commit("b", 1)])
            with pytest.raises(StoreError):
                tx.open_commit(new_commit("b", 1))
            opened.close()
            with pytest.raises(StoreError):
                opened.append((event(),))
            [other] = tx.append([new_commit("b", 1)])
        assert [c.stream_id for c in store.read_all()] == ["a", "b"]
        assert other.position == 2

    def test_last_event_is_the_last_position(self, store: SQLStore) -> None:
        """last_event is 0 when empty, then the position of the last event stored."""
        assert store.last_event() == 0
        append(store, new_commit("s", 1, event(), event()))
        stream_in(store, new_commit("s", 2), (event(),) * 3)
        assert store.last_event() == 6 == len(self.raw_events(store))

    def test_a_transaction_says_committed_only_once_its_commit_succeeded(
        self, store: SQLStore
    ) -> None:
        """``committed`` is False inside the block and after a rollback, True after COMMIT."""
        with store.write() as tx:
            tx.append([new_commit("s", 1)])
            assert not tx.committed
        assert tx.committed
        opened: list[SQLTransaction] = []
        with pytest.raises(RuntimeError, match="rolled back"):
            _append_then_fail(store, opened)
        assert not opened[0].committed
        assert [c.sequence for c in store.read_stream("s")] == [1]

    @pytest.mark.parametrize("size", [1, 2, 3, 100])
    def test_a_scan_yields_its_rows_in_key_order_in_lists_of_size(
        self, store: SQLStore, size: int
    ) -> None:
        """``scan`` gives every row from ``start`` on, in key order, in lists of at most size."""
        payloads = [f'{{"n": {n}}}' for n in range(7)]
        append(store, new_commit("s", 1, *(event(p) for p in payloads)))
        events = KeyedScan(
            columns="position, payload",
            source=EVENTS.table,
            where="position <= ?",
            parameters=(6,),
            key="position",
        )
        lists = list(store.scan(events, start=2, size=size))
        assert all(0 < len(rows) <= size for rows in lists)
        assert [tuple(row) for rows in lists for row in rows] == [
            (position, payloads[position - 1]) for position in range(2, 7)
        ]
        read = store.scan(events, start=6, size=size, as_bytes=True)
        as_bytes = [row[1] for rows in read for row in rows]
        assert as_bytes == [payloads[5].encode()]
        assert list(store.scan(events, start=7, size=size)) == []


def _append_then_fail(store: SQLStore, opened: list[SQLTransaction]) -> None:
    with store.write() as tx:
        opened.append(tx)
        tx.append([new_commit("s", 2)])
        raise RuntimeError("rolled back")
