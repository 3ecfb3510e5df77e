"""A write returns what its own commit wrote, read inside its own transaction.

Processes racing on one store must never see another writer's name in what
their rename returned, nor a create that committed report that its dataset
does not exist; and a write runs one transaction, reading its dataset once.
"""

from __future__ import annotations

import multiprocessing
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from datasetlog import DatasetLog, NotFoundError, SQLiteEventStore

RENAMES = 150
CREATES = 150


def _rename(location: str, dataset_id: str, writer: int) -> int:
    """Rename a dataset over and over; count the results that carry another name."""
    wrong = 0
    with DatasetLog(location) as db:
        for n in range(RENAMES):
            name = f"renamer-{writer}-{n}"
            if db.update_dataset(dataset_id, name=name).name != name:
                wrong += 1
    return wrong


def _create(location: str) -> int:
    """Create datasets that another process deletes at once; count the creates that failed."""
    failed = 0
    with DatasetLog(location) as db:
        for n in range(CREATES):
            name = f"made-{n}"
            try:
                made = db.create_dataset(project_id="pr_churn", name=name)
            except NotFoundError:
                failed += 1
            else:
                if made.name != name or made.project_id != "pr_churn":
                    failed += 1
    return failed


def _delete(location: str) -> int:
    """Delete every dataset of the churn project as soon as it is listed, until all are made."""
    deleted = 0
    with DatasetLog(location) as db:
        while deleted < CREATES:
            for dataset in db.list_datasets("pr_churn"):
                try:
                    db.delete_dataset(dataset.id)
                except NotFoundError:
                    continue
                deleted += 1
    return deleted


def test_racing_writers_get_what_their_own_commits_wrote(location: str) -> None:
    """Two renamers, a creator and a deleter in four processes: every result is its own."""
    with DatasetLog(location) as db:
        shared = db.create_dataset(project_id="pr", name="shared").id
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        renames = [pool.apply_async(_rename, (location, shared, writer)) for writer in (1, 2)]
        created = pool.apply_async(_create, (location,))
        deleted = pool.apply_async(_delete, (location,))
        results = ([r.get(timeout=300) for r in renames], created.get(300), deleted.get(300))
    assert results == ([0, 0], 0, CREATES)
    with DatasetLog(location) as db:
        assert db.list_datasets("pr_churn") == []
        assert db.verify()


class Statements:
    """The SQL statements an SQLite store's connections run, as traced."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def trace(self, store: SQLiteEventStore) -> None:
        store.connection().raw.set_trace_callback(self.seen.append)

    def count(self, pattern: str) -> int:
        return sum(1 for statement in self.seen if re.search(pattern, statement))


@pytest.fixture
def traced(tmp_path: Path) -> Iterator[tuple[DatasetLog, Statements]]:
    """A DatasetLog on an SQLite file whose statements are traced."""
    store = SQLiteEventStore(tmp_path / "store.db")
    statements = Statements()
    with DatasetLog(store) as db:
        statements.trace(store)
        yield db, statements


DATASET_READ = r"FROM dl_datasets WHERE id = "


def test_each_write_reads_its_dataset_once_and_nothing_after_its_commit(
    traced: tuple[DatasetLog, Statements],
) -> None:
    """A write reads each dataset it writes once, in its transaction, and nothing after COMMIT."""
    db, statements = traced

    def run(write: Any, reads: int) -> Any:
        statements.seen.clear()
        result = write()
        assert statements.count(DATASET_READ) == reads, statements.seen
        assert statements.seen[-1] == "COMMIT", statements.seen
        return result

    made = run(lambda: db.create_dataset(project_id="pr", name="a"), 0)
    assert made == db.get_dataset(made.id)
    renamed = run(lambda: db.update_dataset(made.id, name="b"), 1)
    assert renamed == db.get_dataset(made.id)
    added = run(lambda: db.create_datapoint(made.id, [{}, {"inputs": {"q": "x"}}]), 1)
    assert added == [db.get_datapoint(d.id) for d in added]
    forked = run(lambda: db.fork(made.id, name="c"), 1)
    assert forked == db.get_dataset(forked.id)
    run(lambda: db.delete_datapoints([added[0].id]), 1)
    run(lambda: db.restore(made.id, 1), 1)


def test_a_create_that_committed_returns_its_dataset_though_it_is_deleted_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even when another writer deletes it right after COMMIT, create returns the dataset."""
    path = tmp_path / "store.db"
    with DatasetLog(path) as db, DatasetLog(path) as other:
        store = db.store
        assert isinstance(store, SQLiteEventStore)
        conn = store.connection()
        deleted: list[str] = []
        execute = conn.execute

        def execute_then_delete(statement: str, parameters: Any = (), /) -> Any:
            result = execute(statement, parameters)
            if statement == "COMMIT" and not deleted:
                [dataset] = other.list_datasets("pr")
                other.delete_dataset(dataset.id)
                deleted.append(dataset.id)
            return result

        monkeypatch.setattr(conn, "execute", execute_then_delete)
        created = db.create_dataset(project_id="pr", name="gone")
        assert (created.id, created.name) == (deleted[0], "gone")
        with pytest.raises(NotFoundError):
            db.get_dataset(created.id)
