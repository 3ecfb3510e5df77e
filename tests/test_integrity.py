"""verify(): an intact store passes; each kind of tampering is found and named.

Each tampering test acts as an attacker would: it drops the append-only guard
triggers and edits the SQLite file directly, then reopens the store.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from datasetlog import DatasetLog, verify
from datasetlog.integrity.report import MAX_PROBLEMS, Problem, VerifyReport
from datasetlog.readmodels.schema import ReadModelTable, Schema

GUARDS = (
    "dl_events_no_update",
    "dl_events_no_delete",
    "dl_commits_no_update",
    "dl_commits_no_delete",
)


@attrs.frozen
class Store:
    """A populated store file and the ids in it."""

    path: Path
    main: str  # 3 adds, 2 adds, an update, a delete, a rename: versions 0..4
    other: str  # one add and a new description: versions 0..1
    deleted: str  # two adds, then deleted
    empty: str  # version 0 only
    added: tuple[str, ...]  # the main dataset's datapoints, in order


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """A file store with several datasets, adds, updates, deletes, renames and a deletion."""
    path = tmp_path / "store.db"
    with DatasetLog(path) as db:
        main = db.create_dataset(project_id="pr", name="main", description="d").id
        other = db.create_dataset(project_id="pr", name="other").id
        deleted = db.create_dataset(project_id="pr", name="gone").id
        empty = db.create_dataset(project_id="pr2", name="empty").id
        first = db.create_datapoint(main, [{"inputs": {"q": str(i)}} for i in range(3)])
        db.create_datapoint(other, {"target": {"a": [1, 2.5, None, {"b": True}]}})
        second = db.create_datapoint(
            main, [{"messages": [{"role": "user", "content": "hi"}]}, {"target": {"n": 1}}]
        )
        db.create_datapoint(deleted, [{}, {}])
        db.update_datapoint(first[1].id, target={"fixed": True})
        db.delete_datapoints([first[0].id])
        db.update_dataset(main, name="main-renamed")
        db.update_dataset(other, description="more")
        db.delete_dataset(deleted)
    added = tuple(d.id for d in [*first, *second])
    return Store(path, main, other, deleted, empty, added)


Statement = str | tuple[str, tuple[object, ...]]


def _tamper(path: Path, *statements: Statement) -> None:
    """Drop the guard triggers, run statements (SQL or SQL and arguments), restore the guards.

    Restored exactly as datasetlog makes them, as a careful attacker would, so that only
    what the statements did is there to find.
    """
    conn = sqlite3.connect(path)
    for trigger in GUARDS:
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for statement in statements:
        sql, args = (statement, ()) if isinstance(statement, str) else statement
        conn.execute(sql, args)
    for trigger in GUARDS:
        table, _, action = trigger.rpartition("_no_")
        conn.execute(
            f"CREATE TRIGGER {trigger} BEFORE {action.upper()} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        )
    conn.commit()
    conn.close()


def _query(path: Path, sql: str, *args: object) -> Any:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchone()
    finally:
        conn.close()


def _commit_of(path: Path, dataset_id: str, version: int) -> int:
    """The global position of the commit that made a content version."""
    return int(
        _query(
            path,
            "SELECT position FROM dl_commits WHERE stream_id = ? "
            "AND json_extract(metadata, '$.version.number') = ?",
            dataset_id,
            version,
        )[0]
    )


def _event_of(path: Path, datapoint_id: str) -> tuple[int, int, int]:
    """(event position, commit position, index in commit) of the event adding a datapoint."""
    position, commit, first = _query(
        path,
        "SELECT e.position, e.commit_position, c.first_event FROM dl_events e "
        "JOIN dl_commits c ON c.position = e.commit_position "
        "WHERE e.type = 'datapoint_added' AND json_extract(e.payload, '$.id') = ?",
        datapoint_id,
    )
    return position, commit, position - first


def _verify(path: Path) -> VerifyReport:
    with DatasetLog(path) as db:
        return db.verify()


def _first(path: Path) -> Problem:
    report = _verify(path)
    assert not report
    assert report.first is not None
    return report.first


def _snapshot(db: DatasetLog) -> Iterator[object]:
    """Everything a reader can see: datasets, versions and every version's datapoints."""
    for project in ("pr", "pr2"):
        for dataset in db.list_datasets(project):
            yield dataset
            for version in db.list_versions(dataset.id):
                yield version
                yield list(db.iter_datapoints(dataset.id, version=version.number))


