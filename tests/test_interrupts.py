"""Ctrl-C at any statement of a write leaves nothing half-done and no lock held.

A KeyboardInterrupt is injected before and after every statement a write runs
(BEGIN and the append lock included). After each, the store must hold either
nothing of the write or all of it, verify, and take the next write at once,
from the same DatasetLog and from another one.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from datasetlog import DatasetLog, InterruptedAfterCommit, SQLiteEventStore, to_v4
from datasetlog.cli import cli
from datasetlog.store.postgres import PostgresConnection, PostgresEventStore
from datasetlog.store.sqlite import SQLiteConnection
from datasetlog.testing import drop_schema_of, new_schema_location

BODY = [{"inputs": {"q": str(i)}} for i in range(3)]


class Interrupter:
    """Counts statements; raises KeyboardInterrupt before or after the ``at``-th one."""

    def __init__(self) -> None:
        self.at: int | None = None
        self.after = False
        self.calls = 0

    def wrap(self, run: Callable[..., Any]) -> Callable[..., Any]:
        """``run``, counted, interrupted where asked."""

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == self.at and not self.after:
                raise KeyboardInterrupt
            result = run(*args, **kwargs)
            if self.calls == self.at and self.after:
                raise KeyboardInterrupt
            return result

        return counted


def _state(db: DatasetLog, dataset_id: str) -> Any:
    return to_v4(db.list_versions(dataset_id)), [to_v4(d) for d in db.iter_datapoints(dataset_id)]


def _check_every_interruption(
    db: DatasetLog, dataset_id: str, interrupter: Interrupter, other: Callable[[], DatasetLog]
) -> int:
    """Interrupt a create at every statement, before and after it; check each outcome."""
    interrupter.calls = 0
    db.create_datapoint(dataset_id, BODY)  # counts the statements of one write
    statements = interrupter.calls
    assert statements >= 8
    for at in range(1, statements + 1):
        for after in (False, True):
            before = _state(db, dataset_id)
            interrupter.at, interrupter.after, interrupter.calls = at, after, 0
            with pytest.raises(KeyboardInterrupt) as raised:
                db.create_datapoint(dataset_id, BODY)
            interrupter.at = None
            now = _state(db, dataset_id)
            committed = len(now[0]) == len(before[0]) + 1
            assert now == before or (committed and after and at == statements), (at, after)
            # Only an interrupt that came after COMMIT says the write landed, with its result.
            assert isinstance(raised.value, InterruptedAfterCommit) == committed, (at, after)
            if committed:
                assert isinstance(raised.value, InterruptedAfterCommit)
                assert [to_v4(d) for d in raised.value.result] == now[1][-len(BODY) :]
            with other() as elsewhere:  # another writer is not locked out
                elsewhere.create_datapoint(dataset_id, {})
            db.create_datapoint(dataset_id, {})  # nor is this one
            assert db.verify()
    return statements


@pytest.fixture
def sqlite_interrupter(monkeypatch: pytest.MonkeyPatch) -> Interrupter:
    """An interrupter of every SQLite connection opened from now on (an interrupted write's
    connection is closed, and the next one opened fresh)."""
    interrupter = Interrupter()
    init = SQLiteConnection.__init__

    def interrupted(self: SQLiteConnection, raw: Any) -> None:
        init(self, raw)
        self.execute = interrupter.wrap(self.execute)
        self.insert_rows = interrupter.wrap(self.insert_rows)  # type: ignore[method-assign]

    monkeypatch.setattr(SQLiteConnection, "__init__", interrupted)
    return interrupter


def test_an_interrupted_sqlite_write_leaves_no_lock(
    tmp_path: Path, sqlite_interrupter: Interrupter
) -> None:
    """On SQLite, Ctrl-C at any statement of a write rolls it back and frees the lock."""
    path = tmp_path / "store.db"
    with DatasetLog(SQLiteEventStore(path)) as db:
        dataset = db.create_dataset(project_id="pr", name="n").id
        other = lambda: DatasetLog(SQLiteEventStore(path, busy_timeout=1))  # noqa: E731
        _check_every_interruption(db, dataset, sqlite_interrupter, other)


@pytest.fixture
def postgres_location(postgres_url: str) -> Iterator[str]:
    """A fresh schema of the session's server."""
    location = new_schema_location(postgres_url)
    yield location
    drop_schema_of(location)


