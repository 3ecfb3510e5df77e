"""Integrity verification: re-derive what a store holds from its raw rows and compare.

:func:`verify` reads the tables with its own SQL, inside one read transaction
(one snapshot), and checks:

1. Commits: global positions run 1..n without gaps; each dataset's stream
   versions run 1..m without gaps and its content versions 0, 1, 2, ... in
   order; a dataset's first commit starts with a ``dataset_created`` event.
2. Events: commit ``i`` owns the event positions right after commit ``i - 1``'s,
   exactly ``event_count`` of them, each naming ``i`` as its commit; no event
   is left without a commit; every event decodes and matches the digest stored
   beside it, which names an edited event within its commit.
3. Hash chains: each commit's hash, recomputed over its stored content and its
   stream parent's *stored* hash, equals its stored hash. Chaining to the stored
   parent pins a change on the commit that changed, not on every later one. The
   hash is unkeyed: it catches corruption and naive edits, not a forger who
   rewrites the hashes too (anchor the latest hashes elsewhere against that).
4. Read models: every commit is replayed into fresh read-model tables in a
   private in-memory database, which must equal the stored tables row by row;
   the stored applied position must be the last commit's.
5. The projector, the reference read path, must agree with the read models on
   every live dataset: its fields, its latest version and that version's content.

Added in 0.1.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable, Iterator
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs
import orjson

from datasetlog.projector import DatasetState
from datasetlog.projector import apply as fold
from datasetlog.readmodels import TABLES, ReadModels
from datasetlog.serialization import (
    datapoint_from_json,
    datapoint_from_record,
    decode_commit,
    decode_event,
)
from datasetlog.store.base import (
    GENESIS_HASH,
    Connection,
    EncodedEvent,
    StoredCommit,
    commit_hash,
    event_digest,
)

if TYPE_CHECKING:
    from datasetlog.facade import DatasetLog

MAX_PROBLEMS = 20
"""Verification stops after collecting this many problems."""

_COMMITS = (
    "SELECT position, stream_id, stream_version, recorded_at, metadata, first_event, "
    "event_count, hash FROM dl_commits WHERE position > ? ORDER BY position LIMIT ?"
)
_EVENTS = (
    "SELECT position, commit_position, type, schema_version, payload, digest FROM dl_events "
    "WHERE position > ? ORDER BY position LIMIT ?"
)
_BEGIN = {  # a read transaction: every check sees the same snapshot
    "sqlite": "BEGIN",  # deferred: the first read fixes the snapshot
    "postgres": "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
}
_BATCH = 1000
# The column of each read-model table naming the content version a row belongs to.
_VERSION_COLUMN = {
    "dl_versions": "number",
    "dl_rows": "added_in",
    "dl_deletions": "version",
    "dl_idempotency": "version",
}
T = TypeVar("T")


@attrs.frozen(kw_only=True)
class Problem:
    """One thing in a store that is not as its event log says it must be.

    Attributes:
        what: A short code: ``commit_missing``, ``stream_gap``, ``content_version``,
            ``genesis``, ``event_range``, ``event_missing``, ``event_commit``,
            ``event_orphan``, ``event_decode``, ``metadata``, ``hash``, ``projection``,
            ``replay``, ``read_model``, ``read_model_position`` or ``unreadable``.
        dataset_id: The dataset concerned, when known.
        version: The content version concerned, when known.
        commit_position: The global position of the commit concerned, when known.
        event_index: The index of the event concerned within its commit, when known.
        detail: What differs, as expected against found.
    """

    what: str
    dataset_id: str | None = None
    version: int | None = None
    commit_position: int | None = None
    event_index: int | None = None
    detail: str

    def __str__(self) -> str:
        labels = ("dataset", "version", "commit", "event")
        values = (self.dataset_id, self.version, self.commit_position, self.event_index)
        where = ", ".join(f"{k} {v}" for k, v in zip(labels, values, strict=True) if v is not None)
        return f"{self.what} ({where}): {self.detail}" if where else f"{self.what}: {self.detail}"


@attrs.frozen
class VerifyReport:
    """What :func:`verify` found; true when every check passed.

    Attributes:
        ok: Whether every check passed.
        problems: The problems in the order found, at most ``MAX_PROBLEMS``.
        commits: How many commits were read.
        events: How many events were read.
    """

    ok: bool
    problems: list[Problem]
    commits: int = 0
    events: int = 0

    def __bool__(self) -> bool:
        return self.ok

    @property
    def first(self) -> Problem | None:
        """The first problem found, or None."""
        return self.problems[0] if self.problems else None

    def __str__(self) -> str:
        if self.ok:
            return f"ok: {self.commits} commits and {self.events} events verified"
        more = ", stopped there" if len(self.problems) >= MAX_PROBLEMS else ""
        return "\n".join(
            [f"{len(self.problems)} problem(s){more}:", *(f"- {p}" for p in self.problems)]
        )


def verify(log: DatasetLog) -> VerifyReport:
    """Check a store's commits, events, hash chains and read models against each other.

    Reads one snapshot of the store; writers may carry on meanwhile.

    Args:
        log: The datasetlog whose store to check.

    Returns:
        A report naming each problem found (up to ``MAX_PROBLEMS``) with its
        dataset, version, commit and event where known.

    Raises:
        StoreError: The store could not be read at all (an SQLite file that
            is not a database is reported as an ``unreadable`` problem).
    """
    checker = _Checker()
    with log.store.reading() as conn:
        conn.execute(_BEGIN[log.store.dialect])
        try:
            checker.run(conn)
        except _Full:
            pass
        except sqlite3.DatabaseError as error:
            checker.problems.append(Problem(what="unreadable", detail=str(error)))
        finally:
            conn.execute("COMMIT")
    checker.name_gaps()
    problems = checker.problems[:MAX_PROBLEMS]
    return VerifyReport(not problems, problems, checker.commits, checker.events)


class _Full(Exception):
    """Stops verifying once MAX_PROBLEMS were collected."""


class _Peekable(Generic[T]):
    def __init__(self, items: Iterable[T]) -> None:
        self._items = iter(items)
        self._head: list[T] = []

    def peek(self) -> T | None:
        if not self._head:
            self._head.extend(itertools.islice(self._items, 1))
        return self._head[0] if self._head else None

    def pop(self) -> T:
        self.peek()
        return self._head.pop()


@attrs.define
class _Stream:
    """What the scan remembers of one dataset's stream."""

    version: int = 0
    hash: str = GENESIS_HASH
    position: int = 0
    content: int = -1
    state: DatasetState | None = None
    failed: bool = False