def test_intact_store_verifies_ok(store: Store) -> None:
    """A store written only through DatasetLog verifies ok, with nothing to report."""
    report = _verify(store.path)
    assert report
    assert report.ok
    assert report.problems == []
    assert report.first is None
    assert str(report).startswith("ok: 13 commits")


def test_in_memory_store_verifies_ok() -> None:
    """An in-memory store verifies ok too."""
    with DatasetLog(":memory:") as db:
        dataset = db.create_dataset(project_id="pr", name="n")
        db.create_datapoint(dataset.id, [{}, {"inputs": {"a": "b"}}])
        assert db.verify()


def test_edited_event_payload_is_named_and_fails_its_commit(store: Store) -> None:
    """Editing an event's payload is named by event, and breaks its commit's hash."""
    event, commit, _ = _event_of(store.path, store.added[2])
    _tamper(
        store.path,
        "UPDATE dl_events SET payload = json_set(payload, '$.inputs.q', 'forged') "
        f"WHERE position = {event}",
    )
    report = _verify(store.path)
    first = report.first
    assert first is not None
    assert (first.what, first.dataset_id, first.version) == ("event_changed", store.main, 1)
    assert first.commit_position == commit
    assert first.event_index == 2
    assert ("hash", commit) in [(p.what, p.commit_position) for p in report.problems]


def test_undecodable_event_is_named(store: Store) -> None:
    """An event payload that no longer decodes is named by its commit and index."""
    event, commit, index = _event_of(store.path, store.added[1])
    _tamper(store.path, f"UPDATE dl_events SET payload = '[not json' WHERE position = {event}")
    report = _verify(store.path)
    named = [
        (p.what, p.dataset_id, p.version, p.commit_position, p.event_index) for p in report.problems
    ]
    assert named[:2] == [
        ("event_changed", store.main, 1, commit, index),
        ("event_decode", store.main, 1, commit, index),
    ]
    assert index == 1


def test_deleted_event_row_is_named(store: Store) -> None:
    """Deleting an event row is found as that event missing from its commit."""
    event, commit, index = _event_of(store.path, store.added[4])
    _tamper(store.path, f"DELETE FROM dl_events WHERE position = {event}")
    first = _first(store.path)
    assert (first.what, first.dataset_id, first.version) == ("event_missing", store.main, 2)
    assert (first.commit_position, first.event_index) == (commit, 1)
    assert index == 1


def test_swapped_event_payloads_fail_both_commits(store: Store) -> None:
    """Swapping two events' payloads (a reorder) breaks the hash of both commits."""
    first_event, first_commit, _ = _event_of(store.path, store.added[0])
    second_event, second_commit, _ = _event_of(store.path, store.added[3])
    select = "SELECT payload FROM dl_events WHERE position = ?"
    first_payload = _query(store.path, select, first_event)[0]
    second_payload = _query(store.path, select, second_event)[0]
    update = "UPDATE dl_events SET payload = ? WHERE position = ?"
    _tamper(
        store.path, (update, (second_payload, first_event)), (update, (first_payload, second_event))
    )
    report = _verify(store.path)
    hashes = [(p.commit_position, p.version) for p in report.problems if p.what == "hash"]
    changed = [
        (p.commit_position, p.event_index) for p in report.problems if p.what == "event_changed"
    ]
    assert report.first == attrs.evolve(
        report.problems[0], what="event_changed", dataset_id=store.main
    )
    assert hashes == [(first_commit, 1), (second_commit, 2)]
    assert [commit for commit, _ in changed] == [first_commit, second_commit]


def test_deleted_commit_row_is_named(store: Store) -> None:
    """Deleting a commit row is found as a missing position, named with its dataset and version."""
    commit = _commit_of(store.path, store.main, 2)
    _tamper(store.path, f"DELETE FROM dl_commits WHERE position = {commit}")
    first = _first(store.path)
    assert (first.what, first.dataset_id, first.version) == ("commit_missing", store.main, 2)
    assert first.commit_position == commit


