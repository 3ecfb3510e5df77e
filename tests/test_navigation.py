"""Navigating history by example: the edge cases of names, tags, as_of, diff, history and restore.

The state machine (tests/test_stateful.py) checks all of these against the
projector on random histories; these tests pin the semantics one case at a time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import orjson
import pytest

from datasetlog import (
    ABSENT,
    ConflictError,
    DatasetLog,
    FieldChange,
    NotFoundError,
    ValidationError,
    to_v4,
    to_v4_json,
)


@pytest.fixture
def db() -> DatasetLog:
    return DatasetLog(":memory:")


def _commits(db: DatasetLog) -> int:
    return len(list(db.store.read_all()))


def _dataset(db: DatasetLog) -> str:
    return db.create_dataset(project_id="pr", name="qa").id


def test_restore_brings_back_ids_places_and_content(db: DatasetLog) -> None:
    """A restore is a new version that reads exactly like the one restored, ids and order kept."""
    ds = _dataset(db)
    first = db.create_datapoint(ds, [{"inputs": {"q": str(i)}} for i in range(4)])
    db.update_datapoint(first[1].id, target={"a": 1})
    db.delete_datapoints([first[0].id, first[2].id])
    db.create_datapoint(ds, {"inputs": {"q": "new"}})
    restored = db.restore(ds, 1)
    assert (restored.number, restored.message, restored.datapoint_count) == (
        5,
        "Restore version 1",
        4,
    )
    assert list(db.iter_datapoints(ds)) == list(db.iter_datapoints(ds, version=1))
    assert to_v4(db.list_datapoints(ds, page=2, size=3).records) == to_v4(first[3:])
    kinds = [(r.version.number, r.change) for r in db.datapoint_history(first[0].id)]
    assert kinds == [(1, "added"), (3, "deleted"), (5, "restored")]
    assert [r.change for r in db.datapoint_history(first[1].id)] == ["added", "changed", "restored"]


def test_restoring_the_latest_content_commits_nothing(db: DatasetLog) -> None:
    """Content equal to the latest version's: no commit, not even the name; the latest returned."""
    ds = _dataset(db)
    added = db.create_datapoint(ds, {"target": {"a": 1}})
    db.update_datapoint(added[0].id, target={"a": 2})
    db.update_datapoint(added[0].id, target={"a": 1})
    before = _commits(db)
    version = db.restore(ds, 1, version_name="again")
    assert version == db.get_version(ds, "latest")
    assert _commits(db) == before
    assert not db.diff(ds, 1, 3)


def test_restore_dry_run_previews_and_writes_nothing(db: DatasetLog) -> None:
    """dry_run returns the diff from the latest version to the restored one, and writes nothing."""
    ds = _dataset(db)
    added = db.create_datapoint(ds, [{}, {}])
    db.delete_datapoints([added[0].id])
    before = _commits(db)
    preview = db.restore(ds, 1, dry_run=True)
    assert _commits(db) == before
    assert (preview.base.number, preview.target.number) == (2, 1)
    assert [d.id for d in preview.added] == [added[0].id]
    assert (preview.counts.added, preview.counts.removed, preview.counts.changed) == (1, 0, 0)


def test_restore_with_an_idempotency_key_commits_once(db: DatasetLog) -> None:
    """A repeated restore under one key returns the first version; another request conflicts."""
    ds = _dataset(db)
    db.create_datapoint(ds, [{}])
    first = db.restore(ds, 0, idempotency_key="undo-1")
    db.create_datapoint(ds, [{}])
    assert db.restore(ds, 0, idempotency_key="undo-1") == first
    with pytest.raises(ConflictError):
        db.restore(ds, 1, idempotency_key="undo-1")
    assert db.get_version(ds, "latest").number == 3


