"""A state machine for forks and merges, with the projector as the reference.

:class:`ForkMachine` forks datasets (forks of forks too), changes every
dataset with every write (creates, updates, deletes, upserts, restores),
merges forks and sources both ways with every ``on_conflict`` and dry runs,
and checks:

- each merge's conflicts and the target's datapoints afterwards against
  :func:`~datasetlog.projector.reference_merge`, computed from the commits
  before the merge; a failing merge writes nothing;
- after every step, every version of every dataset on every read path
  (streamed, paged, by id, as JSON) against the projector's fold of the
  dataset's commits, and datapoint histories against its reference.

Contents are drawn from a small pool, so that both sides of a merge often
touch the same datapoint. Run it from a factory, as every machine of the kit
(see :mod:`datasetlog.testing.machine`)::

    run_state_machine_as_test(lambda: ForkMachine(partial(DatasetLog, MyStore())))

Added in 0.2.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from functools import partial
from typing import Any

import orjson

try:
    import pytest
    from hypothesis import note
    from hypothesis import strategies as st
    from hypothesis.stateful import initialize, invariant, precondition, rule
except ImportError as error:
    raise ImportError(
        "datasetlog.testing.forks needs hypothesis and pytest: pip install 'datasetlog[testing]'"
    ) from error

from datasetlog import (
    ConflictError,
    MergeConflictError,
    NotFoundError,
    OnConflict,
    ValidationError,
    to_v4,
)
from datasetlog.content import content_key
from datasetlog.events import Commit, DatapointRecord
from datasetlog.projector import (
    DatasetState,
    merge_base,
    project,
    project_versions,
    reference_history,
    reference_merge,
    sources_from,
)
from datasetlog.serialization.codec import decode_commit
from datasetlog.serialization.converter import converter
from datasetlog.serialization.decode import datapoint_from_record
from datasetlog.testing.machine import BaseMachine, OpenDb

POOL = [{"inputs": {"q": q}, "target": {"a": a}} for q, a in itertools.product("xyz", (0, 1))] + [
    {"inputs": {"q": "x"}},
    {},
]
"""The contents datapoints are drawn from: few, so that merges meet."""

contents = st.sampled_from(POOL)


def _key(data: dict[str, Any]) -> bytes:
    return content_key(data)


class ForkMachine(BaseMachine):
    """Forks, merges and every write on them, checked against the projector.

    Args:
        open_db: As for :class:`~datasetlog.testing.machine.BaseMachine`.
        cleanup: As for :class:`~datasetlog.testing.machine.BaseMachine`.
    """

    def __init__(self, open_db: OpenDb, *, cleanup: Callable[[], None] | None = None) -> None:
        super().__init__(open_db, cleanup=cleanup)
        self.datasets: list[str] = []
        self.names = itertools.count()

    @initialize()
    def start_with_main(self) -> None:
        """Begin with one dataset of four datapoints, for every fork to come from."""
        main = self.db.create_dataset(project_id="p", name="main")
        self.db.create_datapoint(main.id, POOL[:4])
        self.datasets.append(main.id)

    # -- the reference -------------------------------------------------------------------------

    def commits(self, dataset_id: str) -> list[Commit]:
        """A dataset's commits, decoded."""
        return [decode_commit(c) for c in self.db.store.read_stream(dataset_id)]

    def sources(self) -> Callable[[str, int], DatasetState]:
        """Forked versions' states, folded from the store's commits."""
        return sources_from(self.commits)

    def versions(self, dataset_id: str) -> tuple[list[dict[str, DatapointRecord]], DatasetState]:
        """A dataset's datapoints at every version, by number, and its latest state."""
        commits = self.commits(dataset_id)
        sources = self.sources()
        records = [dict(state.records) for _, state in project_versions(commits, sources=sources)]
        return records, project(commits, sources=sources)

    def ids(self, data: st.DataObject, dataset_id: str) -> list[str]:
        """Some datapoint ids of a dataset's latest version (maybe none)."""
        held = [d.id for d in self.db.iter_datapoints(dataset_id)]
        if not held:
            return []
        return data.draw(st.lists(st.sampled_from(held), max_size=2, unique=True), label="ids")

    # -- rules ---------------------------------------------------------------------------------

    @precondition(lambda self: len(self.datasets) < 5)
    @rule(data=st.data())
    def fork(self, data: st.DataObject) -> None:
        """Fork a version of any dataset (forks of forks too)."""
        source = data.draw(st.sampled_from(self.datasets), label="source")
        latest = self.db.get_version(source).number
        version = data.draw(st.integers(0, latest), label="version")
        fork = self.db.fork(source, version=version, name=f"fork-{next(self.names)}")
        assert fork.forked_from is not None
        assert (fork.forked_from.dataset_id, fork.forked_from.version) == (source, version)
        assert fork.datapoint_count == self.db.get_version(source, version).datapoint_count
        self.datasets.append(fork.id)

    @rule(data=st.data(), bodies=st.lists(contents, min_size=1, max_size=3))
    def add(self, data: st.DataObject, bodies: list[dict[str, Any]]) -> None:
        """Add datapoints to a dataset."""
        ds = data.draw(st.sampled_from(self.datasets), label="dataset")
        self.db.create_datapoint(ds, bodies)

    @rule(data=st.data(), body=contents)
    def update(self, data: st.DataObject, body: dict[str, Any]) -> None:
        """Replace a datapoint's content (inherited ones too)."""
        ds = data.draw(st.sampled_from(self.datasets), label="dataset")
        ids = self.ids(data, ds)
        if ids and body:
            self.db.update_datapoint(ids[0], **body)

    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        """Delete datapoints of a dataset."""
        ds = data.draw(st.sampled_from(self.datasets), label="dataset")
        ids = self.ids(data, ds)
        if ids:
            self.db.delete_datapoints(ids)

    @rule(
        data=st.data(),
        action=st.sampled_from(("set", "add", "remove")),
        bodies=st.lists(contents, max_size=4),
    )
    def upsert(self, data: st.DataObject, action: str, bodies: list[dict[str, Any]]) -> None:
        """Upsert with any action on any base version of any dataset, forks included."""
        ds = data.draw(st.sampled_from(self.datasets), label="dataset")
        latest = self.db.get_version(ds).number
        base = data.draw(st.integers(0, latest), label="base")
        before = {_key(converter.unstructure(d)) for d in self.db.iter_datapoints(ds, version=base)}
        self.db.upsert(ds, bodies, action=action, base=base, allow_empty=True)
        asked = {_key(body) for body in bodies}
        now = {_key(converter.unstructure(d)) for d in self.db.iter_datapoints(ds)}
        expected = {"set": asked, "add": before | asked, "remove": before - asked}[action]
        assert now == expected

    @rule(data=st.data())
    def restore(self, data: st.DataObject) -> None:
        """Restore an earlier version of any dataset."""
        ds = data.draw(st.sampled_from(self.datasets), label="dataset")
        latest = self.db.get_version(ds).number
        self.db.restore(ds, data.draw(st.integers(0, latest), label="version"))

    @precondition(lambda self: len(self.datasets) > 1)
    @rule(
        data=st.data(),
        on_conflict=st.sampled_from(("fail", "source", "target")),
        dry_run=st.booleans(),
    )
    def merge(self, data: st.DataObject, on_conflict: OnConflict, dry_run: bool) -> None:
        """Merge any dataset into any other; the reference says what must happen."""
        pair = st.permutations(self.datasets).map(lambda order: tuple(order[:2]))
        source, target = data.draw(pair, label="source, target")
        source_versions, source_state = self.versions(source)
        _, target_state = self.versions(target)
        merge = partial(
            self.db.merge, source, into=target, on_conflict=on_conflict, dry_run=dry_run
        )
        head = self.db.get_version(target)
        if merge_base(source_state, target_state) is None:
            with pytest.raises(ValidationError) as unrelated:
                merge()
            assert unrelated.value.details[0].type == "unrelated"
            assert self.db.get_version(target) == head
            return
        expected = reference_merge(source_versions, source_state, target_state, on_conflict)
        note(f"merge {source} -> {target}: conflicts {expected.conflicts}")
        if expected.conflicts and on_conflict == "fail" and not dry_run:
            with pytest.raises(MergeConflictError) as failed:
                merge()
            found = sorted(c.datapoint_id for c in failed.value.conflicts)
            assert found == sorted(expected.conflicts)
            assert self.db.get_version(target) == head
            return
        result = merge()
        assert sorted(c.datapoint_id for c in result.conflicts) == sorted(expected.conflicts)
        assert result.source == self.db.get_version(source)
        if dry_run or not expected.changed:
            assert not result.committed
            assert self.db.get_version(target) == head == result.version
            return
        assert result.committed
        assert result.version == self.db.get_version(target)
        assert result.version.number == head.number + 1
        after = {d.id: _key(converter.unstructure(d)) for d in self.db.iter_datapoints(target)}
        assert after == expected.content
        counts = result.counts
        assert result.version.datapoint_count == head.datapoint_count + counts.added - (
            counts.removed
        )

    @rule(data=st.data())
    def bad_merge_options(self, data: st.DataObject) -> None:
        """Bad options and unknown datasets change nothing."""
        ds = data.draw(st.sampled_from(self.datasets), label="dataset")
        head = self.db.get_version(ds)
        calls: list[tuple[Callable[[], object], type[Exception]]] = [
            (partial(self.db.merge, ds, into=ds), ValidationError),
            (partial(self.db.merge, ds, into="evts_missing"), NotFoundError),
            (partial(self.db.merge, ds, into=ds, on_conflict="ours"), ValidationError),  # type: ignore[arg-type]
            (partial(self.db.fork, ds, name="main"), ConflictError),
        ]
        for call, error in calls:
            with pytest.raises(error):
                call()
            assert self.db.get_version(ds) == head

    # -- invariants ----------------------------------------------------------------------------

    @invariant()
    def every_version_reads_as_projected(self) -> None:
        """Every version of every dataset, on every read path, is the projector's fold."""
        sources = self.sources()
        for ds in self.datasets:
            commits = self.commits(ds)
            for number, state in project_versions(commits, sources=sources):
                expected = [
                    to_v4(datapoint_from_record(ds, record)) for record in state.records.values()
                ]
                assert list(self.db.iter_datapoints_v4(ds, version=number)) == expected
                streamed = b"".join(self.db.iter_datapoints_json(ds, version=number, batch=2))
                assert orjson.loads(streamed) == expected
                lines = self.db.iter_datapoints_json(ds, version=number, batch=2, lines=True)
                assert [orjson.loads(line) for line in b"".join(lines).splitlines()] == expected
                assert to_v4(list(self.db.iter_datapoints(ds, version=number, batch=3))) == expected
                page = orjson.loads(self.db.list_datapoints_json(ds, version=number, size=2))
                assert page["records"] == expected[:2]
                paged = []
                for page in range(1, len(expected) // 3 + 2):
                    paged += to_v4(
                        self.db.list_datapoints(ds, version=number, page=page, size=3).records
                    )
                assert paged == expected
            latest = project(commits, sources=sources)
            assert to_v4(self.db.get_dataset(ds)) == to_v4(latest.dataset())
            for datapoint_id, record in latest.records.items():
                got = self.db.get_datapoint(datapoint_id)
                assert to_v4(got) == to_v4(datapoint_from_record(ds, record))
                assert self.db.get_datapoint(datapoint_id, version=latest.version.number) == got
                history = reference_history(commits, datapoint_id, sources=sources)
                assert to_v4(self.db.datapoint_history(datapoint_id)) == to_v4(history)

    @rule()
    def verify_is_clean(self) -> None:
        """verify() finds nothing wrong: the replayed read models and the fold agree."""
        report = self.db.verify()
        assert report.ok, report