def test_an_interrupted_postgres_write_leaves_no_lock(
    postgres_location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL, Ctrl-C at any statement of a write ends it and frees the table lock."""
    interrupter = Interrupter()
    with DatasetLog(PostgresEventStore(postgres_location)) as db:
        dataset = db.create_dataset(project_id="pr", name="n").id
        monkeypatch.setattr(
            PostgresConnection, "execute", interrupter.wrap(PostgresConnection.execute)
        )
        monkeypatch.setattr(
            PostgresConnection, "insert_rows", interrupter.wrap(PostgresConnection.insert_rows)
        )

        def other() -> DatasetLog:
            return DatasetLog(PostgresEventStore(postgres_location, lock_timeout=2))

        _check_every_interruption(db, dataset, interrupter, other)


@pytest.fixture
def ctrl_c_raises() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt, as in a terminal, even where it was started ignored.

    A shell ignores SIGINT in the commands it starts in the background, and
    Python then leaves it ignored: the interrupt below would never arrive.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("ctrl_c_raises")
def test_ctrl_c_while_waiting_for_the_postgres_lock_leaves_nothing_behind(
    postgres_location: str,
) -> None:
    """SIGINT while a writer waits for the append lock: KeyboardInterrupt, no lingering session."""
    with DatasetLog(PostgresEventStore(postgres_location, lock_timeout=10)) as db:
        dataset = db.create_dataset(project_id="pr", name="n").id
        with psycopg.connect(postgres_location) as blocker:
            blocker.execute("LOCK TABLE dl_commits IN EXCLUSIVE MODE")
            main = threading.main_thread().ident
            assert main is not None
            interrupt = threading.Timer(0.5, signal.pthread_kill, (main, signal.SIGINT))
            interrupt.start()
            with pytest.raises(KeyboardInterrupt):
                db.create_datapoint(dataset, {"inputs": {"q": "interrupted"}})
            interrupt.join()
            blocker.rollback()
        with DatasetLog(PostgresEventStore(postgres_location, lock_timeout=2)) as other:
            other.create_datapoint(dataset, {})
        db.create_datapoint(dataset, {})
        assert [v.datapoint_count for v in db.list_versions(dataset)] == [0, 1, 2]
        assert db.verify()


def test_ctrl_c_right_after_postgres_begin_leaves_no_open_transaction(
    postgres_location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An interrupt after BEGIN but before the transaction is set up does not leave it open.

    Otherwise the next write would run nested inside it, report success, and
    never commit, holding the append lock for good.
    """
    enter = psycopg.Transaction.__enter__
    interrupted: list[bool] = []

    def begin_then_interrupt(self: psycopg.Transaction) -> psycopg.Transaction:
        entered = enter(self)
        if not interrupted:
            interrupted.append(True)
            raise KeyboardInterrupt
        return entered

    with DatasetLog(PostgresEventStore(postgres_location, lock_timeout=2)) as db:
        dataset = db.create_dataset(project_id="pr", name="n").id
        monkeypatch.setattr(psycopg.Transaction, "__enter__", begin_then_interrupt)
        with pytest.raises(KeyboardInterrupt):
            db.create_datapoint(dataset, {"inputs": {"q": "interrupted"}})
        db.create_datapoint(dataset, {"inputs": {"q": "next"}})
        monkeypatch.undo()
        with DatasetLog(PostgresEventStore(postgres_location, lock_timeout=2)) as other:
            assert [d.inputs for d in other.iter_datapoints(dataset)] == [{"q": "next"}]
            other.create_datapoint(dataset, {})


def test_ctrl_c_stays_ctrl_c_when_ending_the_postgres_transaction_fails(
    postgres_location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If rolling back an interrupted write fails too, the caller still gets KeyboardInterrupt."""
    leave = psycopg.Transaction.__exit__

    def rollback_then_fail(self: psycopg.Transaction, kind: Any, value: Any, tb: Any) -> Any:
        leave(self, kind, value, tb)
        if kind is KeyboardInterrupt:
            raise psycopg.OperationalError("the rollback failed as well")
        return None

    interrupter = Interrupter()
    with DatasetLog(PostgresEventStore(postgres_location, lock_timeout=2)) as db:
        dataset = db.create_dataset(project_id="pr", name="n").id
        monkeypatch.setattr(psycopg.Transaction, "__exit__", rollback_then_fail)
        monkeypatch.setattr(
            PostgresConnection, "execute", interrupter.wrap(PostgresConnection.execute)
        )
        interrupter.at, interrupter.after, interrupter.calls = 1, True, 0  # after the lock
        with pytest.raises(KeyboardInterrupt):
            db.create_datapoint(dataset, {})
        monkeypatch.undo()
        db.create_datapoint(dataset, {})
        assert [v.number for v in db.list_versions(dataset)] == [0, 1]


def test_an_interrupted_sqlite_fork_says_whether_it_landed(
    tmp_path: Path, sqlite_interrupter: Interrupter
) -> None:
    """Ctrl-C at any statement of a fork: a plain interrupt left nothing, and one that came
    after COMMIT is InterruptedAfterCommit carrying the fork, which exists."""
    interrupter = sqlite_interrupter
    with DatasetLog(SQLiteEventStore(tmp_path / "store.db")) as db:
        source = db.create_dataset(project_id="pr", name="source").id
        db.create_datapoint(source, BODY)
        interrupter.calls = 0
        db.fork(source, name="counted")
        statements = interrupter.calls
        landed = 0
        for at in range(1, statements + 1):
            for after in (False, True):
                name = f"fork-{at}-{after}"
                interrupter.at, interrupter.after, interrupter.calls = at, after, 0
                with pytest.raises(KeyboardInterrupt) as raised:
                    db.fork(source, name=name)
                interrupter.at = None
                made = [d for d in db.list_datasets("pr") if d.name == name]
                if isinstance(raised.value, InterruptedAfterCommit):
                    landed += 1
                    assert made == [raised.value.result] == [db.get_dataset(made[0].id)]
                else:
                    assert made == [], (at, after)
        assert landed == 1  # only after the last statement, COMMIT
        assert db.verify()


@pytest.mark.parametrize("sent", [True, False], ids=["after-commit", "before-commit"])
def test_ctrl_c_around_the_postgres_commit_says_whether_it_landed(
    postgres_location: str, monkeypatch: pytest.MonkeyPatch, sent: bool
) -> None:
    """Ctrl-C right after COMMIT came back is InterruptedAfterCommit with the result; one
    just before COMMIT was sent is a plain interrupt, and nothing was written."""
    leave = psycopg.Transaction.__exit__
    interrupted: list[bool] = []

    def interrupt_at_commit(self: psycopg.Transaction, kind: Any, value: Any, tb: Any) -> Any:
        if kind is not None or interrupted:
            return leave(self, kind, value, tb)
        interrupted.append(True)
        if sent:
            leave(self, kind, value, tb)
        raise KeyboardInterrupt

    with DatasetLog(PostgresEventStore(postgres_location, lock_timeout=2)) as db:
        dataset = db.create_dataset(project_id="pr", name="n").id
        monkeypatch.setattr(psycopg.Transaction, "__exit__", interrupt_at_commit)
        with pytest.raises(KeyboardInterrupt) as raised:
            db.create_datapoint(dataset, {"inputs": {"q": "maybe"}})
        monkeypatch.undo()
        assert isinstance(raised.value, InterruptedAfterCommit) == sent
        with DatasetLog(PostgresEventStore(postgres_location, lock_timeout=2)) as other:
            held = [d.inputs for d in other.iter_datapoints(dataset)]
            assert held == ([{"q": "maybe"}] if sent else [])
            other.create_datapoint(dataset, {})  # no lock outlived the interrupt
        if isinstance(raised.value, InterruptedAfterCommit):
            [datapoint] = raised.value.result
            assert datapoint == db.get_datapoint(datapoint.id)
        db.create_datapoint(dataset, {})
        assert db.verify()


def test_the_command_line_says_an_interrupted_write_landed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command whose write was interrupted after COMMIT says so and exits 130."""

    def landed(self: DatasetLog, **fields: Any) -> Any:
        raise InterruptedAfterCommit(None)

    monkeypatch.setattr(DatasetLog, "create_dataset", landed)
    done = CliRunner().invoke(
        cli, ["--db", str(tmp_path / "s.db"), "create", "qa", "--project", "p"]
    )
    assert done.exit_code == 130
    assert "interrupted after the commit: the write landed" in done.output
