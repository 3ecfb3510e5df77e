"""Editing a dataset from a file keeps its identity: keyed sync, dry runs and the empty guard."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest

from datasetlog import DatasetLog, Diff, UpsertResult, ValidationError, to_v4
from datasetlog.transfer import export_dataset, import_datapoints

PROBLEMS = [
    {
        "inputs": {"task_id": f"HumanEval/{i}", "prompt": f"def f{i}(x):\n"},
        "target": {"test": f"assert f{i}(1) == {i}", "entry_point": f"f{i}"},
    }
    for i in range(164)  # as many as HumanEval holds
]


def _state(db: DatasetLog, ds: str) -> Any:
    return to_v4(db.list_versions(ds)), [to_v4(d) for d in db.iter_datapoints(ds)]


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def _jsonl(records: list[dict[str, Any]]) -> io.BytesIO:
    return io.BytesIO(b"".join(orjson.dumps(r) + b"\n" for r in records))


@pytest.mark.parametrize("key", ["id", "inputs.task_id"])
def test_an_edited_export_synced_by_key_keeps_every_identity(
    db: DatasetLog, tmp_path: Path, key: str
) -> None:
    """Export, edit 5 tests, delete 2, add 1, keyed set: 1 added, 2 removed, 5 changed;
    edited datapoints keep their ids, places and histories, and restore is exact."""
    ds = db.create_dataset(project_id="pr", name="humaneval").id
    original = db.create_datapoint(ds, PROBLEMS)
    export_dataset(db, ds, tmp_path / "he.jsonl")
    records = _lines(tmp_path / "he.jsonl")
    for record in records[:5]:
        record["target"] = {**record["target"], "test": record["target"]["test"] + " # fixed"}
    del records[7:9]
    records.append({"inputs": {"task_id": "HumanEval/164", "prompt": "def g():\n"}})

    preview = import_datapoints(
        db, ds, _jsonl(records), format="jsonl", action="set", key=key, dry_run=True
    )
    assert isinstance(preview, Diff)
    assert (preview.counts.added, preview.counts.removed, preview.counts.changed) == (1, 2, 5)
    assert [v.number for v in db.list_versions(ds)] == [0, 1]  # the dry run wrote nothing

    done = import_datapoints(db, ds, _jsonl(records), format="jsonl", action="set", key=key)
    assert (done.added, done.removed, done.changed, done.ignored) == (1, 2, 5, len(PROBLEMS) - 7)
    diff = db.diff(ds, 1, 2)
    assert [c.datapoint_id for c in diff.changed] == [d.id for d in original[:5]]
    assert [d.id for d in diff.removed] == [d.id for d in original[7:9]]
    assert [d.inputs for d in diff.added] == [{"task_id": "HumanEval/164", "prompt": "def g():\n"}]
    now = list(db.iter_datapoints(ds))
    kept = [d for i, d in enumerate(original) if i not in (7, 8)]
    assert [d.id for d in now[:-1]] == [d.id for d in kept]  # same places
    assert now[0].created_at == original[0].created_at < now[0].updated_at
    assert [r.change for r in db.datapoint_history(original[0].id)] == ["added", "changed"]
    assert db.datapoint_history(original[0].id)[-1].datapoint == now[0]

    restored = db.restore(ds, 1)
    assert [to_v4(d) for d in db.iter_datapoints(ds, version=restored.number)] == [
        to_v4(d) for d in db.iter_datapoints(ds, version=1)
    ]
    assert db.verify()


def test_whole_and_streamed_keyed_syncs_agree(db: DatasetLog) -> None:
    """upsert and upsert_stream with one key give the same datapoints and counts."""
    a = db.create_dataset(project_id="pr", name="a").id
    b = db.create_dataset(project_id="pr", name="b").id
    for ds in (a, b):
        db.create_datapoint(ds, PROBLEMS[:6])
    items = [{**p, "target": {"test": "changed"}} for p in PROBLEMS[:3]] + PROBLEMS[8:10]
    for action in ("add", "set", "remove"):
        whole = db.upsert(a, items, action=action, key="inputs.task_id")
        streamed = db.upsert_stream(
            b, lambda: iter([items[:2], items[2:]]), action=action, key="inputs.task_id"
        )
        assert (whole.added, whole.removed, whole.changed, whole.ignored) == (
            streamed.added,
            streamed.removed,
            streamed.changed,
            streamed.ignored,
        )
        assert [(d.inputs, d.target) for d in db.iter_datapoints(a)] == [
            (d.inputs, d.target) for d in db.iter_datapoints(b)
        ]


@pytest.mark.parametrize("streamed", [False, True])
def test_missing_and_repeated_keys_are_refused_naming_the_items(
    db: DatasetLog, streamed: bool
) -> None:
    """A key missing from an item, or given twice, is one ValidationError naming each item."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    db.create_datapoint(ds, PROBLEMS[:3])
    before = _state(db, ds)
    new = PROBLEMS[5]
    items = [PROBLEMS[0], {"inputs": {"prompt": "no task id"}}, PROBLEMS[1], PROBLEMS[0], new, new]

    def call() -> Any:
        if streamed:
            return db.upsert_stream(ds, lambda: iter([items]), key="inputs.task_id")
        return db.upsert(ds, items, key="inputs.task_id")

    with pytest.raises(ValidationError) as refused:
        call()
    found = {(d.loc, d.type) for d in refused.value.details}
    assert found == {
        (("body", 1), "missing_key"),
        (("body", 3), "duplicate_key"),  # a key the base holds
        (("body", 5), "duplicate_key"),  # a new one
    }
    twice = {d.loc: d.msg for d in refused.value.details if d.type == "duplicate_key"}
    assert "also at body.0" in twice[("body", 3)]
    assert "also at body.4" in twice[("body", 5)]
    assert _state(db, ds) == before


