"""Stateful test: random sequences of facade operations checked against a plain model.

The model keeps, for every dataset, the datapoints of every committed version
as plain lists of rows, computed from the request dicts alone. After every
step each read path (iterators, pages, versions, get-by-id, the projector,
dataset listings) must agree with it for every version ever committed.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pytest
from hypothesis import note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from datasetlog import (
    ConflictError,
    Datapoint,
    DatasetLog,
    DictLogSource,
    NotFoundError,
    ValidationError,
    to_v4,
)
from datasetlog.projector import project
from datasetlog.serialization import decode_commit
from datasetlog.strategies import (
    create_requests,
    field_texts,
    invalid_requests,
    messages,
    target_values,
    texts,
)
from datasetlog.testing import drop_schema_of, new_schema_location

PROJECTS = ("pr_1", "pr_2")
NAMES = ("alpha", "beta", "gamma")
LOGS: list[dict[str, Any]] = [
    {
        "id": "log_a",
        "inputs": {"q": "1+1?"},
        "messages": [{"role": "user", "content": "1+1?"}],
        "output": "2",
    },
    {"id": "log_b", "inputs": {"q": "no output"}},
    {
        "id": "log_c",
        "messages": [
            {"role": "assistant", "name": "bot", "tool_call": {"name": "f", "arguments": [1, 2.5]}},
            {"role": "tool", "content": "done", "name": None},
        ],
        "output": "",
    },
    {"id": "log_d", "output": "only an output"},
]
LOG_IDS = [log["id"] for log in LOGS]
IDENTITY = ("id", "dataset_id", "created_at", "updated_at")

update_fields = st.fixed_dictionaries(
    {},
    optional={
        "inputs": st.dictionaries(texts(), texts(), max_size=2),
        "messages": st.lists(messages(), max_size=2),
        "target": st.dictionaries(texts(), target_values(), max_size=2),
    },
).filter(bool)


# -- the oracle: expected content from request dicts, without production helpers ------------


def _without_none(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def expected_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """A message as v4 returns it: fields given as null are simply absent."""
    result = _without_none(message)
    if "tool_call" in result:
        result["tool_call"] = _without_none(result["tool_call"])
    return result


def expected_content(body: Mapping[str, Any]) -> dict[str, Any]:
    """The content v4 returns for a datapoint object: given fields, nulls dropped."""
    result = _without_none({key: body.get(key) for key in ("inputs", "messages", "target")})
    if "messages" in result:
        result["messages"] = [expected_message(m) for m in result["messages"]]
    return result


def expected_from_log(log: Mapping[str, Any]) -> dict[str, Any]:
    """The content of a datapoint made from a log: inputs, messages, target ``{"output"}``."""
    result = expected_content({"inputs": log.get("inputs"), "messages": log.get("messages")})
    if log.get("output") is not None:
        result["target"] = {"output": log["output"]}
    result["source_project_data_id"] = log["id"]
    return result


def expected_request(body: Any) -> list[dict[str, Any]]:
    """The contents a create request adds, in request order, for any of the three forms."""
    if isinstance(body, dict) and "log_ids" in body:
        by_id = {log["id"]: log for log in LOGS}
        return [expected_from_log(by_id[log_id]) for log_id in body["log_ids"]]
    return [expected_content(item) for item in (body if isinstance(body, list) else [body])]


def canonical(value: Any) -> str:
    """JSON text that tells 1, 1.0, True and -0.0 apart, for "same request" checks."""
    return json.dumps(value, sort_keys=True)


@dataclasses.dataclass(frozen=True)
class Row:
    """One datapoint of one version: id, content and timestamps (ISO strings)."""

    id: str
    content: dict[str, Any]
    created_at: str
    updated_at: str

    def v4(self, dataset_id: str) -> dict[str, Any]:
        """The v4 dict a read of this row must return."""
        return {
            "id": self.id,
            "dataset_id": dataset_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            **self.content,
        }


@dataclasses.dataclass
class ModelDataset:
    """A dataset in the model: metadata and every committed version's rows."""

    project_id: str
    name: str
    description: str | None
    versions: list[list[Row]]
    messages: list[str]
    version_ids: dict[int, str] = dataclasses.field(default_factory=dict)

    def rows(self) -> Iterator[Row]:
        """Every row of every version."""
        for version in self.versions:
            yield from version


