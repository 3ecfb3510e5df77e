"""Forks and merges, by example: identity, isolation, three-way merges, conflicts, syncing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from datasetlog import (
    ConflictError,
    DatasetLog,
    ForkPoint,
    MergeConflictError,
    NotFoundError,
    SQLiteEventStore,
    ValidationError,
    to_v4,
)
from datasetlog.store.sqlite import SQLiteConnection


@pytest.fixture
def log() -> Iterator[DatasetLog]:
    with DatasetLog(":memory:") as db:
        yield db


def _main(log: DatasetLog, n: int = 3) -> str:
    ds = log.create_dataset(project_id="p", name="main")
    log.create_datapoint(ds.id, [{"inputs": {"q": str(i)}, "target": {"a": i}} for i in range(n)])
    return ds.id


def _targets(log: DatasetLog, ds: str) -> list[object]:
    return [d.target for d in log.iter_datapoints(ds)]


def test_a_fork_holds_the_version_it_forks_under_its_own_ids(log: DatasetLog) -> None:
    main = _main(log)
    log.set_tag(main, "golden", 1)
    log.create_datapoint(main, {"inputs": {"q": "later"}})
    fork = log.fork(main, version="golden", name="candidate", description="try")
    assert fork.forked_from == ForkPoint(main, 1)
    assert to_v4(fork)["forked_from"] == {"dataset_id": main, "version": 1}
    assert "forked_from" not in to_v4(log.get_dataset(main))
    assert (fork.datapoint_count, fork.project_id) == (3, "p")
    version = log.get_version(fork.id)
    assert (version.number, version.message) == (0, "Fork main at version 1")
    parent = list(log.iter_datapoints(main, version=1))
    mine = list(log.iter_datapoints(fork.id))
    suffix = "." + fork.id.removeprefix("evts_")
    assert [d.id for d in mine] == [d.id + suffix for d in parent]
    assert [d.dataset_id for d in mine] == [fork.id] * 3
    assert [(d.inputs, d.target, d.created_at) for d in mine] == [
        (d.inputs, d.target, d.created_at) for d in parent
    ]
    assert log.get_datapoint(mine[0].id) == mine[0]
    assert log.get_datapoint(parent[0].id) == parent[0]  # each id names one datapoint
    page = log.list_datapoints_json(fork.id, size=2)
    assert page.count(suffix.encode()) == 2


def test_writes_on_a_fork_leave_its_source_as_it_was(log: DatasetLog) -> None:
    main = _main(log)
    before = list(log.iter_datapoints_v4(main)), log.list_versions(main)
    fork = log.fork(main, name="candidate").id
    ids = [d.id for d in log.iter_datapoints(fork)]
    log.update_datapoint(ids[0], target={"a": "changed"})
    log.delete_datapoints([ids[1]])
    log.create_datapoint(fork, {"inputs": {"q": "new"}})
    log.upsert(fork, [{"inputs": {"q": "set"}}], action="add")
    log.restore(fork, 0)
    assert (list(log.iter_datapoints_v4(main)), log.list_versions(main)) == before
    assert _targets(log, fork) == [{"a": 0}, {"a": 1}, {"a": 2}]
    assert log.verify().ok


def test_forks_of_forks_and_of_deleted_sources(log: DatasetLog) -> None:
    main = _main(log, 2)
    first = log.fork(main, name="first").id
    second = log.fork(first, name="second")
    assert second.forked_from == ForkPoint(first, 0)
    root = next(iter(log.iter_datapoints(main))).id
    ids = [d.id for d in log.iter_datapoints(second.id)]
    assert ids[0] == root + "." + second.id.removeprefix("evts_")
    log.delete_dataset(main)
    assert _targets(log, second.id) == [{"a": 0}, {"a": 1}]
    with pytest.raises(NotFoundError):
        log.fork(main, name="gone")
    assert log.verify().ok


def test_fork_refuses_a_taken_name_a_bad_one_and_unknown_versions(log: DatasetLog) -> None:
    main = _main(log)
    with pytest.raises(ConflictError):
        log.fork(main, name="main")
    with pytest.raises(ValidationError) as bad:
        log.fork(main, name="")
    assert bad.value.details[0].loc == ("body", "name")
    with pytest.raises(NotFoundError):
        log.fork(main, name="x", version=9)
    assert [d.name for d in log.list_datasets("p")] == ["main"]


def test_merge_applies_the_forks_changes_as_one_commit_then_only_new_ones(log: DatasetLog) -> None:
    main = _main(log)
    fork = log.fork(main, name="candidate").id
    ids = [d.id for d in log.iter_datapoints(fork)]
    log.update_datapoint(ids[0], target={"a": "better"})
    log.delete_datapoints([ids[1]])
    log.create_datapoint(fork, {"inputs": {"q": "new"}, "target": {"a": 9}})
    preview = log.merge(fork, into=main, dry_run=True)
    assert not preview.committed
    assert preview.version == log.get_version(main)
    assert preview.counts.added == preview.counts.removed == preview.counts.changed == 1
    done = log.merge(fork, into=main)
    assert done.committed
    assert done.version.number == 2
    assert (
        done.version.message == "Merge candidate version 3: 1 datapoint added, 1 removed, 1 changed"
    )
    assert (done.added, done.removed, done.changed) == (
        preview.added,
        preview.removed,
        preview.changed,
    )
    assert _targets(log, main) == [{"a": "better"}, {"a": 2}, {"a": 9}]
    assert log.diff_datasets(main, fork).counts.changed == 0
    again = log.merge(fork, into=main)
    assert not again.committed
    assert again.version.number == 2
    log.update_datapoint(ids[2], target={"a": "third"})
    log.update_datapoint(next(iter(log.iter_datapoints(main))).id, target={"a": "main edit"})
    third = log.merge(fork, into=main)
    assert (third.base.number, third.counts.changed, third.conflicts) == (3, 1, [])
    assert _targets(log, main) == [{"a": "main edit"}, {"a": "third"}, {"a": 9}]
    assert log.verify().ok


def test_conflicts_fail_whole_or_are_settled_by_side(log: DatasetLog) -> None:
    main = _main(log)
    fork = log.fork(main, name="candidate").id
    mine = [d.id for d in log.iter_datapoints(fork)]
    theirs = [d.id for d in log.iter_datapoints(main)]
    log.update_datapoint(mine[0], target={"a": "fork"})
    log.update_datapoint(theirs[0], target={"a": "main"})
    log.update_datapoint(mine[1], target={"a": "fork only"})
    log.delete_datapoints([theirs[2]])
    log.update_datapoint(mine[2], target={"a": "fork edits what main deleted"})
    head = log.get_version(main)
    with pytest.raises(MergeConflictError) as failed:
        log.merge(fork, into=main)
    assert isinstance(failed.value, ConflictError)
    assert failed.value.status_code == 409
    conflicts = {c.datapoint_id: c for c in failed.value.conflicts}
    assert set(conflicts) == {theirs[0], theirs[2]}
    first = conflicts[theirs[0]]
    assert [side.target if side else None for side in (first.base, first.source, first.target)] == [
        {"a": 0},
        {"a": "fork"},
        {"a": "main"},
    ]
    assert conflicts[theirs[2]].target is None
    assert log.get_version(main) == head
    preview = log.merge(fork, into=main, dry_run=True)
    assert (len(preview.conflicts), preview.counts.changed) == (2, 1)
    kept = log.merge(fork, into=main, on_conflict="target")
    assert _targets(log, main) == [{"a": "main"}, {"a": "fork only"}]
    assert len(kept.conflicts) == 2
    log.restore(main, head.number)
    taken = log.merge(fork, into=main, on_conflict="source")
    assert not taken.conflicts  # the last merge took the fork's version in: only new changes count
    assert log.verify().ok


def test_taking_the_source_side_restores_what_the_target_deleted(log: DatasetLog) -> None:
    main = _main(log)
    fork = log.fork(main, name="candidate").id
    mine = [d.id for d in log.iter_datapoints(fork)]
    theirs = [d.id for d in log.iter_datapoints(main)]
    log.delete_datapoints([theirs[1]])
    log.update_datapoint(mine[1], target={"a": "kept"})
    merged = log.merge(fork, into=main, on_conflict="source")
    assert [d.id for d in merged.added] == [theirs[1]]
    assert [d.id for d in log.iter_datapoints(main)] == theirs  # back at its place
    assert _targets(log, main)[1] == {"a": "kept"}


def test_syncing_the_source_into_the_fork_makes_no_false_conflicts(log: DatasetLog) -> None:
    main = _main(log)
    fork = log.fork(main, name="candidate").id
    theirs = [d.id for d in log.iter_datapoints(main)]
    mine = [d.id for d in log.iter_datapoints(fork)]
    log.update_datapoint(theirs[0], target={"a": "main 1"})
    log.update_datapoint(mine[1], target={"a": "fork"})
    synced = log.merge(main, into=fork)
    assert synced.committed
    assert synced.counts.changed == 1
    log.update_datapoint(theirs[0], target={"a": "main 2"})  # main edits again after the sync
    log.update_datapoint(mine[2], target={"a": "fork after sync"})
    back = log.merge(fork, into=main)
    assert not back.conflicts
    assert _targets(log, main) == [{"a": "main 2"}, {"a": "fork"}, {"a": "fork after sync"}]
    log.update_datapoint(mine[0], target={"a": "fork edits the synced one"})
    (both,) = log.merge(fork, into=main, dry_run=True).conflicts  # both edited since the sync
    assert [side.target if side else None for side in (both.base, both.target)] == [
        {"a": "main 1"},
        {"a": "main 2"},
    ]


def test_datapoints_added_on_either_side_travel_with_their_identity(log: DatasetLog) -> None:
    main = _main(log, 1)
    fork = log.fork(main, name="candidate").id
    added = log.create_datapoint(fork, {"inputs": {"q": "from fork"}})[0]
    log.merge(fork, into=main)
    in_main = next(d for d in log.iter_datapoints(main) if d.inputs == {"q": "from fork"})
    assert in_main.id == added.id + "." + main.removeprefix("evts_")
    log.update_datapoint(in_main.id, target={"a": "main fixed it"})
    synced = log.merge(main, into=fork)
    assert [c.before.id for c in synced.changed if c.before] == [added.id]
    assert log.get_datapoint(added.id).target == {"a": "main fixed it"}


def test_merge_refuses_unrelated_datasets_itself_and_bad_options(log: DatasetLog) -> None:
    main = _main(log)
    other = log.create_dataset(project_id="p", name="other").id
    calls: list[tuple[Callable[[], object], tuple[str, ...]]] = [
        (lambda: log.merge(other, into=main), ("query", "into")),
        (lambda: log.merge(main, into=main), ("query", "into")),
        (
            lambda: log.merge(main, into=other, on_conflict="ours"),  # type: ignore[arg-type]
            ("query", "on_conflict"),
        ),
    ]
    for call, loc in calls:
        with pytest.raises(ValidationError) as bad:
            call()
        assert bad.value.details[0].loc == loc
    with pytest.raises(NotFoundError):
        log.merge("evts_missing", into=main)
    assert log.get_version(main).number == 1


def test_diff_datasets_matches_by_identity(log: DatasetLog) -> None:
    main = _main(log)
    fork = log.fork(main, name="candidate").id
    ids = [d.id for d in log.iter_datapoints(fork)]
    log.update_datapoint(ids[0], inputs={"q": "0"}, target={"a": 1})
    log.delete_datapoints([ids[1]])
    diff = log.diff_datasets(main, fork)
    assert (diff.base.dataset_id, diff.target.dataset_id) == (main, fork)
    assert [c.after.id for c in diff.changed if c.after] == [ids[0]]
    assert [d.target for d in diff.removed] == [{"a": 1}]
    assert not diff.added
    back = log.diff_datasets(fork, main, base_version=0, target_version=1)
    assert not back


def test_rebuilt_read_models_serve_forks_and_merges_alike(tmp_path: Path) -> None:
    with DatasetLog(tmp_path / "s.db") as log:
        main = _main(log)
        fork = log.fork(main, name="candidate").id
        log.update_datapoint(next(iter(log.iter_datapoints(fork))).id, target={"a": "x"})
        log.merge(fork, into=main)
        before = [list(log.iter_datapoints_v4(ds)) for ds in (main, fork)]
        log.rebuild()
        assert [list(log.iter_datapoints_v4(ds)) for ds in (main, fork)] == before
        assert log.verify().ok


def test_pages_of_a_fork_that_deleted_many_count_every_layer(log: DatasetLog) -> None:
    main = log.create_dataset(project_id="p", name="main").id
    log.create_datapoint(main, [{"inputs": {"q": str(i)}} for i in range(5000)])
    log.delete_datapoints([d.id for d in log.iter_datapoints(main)][:1200])
    fork = log.fork(main, name="candidate").id
    held = [d.id for d in log.iter_datapoints(fork)]
    log.delete_datapoints(held[100:1400])
    log.create_datapoint(fork, [{"inputs": {"q": f"new {i}"}} for i in range(10)])
    whole = [d.id for d in log.iter_datapoints(fork)]
    assert len(whole) == 5000 - 1200 - 1300 + 10
    for page in (1, 2, 17, 25, 26):
        found = log.list_datapoints(fork, page=page, size=100)
        assert [d.id for d in found] == whole[(page - 1) * 100 : page * 100]


def test_ctrl_c_at_any_statement_of_a_merge_leaves_it_undone_or_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A merge (with claims of inherited datapoints) interrupted anywhere commits all or nothing."""
    store = SQLiteEventStore(tmp_path / "s.db")
    calls = {"n": 0, "at": 0}

    def counted(run: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls["n"] += 1
            if calls["n"] == calls["at"]:
                raise KeyboardInterrupt
            return run(*args, **kwargs)

        return call

    with DatasetLog(store) as log:
        main = _main(log, 4)
        fork = log.fork(main, name="candidate").id
        theirs = [d.id for d in log.iter_datapoints(main)]
        log.update_datapoint(theirs[0], target={"a": "main"})
        log.delete_datapoints([theirs[1]])
        log.create_datapoint(main, {"inputs": {"q": "main's new"}})
        init = SQLiteConnection.__init__

        def interrupted(self: SQLiteConnection, raw: Any) -> None:  # an interrupt closes one
            init(self, raw)
            self.execute = counted(self.execute)
            self.insert_rows = counted(self.insert_rows)  # type: ignore[method-assign]

        monkeypatch.setattr(SQLiteConnection, "__init__", interrupted)
        conn = store.connection()
        conn.execute = counted(conn.execute)
        conn.insert_rows = counted(conn.insert_rows)  # type: ignore[method-assign]
        before = to_v4(log.list_versions(fork)), list(log.iter_datapoints_v4(fork))
        for at in range(1, 200):
            calls["n"], calls["at"] = 0, at
            try:
                log.merge(main, into=fork)
            except KeyboardInterrupt:
                calls["at"] = 0
                assert (
                    to_v4(log.list_versions(fork)),
                    list(log.iter_datapoints_v4(fork)),
                ) == before
                continue
            calls["at"] = 0
            break
        else:
            raise AssertionError("the merge never finished")
        assert at > 10  # it was interrupted at every statement before it finished
        assert [d.target for d in log.iter_datapoints(fork)] == [
            {"a": "main"},
            {"a": 2},
            {"a": 3},
            None,
        ]
        assert log.verify().ok
