"""The log scan: commits and events in position order, their chains, decoding, fold and replay.

Each commit's events are taken off one cursor over the event table a batch
at a time (``BATCH``): checked (position, commit, digest), fed to the hash,
decoded, then fed to the fold (:mod:`.fold`) and to fresh read models
(``CommitApplication``, as a write feeds them), so memory does not grow with
the size of a commit. What cannot be checked for a resource running out ends
the run (:func:`~datasetlog.integrity.report.raise_if_resource`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any, Generic, TypeVar

import attrs
import orjson

from datasetlog.events import Commit, Event
from datasetlog.integrity.feeds import Chain, Folding, Guarded, Replaying
from datasetlog.integrity.fold import LogFold
from datasetlog.integrity.report import Problems, clip, raise_if_resource
from datasetlog.serialization.codec import decode_commit, decode_event
from datasetlog.store.base import Connection, SQLStore
from datasetlog.store.chain import GENESIS_HASH, event_digest
from datasetlog.store.records import EncodedEvent, RawCommit, RawEvent, StoredCommit

BATCH = 1000
"""Rows read per query."""
T = TypeVar("T")


class Peekable(Generic[T]):
    """An iterator whose next item can be looked at before it is taken."""

    def __init__(self, items: Iterable[T]) -> None:
        self._items = iter(items)
        self._head: list[T] = []

    def peek(self) -> T | None:
        """The next item, left in place; None at the end."""
        if not self._head:
            self._head.extend(itertools.islice(self._items, 1))
        return self._head[0] if self._head else None

    def pop(self) -> T:
        """Take the next item."""
        self.peek()
        return self._head.pop()


@attrs.define
class StreamScan:
    """What the scan remembers of one dataset's stream."""

    sequence: int = 0
    hash: str = GENESIS_HASH
    position: int = 0
    content: int = -1


@attrs.frozen
class _Gap:
    """Commits missing from the global positions, and the problem that reported them."""

    problem: int
    first: int
    last: int


@attrs.frozen
class _StreamGap:
    """A jump in one stream: between which positions, and the content version lost."""

    before: int
    after: int
    dataset_id: str
    version: int | None


def _paged(read: Callable[[int], list[T]], position: Callable[[T], int]) -> Iterator[T]:
    """The rows of a ``position > after`` scan, a batch at a time."""
    after = 0
    while True:
        rows = read(after)
        yield from rows
        if len(rows) < BATCH:
            return
        after = position(rows[-1])


def _content_version(metadata: Any) -> int | None:
    """The version number a commit's metadata states, read leniently."""
    try:
        number = orjson.loads(metadata)["version"]["number"]
    except (orjson.JSONDecodeError, TypeError, KeyError):
        return None
    return number if type(number) is int else None


def _digest_or_error(event: EncodedEvent) -> str:
    try:
        return event_digest(event)
    except Exception as error:  # e.g. a payload that is no longer text
        raise_if_resource(error, "digesting an event")
        return f"(cannot digest: {error})"