def test_edited_commit_message_is_named(store: Store) -> None:
    """Editing a commit's metadata breaks its hash, and the replay shows the new message."""
    commit = _commit_of(store.path, store.main, 3)
    _tamper(
        store.path,
        "UPDATE dl_commits SET metadata = json_set(metadata, '$.version.message', 'forged') "
        f"WHERE position = {commit}",
    )
    report = _verify(store.path)
    assert report.first == Problem(
        what="hash",
        dataset_id=store.main,
        version=3,
        commit_position=commit,
        detail=report.problems[0].detail,
    )
    [replayed] = [p for p in report.problems if p.what == "read_model"]
    assert replayed.version == 3
    assert "message: expected 'forged', found 'Update datapoint" in replayed.detail


def test_edited_recorded_at_is_named(store: Store) -> None:
    """Editing a commit's time breaks its hash, named with dataset, version and commit."""
    commit = _commit_of(store.path, store.other, 1)
    _tamper(
        store.path,
        "UPDATE dl_commits SET recorded_at = '2001-01-01T00:00:00+00:00' "
        f"WHERE position = {commit}",
    )
    first = _first(store.path)
    assert (first.what, first.dataset_id, first.version) == ("hash", store.other, 1)
    assert first.commit_position == commit


def test_repointed_span_in_dl_rows_is_named(store: Store) -> None:
    """A dl_rows span pointed at another datapoint's content is named with its datapoint."""
    other_event, _, _ = _event_of(store.path, store.added[4])
    _tamper(
        store.path,
        (f"UPDATE dl_rows SET event = {other_event} WHERE datapoint_id = ?", (store.added[3],)),
    )
    first = _first(store.path)
    assert (first.what, first.dataset_id, first.version) == ("read_model", store.main, 2)
    assert first.detail.startswith(f"dl_rows row of datapoint {store.added[3]} at ordinal 3")
    assert f"event: expected {other_event - 1}, found {other_event}" in first.detail


def test_deleted_dl_rows_row_is_named(store: Store) -> None:
    """A deleted dl_rows span is reported missing, with its datapoint and version."""
    _tamper(
        store.path,
        ("DELETE FROM dl_rows WHERE datapoint_id = ? AND removed_in IS NULL", (store.added[2],)),
    )
    first = _first(store.path)
    assert (first.what, first.dataset_id, first.version) == ("read_model", store.main, 1)
    assert first.detail.startswith(f"dl_rows row of datapoint {store.added[2]} at ordinal 2")
    assert "is missing" in first.detail


def test_changed_version_count_is_named(store: Store) -> None:
    """A changed dl_versions datapoint_count is named with its dataset and version."""
    _tamper(
        store.path,
        (
            "UPDATE dl_versions SET datapoint_count = 99 WHERE number = 2 "
            "AND dataset_key = (SELECT key FROM dl_datasets WHERE id = ?)",
            (store.main,),
        ),
    )
    first = _first(store.path)
    assert (first.what, first.dataset_id, first.version) == ("read_model", store.main, 2)
    assert first.detail == "dl_versions row of version 2: datapoint_count: expected 5, found 99"


def test_changed_dataset_name_is_named(store: Store) -> None:
    """A changed dl_datasets name is named with its dataset, expected against found."""
    _tamper(store.path, ("UPDATE dl_datasets SET name = 'forged' WHERE id = ?", (store.other,)))
    first = _first(store.path)
    assert (first.what, first.dataset_id) == ("read_model", store.other)
    assert first.detail == (
        f"dl_datasets row of dataset {store.other}: name: expected 'other', found 'forged'"
    )


def test_read_models_behind_the_log_are_found(store: Store) -> None:
    """Read models whose applied position lags the log are reported."""
    _tamper(store.path, "UPDATE dl_rm_meta SET value = 3 WHERE key = 'position'")
    first = _first(store.path)
    assert (first.what, first.commit_position) == ("read_model_position", 3)


