"""The state machine with history navigation: names, tags, as_of, diff, history and restore.

:class:`NavigationMachine` adds to :class:`~datasetlog.testing.stateful.DatasetLogMachine`
rules that name versions, set, move and delete tags and restore versions, and
checks every way of reading across versions against the projector, the
reference fold of the events: ``diff`` and ``iter_diff`` between pairs of
versions, ``datapoint_history`` of every datapoint, a datapoint as each
version holds it, and every kind of version reference. Run it from a factory,
as every machine of the kit (see :mod:`datasetlog.testing.machine`).

Added in 0.2.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

import attrs

try:
    from hypothesis import note
    from hypothesis import strategies as st
    from hypothesis.stateful import invariant, precondition, rule
except ImportError as error:
    raise ImportError(
        "datasetlog.testing.navigation needs hypothesis and pytest: "
        "pip install 'datasetlog[testing]'"
    ) from error

from datasetlog import ConflictError, NotFoundError, ValidationError, VersionRef, to_v4
from datasetlog.projector import (
    DatasetState,
    project,
    project_versions,
    reference_diff,
    reference_history,
)
from datasetlog.serialization.codec import decode_commit
from datasetlog.testing.machine import OpenDb
from datasetlog.testing.oracle import LOG_IDS, Row, canonical
from datasetlog.testing.stateful import DatasetLogMachine
from datasetlog.testing.strategies import create_requests, field_texts

LABELS = ("golden", "prod", "staging", "q1")
BAD_LABELS = ("latest", "dsv_0", "42", " prod", "", "tab\t ", "\x1b[2J", "pro\u202ed", "\uff50rod")
PAIRS_CHECKED = 144
"""Every pair of up to 12 versions is compared; beyond, a random sample of this size."""


@attrs.define
class Labels:
    """A dataset's names and tags in the model, and every move of each tag."""

    names: dict[str, int] = attrs.Factory(dict)
    tags: dict[str, int] = attrs.Factory(dict)
    moves: dict[str, list[tuple[int | None, int | None]]] = attrs.Factory(dict)

    def kind(self, label: str) -> str | None:
        """Whether ``label`` is a name, a tag, or free (None)."""
        return "name" if label in self.names else "tag" if label in self.tags else None


def _same_content(a: Row, b: Row) -> bool:
    return a.id == b.id and canonical(a.content) == canonical(b.content)