def _digest_or_error(event: EncodedEvent) -> str:
    try:
        return event_digest(event)
    except Exception as error:  # e.g. a payload that is no longer text
        return f"(cannot digest: {error})"


def _clip(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _short(value: object) -> str:
    return _clip(repr(value))


def _content_version(metadata: object) -> int | None:
    """The version number a commit's metadata states, read leniently."""
    try:
        number = orjson.loads(metadata)["version"]["number"]  # type: ignore[arg-type]
    except (orjson.JSONDecodeError, TypeError, KeyError):
        return None
    return number if type(number) is int else None


def _paged(conn: Connection, select: str) -> Iterator[Any]:
    """The rows of a ``WHERE position > ? ... LIMIT ?`` query, a batch at a time."""
    after = 0
    while True:
        rows = conn.execute(select, (after, _BATCH)).fetchall()
        yield from rows
        if len(rows) < _BATCH:
            return
        after = rows[-1][0]


def _tables(rows: Iterator[tuple[str, tuple[object, ...]]]) -> _Peekable[tuple[str, Any]]:
    """A dump's rows grouped by table, lazily (consume a group before peeking on)."""
    groups = itertools.groupby(rows, key=itemgetter(0))
    return _Peekable((table, map(itemgetter(1), group)) for table, group in groups)


def _subject(table: str, row: dict[str, object]) -> str:
    """Name a read-model row for a reader."""
    names = {
        "dl_datasets": f"of dataset {row.get('id')}",
        "dl_versions": f"of version {row.get('number')}",
        "dl_rows": f"of datapoint {row.get('datapoint_id')} at ordinal {row.get('ordinal')}",
        "dl_deletions": f"at ordinal {row.get('ordinal')}",
        "dl_idempotency": f"of key {row.get('key')!r}",
    }
    return f"{table} row {names.get(table, '')}".rstrip()


def _differences(fields: Iterable[tuple[str, object, object]]) -> str:
    return "; ".join(
        f"{name}: expected {_short(want)}, found {_short(have)}"
        for name, want, have in fields
        if want != have
    )


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.models = ReadModels()
        self.streams: dict[str, _Stream] = {}
        self.gaps: list[tuple[int, int, int]] = []  # (problem index, first, last position)
        self.stream_gaps: list[tuple[int, int, str, int | None]] = []
        self.commits = self.events = 0
        self.replayed = True

    def add(self, what: str, **where: Any) -> None:
        self.problems.append(Problem(what=what, **where))
        if len(self.problems) >= MAX_PROBLEMS:
            raise _Full

    def run(self, conn: Connection) -> None:
        mem = sqlite3.connect(":memory:", isolation_level=None)
        try:
            self.models.ensure(mem)
            mem.execute("BEGIN")
            last = self.scan(conn, mem)
            if self.replayed:
                self.compare_read_models(conn, mem, last)
            for dataset_id, stream in self.streams.items():
                if stream.state is not None and not (stream.failed or stream.state.deleted):
                    self.compare_projection(conn, dataset_id, stream.state)
        finally:
            mem.close()

    def name_gaps(self) -> None:
        """Name the dataset (and version) of each missing commit, from its stream's gap."""
        for index, first, last in self.gaps:
            for before, after, dataset_id, version in self.stream_gaps:
                if before < first and after > last and index < len(self.problems):
                    problem = self.problems[index]
                    self.problems[index] = attrs.evolve(
                        problem, dataset_id=dataset_id, version=version
                    )
                    break

    # -- the log ---------------------------------------------------------------------------

    def scan(self, conn: Connection, mem: sqlite3.Connection) -> int:
        """Walk commits and events together in position order; return the last position."""
        events = _Peekable(_paged(conn, _EVENTS))
        last_position = last_event = 0
        for row in _paged(conn, _COMMITS):
            self.commits += 1
            position, stream_id, stream_version, recorded_at, metadata, first, count, digest = row
            version = _content_version(metadata)
            at = {"dataset_id": stream_id, "version": version, "commit_position": position}
            if position != last_position + 1:
                self.gaps.append((len(self.problems), last_position + 1, position - 1))
                missing = f"no commit at positions {last_position + 1}..{position - 1}"
                self.add("commit_missing", commit_position=last_position + 1, detail=missing)
            last_position = position
            stream = self.streams.setdefault(stream_id, _Stream())
            contiguous = stream_version == stream.version + 1
            if not contiguous:
                skipped = version is not None and version > stream.content + 1
                lost = stream.content + 1 if skipped else None
                self.stream_gaps.append((stream.position, position, stream_id, lost))
                detail = f"stream version {stream_version} follows {stream.version}"
                self.add("stream_gap", **at, detail=detail)
            self.orphans(events, before=first)
            if first != last_event + 1:
                detail = f"events start at {first}, not {last_event + 1}"
                self.add("event_range", **at, detail=detail)
            found = self.own_events(events, first, count, at)
            last_event = max(last_event, first + count - 1)
            stored = StoredCommit(
                position=position,
                stream_id=stream_id,
                stream_version=stream_version,
                recorded_at=recorded_at,
                metadata=metadata,
                events=found,
                hash=digest,
                first_event=first,
            )
            self.check_commit(stored, stream, at, mem, contiguous=contiguous)
        self.orphans(events, before=None)
        return last_position

    def orphans(self, events: _Peekable[Any], *, before: int | None) -> None:
        """Report the events below position ``before`` (all left, if None) as commitless."""
        orphans = []
        while (row := events.peek()) is not None and (before is None or row[0] < before):
            orphans.append(events.pop())
        if orphans:
            self.events += len(orphans)
            commits = sorted({row[1] for row in orphans})
            self.add(
                "event_orphan",
                commit_position=commits[0],
                detail=f"{len(orphans)} event(s) at positions {orphans[0][0]}..{orphans[-1][0]} "
                f"belong to no commit (they name commit(s) {_short(commits)})",
            )

    def own_events(
        self, events: _Peekable[Any], first: int, count: int, at: dict[str, Any]
    ) -> tuple[EncodedEvent, ...]:
        """Take a commit's events off the event cursor, checking each one's position."""
        found = []
        expected = first
        while (row := events.peek()) is not None and row[0] < first + count:
            position, commit_position, type_, schema_version, payload, digest = events.pop()
            self.events += 1
            event = EncodedEvent(type_, schema_version, payload)
            if digest is not None and _digest_or_error(event) != digest:
                detail = f"event {position} ({type_}) no longer matches its digest: it was edited"
                self.add("event_changed", **at, event_index=position - first, detail=detail)
            if position != expected:
                detail = f"no event at positions {expected}..{position - 1}"
                self.add("event_missing", **at, event_index=expected - first, detail=detail)
            if commit_position != at["commit_position"]:
                detail = f"event {position} names commit {commit_position}"
                self.add("event_commit", **at, event_index=position - first, detail=detail)
            found.append(event)
            expected = position + 1
        if expected < first + count:
            detail = f"{count} event(s) stated, positions {expected}..{first + count - 1} missing"
            self.add("event_missing", **at, event_index=expected - first, detail=detail)
        return tuple(found)

    def check_commit(
        self,
        stored: StoredCommit,
        stream: _Stream,
        at: dict[str, Any],
        mem: sqlite3.Connection,
        *,
        contiguous: bool,
    ) -> None:
        """Decode, hash, fold and replay one commit."""
        try:
            commit = decode_commit(stored)
        except Exception:
            commit = None
            self.explain_decoding(stored, at)
        try:
            recomputed = commit_hash(stream.hash, stored)
        except Exception as error:  # e.g. a payload that is no longer text
            recomputed = f"(cannot hash: {error})"
        if recomputed != stored.hash:
            detail = f"stored {stored.hash}, recomputed {recomputed}: the commit changed"
            self.add("hash", **at, detail=detail)
        if stream.version == 0 and [e.type for e in stored.events[:1]] != ["dataset_created"]:
            kind = stored.events[0].type if stored.events else "no event"
            self.add("genesis", **at, detail=f"the dataset's first commit holds {kind!r}")
        if commit is not None and commit.version is not None:
            number = commit.version.number
            if contiguous and number != stream.content + 1:
                detail = f"content version {number} follows {stream.content}"
                self.add("content_version", **at, detail=detail)
            stream.content = number
        stream.version, stream.hash = stored.stream_version, stored.hash
        stream.position = stored.position
        if commit is None:
            stream.failed, self.replayed = True, False
            return
        if not stream.failed:
            try:
                stream.state = fold(stream.state, commit)
            except Exception as error:  # a tampered log may break the fold in any way
                stream.failed = True
                self.add("projection", **at, detail=f"the projector cannot fold it: {error!r}")
        if self.replayed:
            try:
                self.models.apply(mem, commit, stored.position, stored.first_event)
            except Exception as error:  # as above, for the read models
                self.replayed = False
                detail = f"fresh read models cannot apply it ({error!r}), so are not compared"
                self.add("replay", **at, detail=detail)

    def explain_decoding(self, stored: StoredCommit, at: dict[str, Any]) -> None:
        """Name the part of a commit that does not decode."""
        explained = False
        try:
            decode_commit(attrs.evolve(stored, events=()))
        except Exception as error:
            explained = True
            self.add("metadata", **at, detail=f"{_short(stored.metadata)}: {error!r}")
        for index, event in enumerate(stored.events):
            try:
                decode_event(event)
            except Exception as error:
                explained = True
                detail = f"{event.type!r} v{event.schema_version} does not decode: {error!r}"
                self.add("event_decode", **at, event_index=index, detail=detail)
        if not explained:
            self.add("metadata", **at, detail="the commit does not decode")

    # -- the read models -------------------------------------------------------------------

    def compare_read_models(self, conn: Connection, mem: sqlite3.Connection, last: int) -> None:
        """Compare the stored read models with those replayed into ``mem``, row by row."""
        try:
            applied = self.models.position(conn)
        except (sqlite3.Error, TypeError) as error:
            self.add("read_model", detail=f"the read models cannot be read: {error}")
            return
        if applied != last:
            detail = f"the read models applied commits up to {applied}, the log ends at {last}"
            self.add("read_model_position", commit_position=applied, detail=detail)
        # Keys are compared as the dataset ids they stand for: a PostgreSQL identity may skip.
        select = "SELECT key, id FROM dl_datasets"
        want_ids: dict[object, str] = dict(mem.execute(select).fetchall())
        have_ids: dict[object, str] = dict(conn.execute(select).fetchall())
        expected, found = _tables(self.models.dump(mem)), _tables(self.models.dump(conn))
        for table in TABLES:
            columns = [row[1] for row in mem.execute(f"PRAGMA table_info({table})")]
            want = expected.pop()[1] if (expected.peek() or ("",))[0] == table else iter(())
            have = found.pop()[1] if (found.peek() or ("",))[0] == table else iter(())
            if table == "dl_rm_meta":
                continue  # its position row is checked above, its schema row by ensure()
            if columns[:1] in (["key"], ["dataset_key"]):
                want = ((want_ids.get(r[0], r[0]), *r[1:]) for r in want)
                have = ((have_ids.get(r[0], r[0]), *r[1:]) for r in have)
            wants, haves = _Peekable(want), _Peekable(have)
            while (want_row := wants.peek()) is not None or haves.peek() is not None:
                have_row = haves.peek()
                if want_row == have_row:
                    wants.pop(), haves.pop()
                    continue
                if want_row is not None and have_row is not None:
                    # One row more or less shifts the rest: name that row, not the next pair.
                    wants.pop(), haves.pop()
                    if want_row == haves.peek():
                        want_row = None
                    elif wants.peek() == have_row:
                        have_row = None
                self.row_problem(table, columns, want_row, have_row)
                break

    def row_problem(
        self,
        table: str,
        columns: list[str],
        want: tuple[object, ...] | None,
        have: tuple[object, ...] | None,
    ) -> None:
        """Report the first row where a stored read-model table differs from its replay."""
        row = want if want is not None else have
        assert row is not None
        values = dict(zip(columns, row, strict=False))
        subject = _subject(table, values)
        if want is None:
            detail = f"{subject} should not exist: found {_short(have)}"
        elif have is None:
            detail = f"{subject} is missing: expected {_short(want)}"
        else:
            detail = f"{subject}: {_differences(zip(columns, want, have, strict=False))}"
        version = values.get(_VERSION_COLUMN.get(table, ""))
        self.add(
            "read_model",
            dataset_id=row[0] if type(row[0]) is str else None,
            version=version if type(version) is int else None,
            detail=detail,
        )

    def compare_projection(self, conn: Connection, dataset_id: str, state: DatasetState) -> None:
        """Compare a live dataset's projection with what the read models serve of it."""
        latest = state.version
        at = {"dataset_id": dataset_id, "version": latest.number}
        row = self.models.dataset(conn, dataset_id)
        if row is None:
            self.add("projection", **at, detail="the read models hold no live dataset of this id")
            return
        want = state.dataset()
        fields = [
            ("name", want.name, row.name),
            ("description", want.description, row.description),
            ("project_id", want.project_id, row.project_id),
            ("datapoint_count", want.datapoint_count, row.datapoint_count),
            ("created_at", want.created_at.isoformat(), row.created_at),
            ("updated_at", want.updated_at.isoformat(), row.updated_at),
            ("version", latest.number, row.version),
        ]
        found = self.models.version(conn, row.key, latest.number)
        if found is not None:
            fields += [
                ("version id", latest.id, found.id),
                ("message", latest.message, found.message),
                ("version created_at", latest.created_at.isoformat(), found.created_at),
                ("version datapoint_count", latest.datapoint_count, found.datapoint_count),
            ]
        differences = _differences(fields) or ("" if found else "the latest version is missing")
        if differences:
            self.add("projection", **at, detail=f"projector vs read models: {differences}")
            return
        assert found is not None
        records = list(state.records.values())
        index, start = 0, 0
        while True:
            spans = self.models.spans(conn, row.key, found, start=start, limit=_BATCH)
            for _, payload in spans:
                expected = records[index] if index < len(records) else None
                try:
                    same = expected is not None and datapoint_from_json(
                        dataset_id, payload
                    ) == datapoint_from_record(dataset_id, expected)
                except Exception:  # a payload the read models point at may not decode
                    same = False
                if not same:
                    shown = expected.id if expected is not None else "none"
                    detail = f"datapoint #{index}: expected {shown}, found {_short(payload)}"
                    self.add("projection", **at, detail=detail)
                    return
                index += 1
            if len(spans) < _BATCH:
                break
            start = spans[-1][0] + 1
        if index < len(records):
            detail = f"{index} datapoint(s) served, {len(records)} projected"
            self.add("projection", **at, detail=detail)