def test_names_are_unique_immutable_and_share_the_tags_namespace(db: DatasetLog) -> None:
    """A name is given once per version; a name or tag string cannot be used again."""
    ds = _dataset(db)
    db.create_datapoint(ds, [{}], version_name="golden", version_description="first cut")
    version = db.get_version(ds, "golden")
    assert (version.number, version.name, version.description) == (1, "golden", "first cut")
    db.set_tag(ds, "prod", "golden")
    before = _commits(db)
    with pytest.raises(ConflictError, match="already named"):
        db.name_version(ds, 1, "other")
    with pytest.raises(ConflictError, match="tag 'prod'"):
        db.name_version(ds, 0, "prod")
    with pytest.raises(ConflictError, match="name 'golden'"):
        db.set_tag(ds, "golden", 0)
    with pytest.raises(ConflictError):
        db.create_datapoint(ds, [{}], version_name="golden")
    with pytest.raises(NotFoundError):
        db.delete_tag(ds, "golden")
    assert _commits(db) == before


@pytest.mark.parametrize("bad", ["latest", "dsv_anything", "007", " padded", ""])
def test_ambiguous_labels_are_refused_where_given(db: DatasetLog, bad: str) -> None:
    """A label that reads as another reference is a ValidationError naming the argument."""
    ds = _dataset(db)
    with pytest.raises(ValidationError) as raised:
        db.create_datapoint(ds, [{}], version_name=bad)
    assert raised.value.details[0].loc == ("body", "version_name")
    with pytest.raises(ValidationError) as raised:
        db.set_tag(ds, bad, 0)
    assert raised.value.details[0].loc == ("body", "tag")


def test_a_description_needs_a_name(db: DatasetLog) -> None:
    """version_description without version_name is refused, and nothing is written."""
    ds = _dataset(db)
    with pytest.raises(ValidationError) as raised:
        db.create_datapoint(ds, [{}], version_description="why")
    assert raised.value.details[0].loc == ("body", "version_description")
    assert db.get_version(ds, "latest").number == 0


def test_tags_move_with_every_move_kept(db: DatasetLog) -> None:
    """set_tag creates or moves; the same place commits nothing; delete_tag keeps the history."""
    ds = _dataset(db)
    db.create_datapoint(ds, [{}])
    db.create_datapoint(ds, [{}])
    db.set_tag(ds, "prod", 1)
    before = _commits(db)
    assert db.set_tag(ds, "prod", "1").version == 1
    assert _commits(db) == before
    db.set_tag(ds, "prod", "latest")
    assert [(t.name, t.version) for t in db.list_tags(ds)] == [("prod", 2)]
    db.delete_tag(ds, "prod")
    assert db.list_tags(ds) == []
    moves = [(m.from_version, m.to_version) for m in db.tag_history(ds, "prod")]
    assert moves == [(None, 1), (1, 2), (2, None)]
    with pytest.raises(NotFoundError):
        db.get_version(ds, "prod")
    with pytest.raises(NotFoundError):
        db.tag_history(ds, "never")


def test_update_and_delete_name_their_versions(db: DatasetLog) -> None:
    """update_datapoint and delete_datapoints take version_name too (per dataset for deletes)."""
    one, two = _dataset(db), db.create_dataset(project_id="pr", name="two").id
    a = db.create_datapoint(one, [{}])[0]
    b = db.create_datapoint(two, [{}])[0]
    db.update_datapoint(a.id, inputs={"q": "x"}, version_name="fixed")
    db.delete_datapoints([a.id, b.id], version_name="pruned")
    assert db.get_version(one, "fixed").number == 2
    assert db.get_version(one, "pruned").number == 3
    assert db.get_version(two, "pruned").number == 2


def test_as_of_reads_the_version_latest_at_an_instant() -> None:
    """as_of finds the version committed at or before an instant, whatever its offset."""
    ticks = iter(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=h) for h in range(100))
    db = DatasetLog(":memory:", clock=lambda: next(ticks))
    ds = _dataset(db)  # 00:00
    db.create_datapoint(ds, [{}])  # 01:00
    db.set_tag(ds, "prod", 1)  # 02:00, not a version
    db.create_datapoint(ds, [{}])  # 03:00
    paris = timezone(timedelta(hours=1))
    at = datetime(2026, 1, 1, 2, 30, tzinfo=UTC)
    assert db.get_version(ds, as_of=at).number == 1
    assert db.get_version(ds, as_of=at.astimezone(paris)).number == 1
    assert db.list_datapoints(ds, as_of=datetime(2026, 1, 1, 3, tzinfo=UTC)).version.number == 2
    with pytest.raises(NotFoundError):
        db.get_version(ds, as_of=datetime(2025, 12, 31, tzinfo=UTC))
    with pytest.raises(ValidationError) as raised:
        db.get_version(ds, 1, as_of=at)
    assert raised.value.details[0].loc == ("query", "as_of")
    with pytest.raises(ValidationError):
        list(db.iter_datapoints(ds, as_of=datetime(2026, 1, 1)))