class LogScan:
    """Walks a store's commits and events together, folding and replaying each commit.

    A commit's events are checked, hashed, decoded, folded and replayed a
    batch at a time, so a commit of any size is never held whole.

    Args:
        problems: Where to report what is wrong.
        replay_into: The connection of fresh read models every commit is
            replayed into, for :mod:`~datasetlog.integrity.replay` to compare
            (an SQLite database of verify's own, which also keeps the fold's ids).
        progress: If given, called with each commit's event count once it is checked.
    """

    def __init__(
        self,
        problems: Problems,
        replay_into: Connection,
        progress: Callable[[int], object] | None = None,
    ) -> None:
        self.problems = problems
        self.progress = progress
        self.replay_into = replay_into
        self.streams: dict[str, StreamScan] = {}
        self.fold = LogFold(replay_into)
        self.commits = self.events = 0
        self.replayed = True
        self.last_position = 0
        self._gaps: list[_Gap] = []
        self._stream_gaps: list[_StreamGap] = []

    def run(self, store: SQLStore, conn: Connection) -> None:
        """Scan every commit and event of the snapshot ``conn`` sees."""
        events = Peekable(
            _paged(lambda after: store.scan_events(conn, after=after, limit=BATCH), _position)
        )
        last_event = 0
        commits = _paged(
            lambda after: store.scan_commits(conn, after=after, limit=BATCH), _position
        )
        for row in commits:
            self.commits += 1
            version = _content_version(row.metadata)
            at = {"dataset_id": row.stream_id, "version": version, "commit_position": row.position}
            if row.position != self.last_position + 1:
                self._gaps.append(
                    _Gap(len(self.problems.found), self.last_position + 1, row.position - 1)
                )
                missing = f"no commit at positions {self.last_position + 1}..{row.position - 1}"
                self.problems.add(
                    "commit_missing", commit_position=self.last_position + 1, detail=missing
                )
            self.last_position = row.position
            stream = self.streams.setdefault(str(row.stream_id), StreamScan())
            contiguous = row.sequence == stream.sequence + 1
            if not contiguous:
                skipped = version is not None and version > stream.content + 1
                lost = stream.content + 1 if skipped else None
                self._stream_gaps.append(
                    _StreamGap(stream.position, row.position, str(row.stream_id), lost)
                )
                detail = f"sequence {row.sequence} follows {stream.sequence}"
                self.problems.add("stream_gap", **at, detail=detail)
            first, count = row.first_event, row.event_count
            self._orphans(events, before=first)
            if first != last_event + 1:
                detail = f"events start at {first}, not {last_event + 1}"
                self.problems.add("event_range", **at, detail=detail)
            before = self.events
            self._check_commit(row, self._own_events(events, first, count, at), stream, at)
            last_event = max(last_event, first + count - 1)
            if self.progress is not None:
                self.progress(self.events - before)
        self._orphans(events, before=None)

    def name_gaps(self) -> None:
        """Name the dataset (and version) of each missing commit, from its stream's gap."""
        found = self.problems.found
        for gap in self._gaps:
            for jump in self._stream_gaps:
                if jump.before < gap.first and jump.after > gap.last and gap.problem < len(found):
                    found[gap.problem] = attrs.evolve(
                        found[gap.problem], dataset_id=jump.dataset_id, version=jump.version
                    )
                    break

    def _orphans(self, events: Peekable[RawEvent], *, before: int | None) -> None:
        """Report the events below position ``before`` (all left, if None) as commitless."""
        orphans = []
        while (row := events.peek()) is not None and (before is None or row.position < before):
            orphans.append(events.pop())
        if orphans:
            self.events += len(orphans)
            commits = sorted({str(row.commit_position) for row in orphans})
            self.problems.add(
                "event_orphan",
                commit_position=orphans[0].commit_position,
                detail=f"{len(orphans)} event(s) at positions "
                f"{orphans[0].position}..{orphans[-1].position} "
                f"belong to no commit (they name commit(s) {clip(commits)})",
            )

    def _own_events(
        self, events: Peekable[RawEvent], first: int, count: int, at: dict[str, Any]
    ) -> Iterator[list[EncodedEvent]]:
        """Take a commit's events off the event cursor, a batch at a time, checking each
        one's position, commit and digest."""
        batch: list[EncodedEvent] = []
        expected = first
        while (row := events.peek()) is not None and row.position < first + count:
            events.pop()
            self.events += 1
            event = EncodedEvent(row.type, row.schema_version, row.payload)
            if row.digest is not None and _digest_or_error(event) != row.digest:
                detail = (
                    f"event {row.position} ({row.type}) no longer matches its digest: it was edited"
                )
                self.problems.add(
                    "event_changed", **at, event_index=row.position - first, detail=detail
                )
            if row.position != expected:
                detail = f"no event at positions {expected}..{row.position - 1}"
                self.problems.add(
                    "event_missing", **at, event_index=expected - first, detail=detail
                )
            if row.commit_position != at["commit_position"]:
                detail = f"event {row.position} names commit {row.commit_position}"
                self.problems.add(
                    "event_commit", **at, event_index=row.position - first, detail=detail
                )
            batch.append(event)
            expected = row.position + 1
            if len(batch) == BATCH:
                yield batch
                batch = []
        if expected < first + count:
            detail = f"{count} event(s) stated, positions {expected}..{first + count - 1} missing"
            self.problems.add("event_missing", **at, event_index=expected - first, detail=detail)
        if batch:
            yield batch

    def _check_commit(
        self,
        row: RawCommit,
        batches: Iterator[list[EncodedEvent]],
        stream: StreamScan,
        at: dict[str, Any],
    ) -> None:
        """Hash, decode, fold and replay one commit, its events a batch at a time."""
        stored = row.stored()
        chain = Chain(stream.hash, stored)
        commit = self._decode_header(stored)
        decodes = commit is not None
        folding = replaying = None
        if commit is not None:
            if self.fold.folds(commit.dataset_id):
                folding = Guarded("folding the log", partial(Folding, self.fold, commit))
            if self.replayed:
                replay = partial(Replaying, self.replay_into, commit)
                replaying = Guarded("replaying the log", replay)
        header_reported = commit is not None
        first_type: str | None = None
        index = 0
        for batch in batches:
            chain.feed(batch)
            if not header_reported:
                self._explain_header(stored, at)
                header_reported = True
            if first_type is None:
                first_type = batch[0].type
            events = self._decode_events(batch, index, at)
            if events is None:
                decodes = False  # then neither the fold nor the replay takes the commit
            elif decodes:
                for feed in (folding, replaying):
                    if feed is not None:
                        feed.feed(events, batch, row.first_event + index)
            index += len(batch)
        if not header_reported:
            self._explain_header(stored, at)
        recomputed = chain.recomputed()
        if recomputed != stored.hash:
            detail = f"stored {stored.hash}, recomputed {recomputed}: the commit changed"
            self.problems.add("hash", **at, detail=detail)
        if stream.sequence == 0 and first_type not in ("dataset_created", "dataset_forked"):
            kind = first_type or "no event"
            self.problems.add("genesis", **at, detail=f"the dataset's first commit holds {kind!r}")
        if commit is not None and commit.version is not None:
            number = commit.version.number
            if row.sequence == stream.sequence + 1 and number != stream.content + 1:
                detail = f"content version {number} follows {stream.content}"
                self.problems.add("content_version", **at, detail=detail)
            stream.content = number
        stream.sequence, stream.hash = stored.sequence, stored.hash
        stream.position = stored.position
        if not decodes:
            self.fold.failed.add(str(row.stream_id))
            self.replayed = False
            return
        if folding is not None:
            folding.finish(stored.position)
            if folding.error is not None:
                self.fold.failed.add(str(row.stream_id))
                detail = f"the projector cannot fold it: {folding.error!r}"
                self.problems.add("projection", **at, detail=detail)
        if replaying is not None:
            replaying.finish(stored.position)
            if replaying.error is not None:
                self.replayed = False
                detail = (
                    f"fresh read models cannot apply it ({replaying.error!r}), so are not compared"
                )
                self.problems.add("replay", **at, detail=detail)

    def _decode_header(self, stored: StoredCommit) -> Commit | None:
        """The commit without its events, or None if what it says of itself does not decode."""
        try:
            return decode_commit(stored)
        except Exception as error:
            raise_if_resource(error, "decoding a commit")
            return None

    def _explain_header(self, stored: StoredCommit, at: dict[str, Any]) -> None:
        """Report a commit whose metadata does not decode."""
        try:
            decode_commit(stored)
        except Exception as error:
            self.problems.add("metadata", **at, detail=f"{clip(stored.metadata)}: {error!r}")

    def _decode_events(
        self, batch: list[EncodedEvent], index: int, at: dict[str, Any]
    ) -> list[Event] | None:
        """A batch of a commit's events decoded (None if one does not: each is reported)."""
        decoded: list[Event] = []
        ok = True
        for offset, event in enumerate(batch, start=index):
            try:
                decoded.append(decode_event(event))
            except Exception as error:
                raise_if_resource(error, "decoding an event")
                ok = False
                detail = f"{event.type!r} v{event.schema_version} does not decode: {error!r}"
                self.problems.add("event_decode", **at, event_index=offset, detail=detail)
        return decoded if ok else None


def _position(row: RawCommit | RawEvent) -> int:
    return row.position