class NavigationMachine(DatasetLogMachine):
    """The v4 machine, plus names, tags and restores, checked against the projector.

    Args:
        open_db: As for :class:`~datasetlog.testing.stateful.DatasetLogMachine`.
        reopens: As for the base machine.
        cleanup: As for the base machine.
    """

    def __init__(
        self,
        open_db: OpenDb,
        *,
        reopens: bool = False,
        cleanup: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(open_db, reopens=reopens, cleanup=cleanup)
        self.labels: dict[str, Labels] = {}

    def labels_of(self, ds: str) -> Labels:
        """The model's names and tags of a dataset."""
        return self.labels.setdefault(ds, Labels())

    def reference(self, ds: str, how: str, number: int) -> VersionRef:
        """A reference to version ``number`` of the kind ``how``, where the dataset has one."""
        found = self.labels_of(ds)
        if how == "name":
            named = [name for name, n in found.names.items() if n == number]
            if named:
                return named[0]
        if how == "tag":
            tagged = [tag for tag, n in found.tags.items() if n == number]
            if tagged:
                return tagged[0]
        if how == "id":
            return self.db.get_version(ds, number).id
        if how == "latest" and number == len(self.model.live[ds].versions) - 1:
            return "latest"
        return number

    # -- names and tags ----------------------------------------------------------------------

    @precondition(lambda self: self.model.live)
    @rule(
        data=st.data(),
        name=st.sampled_from(LABELS),
        description=st.none() | field_texts(max_size=4),
    )
    def name_version(self, data: st.DataObject, name: str, description: str | None) -> None:
        """Name a version once; a named version or a used string conflicts."""
        ds = data.draw(st.sampled_from(list(self.model.live)), label="dataset")
        number = data.draw(st.integers(0, len(self.model.live[ds].versions) - 1), label="version")
        found = self.labels_of(ds)
        note(f"name_version({ds!r}, {number}, {name!r})")
        if number in found.names.values() or found.kind(name) is not None:
            self.expect_unchanged(
                ConflictError,
                lambda: self.db.name_version(ds, number, name, description=description),
            )
            return
        version = self.db.name_version(ds, number, name, description=description)
        assert (version.number, version.name, version.description) == (number, name, description)
        found.names[name] = number
        self.model.commits += 1

    @precondition(lambda self: self.model.live)
    @rule(
        data=st.data(), tag=st.sampled_from(LABELS), how=st.sampled_from(("number", "id", "name"))
    )
    def set_tag(self, data: st.DataObject, tag: str, how: str) -> None:
        """Create or move a tag; a version name's string conflicts; the same place is no move."""
        ds = data.draw(st.sampled_from(list(self.model.live)), label="dataset")
        number = data.draw(st.integers(0, len(self.model.live[ds].versions) - 1), label="version")
        ref = self.reference(ds, how, number)
        found = self.labels_of(ds)
        note(f"set_tag({ds!r}, {tag!r}, {ref!r})")
        if found.kind(tag) == "name":
            self.expect_unchanged(ConflictError, lambda: self.db.set_tag(ds, tag, ref))
            return
        made = self.db.set_tag(ds, tag, ref)
        assert (made.name, made.version) == (tag, number)
        if found.tags.get(tag) == number:
            return
        found.moves.setdefault(tag, []).append((found.tags.get(tag), number))
        found.tags[tag] = number
        self.model.commits += 1

    @precondition(lambda self: self.model.live)
    @rule(data=st.data(), tag=st.sampled_from(LABELS))
    def delete_tag(self, data: st.DataObject, tag: str) -> None:
        """Delete a tag; its history stays. A name or an unset tag is not found."""
        ds = data.draw(st.sampled_from(list(self.model.live)), label="dataset")
        found = self.labels_of(ds)
        note(f"delete_tag({ds!r}, {tag!r})")
        if found.kind(tag) != "tag":
            self.expect_unchanged(NotFoundError, lambda: self.db.delete_tag(ds, tag))
            return
        self.db.delete_tag(ds, tag)
        found.moves[tag].append((found.tags.pop(tag), None))
        self.model.commits += 1

    @precondition(lambda self: self.model.live)
    @rule(data=st.data(), bad=st.sampled_from(BAD_LABELS))
    def use_a_bad_label(self, data: st.DataObject, bad: str) -> None:
        """A reserved, empty or ambiguous name or tag is a ValidationError and changes nothing."""
        ds = data.draw(st.sampled_from(list(self.model.live)), label="dataset")
        note(f"name_version / set_tag / create_datapoint with label {bad!r}")
        self.expect_unchanged(ValidationError, lambda: self.db.name_version(ds, 0, bad))
        self.expect_unchanged(ValidationError, lambda: self.db.set_tag(ds, bad, 0))
        self.expect_unchanged(
            ValidationError, lambda: self.db.create_datapoint(ds, {}, version_name=bad)
        )

    @precondition(lambda self: self.model.live)
    @rule(data=st.data(), body=create_requests(LOG_IDS), name=st.sampled_from(LABELS))
    def create_named_version(self, data: st.DataObject, body: Any, name: str) -> None:
        """Add datapoints as a named version; a used name conflicts and commits nothing."""
        ds = data.draw(st.sampled_from(list(self.model.live)), label="dataset")
        found = self.labels_of(ds)
        note(f"create_datapoint({ds!r}, {body!r}, version_name={name!r})")
        if found.kind(name) is not None:
            self.expect_unchanged(
                ConflictError, lambda: self.db.create_datapoint(ds, body, version_name=name)
            )
            return
        version, created = self.db.commit_datapoints(ds, body, version_name=name)
        assert version.name == name
        self.model.add_rows(ds, to_v4(created), body)
        found.names[name] = version.number

    # -- restore -----------------------------------------------------------------------------

    @precondition(lambda self: self.model.live)
    @rule(
        data=st.data(),
        how=st.sampled_from(("number", "id", "name", "tag", "latest")),
        dry_run=st.booleans(),
        name=st.none() | st.sampled_from(LABELS),
    )
    def restore(self, data: st.DataObject, how: str, dry_run: bool, name: str | None) -> None:
        """Restore a version: forward, with ids kept; the latest content again commits nothing."""
        ds = data.draw(st.sampled_from(list(self.model.live)), label="dataset")
        model = self.model.live[ds]
        number = data.draw(st.integers(0, len(model.versions) - 1), label="version")
        ref = self.reference(ds, how, number)
        head = model.versions[-1]
        kept = {row.id: row for row in head}
        expected = [
            kept[row.id] if row.id in kept and _same_content(kept[row.id], row) else row
            for row in model.versions[number]
        ]
        note(f"restore({ds!r}, {ref!r}, dry_run={dry_run}, version_name={name!r})")
        if dry_run:
            before = self.fingerprint()
            diff = self.db.restore(ds, ref, dry_run=True)
            assert self.fingerprint() == before
            assert diff.base.number == len(model.versions) - 1
            assert diff.target.number == number
            assert bool(diff) == (expected != head)
            return
        found = self.labels_of(ds)
        if expected != head and name is not None and found.kind(name) is not None:
            self.expect_unchanged(
                ConflictError, lambda: self.db.restore(ds, ref, version_name=name)
            )
            return
        version = self.db.restore(ds, ref, version_name=name)
        if expected == head:
            assert version.number == len(model.versions) - 1
            return
        restored = [n for n, v in found.names.items() if v == number]
        message = f"Restore version {number}" + (f" ({restored[0]})" if restored else "")
        assert (version.number, version.message) == (len(model.versions), message)
        assert version.name == name
        if name is not None:
            found.names[name] = version.number
        model.versions.append(expected)
        model.messages.append(message)
        self.model.commits += 1
        back = {row.id for row in expected}
        self.model.gone_datapoints[:] = [i for i in self.model.gone_datapoints if i not in back]
        self.model.gone_datapoints.extend(row.id for row in head if row.id not in back)

    def fingerprint(self) -> Any:
        """The commit count and every live dataset's versions and tags."""
        commits = len(list(self.db.store.read_all()))
        tags = {ds: to_v4(self.db.list_tags(ds)) for ds in self.model.live}
        return commits, tags, {ds: to_v4(self.db.list_versions(ds)) for ds in self.model.live}

    # -- checks against the projector --------------------------------------------------------

    @precondition(lambda self: self.model.live)
    @rule(data=st.data(), batch=st.integers(1, 4))
    def compare_versions(self, data: st.DataObject, batch: int) -> None:
        """diff and iter_diff of version pairs (every pair, up to a sample) match the projector."""
        ds = data.draw(st.sampled_from(list(self.model.live)), label="dataset")
        states, ordinals = self.states(ds)
        pairs = list(itertools.product(range(len(states)), repeat=2))
        if len(pairs) > PAIRS_CHECKED:
            pairs = data.draw(
                st.lists(st.sampled_from(pairs), min_size=PAIRS_CHECKED, max_size=PAIRS_CHECKED),
                label="pairs",
            )
        for a, b in pairs:
            expected = to_v4(reference_diff(states[a], states[b], ordinals))
            diff = self.db.diff(ds, a, b)
            assert (diff.base.number, diff.target.number) == (a, b)
            entries = [*map(to_v4, diff.changed)]
            assert len(diff.added) + len(diff.removed) + len(entries) == len(expected)
            assert to_v4(list(self.db.iter_diff(ds, a, b, batch=batch))) == expected
            assert to_v4(diff.added) == [e["after"] for e in expected if e["kind"] == "added"]
            assert to_v4(diff.removed) == [e["before"] for e in expected if e["kind"] == "removed"]
            assert entries == [e for e in expected if e["kind"] == "changed"]
            assert (diff.counts.added, diff.counts.removed) == (len(diff.added), len(diff.removed))

    @precondition(lambda self: self.model.live)
    @rule(data=st.data())
    def read_datapoint_histories(self, data: st.DataObject) -> None:
        """datapoint_history, and each datapoint as each version holds it, match the projector."""
        ds = data.draw(st.sampled_from(list(self.model.live)), label="dataset")
        commits = [decode_commit(c) for c in self.db.store.read_stream(ds)]
        model = self.model.live[ds]
        for datapoint_id in {row.id for row in model.rows()}:
            assert to_v4(self.db.datapoint_history(datapoint_id)) == to_v4(
                reference_history(commits, datapoint_id)
            )
        number = data.draw(st.integers(0, len(model.versions) - 1), label="version")
        held = {row.id: row for row in model.versions[number]}
        for datapoint_id in {row.id for row in model.rows()}:
            if datapoint_id in held:
                found = self.db.get_datapoint(datapoint_id, version=number)
                assert to_v4(found) == held[datapoint_id].v4(ds)
            else:
                read = partial(self.db.get_datapoint, datapoint_id, version=number)
                self.expect_unchanged(NotFoundError, read)

    def states(self, ds: str) -> tuple[list[DatasetState], dict[str, int]]:
        """The projector's state at every version of a dataset, and where each datapoint sits."""
        commits = [decode_commit(c) for c in self.db.store.read_stream(ds)]
        states = [
            attrs.evolve(state, records=dict(state.records))
            for _, state in project_versions(commits)
        ]
        return states, project(commits).ordinals

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def references_resolve_alike(self) -> None:
        """Names, tags, ids, numbers and as_of each read the version the model says."""
        for ds, model in self.model.live.items():
            found = self.labels_of(ds)
            versions = self.db.list_versions(ds)
            assert {v.name: v.number for v in versions if v.name} == found.names
            assert {t.name: t.version for t in self.db.list_tags(ds)} == found.tags
            for tag, moves in found.moves.items():
                history = self.db.tag_history(ds, tag)
                assert [(m.from_version, m.to_version) for m in history] == moves
            for label, number in [*found.names.items(), *found.tags.items()]:
                assert self.db.get_version(ds, label) == versions[number]
                page = self.db.list_datapoints(ds, version=label, size=3)
                assert page.version == versions[number]
                assert to_v4(page.records) == [r.v4(ds) for r in model.versions[number][:3]]

    @precondition(lambda self: self.model.live)
    @rule(data=st.data())
    def read_as_of(self, data: st.DataObject) -> None:
        """``as_of`` a version's commit time reads it; a moment earlier, the one before."""
        ds = data.draw(st.sampled_from(list(self.model.live)), label="dataset")
        model = self.model.live[ds]
        versions = self.db.list_versions(ds)
        for version in versions:
            assert self.db.get_version(ds, as_of=version.created_at) == version
            earlier = version.created_at - timedelta(microseconds=1)
            if version.number == 0:
                self.expect_unchanged(
                    NotFoundError, partial(self.db.get_version, ds, as_of=earlier)
                )
            else:
                assert self.db.get_version(ds, as_of=earlier) == versions[version.number - 1]
        latest = versions[-1]
        rows = list(self.db.iter_datapoints_v4(ds, as_of=latest.created_at + timedelta(days=1)))
        assert rows == [row.v4(ds) for row in model.versions[-1]]
        self.expect_unchanged(
            ValidationError, lambda: self.db.get_version(ds, 0, as_of=latest.created_at)
        )
        naive = latest.created_at.replace(tzinfo=None)
        self.expect_unchanged(ValidationError, lambda: self.db.get_version(ds, as_of=naive))
