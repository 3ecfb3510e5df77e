"""Writes of any size as one version: datapoints streamed into one commit, in bounded memory.

A streamed add validates, stores and applies a batch at a time. A streamed
upsert (on the latest version) reads its batches twice: once to validate
them and plan by 96-bit content digests, once to add what the plan adds;
it holds a 128-bit int per base datapoint (a sorted digest and place, about
52 bytes with Python's object header) and a digest per new content, never
their JSON.
"""

from __future__ import annotations

import bisect
import hashlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from datetime import datetime
from typing import Any

import attrs

from datasetlog import messages as commit_messages
from datasetlog.errors import ConflictError, ErrorDetail, StoreError, ValidationError
from datasetlog.events import DatapointsDeleted
from datasetlog.models import Diff, UpsertResult, Version
from datasetlog.readmodels.apply import Applied
from datasetlog.readmodels.history import DiffPlan, History
from datasetlog.readmodels.layers import view_of
from datasetlog.readmodels.rows import DatasetRow, VersionRow
from datasetlog.readmodels.schema import Schema
from datasetlog.readmodels.spans import Spans
from datasetlog.requests import DatapointRequest
from datasetlog.store.base import Connection
from datasetlog.validation.fields import DATASET_ID, require_id
from datasetlog.validation.requests import parse_items
from datasetlog.writes import keyed_streams
from datasetlog.writes.commits import VersionName, added, content_commit
from datasetlog.writes.keyed import parse_key
from datasetlog.writes.keyed_streams import KeyedBase
from datasetlog.writes.loop import CommitWriter, WriteContext, Writer, collector_paused
from datasetlog.writes.plans import Action, content_key_of, held_datapoints, request_key
from datasetlog.writes.upsert import empty_set, nothing, option_problems