def _tagged(path: Path) -> tuple[str, int]:
    """A store whose tag "prod" moved from version 1 to 2, then more commits; the move's commit."""
    with DatasetLog(path) as db:
        dataset = db.create_dataset(project_id="pr", name="tags").id
        db.create_datapoint(dataset, [{}])
        db.create_datapoint(dataset, [{}], version_name="golden")
        db.set_tag(dataset, "prod", 1)
        db.set_tag(dataset, "prod", "golden")
        db.create_datapoint(dataset, [{}])
        assert db.verify()
    position = _query(
        path, "SELECT commit_position FROM dl_events WHERE type = 'tag_set' ORDER BY position DESC"
    )[0]
    return dataset, int(position)


def test_edited_tag_event_is_named(tmp_path: Path) -> None:
    """Pointing a tag's event at another version breaks its commit: verify names both."""
    path = tmp_path / "store.db"
    dataset, commit = _tagged(path)
    _tamper(
        path,
        "UPDATE dl_events SET payload = json_set(payload, '$.version', 0) "
        f"WHERE commit_position = {commit}",
    )
    report = _verify(path)
    found = {(p.what, p.dataset_id, p.commit_position) for p in report.problems}
    assert {("event_changed", dataset, commit), ("hash", dataset, commit)} <= found


def test_deleted_tag_event_is_named(tmp_path: Path) -> None:
    """Deleting a tag move (its commit and event) leaves a gap that verify names."""
    path = tmp_path / "store.db"
    dataset, commit = _tagged(path)
    _tamper(
        path,
        f"DELETE FROM dl_events WHERE commit_position = {commit}",
        f"DELETE FROM dl_commits WHERE position = {commit}",
    )
    found = [(p.what, p.dataset_id, p.commit_position) for p in _verify(path).problems]
    assert ("commit_missing", dataset, commit) in found


def test_a_tag_moved_in_the_read_models_only_is_named(tmp_path: Path) -> None:
    """A tag retargeted behind the log's back is a read-model problem naming the tag."""
    path = tmp_path / "store.db"
    dataset, _ = _tagged(path)
    _tamper(path, "UPDATE dl_labels SET version = 0 WHERE label = 'prod'")
    report = _verify(path)
    assert [(p.what, p.dataset_id) for p in report.problems] == [("read_model", dataset)]
    assert "tag 'prod'" in report.problems[0].detail
    with DatasetLog(path) as db:
        db.rebuild()
        assert db.get_version(dataset, "prod").number == 2


def test_report_stops_after_max_problems(store: Store) -> None:
    """However much is wrong, a report holds at most MAX_PROBLEMS problems."""
    _tamper(
        store.path, "UPDATE dl_commits SET recorded_at = 'x'", "UPDATE dl_events SET payload = 1"
    )
    report = _verify(store.path)
    assert len(report.problems) == MAX_PROBLEMS
    assert "stopped there" in str(report)


def test_report_reads_as_one_line_per_problem(store: Store) -> None:
    """A failed report's text counts the problems and gives one line to each."""
    _tamper(store.path, ("UPDATE dl_datasets SET name = 'forged' WHERE id = ?", (store.other,)))
    report = _verify(store.path)
    lines = str(report).splitlines()
    assert lines[0] == f"{len(report.problems)} problem(s):"
    assert lines[1] == f"- read_model (dataset {store.other}): {report.problems[0].detail}"