def test_diff_compares_content_strictly_and_by_path(db: DatasetLog) -> None:
    """1, 1.0 and true differ; a missing key is not null; paths reach into messages."""
    ds = _dataset(db)
    dp = db.create_datapoint(
        ds, {"messages": [{"role": "user", "content": "hi"}], "target": {"n": 1, "k": {"x": None}}}
    )[0]
    db.update_datapoint(
        dp.id,
        messages=[{"role": "user", "content": "hello"}],
        target={"n": 1.0, "k": {}, "m": True},
    )
    (change,) = db.diff(ds, 1, 2).changed
    assert change.fields == [
        FieldChange(("messages", 0, "content"), "hi", "hello"),
        FieldChange(("target", "k", "x"), None, ABSENT),
        FieldChange(("target", "m"), ABSENT, True),
        FieldChange(("target", "n"), 1, 1.0),
    ]
    rendered = orjson.loads(to_v4_json(db.diff(ds, 2, 1)))
    assert rendered["counts"] == {"added": 0, "removed": 0, "changed": 1}
    assert rendered["changed"][0]["fields"][1] == {"path": ["target", "k", "x"], "new": None}
    assert rendered["base"]["number"] == 2


def test_a_datapoint_updated_back_is_unchanged(db: DatasetLog) -> None:
    """Two versions holding equal content do not differ, whatever happened between them."""
    ds = _dataset(db)
    dp = db.create_datapoint(ds, {"target": {"a": 1}})[0]
    db.update_datapoint(dp.id, target={"a": 2})
    db.update_datapoint(dp.id, target={"a": 1})
    assert not db.diff(ds, 1, 3)
    assert db.diff(ds, 1, 2).counts.changed == 1
    assert list(db.iter_diff(ds, 3, 1)) == []


def test_a_datapoint_as_a_version_held_it(db: DatasetLog) -> None:
    """get_datapoint(version=) reads any version; absent there, or unknown, is not found."""
    ds = _dataset(db)
    dp = db.create_datapoint(ds, {"target": {"a": 1}})[0]
    db.update_datapoint(dp.id, target={"a": 2})
    db.delete_datapoints([dp.id])
    assert db.get_datapoint(dp.id, version=1) == dp
    assert db.get_datapoint(dp.id, version="2").target == {"a": 2}
    for call in (
        lambda: db.get_datapoint(dp.id),
        lambda: db.get_datapoint(dp.id, version=0),
        lambda: db.get_datapoint(dp.id, version=3),
        lambda: db.datapoint_history("dp_missing"),
    ):
        with pytest.raises(NotFoundError):
            call()


def test_every_read_names_the_version_it_read(db: DatasetLog) -> None:
    """A page (object or JSON) and a diff carry the concrete versions, however referred to."""
    ds = _dataset(db)
    db.create_datapoint(ds, [{}], version_name="golden")
    version = db.get_version(ds, 1)
    assert db.list_datapoints(ds, version="golden").version == version
    page = orjson.loads(db.list_datapoints_json(ds, version=version.id))
    assert page["version"] == to_v4(version)
    assert db.diff(ds, "golden", 0).base == version


def test_iter_diff_checks_its_arguments_at_the_call(db: DatasetLog) -> None:
    """A bad batch or an unknown version raises before any entry is read."""
    ds = _dataset(db)
    with pytest.raises(ValidationError):
        db.iter_diff(ds, 0, 0, batch=0)
    with pytest.raises(NotFoundError):
        db.iter_diff(ds, 0, "nope")
