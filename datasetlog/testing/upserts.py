"""The state machine with upserts and streamed writes, checked against a plain model.

:class:`UpsertMachine` adds to
:class:`~datasetlog.testing.navigation.NavigationMachine` the writes of any size:

- a rule that upserts (``set``, ``add``, ``remove``) on a random base version,
  with an ``expected_version`` right or wrong (or streams the upsert in
  batches onto the latest version with ``upsert_stream``), and predicts the
  version it commits from the model's rows alone: content matched as
  canonical JSON of ``inputs``, ``messages`` and ``target``;
- rules that add datapoints with ``commit_datapoint_stream`` in any batch
  sizes, and streams that must fail (a bad datapoint in any batch, a wrong
  count) and change nothing.

Every version is then checked on every read path, and against the projector,
by the invariants of the machines it extends: it runs every rule of the three.
Run it from a factory, as every machine of the kit (see
:mod:`datasetlog.testing.machine`).

Added in 0.2.
"""

from __future__ import annotations

import copy
from typing import Any

try:
    from hypothesis import event, note
    from hypothesis import strategies as st
    from hypothesis.stateful import precondition, rule
except ImportError as error:
    raise ImportError(
        "datasetlog.testing.upserts needs hypothesis and pytest: pip install 'datasetlog[testing]'"
    ) from error

from datasetlog import ConflictError, Diff, UpsertResult, ValidationError, to_v4
from datasetlog.testing.navigation import NavigationMachine
from datasetlog.testing.oracle import IDENTITY, Row, canonical, expected_content, plural
from datasetlog.testing.strategies import datapoint_bodies, invalid_datapoint_bodies

CONTENT = ("inputs", "messages", "target")


def key(content: dict[str, Any]) -> str:
    """What makes two datapoints the same for an upsert, in the model's own terms."""
    return canonical({field: content[field] for field in CONTENT if field in content})


def planned(
    action: str, base: list[Row], items: list[dict[str, Any]]
) -> tuple[list[Row], list[dict[str, Any]], int]:
    """The base rows kept, the new contents (in request order) and the items ignored."""
    keys = [key(expected_content(item)) for item in items]
    in_base = {key(row.content) for row in base}
    distinct = list(dict.fromkeys(keys))
    if action == "remove":
        asked = set(keys)
        return (
            [r for r in base if key(r.content) not in asked],
            [],
            sum(k not in in_base for k in distinct),
        )
    new = {k: expected_content(item) for k, item in zip(keys, items, strict=True)}
    fresh = [new[k] for k in distinct if k not in in_base]
    if action == "add":
        return base, fresh, len(items) - len(fresh)
    kept, seen = [], set()
    for row in base:
        if key(row.content) in set(keys) and key(row.content) not in seen:
            kept.append(row)
            seen.add(key(row.content))
    return kept, fresh, len(items) - len(fresh)


KEY_PATH = "inputs.k"
FRESH_KEYS = ("a", "b", "c", "d", "e")


def path_key(content: dict[str, Any]) -> Any:
    """A row's or item's ``inputs.k``, or None."""
    inputs = content.get("inputs")
    return inputs.get("k") if isinstance(inputs, dict) else None


def _provenance(row: Row) -> dict[str, Any]:
    """What of a row's content an update keeps: the log it came from."""
    return {k: v for k, v in row.content.items() if k == "source_project_data_id"}


def planned_by_key(
    action: str, by: str, head: list[Row], items: list[dict[str, Any]]
) -> tuple[list[Row], dict[str, dict[str, Any]], list[dict[str, Any]], int]:
    """A keyed upsert on ``head``: the rows kept (base order), the new content of those
    updated (by id), the contents added (request order) and the items ignored."""

    def item_key(item: dict[str, Any]) -> Any:
        return item.get("id") if by == "id" else path_key(item)

    def row_key(row: Row) -> Any:
        return row.id if by == "id" else path_key(row.content)

    asked = {item_key(item): item for item in items if item_key(item) is not None}
    in_base = {row_key(row) for row in head if row_key(row) is not None}
    if action == "remove":
        kept = [row for row in head if row_key(row) not in asked]
        return kept, {}, [], len(items) - (len(head) - len(kept))
    new = [
        expected_content(item)
        for item in items
        if item_key(item) is None or item_key(item) not in in_base
    ]
    updated = {
        row.id: expected_content(asked[row_key(row)])
        for row in head
        if row_key(row) in asked and key(expected_content(asked[row_key(row)])) != key(row.content)
    }
    kept = head if action == "add" else [row for row in head if row_key(row) in asked]
    return list(kept), updated, new, len(items) - len(new) - len(updated)