@pytest.mark.parametrize("streamed", [False, True])
def test_a_key_the_base_holds_twice_is_refused_naming_the_datapoints(
    db: DatasetLog, streamed: bool
) -> None:
    """Two base datapoints with one key: refused, naming both ids; nothing written."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    twins = db.create_datapoint(ds, [PROBLEMS[0], {**PROBLEMS[0], "target": {"test": "other"}}])
    before = _state(db, ds)

    def call() -> Any:
        if streamed:
            return db.upsert_stream(ds, lambda: iter([PROBLEMS[:1]]), key="inputs.task_id")
        return db.upsert(ds, PROBLEMS[:1], key="inputs.task_id")

    with pytest.raises(ValidationError, match="2 times") as refused:
        call()
    assert all(d.id in str(refused.value.details) for d in twins)
    assert _state(db, ds) == before


def test_an_id_the_base_lacks_is_refused_and_an_item_without_one_is_new(db: DatasetLog) -> None:
    """With key='id' an unknown id is a not_found problem; an item without an id is added."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    [held] = db.create_datapoint(ds, PROBLEMS[:1])
    before = _state(db, ds)
    with pytest.raises(ValidationError) as refused:
        db.upsert(ds, [{"id": "dp_typo", **PROBLEMS[1]}], key="id", action="add")
    assert [(d.loc, d.type) for d in refused.value.details] == [(("body", 0, "id"), "not_found")]
    assert _state(db, ds) == before
    result = db.upsert(ds, [{"id": held.id, **PROBLEMS[0]}, PROBLEMS[1]], key="id", action="add")
    assert (result.added, result.changed, result.ignored) == (1, 0, 1)


def test_a_set_from_nothing_is_refused_unless_meant(db: DatasetLog) -> None:
    """An empty set (a failed producer piped into an import) does not empty the dataset."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    db.create_datapoint(ds, PROBLEMS[:2])
    before = _state(db, ds)
    for call in (
        lambda: db.upsert(ds, []),
        lambda: db.upsert_stream(ds, lambda: iter([])),
        lambda: import_datapoints(db, ds, io.BytesIO(b""), format="jsonl", action="set"),
    ):
        with pytest.raises(ValidationError) as refused:
            call()
        assert [d.type for d in refused.value.details] == ["empty_set"]
        assert _state(db, ds) == before
    emptied = import_datapoints(
        db, ds, io.BytesIO(b""), format="jsonl", action="set", allow_empty=True
    )
    assert (emptied.removed, db.get_dataset(ds).datapoint_count) == (2, 0)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_every_format_syncs_by_id(db: DatasetLog, tmp_path: Path, fmt: str) -> None:
    """An export re-imported by id changes nothing; with one datapoint edited, one change."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    db.create_datapoint(ds, PROBLEMS[:4])
    out = tmp_path / f"qa.{fmt}"
    export_dataset(db, ds, out)
    again = import_datapoints(db, ds, out, action="set", key="id")
    assert (again.committed, again.ignored) == (False, 4)
    dry = import_datapoints(db, ds, out, action="set", key="inputs.task_id", dry_run=True)
    assert isinstance(dry, Diff)
    assert not dry


def test_a_dry_run_says_what_an_upsert_would_do_and_writes_nothing(db: DatasetLog) -> None:
    """A dry run's diff equals the diff of the same upsert committed afterwards."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    db.create_datapoint(ds, PROBLEMS[:5])
    before = _state(db, ds)
    items = [{**p, "target": {"test": "x"}} for p in PROBLEMS[:2]] + PROBLEMS[6:7]
    preview = db.upsert(ds, items, key="inputs.task_id", dry_run=True)
    assert _state(db, ds) == before
    done = db.upsert(ds, items, key="inputs.task_id")
    assert isinstance(done, UpsertResult)
    committed = db.diff(ds, 1, done.version.number)
    assert [(c.datapoint_id, c.fields) for c in preview.changed] == [
        (c.datapoint_id, c.fields) for c in committed.changed
    ]  # the same changes, stamped a moment apart
    assert [to_v4(d) for d in preview.removed] == [to_v4(d) for d in committed.removed]
    assert [d.inputs for d in preview.added] == [d.inputs for d in committed.added]
