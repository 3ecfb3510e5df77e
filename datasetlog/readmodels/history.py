"""What changed between versions, and a datapoint's every state, read from the spans.

A diff looks only where something happened: the ordinals versions added
(a range per version, from ``dl_versions``) and those they updated, deleted
or restored (``dl_changes``). A datapoint's states are its spans, found by
its id. Neither reads the rest of the dataset.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import attrs
import orjson

from datasetlog.content import content_of, field_changes
from datasetlog.events import DatapointAdded
from datasetlog.models import Change, Datapoint, Diff, DiffCounts, Version
from datasetlog.readmodels.layers import View, own_view, view_of
from datasetlog.readmodels.rows import DatasetRow, VersionRow
from datasetlog.readmodels.schema import EVENT_TYPE, PAYLOAD, PAYLOAD_JOIN
from datasetlog.readmodels.spans import Spans
from datasetlog.serialization.decode import corrupt, datapoint_from_json, rewrite_id
from datasetlog.store.base import Connection

Reading = Callable[[], AbstractContextManager[Connection]]
"""Opens a short read: ``store.reading``, or the connection of the write in progress."""


@attrs.frozen
class DiffPlan:
    """The two versions of a diff, resolved: how to go from ``base`` to ``target``."""

    dataset: DatasetRow
    base: VersionRow
    target: VersionRow

    def versions(self) -> tuple[Version, Version]:
        """The two versions as users see them."""
        return self.base.to_version(self.dataset.id), self.target.to_version(self.dataset.id)


@attrs.frozen
class SpanState:
    """One span of a datapoint: the versions it is live in, its event and stored JSON."""

    ordinal: int
    added_in: int
    removed_in: int | None
    event: int
    payload: Any

    def live_at(self, version: int) -> bool:
        """Whether the span holds the datapoint's content in ``version``."""
        return self.added_in <= version and (self.removed_in is None or self.removed_in > version)


@attrs.frozen
class DatapointSpan:
    """A span found by datapoint id, with its dataset and the type of the event behind it."""

    dataset_id: str
    datapoint_id: str
    span: SpanState
    event_type: str


_COLUMNS = f"r.ordinal, r.added_in, r.removed_in, r.event, {PAYLOAD}"
_DATAPOINT = (
    f"SELECT d.id, r.datapoint_id, {_COLUMNS}, {EVENT_TYPE} FROM dl_rows r "
    f"JOIN dl_datasets d ON d.key = r.dataset_key {PAYLOAD_JOIN} "
    "WHERE r.datapoint_id = ? ORDER BY r.added_in"
)
_LIVE_AT_EITHER = (
    "((r.added_in <= ? AND (r.removed_in IS NULL OR r.removed_in > ?)) "
    "OR (r.added_in <= ? AND (r.removed_in IS NULL OR r.removed_in > ?)))"
)


