"""A PostgreSQL connection lost around COMMIT: the write reports what really happened.

A loopback proxy stands between the store and the server. It forwards
everything, except that it can cut a connection right after forwarding a
COMMIT (the server commits; the answer never arrives), or right before
forwarding a statement (nothing is committed). The library must settle the
outcome before reporting it: success when the commit landed, "nothing was
committed" only when it did not.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from datasetlog import DatasetLog, StoreError
from datasetlog.store.postgres import PostgresEventStore
from datasetlog.testing import drop_schema_of, new_schema_location
from datasetlog.transfer import import_datapoints


class CuttingProxy:
    """A TCP proxy that cuts the next connection to send ``marker``, before or after it."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.marker: bytes | None = None
        self.forward_marker = True
        self.cuts = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self, marker: bytes, *, forward: bool) -> None:
        """Cut the next connection that sends ``marker`` (after forwarding it, or before)."""
        with self._lock:
            self.marker, self.forward_marker = marker, forward

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            answers = threading.Event()  # set: the server's answers are relayed
            answers.set()
            for source, target, outgoing in ((client, server, True), (server, client, False)):
                threading.Thread(
                    target=self._pump, args=(source, target, outgoing, answers), daemon=True
                ).start()

    def _pump(
        self, source: socket.socket, target: socket.socket, outgoing: bool, answers: threading.Event
    ) -> None:
        try:
            while chunk := source.recv(65536):
                with self._lock:
                    hit = outgoing and self.marker is not None and self.marker in chunk
                    forward = self.forward_marker
                    if hit:
                        self.marker = None
                        self.cuts += 1
                if hit:
                    answers.clear()  # from now on the client hears nothing back
                    if forward:
                        target.sendall(chunk)
                        time.sleep(0.3)  # the server receives it and acts on it
                    return
                if outgoing or answers.is_set():
                    target.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, target):
                _hang_up(end)

    def close(self) -> None:
        """Stop accepting connections."""
        self._listener.close()


def _hang_up(end: socket.socket) -> None:
    """End a connection for both sides now (close alone waits for the other pump's recv)."""
    with contextlib.suppress(OSError):
        end.shutdown(socket.SHUT_RDWR)
    end.close()


@pytest.fixture
def proxied(postgres_url: str) -> Iterator[tuple[str, CuttingProxy]]:
    """A fresh schema, reached through a cutting proxy, and the proxy."""
    location = new_schema_location(postgres_url)
    parts = urlsplit(location)
    assert parts.hostname is not None
    assert parts.port is not None
    proxy = CuttingProxy((parts.hostname, parts.port))
    netloc = f"{parts.username}@127.0.0.1:{proxy.port}"
    yield urlunsplit(parts._replace(netloc=netloc)), proxy
    proxy.close()
    drop_schema_of(location)


def test_a_create_whose_commit_landed_succeeds(proxied: tuple[str, CuttingProxy]) -> None:
    """The connection cut after COMMIT reached the server: the call returns what it stored."""
    location, proxy = proxied
    with DatasetLog(PostgresEventStore(location)) as db:
        dataset = db.create_dataset(project_id="pr", name="n").id
        proxy.cut(b"COMMIT", forward=True)
        created = db.create_datapoint(dataset, [{"inputs": {"q": "1"}}, {"inputs": {"q": "2"}}])
        assert proxy.cuts == 1
        assert [v.datapoint_count for v in db.list_versions(dataset)] == [0, 2]
        assert list(db.iter_datapoints(dataset)) == created
        assert db.verify()


def test_an_update_whose_commit_landed_succeeds(proxied: tuple[str, CuttingProxy]) -> None:
    """The same for an update: its version exists, and the call says so."""
    location, proxy = proxied
    with DatasetLog(PostgresEventStore(location)) as db:
        dataset = db.create_dataset(project_id="pr", name="n").id
        [datapoint] = db.create_datapoint(dataset, {"inputs": {"q": "1"}})
        proxy.cut(b"COMMIT", forward=True)
        updated = db.update_datapoint(datapoint.id, target={"a": 1})
        assert proxy.cuts == 1
        assert db.get_datapoint(datapoint.id) == updated
        assert len(db.list_versions(dataset)) == 3
        assert db.verify()


def test_a_write_cut_before_commit_says_nothing_was_committed(
    proxied: tuple[str, CuttingProxy],
) -> None:
    """The connection cut while appending: StoreError saying nothing was committed, and true."""
    location, proxy = proxied
    with DatasetLog(PostgresEventStore(location)) as db:
        dataset = db.create_dataset(project_id="pr", name="n").id
        proxy.cut(b"dl_rm_meta", forward=False)
        with pytest.raises(StoreError, match="nothing was committed"):
            db.create_datapoint(dataset, {"inputs": {"q": "1"}})
        assert proxy.cuts == 1
        assert [v.number for v in db.list_versions(dataset)] == [0]
        db.create_datapoint(dataset, {"inputs": {"q": "after"}})
        assert [v.datapoint_count for v in db.list_versions(dataset)] == [0, 1]
        assert db.verify()


def test_a_commit_that_cannot_be_settled_is_reported_unknown(
    proxied: tuple[str, CuttingProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the old session outlives the wait, the error says the outcome is unknown."""
    location, proxy = proxied
    store = PostgresEventStore(location, lock_timeout=0.2)
    with DatasetLog(store) as db:
        dataset = db.create_dataset(project_id="pr", name="n").id
        monkeypatch.setattr(
            "datasetlog.store.postgres_outcome._SESSION_ALIVE", "SELECT 1 WHERE %s IS NOT NULL"
        )
        proxy.cut(b"COMMIT", forward=True)
        with pytest.raises(StoreError, match="unknown"):
            db.create_datapoint(dataset, {"inputs": {"q": "1"}})


def _lines(count: int) -> bytes:
    return b"".join(b'{"inputs": {"n": "%d"}}\n' % n for n in range(count))


def test_a_streamed_import_whose_commit_landed_succeeds(
    proxied: tuple[str, CuttingProxy],
) -> None:
    """An import of many batches, cut after COMMIT: its one version exists, and it says so."""
    location, proxy = proxied
    with DatasetLog(PostgresEventStore(location)) as db:
        dataset = db.create_dataset(project_id="pr", name="n").id
        proxy.cut(b"COMMIT", forward=True)
        done = import_datapoints(db, dataset, io.BytesIO(_lines(12_000)))
        assert proxy.cuts == 1
        assert (done.version.number, done.added) == (1, 12_000)
        assert [v.datapoint_count for v in db.list_versions(dataset)] == [0, 12_000]
        assert db.verify()


def test_a_streamed_import_cut_between_batches_commits_nothing(
    proxied: tuple[str, CuttingProxy],
) -> None:
    """Cut while a later batch is sent: nothing of any batch is committed, and it says so."""
    location, proxy = proxied
    with DatasetLog(PostgresEventStore(location)) as db:
        dataset = db.create_dataset(project_id="pr", name="n").id
        batches: list[int] = []

        def cut_after_the_first(count: int) -> None:
            batches.append(count)
            if len(batches) == 1:
                proxy.cut(b"dl_events", forward=False)

        with pytest.raises(StoreError, match="nothing was committed"):
            import_datapoints(db, dataset, io.BytesIO(_lines(12_000)), progress=cut_after_the_first)
        assert proxy.cuts == 1
        assert [v.number for v in db.list_versions(dataset)] == [0]
        assert db.verify()