@dataclasses.dataclass(frozen=True)
class Keyed:
    """The first request made under an idempotency key, and what it returned."""

    body: Any
    request: str
    version: int
    returned: list[dict[str, Any]]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


class DatasetLogMachine(RuleBasedStateMachine):
    """Every facade operation as a rule, valid and invalid, against the model."""

    def __init__(self) -> None:
        super().__init__()
        self.ticks = 0
        self.source = DictLogSource(LOGS)
        self.log = self.open()
        self.live: dict[str, ModelDataset] = {}
        self.dead: dict[str, ModelDataset] = {}
        self.gone_datapoints: list[str] = []
        self.commits = 0
        self.keyed: dict[tuple[str, str], Keyed] = {}

    # -- set-up ------------------------------------------------------------------------------

    def clock(self) -> datetime:
        """A clock that moves 1 ms per reading, so every write has a later time."""
        self.ticks += 1
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(milliseconds=self.ticks)

    def open(self) -> DatasetLog:
        """Open the log under test."""
        return DatasetLog(":memory:", logs=self.source, clock=self.clock)

    def teardown(self) -> None:
        """Close the log."""
        self.log.close()

    # -- helpers -----------------------------------------------------------------------------

    def fingerprint(self) -> tuple[int, dict[str, list[Any]]]:
        """The commit count and every live dataset's versions, to show nothing changed."""
        versions = {ds: [to_v4(v) for v in self.log.list_versions(ds)] for ds in self.live}
        return len(list(self.log.store.read_all())), versions

    def expect_unchanged(
        self, error: type[Exception], call: Callable[[], object]
    ) -> pytest.ExceptionInfo[Exception]:
        """Run a call that must fail with ``error`` and leave the store as it was."""
        before = self.fingerprint()
        with pytest.raises(error) as info:
            call()
        assert self.fingerprint() == before
        return info

    def name_taken(self, project_id: str, name: str, other_than: str = "") -> bool:
        """Whether another live dataset of the project has this name."""
        return any(
            m.project_id == project_id and m.name == name and ds != other_than
            for ds, m in self.live.items()
        )

    def latest_rows(self) -> list[tuple[str, Row]]:
        """Every datapoint of every live dataset's latest version, with its dataset id."""
        return [(ds, row) for ds, m in self.live.items() for row in m.versions[-1]]

    def add_version(self, ds: str, rows: list[Row], message: str) -> None:
        """Record a new committed version of a dataset in the model."""
        self.live[ds].versions.append(rows)
        self.live[ds].messages.append(message)
        self.commits += 1

    def add_rows(self, ds: str, created: list[Datapoint], body: Any) -> None:
        """Check the datapoints a create of ``body`` returned; add them as a new version."""
        returned = [to_v4(d) for d in created]
        contents = [{k: v for k, v in d.items() if k not in IDENTITY} for d in returned]
        assert contents == expected_request(body)
        known = {row.id for m in (*self.live.values(), *self.dead.values()) for row in m.rows()}
        ids = [d["id"] for d in returned]
        assert len(set(ids)) == len(ids)
        assert all(i.startswith("dp_") and i not in known for i in ids)
        assert all(d["dataset_id"] == ds for d in returned)
        assert all(d["created_at"] == d["updated_at"] for d in returned)
        new = [
            Row(d["id"], c, d["created_at"], d["updated_at"])
            for d, c in zip(returned, contents, strict=True)
        ]
        from_logs = " from logs" if isinstance(body, dict) and "log_ids" in body else ""
        message = f"Add {_plural(len(new), 'datapoint')}{from_logs}"
        self.add_version(ds, [*self.live[ds].versions[-1], *new], message)

    # -- datasets ----------------------------------------------------------------------------

    @initialize(body=create_requests(LOG_IDS))
    def start_with_a_dataset(self, body: Any) -> None:
        """Begin with one dataset holding some datapoints, so every rule can run at once."""
        self.create_dataset(PROJECTS[0], NAMES[0], None)
        (ds,) = self.live
        note(f"create_datapoint({ds!r}, {body!r})")
        self.add_rows(ds, self.log.create_datapoint(ds, body), body)

    @rule(
        project_id=st.sampled_from(PROJECTS),
        name=st.sampled_from(NAMES),
        description=st.none() | field_texts(max_size=4),
    )
    def create_dataset(self, project_id: str, name: str, description: str | None) -> None:
        """Create a dataset; a name live in the project conflicts."""
        note(f"create_dataset({project_id!r}, {name!r}, {description!r})")
        if self.name_taken(project_id, name):
            self.expect_unchanged(
                ConflictError,
                lambda: self.log.create_dataset(project_id=project_id, name=name),
            )
            return
        ds = self.log.create_dataset(project_id=project_id, name=name, description=description)
        assert (ds.project_id, ds.name, ds.description, ds.datapoint_count) == (
            project_id,
            name,
            description,
            0,
        )
        self.live[ds.id] = ModelDataset(project_id, name, description, [[]], ["Create dataset"])
        self.commits += 1

    @precondition(lambda self: self.live)
    @rule(
        data=st.data(),
        name=st.none() | st.sampled_from(NAMES),
        description=st.none() | field_texts(max_size=4),
    )
    def update_dataset(
        self, data: st.DataObject, name: str | None, description: str | None
    ) -> None:
        """Rename and/or redescribe; no field is invalid, a taken name conflicts."""
        ds = data.draw(st.sampled_from(list(self.live)), label="dataset")
        note(f"update_dataset({ds!r}, name={name!r}, description={description!r})")
        model = self.live[ds]
        if name is None and description is None:
            self.expect_unchanged(ValidationError, lambda: self.log.update_dataset(ds))
            return
        if name is not None and self.name_taken(model.project_id, name, other_than=ds):
            self.expect_unchanged(ConflictError, lambda: self.log.update_dataset(ds, name=name))
            return
        updated = self.log.update_dataset(ds, name=name, description=description)
        model.name = name if name is not None else model.name
        model.description = description if description is not None else model.description
        assert (updated.name, updated.description) == (model.name, model.description)
        self.commits += 1

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def delete_dataset(self, data: st.DataObject) -> None:
        """Delete a dataset: it leaves the listings, its events stay."""
        ds = data.draw(st.sampled_from(list(self.live)), label="dataset")
        note(f"delete_dataset({ds!r})")
        self.log.delete_dataset(ds)
        self.dead[ds] = self.live.pop(ds)
        self.gone_datapoints.extend(row.id for row in self.dead[ds].versions[-1])
        self.commits += 1

    # -- datapoints --------------------------------------------------------------------------

    @precondition(lambda self: self.live)
    @rule(data=st.data(), body=create_requests(LOG_IDS), with_version=st.booleans())
    def create_datapoint(self, data: st.DataObject, body: Any, with_version: bool) -> None:
        """Add datapoints in any of the three forms; one new version."""
        ds = data.draw(st.sampled_from(list(self.live)), label="dataset")
        note(f"create_datapoint({ds!r}, {body!r})")
        if with_version:
            version, created = self.log.commit_datapoints(ds, body)
            assert version.number == len(self.live[ds].versions)
            assert version == self.log.get_version(ds, version.id)
        else:
            created = self.log.create_datapoint(ds, body)
        self.add_rows(ds, created, body)

    @precondition(lambda self: self.live)
    @rule(data=st.data(), body=create_requests(LOG_IDS), key=st.sampled_from(("k1", "k2")))
    def create_datapoint_idempotently(self, data: st.DataObject, body: Any, key: str) -> None:
        """With a key: the first use commits, a repeat returns it again, another body conflicts."""
        ds = data.draw(st.sampled_from(list(self.live)), label="dataset")
        seen = self.keyed.get((ds, key))
        if seen is not None and data.draw(st.booleans(), label="repeat the first body"):
            body = seen.body
        note(f"create_datapoint({ds!r}, {body!r}, idempotency_key={key!r})")
        request = canonical(expected_request(body))
        if seen is None:
            created = self.log.create_datapoint(ds, copy.deepcopy(body), idempotency_key=key)
            self.add_rows(ds, created, body)
            number = len(self.live[ds].versions) - 1
            self.keyed[ds, key] = Keyed(body, request, number, to_v4(created))
        elif request == seen.request:
            before = self.fingerprint()
            version, again = self.log.commit_datapoints(ds, body, idempotency_key=key)
            assert self.fingerprint() == before
            assert version.number == seen.version
            assert to_v4(again) == seen.returned
        else:
            self.expect_unchanged(
                ConflictError, lambda: self.log.create_datapoint(ds, body, idempotency_key=key)
            )

    @precondition(lambda self: self.latest_rows())
    @rule(data=st.data(), fields=update_fields)
    def update_datapoint(self, data: st.DataObject, fields: dict[str, Any]) -> None:
        """Replace the given fields of one datapoint; one new version, same position."""
        ds, old = data.draw(st.sampled_from(self.latest_rows()), label="datapoint")
        note(f"update_datapoint({old.id!r}, **{fields!r})")
        updated = to_v4(self.log.update_datapoint(old.id, **fields))
        content = {**old.content, **expected_content(fields)}
        assert {k: v for k, v in updated.items() if k not in IDENTITY} == content
        assert (updated["id"], updated["dataset_id"]) == (old.id, ds)
        assert updated["created_at"] == old.created_at
        assert datetime.fromisoformat(updated["updated_at"]) > datetime.fromisoformat(
            old.updated_at
        )
        row = Row(old.id, content, old.created_at, updated["updated_at"])
        rows = [row if r.id == old.id else r for r in self.live[ds].versions[-1]]
        self.add_version(ds, rows, f"Update datapoint {old.id}")

    @precondition(lambda self: self.latest_rows())
    @rule(data=st.data())
    def delete_datapoints(self, data: st.DataObject) -> None:
        """Delete datapoints of one or more datasets; one new version per dataset."""
        rows = self.latest_rows()
        picks = data.draw(
            st.lists(st.sampled_from(range(len(rows))), min_size=1, max_size=4, unique=True),
            label="datapoints",
        )
        ids = [rows[i][1].id for i in picks]
        note(f"delete_datapoints({ids!r})")
        self.log.delete_datapoints(ids)
        by_dataset: dict[str, list[str]] = {}
        for i in picks:
            by_dataset.setdefault(rows[i][0], []).append(rows[i][1].id)
        for ds, gone in by_dataset.items():
            kept = [row for row in self.live[ds].versions[-1] if row.id not in gone]
            self.add_version(ds, kept, f"Delete {_plural(len(gone), 'datapoint')}")
        self.gone_datapoints.extend(ids)

    # -- invalid input -----------------------------------------------------------------------

    @precondition(lambda self: self.live)
    @rule(data=st.data(), bad=invalid_requests())
    def create_invalid_datapoint(
        self, data: st.DataObject, bad: tuple[Any, tuple[Any, ...]]
    ) -> None:
        """An invalid body is a ValidationError at its loc and changes nothing."""
        ds = data.draw(st.sampled_from(list(self.live)), label="dataset")
        body, loc = bad
        note(f"create_datapoint({ds!r}, {body!r}) must fail at {loc!r}")
        info = self.expect_unchanged(ValidationError, lambda: self.log.create_datapoint(ds, body))
        assert isinstance(info.value, ValidationError)
        assert loc in [d.loc for d in info.value.details]

    @precondition(lambda self: self.live)
    @rule(data=st.data(), known=st.lists(st.sampled_from(LOG_IDS), max_size=2))
    def create_from_unknown_log(self, data: st.DataObject, known: list[str]) -> None:
        """An unknown log id is a ValidationError at its index and changes nothing."""
        ds = data.draw(st.sampled_from(list(self.live)), label="dataset")
        at = data.draw(st.integers(0, len(known)), label="index")
        log_ids = [*known[:at], "log_missing", *known[at:]]
        note(f"create_datapoint({ds!r}, {{'log_ids': {log_ids!r}}}) must fail")
        info = self.expect_unchanged(
            ValidationError, lambda: self.log.create_datapoint(ds, {"log_ids": log_ids})
        )
        assert isinstance(info.value, ValidationError)
        assert [d.loc for d in info.value.details] == [("body", "log_ids", at)]

    @rule(data=st.data())
    def use_unknown_dataset(self, data: st.DataObject) -> None:
        """Every operation on a deleted or never-made dataset is NotFoundError."""
        ds = data.draw(st.sampled_from([*self.dead, "evts_neverexisted"]), label="dataset")
        note(f"operations on unknown dataset {ds!r}")
        calls: list[Callable[[], object]] = [
            lambda: self.log.get_dataset(ds),
            lambda: self.log.update_dataset(ds, name="omega"),
            lambda: self.log.delete_dataset(ds),
            lambda: self.log.create_datapoint(ds, {}),
            lambda: self.log.list_datapoints(ds),
            lambda: self.log.list_versions(ds),
            lambda: self.log.get_version(ds, 0),
            lambda: self.log.iter_datapoints(ds),
        ]
        for call in calls:
            self.expect_unchanged(NotFoundError, call)

    @precondition(lambda self: self.latest_rows())
    @rule(data=st.data())
    def use_unknown_datapoint(self, data: st.DataObject) -> None:
        """A gone or never-made datapoint id is NotFoundError, also among live ids."""
        unknown = data.draw(st.sampled_from([*self.gone_datapoints, "dp_neverexisted"]))
        live = [row.id for _, row in self.latest_rows()]
        ids = data.draw(st.lists(st.sampled_from(live), max_size=3, unique=True))
        ids.insert(data.draw(st.integers(0, len(ids))), unknown)
        note(f"unknown datapoint {unknown!r}; delete_datapoints({ids!r}) must fail")
        self.expect_unchanged(NotFoundError, lambda: self.log.get_datapoint(unknown))
        self.expect_unchanged(NotFoundError, lambda: self.log.update_datapoint(unknown, inputs={}))
        self.expect_unchanged(NotFoundError, lambda: self.log.delete_datapoints(ids))

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def use_unknown_version(self, data: st.DataObject) -> None:
        """A version number past the latest, or another dataset's version id, is NotFoundError."""
        ds = data.draw(st.sampled_from(list(self.live)), label="dataset")
        beyond = len(self.live[ds].versions)
        note(f"get_version({ds!r}, {beyond}) must fail")
        self.expect_unchanged(NotFoundError, lambda: self.log.get_version(ds, beyond))
        self.expect_unchanged(NotFoundError, lambda: self.log.get_version(ds, -1))
        for other, model in self.live.items():
            if other != ds and 0 in model.version_ids:
                self.expect_unchanged(
                    NotFoundError, partial(self.log.get_version, ds, model.version_ids[0])
                )

    # -- maintenance -------------------------------------------------------------------------

    def everything(self) -> Any:
        """Every read the facade offers, as v4 data, for before/after comparisons."""
        datasets = [to_v4(self.log.list_datasets(p)) for p in PROJECTS]
        versions = {ds: to_v4(self.log.list_versions(ds)) for ds in self.live}
        contents = {
            (ds, v["number"]): list(self.log.iter_datapoints_v4(ds, version=v["number"]))
            for ds, vs in versions.items()
            for v in vs
        }
        return datasets, versions, contents

    @rule()
    def rebuild(self) -> None:
        """Dropping and rebuilding the read models from events leaves every read identical."""
        note("rebuild()")
        before = self.everything()
        self.log.rebuild()
        assert self.everything() == before

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def commit_count_matches(self) -> None:
        """The store holds exactly the commits the model made."""
        assert len(list(self.log.store.read_all())) == self.commits

    @invariant()
    def datasets_listed_are_the_live_ones(self) -> None:
        """Each project lists exactly its live datasets, oldest first, as the model has them."""
        for project_id in PROJECTS:
            listed = [
                (d.id, d.name, d.description, d.datapoint_count)
                for d in self.log.list_datasets(project_id)
            ]
            expected = [
                (ds, m.name, m.description, len(m.versions[-1]))
                for ds, m in self.live.items()
                if m.project_id == project_id
            ]
            assert listed == expected

    @invariant()
    def every_version_reads_as_the_model(self) -> None:
        """Every version of every live dataset reads the same on every path."""
        for ds, model in self.live.items():
            commits = [decode_commit(c) for c in self.log.store.read_stream(ds)]
            versions = self.log.list_versions(ds)
            assert [v.number for v in versions] == list(range(len(model.versions)))
            assert [v.message for v in versions] == model.messages
            for number, rows in enumerate(model.versions):
                self.check_version(ds, number, rows, commits)
            dataset = self.log.get_dataset(ds)
            assert to_v4(dataset) == to_v4(project(commits).dataset())
            assert dataset.datapoint_count == len(model.versions[-1])
            latest = self.log.list_datapoints(ds)
            assert (latest.page, latest.size, latest.total) == (1, 50, len(model.versions[-1]))
            assert to_v4(latest.records) == [row.v4(ds) for row in model.versions[-1][:50]]

    def check_version(self, ds: str, number: int, rows: list[Row], commits: list[Any]) -> None:
        """Check one version through every read path against the model's rows."""
        expected = [row.v4(ds) for row in rows]
        version = self.log.get_version(ds, number)
        known_id = self.live[ds].version_ids.setdefault(number, version.id)
        assert version.id == known_id
        assert (version.number, version.parent) == (number, number - 1 if number else None)
        assert version.message == self.live[ds].messages[number]
        assert version.datapoint_count == len(rows)
        assert self.log.get_version(ds, version.id) == version
        assert [to_v4(d) for d in self.log.iter_datapoints(ds, version=number)] == expected
        assert list(self.log.iter_datapoints_v4(ds, version=version.id)) == expected
        pieces = self.log.iter_datapoints_json(ds, version=number, batch=1 + number % 3)
        assert orjson.loads(b"".join(pieces)) == expected
        assert self.pages(ds, number, size=2 + number % 2) == expected
        state = project(commits, version=number)
        assert state.version.id == version.id
        assert [to_v4(d) for d in state.datapoints()] == expected

    def pages(self, ds: str, number: int, size: int) -> list[dict[str, Any]]:
        """Read a version page by page, checking each page's fields; return all records."""
        records: list[dict[str, Any]] = []
        page_number = 1
        while True:
            page = self.log.list_datapoints(ds, page=page_number, size=size, version=number)
            rendered = self.log.list_datapoints_json(
                ds, page=page_number, size=size, version=number
            )
            assert orjson.loads(rendered) == to_v4(page)
            assert (page.page, page.size) == (page_number, size)
            assert len(page.records) <= size
            if not page.records:
                assert page.total == len(records)
                return records
            records.extend(to_v4(page.records))
            page_number += 1

    @invariant()
    def latest_datapoints_found_by_id(self) -> None:
        """``get_datapoint`` returns each live datapoint as the latest version has it."""
        for ds, row in self.latest_rows():
            assert to_v4(self.log.get_datapoint(row.id)) == row.v4(ds)

    @invariant()
    def deleted_datasets_keep_their_events(self) -> None:
        """A deleted dataset is gone from reads, yet its events still fold to a deleted state."""
        for ds, model in self.dead.items():
            commits = [decode_commit(c) for c in self.log.store.read_stream(ds)]
            state = project(commits)
            assert state.deleted
            assert len(state.versions) == len(model.versions)