class History:
    """Reads of what changed, in the read models of one store."""

    def __init__(self, spans: Spans) -> None:
        self._spans = spans

    @staticmethod
    def touched(
        conn: Connection, key: int, lo: int, hi: int, *, after: int, below: int, limit: int
    ) -> list[int]:
        """Ordinals in ``(after, below)`` that a version in ``(lo, hi]`` updated, deleted or
        restored, ascending, at most ``limit``."""
        rows = conn.execute(
            "SELECT DISTINCT ordinal FROM dl_changes WHERE dataset_key = ? AND version > ? "
            "AND version <= ? AND ordinal > ? AND ordinal < ? ORDER BY ordinal LIMIT ?",
            (key, lo, hi, after, below, limit),
        ).fetchall()
        return [int(row[0]) for row in rows]

    def spans_at(
        self, conn: Connection, view: View, ordinals: list[int], lo: int, hi: int
    ) -> list[SpanState]:
        """The spans at these ordinals live in version ``lo`` or ``hi``, by ordinal.

        A fork's inherited datapoint at an ordinal it had not claimed by
        ``lo`` is read from below, as a span from version 0 to its claim.
        """
        if not ordinals:
            return []
        key = view.dataset.key
        marks = ", ".join("?" * len(ordinals))
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM dl_rows r {PAYLOAD_JOIN} WHERE r.dataset_key = ? "
            f"AND r.ordinal IN ({marks}) AND {_LIVE_AT_EITHER} ORDER BY r.ordinal, r.added_in",
            (key, *ordinals, lo, lo, hi, hi),
        ).fetchall()
        spans = [SpanState(*row) for row in rows]
        if not view.layered:
            return spans
        below = [o for o in ordinals if o < view.floor(0)]
        claimed: dict[int, int] = {}
        if below:
            claimed = dict(
                conn.execute(
                    "SELECT ordinal, min(added_in) FROM dl_rows WHERE dataset_key = ? "
                    f"AND ordinal IN ({', '.join('?' * len(below))}) GROUP BY ordinal",
                    (key, *below),
                ).fetchall()
            )
        unclaimed = [o for o in below if claimed.get(o, lo + 1) > lo]
        held = self._spans.layering.at(conn, view, unclaimed, first=1)
        for ordinal, (_, payload) in held.items():
            spans.append(
                SpanState(ordinal, 0, claimed.get(ordinal), -1, rewrite_id(payload, view.suffix))
            )
        spans.sort(key=lambda span: (span.ordinal, span.added_in))
        return spans

    def of_datapoint(self, conn: Connection, datapoint_id: str) -> list[DatapointSpan]:
        """Every span a datapoint ever had, oldest first.

        A fork's inherited datapoint starts with a span from version 0 to the
        fork's first change of it, read from below; the tombstones of a fork
        deleting what it inherited, live in no version, are left out.
        """
        rows = conn.execute(_DATAPOINT, (datapoint_id,)).fetchall()
        spans = [
            DatapointSpan(row[0], row[1], SpanState(*row[2:7]), row[7])
            for row in rows
            if row[3] != row[4]
        ]
        inherited = self._spans.layering.inherited(conn, datapoint_id, changed_too=True)
        if inherited is not None and inherited[2] is not None:
            view, ordinal, payload = inherited
            claimed = min((int(row[3]) for row in rows), default=None)
            span = SpanState(ordinal, 0, claimed, -1, payload)
            spans.insert(0, DatapointSpan(view.dataset.id, datapoint_id, span, DatapointAdded.TYPE))
        return spans

    def diff(self, reading: Reading, plan: DiffPlan) -> Diff:
        """A planned diff, whole."""
        added: list[Datapoint] = []
        removed: list[Datapoint] = []
        changed: list[Change] = []
        for change in self.changes(reading, plan):
            if change.kind == "added" and change.after is not None:
                added.append(change.after)
            elif change.kind == "removed" and change.before is not None:
                removed.append(change.before)
            else:
                changed.append(change)
        base, target = plan.versions()
        counts = DiffCounts(len(added), len(removed), len(changed))
        return Diff(base, target, added, removed, changed, counts)

    def changes(
        self, reading: Reading, plan: DiffPlan, *, batch: int = 1000
    ) -> Generator[Change, None, None]:
        """Each entry of a planned diff, in dataset (ordinal) order, read ``batch`` at a time.

        Ordinals below the older version's bound changed only where a version
        between the two touched them; those at or above it were added since,
        and are read as the newer version's spans there. Each batch is its own
        short read: versions never change, so the reads agree.
        """
        key, base, target = plan.dataset.key, plan.base.number, plan.target.number
        lo, hi = sorted((plan.base, plan.target), key=lambda v: v.number)
        if lo.number == hi.number:
            return
        with reading() as conn:
            view = view_of(conn, plan.dataset, lo)
        own = own_view(plan.dataset, hi)
        after = -1
        while True:
            with reading() as conn:
                ordinals = self.touched(
                    conn,
                    key,
                    lo.number,
                    hi.number,
                    after=after,
                    below=lo.ordinal_bound,
                    limit=batch,
                )
                spans = self.spans_at(conn, view, ordinals, lo.number, hi.number)
            yield from _compare(plan.dataset.id, spans, base, target)
            if len(ordinals) < batch:
                break
            after = ordinals[-1]
        start = lo.ordinal_bound
        while start < hi.ordinal_bound:
            with reading() as conn:
                page = self._spans.page(conn, own, start=start, limit=batch)
            for span in page:
                datapoint = datapoint_from_json(plan.dataset.id, span.payload)
                if hi is plan.target:
                    yield Change("added", None, datapoint)
                else:
                    yield Change("removed", datapoint, None)
            if len(page) < batch:
                break
            start = page[-1].ordinal + 1


def _compare(
    dataset_id: str, spans: Iterable[SpanState], base: int, target: int
) -> Iterator[Change]:
    """The entries of a diff at the ordinals these spans (live at base or target) stand on."""
    by_ordinal: dict[int, list[SpanState]] = {}
    for span in spans:
        by_ordinal.setdefault(span.ordinal, []).append(span)
    for ordinal_spans in by_ordinal.values():
        old = next((s for s in ordinal_spans if s.live_at(base)), None)
        new = next((s for s in ordinal_spans if s.live_at(target)), None)
        if old is None and new is not None:
            yield Change("added", None, datapoint_from_json(dataset_id, new.payload))
        elif new is None and old is not None:
            yield Change("removed", datapoint_from_json(dataset_id, old.payload), None)
        elif old is not None and new is not None and old.event != new.event:
            before, after = _decoded(dataset_id, old.payload), _decoded(dataset_id, new.payload)
            fields = field_changes(content_of(before), content_of(after))
            if fields:
                yield Change(
                    "changed",
                    datapoint_from_json(dataset_id, before),
                    datapoint_from_json(dataset_id, after),
                    fields,
                )


def _decoded(dataset_id: str, payload: Any) -> dict[str, Any]:
    """A stored datapoint payload as JSON data (StoreError if it is damaged)."""
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as error:
        raise corrupt(dataset_id, 0, payload, error) from error
    if not isinstance(data, dict):
        raise corrupt(dataset_id, 0, payload, TypeError("not a JSON object"))
    return data