class StreamedWrites:
    """The writes of DatasetLog whose datapoints are streamed: ``commit_datapoint_stream``
    and ``upsert_stream``."""

    def __init__(self, writer: Writer, spans: Spans, history: History, schema: Schema) -> None:
        self._writer = writer
        self._spans = spans
        self._history = history
        self._schema = schema

    def commit(
        self,
        dataset_id: str,
        batches: Iterable[Sequence[Any]],
        *,
        count: int,
        name: VersionName | None,
        progress: Callable[[int], object] | None,
        dry_run: bool = False,
    ) -> Version | Diff:
        """Add every datapoint of ``batches`` as one version (or, dry, say what that would
        add); see ``commit_datapoint_stream``."""
        require_id(dataset_id, DATASET_ID)
        problems = option_problems("add", None, dry_run)
        if type(count) is not int or count < 1:
            problems.append(
                ErrorDetail(("count",), f"expected a count >= 1, got {count!r}", "count")
            )
        if problems:
            raise ValidationError(problems)

        def write(tx: WriteContext) -> Version | Diff:
            row = tx.live(dataset_id)
            message = commit_messages.add_datapoints(count)
            streamed = tx.open_commit(content_commit(tx, row, [], message, name=name))
            seen = 0
            for batch in batches:
                requests = _parse_batch(batch, seen)
                seen += len(requests)
                if seen > count:
                    raise _miscounted(count, f"more than {count}")
                streamed.add(added(requests, tx.now))
                if progress is not None:
                    progress(len(requests))
            if seen != count:
                raise _miscounted(count, str(seen))
            applied = streamed.close()
            if count >= BULK:
                self._schema.refresh_statistics(tx.conn)
            if dry_run:
                return self._diff(tx, row, applied)
            return applied.made_version()

        with collector_paused():
            return self._writer.run(write, retry=False, dry_run=dry_run)

    def _diff(self, tx: WriteContext, before: DatasetRow, applied: Applied) -> Diff:
        """What a commit of this transaction changed, from the version before it."""
        head = tx.lookups.version(tx.conn, before.key, before.version)
        if head is None:
            raise StoreError(f"the read models lack the latest version of {before.id!r}")
        plan_ = DiffPlan(applied.dataset, head, applied.made_row())
        return self._history.diff(lambda: nullcontext(tx.conn), plan_)

    def upsert(
        self,
        dataset_id: str,
        batches: Callable[[], Iterable[Sequence[Any]]],
        *,
        action: str,
        expected_version: int | None,
        name: VersionName | None,
        progress: Callable[[int], object] | None,
        key: str | None = None,
        dry_run: bool = False,
        allow_empty: bool = False,
    ) -> UpsertResult | Diff:
        """Upsert every datapoint of the batches on the latest version (or, dry, say what
        that would change); see ``upsert_stream``."""
        require_id(dataset_id, DATASET_ID)
        problems = option_problems(action, expected_version, dry_run, allow_empty)
        if not callable(batches):
            problems.append(
                ErrorDetail(("batches",), "expected a callable giving the batches", "callable")
            )
        if problems:
            raise ValidationError(problems)
        keyed = parse_key(key)
        checked: Action = action  # type: ignore[assignment]

        def write(tx: WriteContext) -> UpsertResult | Diff:
            row = tx.live(dataset_id)
            if expected_version is not None and expected_version != row.version:
                raise ConflictError(
                    f"dataset {row.id!r} is at version {row.version}, not {expected_version}"
                )
            head = tx.lookups.version(tx.conn, row.key, row.version)
            if head is None:
                raise StoreError(f"the read models lack the latest version of {row.id!r}")
            if keyed is None:
                base = _BaseKeys.read(self._spans, tx.conn, row, head)
                planned = _plan(checked, base, batches())
                counts = (planned.items, planned.added, planned.removed, 0, planned.ignored)
            else:
                keyed_base = KeyedBase.read(self._spans, tx.conn, row, head, keyed)
                by_key = keyed_streams.plan(checked, keyed, keyed_base, batches())
                counts = (
                    by_key.items,
                    by_key.added,
                    by_key.removed,
                    by_key.changed,
                    by_key.ignored,
                )
            items, added_count, removed, changed, ignored = counts
            if not items and action == "set" and not allow_empty:
                raise ValidationError([empty_set()])
            if not (added_count or removed or changed):
                if dry_run:
                    return nothing(head, row)
                return UpsertResult(head.to_version(row.id), 0, 0, ignored, False)
            message = commit_messages.upsert(action, head.number, added_count, removed, changed)
            streamed = tx.open_commit(content_commit(tx, row, [], message, name=name))
            if keyed is None:
                held = held_datapoints(self._spans, tx.conn, row, head)
                unkept = (h.id for h, keep in zip(held, planned.kept, strict=True) if not keep)
                for gone in _batched(unkept):
                    streamed.add([DatapointsDeleted(gone)])
                _add_planned(streamed, batches(), planned, tx.now, progress)
            else:
                view = view_of(tx.conn, row, head)
                keyed_streams.write(
                    streamed, self._spans, self._history, tx.conn, view, keyed, checked,
                    keyed_base, by_key, batches(), tx.now, progress,
                )  # fmt: skip
            applied = streamed.close()
            if added_count + removed + changed >= BULK:
                self._schema.refresh_statistics(tx.conn)
            if dry_run:
                return self._diff(tx, row, applied)
            version = applied.made_version()
            return UpsertResult(version, added_count, removed, ignored, True, changed)

        with collector_paused():
            return self._writer.run(write, retry=False, dry_run=dry_run)


BATCH = 10_000
"""Datapoint ids per deletion event of a streamed upsert."""
BULK = 50_000
"""Datapoints a streamed write adds or removes from which the planner's statistics are
refreshed after it: a fraction of a second, against pages planned for an empty table."""


