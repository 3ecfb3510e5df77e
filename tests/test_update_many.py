"""update_datapoints: many edits by id as one version per dataset, all or nothing."""

from __future__ import annotations

from typing import Any

import pytest

from datasetlog import Datapoint, DatasetLog, NotFoundError, ValidationError, to_v4


def _state(db: DatasetLog, *datasets: str) -> Any:
    return [(to_v4(db.list_versions(ds)), to_v4(list(db.iter_datapoints(ds)))) for ds in datasets]


def test_many_updates_are_one_version_in_request_order(db: DatasetLog) -> None:
    """Three updates of one dataset: one version, each field replaced as update_datapoint does."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    made = db.create_datapoint(
        ds, [{"inputs": {"q": str(i)}, "target": {"a": i}} for i in range(4)]
    )
    updated = db.update_datapoints(
        [
            {"id": made[2].id, "target": {"a": "two"}},
            {"id": made[0].id, "inputs": {"q": "zero"}},
            {"id": made[3].id, "messages": [{"role": "user", "content": "hi"}]},
        ],
        version_name="fixed",
    )
    assert [d.id for d in updated] == [made[2].id, made[0].id, made[3].id]
    [version] = db.list_versions(ds)[2:]
    assert (version.message, version.name) == ("Update 3 datapoints", "fixed")
    now = {d.id: d for d in db.iter_datapoints(ds)}
    assert (now[made[2].id].inputs, now[made[2].id].target) == ({"q": "2"}, {"a": "two"})
    assert (now[made[0].id].inputs, now[made[0].id].target) == ({"q": "zero"}, {"a": 0})
    assert now[made[3].id].messages is not None
    assert [now[d.id] for d in updated] == updated
    assert [r.change for r in db.datapoint_history(made[2].id)] == ["added", "changed"]
    assert db.verify()


def test_updates_across_a_fork_and_its_source_commit_one_version_each(db: DatasetLog) -> None:
    """Ids of two datasets: each gets one version."""
    main = db.create_dataset(project_id="pr", name="main").id
    [mine] = db.create_datapoint(main, {"inputs": {"q": "a"}})
    fork = db.fork(main, name="fork").id
    [theirs] = list(db.iter_datapoints(fork))
    db.update_datapoints(
        [{"id": mine.id, "target": {"x": 1}}, {"id": theirs.id, "target": {"x": 2}}]
    )
    assert [v.message for v in db.list_versions(main)][-1] == "Update 1 datapoint"
    assert [v.message for v in db.list_versions(fork)][-1] == "Update 1 datapoint"
    assert next(iter(db.iter_datapoints(fork))).target == {"x": 2}


def test_bad_updates_are_refused_together_and_write_nothing(db: DatasetLog) -> None:
    """Every problem of the list is named at its place; nothing is written."""
    ds = db.create_dataset(project_id="pr", name="qa").id
    [a, b] = db.create_datapoint(ds, [{}, {}])
    before = _state(db, ds)
    with pytest.raises(ValidationError) as refused:
        db.update_datapoints(
            [
                {"id": a.id, "target": {"ok": True}},
                {"target": {"a": 1}},
                {"id": a.id, "inputs": {"q": "again"}},
                {"id": b.id},
                {"id": b.id, "input": {"q": "typo"}},
                {"id": b.id, "inputs": {"q": 1}},
                "not an object",  # type: ignore[list-item]
            ]
        )
    found = [(d.loc, d.type) for d in refused.value.details]
    assert (("body", 1, "id"), "string_type") in found
    assert (("body", 2, "id"), "duplicate") in found
    assert (("body", 3), "missing") in found
    assert (("body", 4, "input"), "extra_forbidden") in found
    assert ("body", 5, "inputs", "q") in [loc for loc, _ in found]
    assert (("body", 6), "dict_type") in found
    assert _state(db, ds) == before
    empties: list[Any] = [[], "dp_x", None]
    for empty in empties:
        with pytest.raises(ValidationError):
            db.update_datapoints(empty)
    assert _state(db, ds) == before


def test_an_unknown_id_writes_nothing_in_any_dataset(db: DatasetLog) -> None:
    """One id of no live datapoint: NotFoundError, and no dataset changed."""
    one = db.create_dataset(project_id="pr", name="one").id
    two = db.create_dataset(project_id="pr", name="two").id
    [a] = db.create_datapoint(one, {})
    [b] = db.create_datapoint(two, {})
    before = _state(db, one, two)
    with pytest.raises(NotFoundError, match="dp_gone"):
        db.update_datapoints(
            [
                {"id": a.id, "target": {}},
                {"id": b.id, "target": {}},
                {"id": "dp_gone", "target": {}},
            ]
        )
    assert _state(db, one, two) == before


def test_a_fork_updating_hundreds_of_its_own_and_inherited_datapoints_at_once(
    db: DatasetLog,
) -> None:
    """650 updates in one commit, interleaving a fork's own datapoints with ones it inherits
    (the read models end their spans some hundreds at a time): every version reads as made."""
    main = db.create_dataset(project_id="pr", name="main").id
    db.create_datapoint(main, [{"inputs": {"n": str(i)}, "target": {"v": 0}} for i in range(400)])
    fork = db.fork(main, name="fork").id
    db.create_datapoint(
        fork, [{"inputs": {"n": str(400 + i)}, "target": {"v": 0}} for i in range(300)]
    )
    held = list(db.iter_datapoints(fork))

    def number(datapoint: Datapoint) -> str:
        assert datapoint.inputs is not None
        return datapoint.inputs["n"]

    chosen = [d for d in held if int(number(d)) % 7 != 3][:650]
    chosen = chosen[::2] + chosen[1::2]  # inherited and own, interleaved in no order
    db.update_datapoints([{"id": d.id, "target": {"v": number(d)}} for d in chosen])
    edited = {number(d) for d in chosen}
    after = [(d.id, d.inputs, d.target) for d in db.iter_datapoints(fork)]
    assert after == [(d.id, d.inputs, {"v": number(d) if number(d) in edited else 0}) for d in held]
    versions = db.list_versions(fork)
    before = [
        (d.id, d.inputs, d.target) for d in db.iter_datapoints(fork, version=versions[-2].number)
    ]
    assert before == [(d.id, d.inputs, d.target) for d in held]
    assert [d.target for d in db.iter_datapoints(main)] == [{"v": 0}] * 400
    assert db.verify()