class UpsertMachine(NavigationMachine):
    """The navigation machine, plus upserts of every action on every base, and streamed adds."""

    # -- upserts ---------------------------------------------------------------------------

    @precondition(lambda self: self.model.live)
    @rule(
        data=st.data(),
        action=st.sampled_from(("set", "add", "remove")),
        fresh=st.lists(datapoint_bodies(), max_size=3),
        on_latest=st.booleans(),
        expect=st.sampled_from(("none", "right", "wrong")),
        streamed=st.integers(0, 3),
    )
    def upsert(
        self,
        data: st.DataObject,
        action: str,
        fresh: list[dict[str, Any]],
        on_latest: bool,
        expect: str,
        streamed: int,
    ) -> None:
        """Upsert on a base; the new version is the action applied to the base's content.

        With ``streamed`` (1-3, the batch size), ``upsert_stream`` on the latest version.
        """
        ds = data.draw(st.sampled_from(list(self.model.live)), label="dataset")
        model = self.model.live[ds]
        latest = len(model.versions) - 1
        on_latest = on_latest or bool(streamed)
        number = latest if on_latest else data.draw(st.integers(0, latest), label="base")
        known = [{k: v for k, v in row.content.items() if k in CONTENT} for row in model.rows()]
        reused = data.draw(st.lists(st.sampled_from(known), max_size=4) if known else st.just([]))
        items = data.draw(st.permutations([*fresh, *reused, *reused[:1]]), label="items")
        emptying = action == "set" and not items
        allow_empty = emptying and data.draw(st.booleans(), label="allow_empty")
        if emptying and not allow_empty and expect == "wrong":
            expect = "none"  # one refusal at a time: the empty set's
        expected_version = {"none": None, "right": latest, "wrong": latest + 1}[expect]
        batches = [items[i : i + streamed] for i in range(0, len(items), streamed or 1)]
        note(
            f"upsert({ds!r}, {items!r}, action={action!r}, base={number}, "
            f"expected_version={expected_version}, allow_empty={allow_empty})"
            + (f" streamed as {batches!r}" if streamed else "")
        )

        def call() -> UpsertResult:
            if streamed:
                return self.db.upsert_stream(
                    ds,
                    lambda: iter(batches),
                    action=action,
                    expected_version=expected_version,
                    allow_empty=allow_empty,
                )
            return self.db.upsert(
                ds,
                items,
                action=action,
                base=number,
                expected_version=expected_version,
                allow_empty=allow_empty,
            )

        if emptying and not allow_empty:  # a set of nothing would empty the dataset
            info = self.expect_unchanged(ValidationError, call)
            assert isinstance(info.value, ValidationError)
            assert [d.type for d in info.value.details] == ["empty_set"]
            return
        if expect == "wrong":
            self.expect_unchanged(ConflictError, call)
            return
        base, head = model.versions[number], model.versions[-1]
        kept, new, ignored = planned(action, base, items)
        in_head = {row.id: row for row in head}
        rows = [
            in_head[r.id]
            if r.id in in_head and canonical(in_head[r.id].content) == canonical(r.content)
            else r
            for r in kept
        ]
        result = call()
        removed = len(base) - len(kept)
        assert (result.added, result.ignored) == (len(new), ignored)
        if rows == head and not new:
            assert not result.committed
            assert result.version.number == latest
            assert (result.added, result.removed) == (0, 0)
            return
        assert result.committed
        assert result.removed == removed
        read = list(self.db.iter_datapoints_v4(ds, version=result.version.number))
        made = read[len(rows) :]
        assert [{k: v for k, v in d.items() if k not in IDENTITY} for d in made] == new
        assert all(d["created_at"] == d["updated_at"] for d in made)
        rows += [
            Row(d["id"], c, d["created_at"], d["updated_at"])
            for d, c in zip(made, new, strict=True)
        ]
        message = (
            f"Upsert ({action}) on version {number}: "
            f"{plural(len(new), 'datapoint')} added, {removed} removed"
        )
        assert result.version.message == message
        back = {row.id for row in rows}
        self.model.gone_datapoints[:] = [i for i in self.model.gone_datapoints if i not in back]
        self.model.gone_datapoints.extend(row.id for row in head if row.id not in back)
        self.model.add_version(ds, rows, message)
        assert to_v4(result.version) == to_v4(self.db.get_version(ds, "latest"))

    # -- keyed sync ------------------------------------------------------------------------

    @precondition(lambda self: self.model.live)
    @rule(
        data=st.data(),
        action=st.sampled_from(("set", "add", "remove")),
        by=st.sampled_from(("id", KEY_PATH)),
        fresh=st.lists(st.sampled_from(FRESH_KEYS), max_size=3, unique=True),
        flaw=st.sampled_from(("none", "none", "none", "missing", "repeated", "unknown")),
        streamed=st.integers(0, 3),
        dry_run=st.booleans(),
    )
    def keyed_upsert(
        self,
        data: st.DataObject,
        action: str,
        by: str,
        fresh: list[str],
        flaw: str,
        streamed: int,
        dry_run: bool,
    ) -> None:
        """Upsert on the latest version matched by a key (``id`` or ``inputs.k``): a match of
        other content is an update in place, predicted from the model's rows alone."""
        ds = data.draw(st.sampled_from(list(self.model.live)), label="dataset")
        model = self.model.live[ds]
        latest = len(model.versions) - 1
        head = model.versions[-1]
        keyed = [row for row in head if by == "id" or path_key(row.content) is not None]
        chosen = data.draw(st.lists(st.sampled_from(keyed), max_size=4) if keyed else st.just([]))
        items: list[dict[str, Any]] = []
        for row in {row.id: row for row in chosen}.values():
            content = {k: v for k, v in row.content.items() if k in CONTENT}
            if data.draw(st.booleans(), label="edit"):
                content["target"] = {"edited": data.draw(st.sampled_from(FRESH_KEYS))}
            items.append({"id": row.id, **content} if by == "id" else content)
        items += [{"inputs": {"k": k, "q": "new"}, "target": {"n": k}} for k in fresh]
        if flaw == "missing" and by == KEY_PATH:
            items.append({"inputs": {"q": "no key"}})
        elif flaw == "repeated" and items and (by == KEY_PATH or "id" in items[0]):
            items.append({**items[0], "target": {"repeated": True}})
        elif flaw == "unknown" and by == "id":
            unknown = data.draw(st.sampled_from([*self.model.gone_datapoints, "dp_neverexisted"]))
            items.append({"id": unknown, "inputs": {"q": "unknown"}})
        if action == "remove" and by == "id":
            items = [item for item in items if "id" in item]  # nothing to remove is unnamed
        items = data.draw(st.permutations(items), label="items")
        base_keys = [row.id if by == "id" else path_key(row.content) for row in head]
        held = [k for k in base_keys if k is not None]
        asked = [item.get("id") if by == "id" else path_key(item) for item in items]
        named = [k for k in asked if k is not None]
        refused = (
            len(named) != len(set(named))  # a key given twice
            or (by == KEY_PATH and (None in asked or len(held) != len(set(held))))
            or (by == "id" and not set(named) <= set(held))  # an id the base lacks
        )
        batches = [items[i : i + streamed] for i in range(0, len(items), streamed or 1)]
        note(
            f"upsert({ds!r}, {items!r}, action={action!r}, key={by!r}, dry_run={dry_run})"
            + (f" streamed as {batches!r}" if streamed else "")
        )

        def call() -> Any:
            options: dict[str, Any] = {
                "action": action, "key": by, "dry_run": dry_run, "allow_empty": True
            }  # fmt: skip
            if streamed:
                return self.db.upsert_stream(ds, lambda: iter(batches), **options)
            return self.db.upsert(ds, items, **options)

        if refused:
            event("keyed upsert: refused")
            self.expect_unchanged(ValidationError, call)
            return
        kept, updated, new, ignored = planned_by_key(action, by, head, items)
        removed = len(head) - len(kept)
        result = call()
        event(f"keyed upsert: {'dry run' if dry_run else 'written'}, changed={bool(updated)}")
        if dry_run:
            assert isinstance(result, Diff)
            assert result.base.number == latest
            diffed = (result.counts.added, result.counts.removed, result.counts.changed)
            assert diffed == (len(new), removed, len(updated))
            assert [v.number for v in self.db.list_versions(ds)][-1] == latest  # wrote nothing
            return
        assert isinstance(result, UpsertResult)
        counts = (result.added, result.removed, result.changed, result.ignored)
        assert counts == (len(new), removed, len(updated), ignored)
        if not (new or removed or updated):
            assert not result.committed
            assert result.version.number == latest
            return
        assert result.committed
        read = list(self.db.iter_datapoints_v4(ds, version=result.version.number))
        stamped = to_v4(result.version)["created_at"]
        rows = []
        for row, d in zip(kept, read, strict=False):
            assert d["id"] == row.id
            if row.id in updated:
                content = {**updated[row.id], **_provenance(row)}
                assert d["updated_at"] == stamped
                assert d["created_at"] == row.created_at
                rows.append(Row(row.id, content, row.created_at, d["updated_at"]))
            else:
                rows.append(row)
        made = read[len(kept) :]
        assert [{k: v for k, v in d.items() if k not in IDENTITY} for d in made] == new
        rows += [
            Row(d["id"], c, d["created_at"], d["updated_at"])
            for d, c in zip(made, new, strict=True)
        ]
        changed = f", {len(updated)} changed" if updated else ""
        message = (
            f"Upsert ({action}) on version {latest}: "
            f"{plural(len(new), 'datapoint')} added, {removed} removed{changed}"
        )
        assert result.version.message == message
        back = {row.id for row in rows}
        self.model.gone_datapoints.extend(row.id for row in head if row.id not in back)
        self.model.add_version(ds, rows, message)

    # -- streamed adds ---------------------------------------------------------------------

    @precondition(lambda self: self.model.live)
    @rule(
        data=st.data(),
        bodies=st.lists(datapoint_bodies(), min_size=1, max_size=7),
        batch=st.integers(1, 3),
    )
    def stream_datapoints(self, data: st.DataObject, bodies: list[Any], batch: int) -> None:
        """Add datapoints in batches as one version (commit_datapoint_stream)."""
        ds = data.draw(st.sampled_from(list(self.model.live)), label="dataset")
        batches = [bodies[i : i + batch] for i in range(0, len(bodies), batch)]
        note(f"commit_datapoint_stream({ds!r}, {batches!r})")
        sizes: list[int] = []
        version = self.db.commit_datapoint_stream(
            ds, iter(copy.deepcopy(batches)), count=len(bodies), progress=sizes.append
        )
        assert sizes == [len(b) for b in batches]
        assert version.number == len(self.model.live[ds].versions)
        assert version == self.db.get_version(ds, version.number)
        added = list(self.db.iter_datapoints_v4(ds, version=version.number))[-len(bodies) :]
        self.model.add_rows(ds, added, bodies)

    @precondition(lambda self: self.model.live)
    @rule(
        data=st.data(),
        bodies=st.lists(datapoint_bodies(), min_size=1, max_size=4),
        bad=invalid_datapoint_bodies(),
        miscount=st.sampled_from((-1, 0, 1)),
    )
    def stream_invalid_datapoints(
        self, data: st.DataObject, bodies: list[Any], bad: tuple[Any, Any], miscount: int
    ) -> None:
        """A bad datapoint in any batch, or a wrong count, fails the stream; nothing changes."""
        ds = data.draw(st.sampled_from(list(self.model.live)), label="dataset")
        at = data.draw(st.integers(0, len(bodies)), label="bad at")
        body, loc = bad
        stream = [*bodies[:at], body, *bodies[at:]] if miscount == 0 else bodies
        count = len(stream) + miscount
        note(f"commit_datapoint_stream({ds!r}, {stream!r}, count={count}) must fail")
        info = self.expect_unchanged(
            ValidationError,
            lambda: self.db.commit_datapoint_stream(ds, ([item] for item in stream), count=count),
        )
        assert isinstance(info.value, ValidationError)
        expected = ("body", at, *loc) if miscount == 0 else ("count",)
        assert expected in [d.loc for d in info.value.details]
