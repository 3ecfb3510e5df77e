"""A hypothesis state machine that checks a DatasetLog over any backend against a plain model.

Run it, as every machine of the kit, from a factory that builds one machine on
a fresh store for each example (the arguments, and how to clean up:
:mod:`datasetlog.testing.machine`)::

    from functools import partial
    from hypothesis.stateful import run_state_machine_as_test
    from datasetlog import DatasetLog
    from datasetlog.testing.stateful import DatasetLogMachine

    def test_my_backend():
        run_state_machine_as_test(lambda: DatasetLogMachine(partial(DatasetLog, MyStore())))

Added in 0.1.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

try:
    import pytest
    from hypothesis import note
    from hypothesis import strategies as st
    from hypothesis.stateful import initialize, invariant, precondition, rule
except ImportError as error:
    raise ImportError(
        "datasetlog.testing.stateful needs hypothesis and pytest: pip install 'datasetlog[testing]'"
    ) from error

from datasetlog import ConflictError, NotFoundError, ValidationError, to_v4
from datasetlog.projector import project
from datasetlog.serialization.codec import decode_commit
from datasetlog.testing.checks import check_dataset, everything, expect_unchanged, fingerprint
from datasetlog.testing.machine import BaseMachine, OpenDb
from datasetlog.testing.oracle import (
    IDENTITY,
    LOG_IDS,
    NAMES,
    PROJECTS,
    Keyed,
    Model,
    ModelDataset,
    Row,
    canonical,
    expected_content,
    expected_request,
    plural,
)
from datasetlog.testing.strategies import (
    create_requests,
    field_texts,
    invalid_requests,
    messages,
    target_values,
    texts,
)

update_fields = st.fixed_dictionaries(
    {},
    optional={
        "inputs": st.dictionaries(texts(), texts(), max_size=2),
        "messages": st.lists(messages(), max_size=2),
        "target": st.dictionaries(texts(), target_values(), max_size=2),
    },
).filter(bool)


class DatasetLogMachine(BaseMachine):
    """The v4 operations as rules, valid and invalid, against a plain model.

    After every step each read path (iterators, pages, JSON bytes, versions,
    get-by-id, the projector, dataset listings) must agree with the model for
    every version ever committed.

    Args:
        open_db: Opens the DatasetLog under test on a fresh store, as for
            :class:`~datasetlog.testing.machine.BaseMachine`; with ``reopens``, it
            is called again to reopen that same store.
        reopens: Whether ``open_db`` reopens the same store (adds the reopen rule).
        cleanup: As for :class:`~datasetlog.testing.machine.BaseMachine`.
    """

    def __init__(
        self,
        open_db: OpenDb,
        *,
        reopens: bool = False,
        cleanup: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(open_db, cleanup=cleanup)
        self.reopens = reopens
        self.model = Model()

    # -- helpers -----------------------------------------------------------------------------

    def expect_unchanged(
        self, error: type[Exception], call: Callable[[], object]
    ) -> pytest.ExceptionInfo[Exception]:
        """Run a call that must fail with ``error`` and leave the store as it was."""
        return expect_unchanged(self.db, self.model.live, error, call)

    # -- datasets ----------------------------------------------------------------------------

    @initialize(body=create_requests(LOG_IDS))
    def start_with_a_dataset(self, body: Any) -> None:
        """Begin with one dataset holding some datapoints, so every rule can run at once."""
        self.create_dataset(PROJECTS[0], NAMES[0], None)
        (ds,) = self.model.live
        note(f"create_datapoint({ds!r}, {body!r})")
        self.model.add_rows(ds, to_v4(self.db.create_datapoint(ds, body)), body)

    @rule(
        project_id=st.sampled_from(PROJECTS),
        name=st.sampled_from(NAMES),
        description=st.none() | field_texts(max_size=4),
    )
    def create_dataset(self, project_id: str, name: str, description: str | None) -> None:
        """Create a dataset; a name live in the project conflicts."""
        note(f"create_dataset({project_id!r}, {name!r}, {description!r})")
        if self.model.name_taken(project_id, name):
            self.expect_unchanged(
                ConflictError,
                lambda: self.db.create_dataset(project_id=project_id, name=name),
            )
            return
        ds = self.db.create_dataset(project_id=project_id, name=name, description=description)
        assert (ds.project_id, ds.name, ds.description, ds.datapoint_count) == (
            project_id,
            name,
            description,
            0,
        )
        self.model.live[ds.id] = ModelDataset(
            project_id, name, description, [[]], ["Create dataset"]
        )
        self.model.commits += 1

    @precondition(lambda self: self.model.live)
    @rule(
        data=st.data(),
        name=st.none() | st.sampled_from(NAMES),
        description=st.none() | field_texts(max_size=4),
    )
    def update_dataset(
        self, data: st.DataObject, name: str | None, description: str | None
    ) -> None:
        """Rename and/or redescribe; no field is invalid, a taken name conflicts."""
        ds = data.draw(st.sampled_from(list(self.model.live)), label="dataset")
        note(f"update_dataset({ds!r}, name={name!r}, description={description!r})")
        model = self.model.live[ds]
        if name is None and description is None:
            self.expect_unchanged(ValidationError, lambda: self.db.update_dataset(ds))
            return
        if name is not None and self.model.name_taken(model.project_id, name, other_than=ds):
            self.expect_unchanged(ConflictError, lambda: self.db.update_dataset(ds, name=name))
            return
        updated = self.db.update_dataset(ds, name=name, description=description)
        model.name = name if name is not None else model.name
        model.description = description if description is not None else model.description
        assert (updated.name, updated.description) == (model.name, model.description)
        self.model.commits += 1

    @precondition(lambda self: self.model.live)
    @rule(data=st.data())
    def delete_dataset(self, data: st.DataObject) -> None:
        """Delete a dataset: it leaves the listings, its events stay."""
        ds = data.draw(st.sampled_from(list(self.model.live)), label="dataset")
        note(f"delete_dataset({ds!r})")
        self.db.delete_dataset(ds)
        self.model.dead[ds] = self.model.live.pop(ds)
        self.model.gone_datapoints.extend(row.id for row in self.model.dead[ds].versions[-1])
        self.model.commits += 1

    # -- datapoints --------------------------------------------------------------------------

    @precondition(lambda self: self.model.live)
    @rule(data=st.data(), body=create_requests(LOG_IDS), with_version=st.booleans())
    def create_datapoint(self, data: st.DataObject, body: Any, with_version: bool) -> None:
        """Add datapoints in any of the three forms; one new version."""
        ds = data.draw(st.sampled_from(list(self.model.live)), label="dataset")
        note(f"create_datapoint({ds!r}, {body!r})")
        if with_version:
            version, created = self.db.commit_datapoints(ds, body)
            assert version.number == len(self.model.live[ds].versions)
            assert version == self.db.get_version(ds, version.id)
        else:
            created = self.db.create_datapoint(ds, body)
        self.model.add_rows(ds, to_v4(created), body)

    @precondition(lambda self: self.model.live)
    @rule(data=st.data(), body=create_requests(LOG_IDS), key=st.sampled_from(("k1", "k2")))
    def create_datapoint_idempotently(self, data: st.DataObject, body: Any, key: str) -> None:
        """With a key: the first use commits, a repeat returns it again, another body conflicts."""
        ds = data.draw(st.sampled_from(list(self.model.live)), label="dataset")
        seen = self.model.keyed.get((ds, key))
        if seen is not None and data.draw(st.booleans(), label="repeat the first body"):
            body = seen.body
        note(f"create_datapoint({ds!r}, {body!r}, idempotency_key={key!r})")
        request = canonical(expected_request(body))
        if seen is None:
            created = self.db.create_datapoint(ds, copy.deepcopy(body), idempotency_key=key)
            self.model.add_rows(ds, to_v4(created), body)
            number = len(self.model.live[ds].versions) - 1
            self.model.keyed[ds, key] = Keyed(body, request, number, to_v4(created))
        elif request == seen.request:
            before = fingerprint(self.db, self.model.live)
            version, again = self.db.commit_datapoints(ds, body, idempotency_key=key)
            assert fingerprint(self.db, self.model.live) == before
            assert version.number == seen.version
            assert to_v4(again) == seen.returned
        else:
            self.expect_unchanged(
                ConflictError, lambda: self.db.create_datapoint(ds, body, idempotency_key=key)
            )

    @precondition(lambda self: self.model.latest_rows())
    @rule(data=st.data(), fields=update_fields)
    def update_datapoint(self, data: st.DataObject, fields: dict[str, Any]) -> None:
        """Replace the given fields of one datapoint; one new version, same position."""
        ds, old = data.draw(st.sampled_from(self.model.latest_rows()), label="datapoint")
        note(f"update_datapoint({old.id!r}, **{fields!r})")
        updated = to_v4(self.db.update_datapoint(old.id, **fields))
        content = {**old.content, **expected_content(fields)}
        assert {k: v for k, v in updated.items() if k not in IDENTITY} == content
        assert (updated["id"], updated["dataset_id"]) == (old.id, ds)
        assert updated["created_at"] == old.created_at
        assert datetime.fromisoformat(updated["updated_at"]) > datetime.fromisoformat(
            old.updated_at
        )
        row = Row(old.id, content, old.created_at, updated["updated_at"])
        rows = [row if r.id == old.id else r for r in self.model.live[ds].versions[-1]]
        self.model.add_version(ds, rows, f"Update datapoint {old.id}")

    @precondition(lambda self: self.model.latest_rows())
    @rule(data=st.data())
    def delete_datapoints(self, data: st.DataObject) -> None:
        """Delete datapoints of one or more datasets; one new version per dataset."""
        rows = self.model.latest_rows()
        picks = data.draw(
            st.lists(st.sampled_from(range(len(rows))), min_size=1, max_size=4, unique=True),
            label="datapoints",
        )
        ids = [rows[i][1].id for i in picks]
        note(f"delete_datapoints({ids!r})")
        self.db.delete_datapoints(ids)
        by_dataset: dict[str, list[str]] = {}
        for i in picks:
            by_dataset.setdefault(rows[i][0], []).append(rows[i][1].id)
        for ds, gone in by_dataset.items():
            kept = [row for row in self.model.live[ds].versions[-1] if row.id not in gone]
            self.model.add_version(ds, kept, f"Delete {plural(len(gone), 'datapoint')}")
        self.model.gone_datapoints.extend(ids)

    # -- invalid input -----------------------------------------------------------------------

    @precondition(lambda self: self.model.live)
    @rule(data=st.data(), bad=invalid_requests())
    def create_invalid_datapoint(
        self, data: st.DataObject, bad: tuple[Any, tuple[Any, ...]]
    ) -> None:
        """An invalid body is a ValidationError at its loc and changes nothing."""
        ds = data.draw(st.sampled_from(list(self.model.live)), label="dataset")
        body, loc = bad
        note(f"create_datapoint({ds!r}, {body!r}) must fail at {loc!r}")
        info = self.expect_unchanged(ValidationError, lambda: self.db.create_datapoint(ds, body))
        assert isinstance(info.value, ValidationError)
        assert loc in [d.loc for d in info.value.details]

    @precondition(lambda self: self.model.live)
    @rule(data=st.data(), known=st.lists(st.sampled_from(LOG_IDS), max_size=2))
    def create_from_unknown_log(self, data: st.DataObject, known: list[str]) -> None:
        """An unknown log id is a ValidationError at its index and changes nothing."""
        ds = data.draw(st.sampled_from(list(self.model.live)), label="dataset")
        at = data.draw(st.integers(0, len(known)), label="index")
        log_ids = [*known[:at], "log_missing", *known[at:]]
        note(f"create_datapoint({ds!r}, {{'log_ids': {log_ids!r}}}) must fail")
        info = self.expect_unchanged(
            ValidationError, lambda: self.db.create_datapoint(ds, {"log_ids": log_ids})
        )
        assert isinstance(info.value, ValidationError)
        assert [d.loc for d in info.value.details] == [("body", "log_ids", at)]

    @rule(data=st.data())
    def use_unknown_dataset(self, data: st.DataObject) -> None:
        """Every operation on a deleted or never-made dataset is NotFoundError."""
        ds = data.draw(st.sampled_from([*self.model.dead, "evts_neverexisted"]), label="dataset")
        note(f"operations on unknown dataset {ds!r}")
        calls: list[Callable[[], object]] = [
            lambda: self.db.get_dataset(ds),
            lambda: self.db.update_dataset(ds, name="omega"),
            lambda: self.db.delete_dataset(ds),
            lambda: self.db.create_datapoint(ds, {}),
            lambda: self.db.list_datapoints(ds),
            lambda: self.db.list_versions(ds),
            lambda: self.db.get_version(ds, 0),
            lambda: self.db.iter_datapoints(ds),
        ]
        for call in calls:
            self.expect_unchanged(NotFoundError, call)

    @precondition(lambda self: self.model.latest_rows())
    @rule(data=st.data())
    def use_unknown_datapoint(self, data: st.DataObject) -> None:
        """A gone or never-made datapoint id is NotFoundError, also among live ids."""
        unknown = data.draw(st.sampled_from([*self.model.gone_datapoints, "dp_neverexisted"]))
        live = [row.id for _, row in self.model.latest_rows()]
        ids = data.draw(st.lists(st.sampled_from(live), max_size=3, unique=True))
        ids.insert(data.draw(st.integers(0, len(ids))), unknown)
        note(f"unknown datapoint {unknown!r}; delete_datapoints({ids!r}) must fail")
        self.expect_unchanged(NotFoundError, lambda: self.db.get_datapoint(unknown))
        self.expect_unchanged(NotFoundError, lambda: self.db.update_datapoint(unknown, inputs={}))
        self.expect_unchanged(NotFoundError, lambda: self.db.delete_datapoints(ids))

    @precondition(lambda self: self.model.live)
    @rule(data=st.data())
    def use_unknown_version(self, data: st.DataObject) -> None:
        """A version number past the latest, or another dataset's version id, is NotFoundError."""
        ds = data.draw(st.sampled_from(list(self.model.live)), label="dataset")
        beyond = len(self.model.live[ds].versions)
        note(f"get_version({ds!r}, {beyond}) must fail")
        self.expect_unchanged(NotFoundError, lambda: self.db.get_version(ds, beyond))
        self.expect_unchanged(NotFoundError, lambda: self.db.get_version(ds, -1))
        for other, model in self.model.live.items():
            if other != ds and 0 in model.version_ids:
                self.expect_unchanged(
                    NotFoundError, partial(self.db.get_version, ds, model.version_ids[0])
                )

    # -- maintenance -------------------------------------------------------------------------

    @rule()
    def rebuild(self) -> None:
        """Dropping and rebuilding the read models from events leaves every read identical."""
        note("rebuild()")
        before = everything(self.db, self.model.live)
        self.db.rebuild()
        assert everything(self.db, self.model.live) == before

    @precondition(lambda self: self.reopens)
    @rule()
    def reopen(self) -> None:
        """Closing and reopening the store leaves every read identical."""
        note("reopen()")
        before = everything(self.db, self.model.live)
        self.db.close()
        self.db = self.open()
        assert everything(self.db, self.model.live) == before

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def commit_count_matches(self) -> None:
        """The store holds exactly the commits the model made."""
        assert len(list(self.db.store.read_all())) == self.model.commits

    @invariant()
    def datasets_listed_are_the_live_ones(self) -> None:
        """Each project lists exactly its live datasets, oldest first, as the model has them;
        listing every project lists them all, oldest first."""
        everywhere = [d.id for d in self.db.list_datasets(None)]
        assert everywhere == list(self.model.live)
        for project_id in PROJECTS:
            listed = [
                (d.id, d.name, d.description, d.datapoint_count)
                for d in self.db.list_datasets(project_id)
            ]
            expected = [
                (ds, m.name, m.description, len(m.versions[-1]))
                for ds, m in self.model.live.items()
                if m.project_id == project_id
            ]
            assert listed == expected

    @invariant()
    def every_version_reads_as_the_model(self) -> None:
        """Every version of every live dataset reads the same on every path."""
        for ds, model in self.model.live.items():
            check_dataset(self.db, ds, model)

    @invariant()
    def latest_datapoints_found_by_id(self) -> None:
        """``get_datapoint`` returns each live datapoint as the latest version has it."""
        for ds, row in self.model.latest_rows():
            assert to_v4(self.db.get_datapoint(row.id)) == row.v4(ds)

    @invariant()
    def deleted_datasets_keep_their_events(self) -> None:
        """A deleted dataset is gone from reads, yet its events still fold to a deleted state."""
        for ds, model in self.model.dead.items():
            commits = [decode_commit(c) for c in self.db.store.read_stream(ds)]
            state = project(commits)
            assert state.deleted
            assert len(state.versions) == len(model.versions)