def test_verify_reads_one_snapshot_while_a_writer_commits(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit landing between verify's reads of the log and of the read models is not seen."""
    dump = Schema.dump
    commits: list[int] = []

    def dump_after_a_commit(conn: Any, table: ReadModelTable) -> Any:
        if not commits:
            with DatasetLog(store.path) as writer:
                writing = threading.Thread(target=writer.create_datapoint, args=(store.other, {}))
                writing.start()
                writing.join()
            commits.append(1)
        return dump(conn, table)

    monkeypatch.setattr(Schema, "dump", staticmethod(dump_after_a_commit))
    with DatasetLog(store.path) as db:
        report = db.verify()
        assert commits == [1]
        assert report, str(report)
        assert report.commits == 13
        assert db.verify().commits == 14


def test_rebuild_after_read_model_tampering_restores_every_version(store: Store) -> None:
    """rebuild() repairs tampered read models: verify passes and every version reads as before."""
    with DatasetLog(store.path) as db:
        before = list(_snapshot(db))
    _tamper(
        store.path,
        ("DELETE FROM dl_rows WHERE datapoint_id = ?", (store.added[1],)),
        "UPDATE dl_versions SET datapoint_count = 0",
        "UPDATE dl_datasets SET name = 'forged'",
    )
    with DatasetLog(store.path) as db:
        assert not db.verify()
        db.rebuild()
        assert db.verify()
        assert list(_snapshot(db)) == before


def _postgres_log(url: str) -> DatasetLog:
    from datasetlog.store.postgres import PostgresEventStore

    return DatasetLog(PostgresEventStore(url, schema=f"t_{uuid.uuid4().hex[:12]}"))


def test_postgres_store_verifies_ok(postgres_url: str) -> None:
    """A PostgreSQL store written through DatasetLog verifies ok."""
    with _postgres_log(postgres_url) as db:
        dataset = db.create_dataset(project_id="pr", name="n").id
        added = db.create_datapoint(dataset, [{"inputs": {"q": "1"}}, {"target": {"a": 1.5}}])
        db.update_datapoint(added[0].id, target={"b": True})
        db.delete_datapoints([added[1].id])
        report = db.verify()
        assert report, str(report)


def test_postgres_tampering_is_named(postgres_url: str) -> None:
    """On PostgreSQL too, an edited event and an edited dataset name are named."""
    with _postgres_log(postgres_url) as db:
        dataset = db.create_dataset(project_id="pr", name="n").id
        db.create_datapoint(dataset, [{"inputs": {"q": "1"}}])
        with db.store.reading() as conn:
            conn.execute("ALTER TABLE dl_events DISABLE TRIGGER dl_events_no_change")
            conn.execute(
                "UPDATE dl_events SET payload = replace(payload, ?, ?) WHERE position = 2",
                ('"q":"1"', '"q":"X"'),
            )
            conn.execute("UPDATE dl_datasets SET name = 'forged'")
        report = db.verify()
    assert [(p.what, p.dataset_id, p.version) for p in report.problems[:3]] == [
        ("event_changed", dataset, 1),
        ("hash", dataset, 1),
        ("read_model", dataset, None),
    ]
    assert "name: expected 'n', found 'forged'" in report.problems[2].detail


@pytest.mark.parametrize("table", ["dl_rows", "dl_versions", "dl_rm_meta"])
def test_a_dropped_read_model_table_is_a_problem_on_every_backend(
    location: str, table: str
) -> None:
    """verify(store) reports a missing read-model table as a problem, on SQLite and PostgreSQL."""
    with DatasetLog(location) as db:
        dataset = db.create_dataset(project_id="pr", name="n").id
        db.create_datapoint(dataset, [{"inputs": {"q": "1"}}, {}])
        with db.store.reading() as conn:
            conn.execute(f"DROP TABLE {table}")
        report = verify(db.store)
    assert not report
    assert [(p.what, p.detail) for p in report.problems] == [
        ("read_model", f"the read-model table {table} is missing")
    ]
    with DatasetLog(location) as reopened:  # opening derives the missing table again
        assert reopened.verify()
        assert reopened.get_dataset(dataset).datapoint_count == 2


def test_postgres_verify_says_what_the_engine_check_covers(postgres_url: str) -> None:
    """Without amcheck the report says what went unchecked; with it, everything is checked."""
    with _postgres_log(postgres_url) as db:
        dataset = db.create_dataset(project_id="pr", name="n").id
        db.create_datapoint(dataset, [{"inputs": {"q": "1"}}])
        with db.store.reading() as conn:
            conn.execute("DROP EXTENSION IF EXISTS amcheck")
        report = db.verify()
        assert report
        assert report.not_checked == ["tables and indexes: the amcheck extension is not installed"]
        with db.store.reading() as conn:
            conn.execute("CREATE EXTENSION amcheck")
        try:
            report = db.verify()
        finally:
            with db.store.reading() as conn:
                conn.execute("DROP EXTENSION amcheck")
        assert report, str(report)
        assert report.not_checked == []


def test_sqlite_verify_runs_the_integrity_check(tmp_path: Path) -> None:
    """On SQLite the engine check covers everything: nothing is left unchecked."""
    with DatasetLog(tmp_path / "store.db") as db:
        db.create_dataset(project_id="pr", name="n")
        report = db.verify()
    assert report
    assert report.not_checked == []
