"""verify() never reports a resource running out as a problem in the store.

Memory running out anywhere in its checks (decoding, the fold, the replay,
the comparisons), or its scratch database filling its disk, ends the run with
a VerifyIncompleteError that says so; the store is not called damaged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import datasetlog.integrity.verify as verify_module
from datasetlog import DatasetLog, DatasetLogError, verify
from datasetlog.cli import cli
from datasetlog.integrity.fold import DatasetFold
from datasetlog.integrity.report import VerifyIncompleteError
from datasetlog.readmodels.apply import CommitApplication
from datasetlog.readmodels.schema import Schema
from datasetlog.serialization import codec
from datasetlog.store.dialect import SQLITE
from datasetlog.store.sqlite import SQLiteConnection


@pytest.fixture
def db(location: str) -> Iterator[DatasetLog]:
    """A store on each backend with a dataset, a fork and changes to both."""
    with DatasetLog(location) as log:
        dataset = log.create_dataset(project_id="pr", name="n").id
        added = log.create_datapoint(dataset, [{"inputs": {"q": str(i)}} for i in range(5)])
        fork = log.fork(dataset, name="f").id
        log.delete_datapoints([added[0].id])
        log.create_datapoint(fork, {"target": {"t": 1}})
        assert log.verify()
        yield log


def _out_of_memory(*args: Any, **kwargs: Any) -> Any:
    raise MemoryError


def _assert_incomplete(db: DatasetLog, doing: str) -> None:
    with pytest.raises(VerifyIncompleteError) as raised:
        verify(db.store)
    assert isinstance(raised.value, DatasetLogError)
    message = str(raised.value)
    assert message.startswith(f"verify() could not finish {doing}: out of memory")
    assert "says nothing about the store" in message


def test_memory_running_out_in_the_fold_is_no_problem_in_the_store(
    db: DatasetLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A MemoryError while folding raises VerifyIncompleteError, not a projection problem."""
    monkeypatch.setattr(DatasetFold, "add", _out_of_memory)
    _assert_incomplete(db, "folding the log")


def test_memory_running_out_in_the_replay_is_no_problem_in_the_store(
    db: DatasetLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A MemoryError while replaying raises VerifyIncompleteError, not a replay problem."""
    monkeypatch.setattr(CommitApplication, "feed", _out_of_memory)
    _assert_incomplete(db, "replaying the log")


def test_memory_running_out_while_decoding_is_no_problem_in_the_store(
    db: DatasetLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A MemoryError inside decoding (which wraps errors in StoreError) is seen through."""
    decode = codec.decode_event
    calls: list[int] = []

    def decode_until_full(encoded: Any) -> Any:
        calls.append(1)
        if len(calls) > 3:
            raise MemoryError
        return decode(encoded)

    monkeypatch.setattr(codec, "decode_event", decode_until_full)
    monkeypatch.setattr("datasetlog.integrity.scan.decode_event", decode_until_full)
    _assert_incomplete(db, "decoding an event")


def test_memory_running_out_while_comparing_is_no_problem_in_the_store(
    db: DatasetLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A MemoryError while comparing the read models is no "unreadable" problem either."""
    monkeypatch.setattr(Schema, "dump", staticmethod(_out_of_memory))
    _assert_incomplete(db, "reading the store")


def test_a_full_scratch_disk_is_no_problem_in_the_store(
    db: DatasetLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replayed read models that fill their disk (SQLITE_FULL) raise, not a replay problem."""
    dataset = db.list_datasets("pr")[0].id
    db.create_datapoint(dataset, [{"inputs": {"q": str(i)}} for i in range(2000)])
    scratch: Callable[[], Any] = verify_module._scratch

    @contextmanager
    def tiny_scratch() -> Iterator[SQLiteConnection]:
        with scratch() as conn:
            Schema(SQLITE).ensure(conn)  # the tables first: the replay is what fills it
            pages = conn.raw.execute("PRAGMA page_count").fetchone()[0]
            conn.raw.execute(f"PRAGMA max_page_count = {pages}")
            yield conn

    monkeypatch.setattr(verify_module, "_scratch", tiny_scratch)
    with pytest.raises(VerifyIncompleteError, match="replaying the log: the disk is full"):
        verify(db.store)


def test_a_damaged_store_is_still_reported_not_raised(db: DatasetLog) -> None:
    """Only resources raise: a table dropped behind the store's back is still a problem."""
    with db.store.reading() as conn:
        conn.execute("DROP TABLE dl_rows")
    report = verify(db.store)
    assert [p.what for p in report.problems] == ["read_model"]


def test_the_cli_says_verify_could_not_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``datasetlog verify`` prints one line saying why it could not finish, and exits 1."""
    path = tmp_path / "store.db"
    with DatasetLog(path) as log:
        dataset = log.create_dataset(project_id="pr", name="n").id
        log.create_datapoint(dataset, [{}, {}])
    monkeypatch.setattr(DatasetFold, "add", _out_of_memory)
    result = CliRunner().invoke(cli, ["--db", str(path), "verify"])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("error: verify() could not finish folding the log")
    assert "problem" not in result.stdout