class FileDatasetLogMachine(DatasetLogMachine):
    """The same machine on an SQLite file, which can also be closed and reopened."""

    def open(self) -> DatasetLog:
        """Open the log on a file in a fresh temporary folder."""
        self.folder = Path(tempfile.mkdtemp(prefix="datasetlog-stateful-"))
        self.location = str(self.folder / "store.db")
        return DatasetLog(self.location, logs=self.source, clock=self.clock)

    def teardown(self) -> None:
        """Close the log and remove its folder."""
        super().teardown()
        shutil.rmtree(self.folder, ignore_errors=True)

    @rule()
    def reopen(self) -> None:
        """Closing and reopening the file leaves every read identical."""
        note("reopen()")
        before = self.everything()
        self.log.close()
        self.log = DatasetLog(self.location, logs=self.source, clock=self.clock)
        assert self.everything() == before


_profile = settings()


class PostgresDatasetLogMachine(FileDatasetLogMachine):
    """The same machine on PostgreSQL, each run in a fresh schema of the session's server."""

    url: ClassVar[str] = ""

    def open(self) -> DatasetLog:
        """Open the log in a fresh schema."""
        self.location = new_schema_location(self.url)
        return DatasetLog(self.location, logs=self.source, clock=self.clock)

    def teardown(self) -> None:
        """Close the log and drop its schema."""
        DatasetLogMachine.teardown(self)
        drop_schema_of(self.location)


def test_postgres_datasetlog(postgres_url: str) -> None:
    """The state machine holds on PostgreSQL too (a quarter of the examples: round trips)."""
    PostgresDatasetLogMachine.url = postgres_url
    run_state_machine_as_test(
        PostgresDatasetLogMachine,
        settings=settings(_profile, deadline=None, max_examples=max(1, _profile.max_examples // 4)),
    )


# The file machine pays for fsyncs and reopening: half the examples keep CI time in check.
DatasetLogMachine.TestCase.settings = settings(_profile, deadline=None)
FileDatasetLogMachine.TestCase.settings = settings(
    _profile, deadline=None, max_examples=max(1, _profile.max_examples // 2)
)
TestMemoryDatasetLog = DatasetLogMachine.TestCase
TestFileDatasetLog = FileDatasetLogMachine.TestCase
