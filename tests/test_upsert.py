"""Upsert by example: set, add and remove on a base, matched by content (the machine in
tests/test_stateful.py checks random sequences of them against a model)."""

from __future__ import annotations

import pytest

from datasetlog import ConflictError, DatasetLog, NotFoundError, ValidationError


@pytest.fixture
def db() -> DatasetLog:
    return DatasetLog(":memory:")


def _contents(db: DatasetLog, ds: str, version: int | None = None) -> list[object]:
    return [(d.inputs, d.target) for d in db.iter_datapoints(ds, version=version)]


def _commits(db: DatasetLog) -> int:
    return len(list(db.store.read_all()))


def _q(*names: str) -> list[dict[str, object]]:
    return [{"inputs": {"q": name}} for name in names]


def test_set_holds_exactly_the_request_keeping_ids(db: DatasetLog) -> None:
    """set: present contents keep their ids and places, absent ones go, new ones follow."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    first = db.create_datapoint(ds, _q("a", "b", "c"))
    result = db.upsert(ds, _q("c", "d", "a", "d"))
    assert (result.added, result.removed, result.ignored, result.committed) == (1, 1, 3, True)
    assert result.version.message == "Upsert (set) on version 1: 1 datapoint added, 1 removed"
    now = list(db.iter_datapoints(ds))
    assert [d.id for d in now[:2]] == [first[0].id, first[2].id]
    assert [d.inputs for d in now] == [{"q": "a"}, {"q": "c"}, {"q": "d"}]


def test_content_is_inputs_messages_and_target_as_json(db: DatasetLog) -> None:
    """Key order does not matter, 1 and 1.0 differ, and _dedupe_id keeps a wanted duplicate."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    db.upsert(ds, [{"target": {"a": 1, "b": 2}}])
    assert not db.upsert(ds, [{"target": {"b": 2, "a": 1}}], action="add").committed
    assert db.upsert(ds, [{"target": {"a": 1.0, "b": 2}}], action="add").added == 1
    twin = [{"inputs": {"q": "x"}}, {"inputs": {"q": "x", "_dedupe_id": "2"}}]
    assert db.upsert(ds, twin, action="add").added == 2


def test_add_and_remove_match_by_content(db: DatasetLog) -> None:
    """add ignores what is there; remove drops what matches and ignores the rest."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    db.upsert(ds, _q("a", "b"))
    added = db.upsert(ds, _q("b", "c"), action="add")
    assert (added.added, added.ignored) == (1, 1)
    removed = db.upsert(ds, _q("a", "zzz"), action="remove")
    assert (removed.removed, removed.ignored) == (1, 1)
    assert _contents(db, ds) == [({"q": "b"}, None), ({"q": "c"}, None)]


def test_an_older_base_is_applied_then_committed_on_top(db: DatasetLog) -> None:
    """The new version is the action applied to the base's content, whatever came since."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    a, b = db.create_datapoint(ds, _q("a", "b"))
    db.update_datapoint(a.id, target={"t": 1})
    db.delete_datapoints([b.id])
    result = db.upsert(ds, _q("c"), action="add", base=1)
    assert result.version.number == 4
    assert _contents(db, ds) == [({"q": "a"}, None), ({"q": "b"}, None), ({"q": "c"}, None)]
    assert [d.id for d in db.iter_datapoints(ds)][:2] == [a.id, b.id]
    assert [r.change for r in db.datapoint_history(b.id)] == ["added", "deleted", "restored"]


def test_nothing_to_change_commits_nothing(db: DatasetLog) -> None:
    """An upsert that changes nothing returns the latest version, uncommitted."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    db.upsert(ds, _q("a"))
    before = _commits(db)
    result = db.upsert(ds, _q("a"), version_name="unused")
    assert (result.committed, result.version.number, result.ignored) == (False, 1, 1)
    assert _commits(db) == before
    with pytest.raises(ValidationError, match="allow_empty") as refused:
        db.upsert(ds, [])  # a set of nothing would empty the dataset: refused by default
    assert [d.type for d in refused.value.details] == ["empty_set"]
    assert _commits(db) == before
    assert db.upsert(ds, [], allow_empty=True).removed == 1  # meant: empties the dataset


def test_expected_version_guards_the_latest(db: DatasetLog) -> None:
    """A stale expected_version is a ConflictError, and nothing is written."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    db.upsert(ds, _q("a"), expected_version=0)
    before = _commits(db)
    with pytest.raises(ConflictError, match="at version 1, not 0"):
        db.upsert(ds, _q("b"), expected_version=0)
    assert _commits(db) == before


def test_idempotency_and_names(db: DatasetLog) -> None:
    """A repeated key returns the first version; names are unique as for every write."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    first = db.upsert(ds, _q("a"), idempotency_key="sync-1", version_name="golden")
    again = db.upsert(ds, _q("a"), idempotency_key="sync-1", version_name="golden")
    assert (again.version, again.committed) == (first.version, False)
    with pytest.raises(ConflictError):
        db.upsert(ds, _q("b"), idempotency_key="sync-1")
    with pytest.raises(ConflictError):
        db.upsert(ds, _q("b"), version_name="golden")
    assert db.get_version(ds, "golden").number == 1


def test_bad_arguments_and_items_are_named(db: DatasetLog) -> None:
    """Bad arguments are named together, then bad items (NaN too); log ids are refused."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    db.upsert(ds, [{"target": {"a": [None]}}])
    with pytest.raises(ValidationError) as raised:
        db.upsert(ds, [{"inputs": {"q": 1}}], action="replace", expected_version="1")  # type: ignore[call-overload]
    assert [d.loc for d in raised.value.details] == [
        ("body", "action"),
        ("body", "expected_version"),
    ]
    bad = [{"target": {"a": [float("nan")]}}, {"inputs": {"q": 1}}, {"input": {}}]
    with pytest.raises(ValidationError) as raised:
        db.upsert(ds, bad, action="add")
    assert [d.loc[:2] for d in raised.value.details] == [("body", 0), ("body", 1), ("body", 2)]
    with pytest.raises(ValidationError) as raised:
        db.upsert(ds, {"inputs": {"q": 1}}, action="remove")
    assert raised.value.details[0].loc == ("body", "inputs", "q")
    with pytest.raises(ValidationError):
        db.upsert(ds, {"log_ids": ["log_1"]})
    with pytest.raises(NotFoundError):
        db.upsert(ds, _q("a"), base=7)
    assert _commits(db) == 2


def test_create_datapoint_stays_literal(db: DatasetLog) -> None:
    """The v4 create adds what it is given, duplicates included."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    db.upsert(ds, _q("a"))
    db.create_datapoint(ds, _q("a"))
    assert len(_contents(db, ds)) == 2
    assert db.upsert(ds, _q("a")).removed == 1  # set keeps one of each content