def _batched(ids: Iterable[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    for datapoint_id in ids:
        batch.append(datapoint_id)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _add_planned(
    streamed: CommitWriter,
    batches: Iterable[Sequence[Any]],
    planned: _Plan,
    now: datetime,
    progress: Callable[[int], object] | None,
) -> None:
    """Read the batches again and add the first datapoint of each content the plan adds.

    Raises:
        ValidationError: The batches are not what the plan read.
    """
    wanted, seen = planned.new, 0
    for batch in batches:
        requests = _parse_batch(batch, seen)
        seen += len(requests)
        adding = []
        for request in requests:
            digest = _digest(request_key(request))
            if digest in wanted:
                del wanted[digest]
                adding.append(request)
        streamed.add(added(adding, now))
        if progress is not None:
            progress(len(requests))
    if wanted or seen != planned.items:
        raise ValidationError(
            [ErrorDetail(("batches",), "the batches changed between readings", "changed")]
        )


def _digest(key: bytes) -> int:
    """A content key's 96-bit digest, so that two of a billion contents collide with odds of
    about 1 in 10^11, while a base entry (digest and place) stays within 128 bits."""
    return int.from_bytes(hashlib.blake2b(key, digest_size=12).digest())


class _BaseKeys:
    """The base version's contents by digest, sorted: an int a datapoint, looked up by bisection.

    Each entry is a content's 96-bit digest shifted above the datapoint's
    32-bit place in the base, so the entries of one content are adjacent and
    in base order, and the first of them is where a bare digest (shifted)
    bisects to. ``asked`` marks, at the first entry of a content, that the
    request holds it.
    """

    def __init__(self, entries: list[int]) -> None:
        entries.sort()
        self.entries = entries
        self.asked = bytearray(len(entries))

    @classmethod
    def read(
        cls, spans: Spans, conn: Connection, row: DatasetRow, version: VersionRow
    ) -> _BaseKeys:
        packed = array("Q")  # no object per entry while the base is decoded
        for place, held in enumerate(held_datapoints(spans, conn, row, version)):
            digest = _digest(content_key_of(held))
            packed.append(digest >> 32)
            packed.append(((digest & _LOW) << _PLACE) | place)
        entries = [high << 64 | low for high, low in zip(packed[::2], packed[1::2], strict=True)]
        return cls(entries)

    def mark(self, digest: int) -> bool:
        """Mark a content as asked for; False if the base does not hold it."""
        at = bisect.bisect_left(self.entries, digest << _PLACE)
        if at < len(self.entries) and self.entries[at] >> _PLACE == digest:
            self.asked[at] = 1
            return True
        return False

    def kept(self, action: Action) -> bytearray:
        """Which base datapoints the action keeps, in base order."""
        kept = bytearray(len(self.entries))
        group_asked = False
        previous = -1
        for entry, asked in zip(self.entries, self.asked, strict=True):
            digest = entry >> _PLACE
            first = digest != previous
            if first:
                group_asked, previous = bool(asked), digest
            keep = (
                action == "add"
                or (action == "remove" and not group_asked)
                or (action == "set" and group_asked and first)
            )
            kept[entry & _PLACES] = keep
        return kept


_PLACE = 32
_PLACES = (1 << _PLACE) - 1
_LOW = (1 << 32) - 1


@attrs.frozen
class _Plan:
    """What a streamed upsert does: which base datapoints stay, which contents are added."""

    kept: bytearray
    new: dict[int, None]  # the contents to add, in request order
    items: int
    added: int
    removed: int
    ignored: int


def _plan(action: Action, base: _BaseKeys, batches: Iterable[Sequence[Any]]) -> _Plan:
    """Read the batches once, validating them, and plan as ``upsert.plan`` does, by digests.

    Raises:
        ValidationError: A bad datapoint, at ``("body", i, ...)`` counted across batches.
    """
    new: dict[int, None] = {}  # in request order
    items = 0
    for batch in batches:
        requests = _parse_batch(batch, items)
        items += len(requests)
        for request in requests:
            digest = _digest(request_key(request))
            if not base.mark(digest):
                new.setdefault(digest)
    kept = base.kept(action)
    base.entries = []  # what is left to hold: the plan
    removed = len(kept) - sum(kept)
    if action == "remove":
        return _Plan(kept, {}, items, 0, removed, len(new))
    return _Plan(kept, new, items, len(new), removed, items - len(new))


def _parse_batch(batch: Sequence[Any], offset: int) -> list[DatapointRequest]:
    """One batch's datapoint requests; problems are placed at ``("body", offset + i, ...)``."""
    if isinstance(batch, str | bytes) or not isinstance(batch, Sequence) or not batch:
        problem = ErrorDetail(("body",), "expected batches that are non-empty lists", "batch")
        raise ValidationError([problem])
    return parse_items(list(enumerate(batch, start=offset)), single=False)


def _miscounted(count: int, seen: str) -> ValidationError:
    return ValidationError(
        [ErrorDetail(("count",), f"count says {count} datapoints; the stream held {seen}", "count")]
    )
