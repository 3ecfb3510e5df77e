"""A commit into the read models, inside the transaction that appends it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import attrs

from datasetlog.errors import StoreError
from datasetlog.events import (
    Commit,
    DatapointAdded,
    DatapointRestored,
    DatapointsDeleted,
    DatapointUpdated,
    DatasetCreated,
    DatasetDeleted,
    DatasetForked,
    DatasetMerged,
    DatasetUpdated,
    Event,
    TagDeleted,
    TagSet,
    VersionNamed,
)
from datasetlog.ids import derived_id
from datasetlog.models import Version
from datasetlog.readmodels import paging
from datasetlog.readmodels.labels import apply_label
from datasetlog.readmodels.layers import inherited_ordinals, view_of
from datasetlog.readmodels.lookups import VERSION_COLUMNS, Lookups
from datasetlog.readmodels.rows import DatasetRow, VersionRow, instant_us
from datasetlog.store.base import Connection

_SPAN_COLUMNS = ("dataset_key", "ordinal", "added_in", "datapoint_id", "event")
_TOMBSTONE_COLUMNS = ("dataset_key", "ordinal", "added_in", "removed_in", "datapoint_id", "event")
_BLOCK_DELETED = (
    "SELECT deleted FROM dl_deletion_blocks WHERE dataset_key = ? AND block = ? "
    "AND version <= ? ORDER BY version DESC LIMIT 1"
)


@attrs.frozen
class Applied:
    """What applying a commit wrote: its dataset's row after it, and the version it made.

    Writes build what they return from these, inside their own transaction,
    so a result is always what its commit wrote.
    """

    dataset: DatasetRow
    version: VersionRow | None

    def made_version(self) -> Version:
        """The content version the commit made, as users see it.

        Raises:
            StoreError: It made none (it was not a content commit).
        """
        if self.version is None:
            raise StoreError(f"the commit to {self.dataset.id!r} made no content version")
        return self.version.to_version(self.dataset.id)


def apply_commit(conn: Connection, commit: Commit, position: int, first_event: int) -> Applied:
    """Apply one stored commit to the read models (a replay: its dataset row is looked up).

    Args:
        conn: The connection of the transaction that applies the commit.
        commit: The decoded commit.
        position: Its global position.
        first_event: The global position of its first event; a span points
            at the event that states its content.

    Raises:
        StoreError: The commit does not follow from what the read models hold.
    """
    applying = CommitApplication.replaying(conn, commit)
    applying.feed(commit.events, first_event)
    return applying.finish(position)


class CommitApplication:
    """One commit being applied to the read models, its events fed in order, in batches.

    A commit appended in batches (an import of any size) is applied batch by
    batch, so it is never held whole; :func:`apply_commit` feeds a whole one.

    Args:
        conn: The connection of the transaction that appends the commit.
        commit: The commit; only what it says of itself is read here, not its events.
        row: Its dataset's row as the transaction holds it (None: the commit
            creates the dataset).
    """

    @classmethod
    def replaying(cls, conn: Connection, commit: Commit) -> CommitApplication:
        """The application of a commit whose dataset row is looked up (a replay)."""
        return cls(conn, commit, Lookups.dataset(conn, commit.dataset_id, include_deleted=True))

    def __init__(self, conn: Connection, commit: Commit, row: DatasetRow | None) -> None:
        self.conn = conn
        self.commit = commit
        self._row = row
        self._version = 0
        self._count = self._next_ordinal = self._added = 0
        if self._row is not None:
            self._started(self._row)
        self._changed: set[int] = set()
        self._deltas: dict[int, int] = {}  # ordinal -> 1 deleted, -1 restored
        self._labelled: list[VersionNamed | TagSet | TagDeleted] = []

    def _started(self, row: DatasetRow) -> None:
        commit = self.commit
        self._version = commit.version.number if commit.version else row.version
        self._count, self._next_ordinal = row.datapoint_count, row.next_ordinal

    def feed(self, events: Sequence[Event], first_event: int) -> None:
        """Apply the commit's next events, the first at global position ``first_event``."""
        conn = self.conn
        row = self._row
        if row is None:
            created = events[0] if events else None
            if not isinstance(created, DatasetCreated | DatasetForked):
                raise StoreError(f"dataset {self.commit.dataset_id} changed before it was created")
            row = self._row = _create(conn, self.commit, created)
            self._started(row)
        version, changed, deltas = self._version, self._changed, self._deltas
        spans = []
        tombstones = []
        for index, event in enumerate(events, start=first_event):
            if isinstance(event, DatapointAdded):
                spans.append((row.key, self._next_ordinal + self._added, version, event.id, index))
                self._added += 1
            elif isinstance(event, DatasetUpdated):
                conn.execute(
                    "UPDATE dl_datasets SET name = coalesce(?, name), "
                    "description = coalesce(?, description) WHERE key = ?",
                    (event.name, event.description, row.key),
                )
                row = self._row = attrs.evolve(
                    row,
                    name=row.name if event.name is None else event.name,
                    description=row.description if event.description is None else event.description,
                )
            elif isinstance(event, DatasetDeleted):
                conn.execute("UPDATE dl_datasets SET deleted = 1 WHERE key = ?", (row.key,))
                row = self._row = attrs.evolve(row, deleted=1)
            elif isinstance(event, DatapointUpdated):
                ordinal = _close_span(conn, event.id, version)
                if ordinal is None:
                    ordinal = _claim(conn, row, event.id)
                spans.append((row.key, ordinal, version, event.id, index))
                changed.add(ordinal)
            elif isinstance(event, DatapointRestored):
                ordinal = _reopen_span(conn, row, event.id, version, deltas)
                spans.append((row.key, ordinal, version, event.id, index))
                changed.add(ordinal)
            elif isinstance(event, DatapointsDeleted):
                closed, inherited = _close_spans(conn, event.datapoint_ids, version)
                for datapoint_id, ordinal in _claims(conn, row, inherited).items():
                    tombstones.append((row.key, ordinal, version, version, datapoint_id, index))
                    closed.append(ordinal)
                for ordinal in closed:
                    deltas[ordinal] = 1
                    changed.add(ordinal)
            elif isinstance(event, VersionNamed | TagSet | TagDeleted):
                self._labelled.append(event)
            elif isinstance(event, DatasetForked):
                forked = _forked(conn, row, event)
                self._count, self._next_ordinal = forked.datapoint_count, forked.ordinal_bound
            elif isinstance(event, DatasetMerged):
                conn.execute(
                    "INSERT INTO dl_merges (dataset_key, version, source_id, source_version) "
                    "VALUES (?, ?, ?, ?)",
                    (row.key, version, event.source_id, event.source_version),
                )
        conn.insert_rows("dl_rows", _SPAN_COLUMNS, spans)
        if tombstones:  # a fork deleting inherited datapoints: spans live in no version
            conn.insert_rows("dl_rows", _TOMBSTONE_COLUMNS, tombstones)

    def finish(self, position: int) -> Applied:
        """Record what the commit made of the dataset, once its last events are fed.

        Args:
            position: The commit's global position.

        Returns:
            The dataset's row and the version's (if the commit made one), as written.
        """
        conn, commit, row = self.conn, self.commit, self._row
        if row is None:
            raise StoreError(f"dataset {commit.dataset_id} changed before it was created")
        version, changed, deltas = self._version, self._changed, self._deltas
        _record_deletions(conn, row.key, version, deltas)
        if changed:
            conn.insert_rows(
                "dl_changes",
                ("dataset_key", "version", "ordinal"),
                [(row.key, version, ordinal) for ordinal in sorted(changed)],
            )
        count = self._count + self._added - sum(deltas.values())
        next_ordinal = self._next_ordinal + self._added
        recorded_at = commit.recorded_at.isoformat()
        conn.execute(
            "UPDATE dl_datasets SET updated_at = ?, sequence = ?, version = ?, "
            "datapoint_count = ?, next_ordinal = ? WHERE key = ?",
            (recorded_at, commit.sequence, version, count, next_ordinal, row.key),
        )
        made = None
        if commit.version is not None:
            made = VersionRow(
                number=version,
                id=commit.version.id,
                message=commit.version.message,
                created_at=recorded_at,
                datapoint_count=count,
                ordinal_bound=next_ordinal,
                name=None,
                description=None,
                commit_position=position,
            )
            conn.execute(
                "INSERT INTO dl_versions (dataset_key, number, id, message, created_at, "
                "datapoint_count, ordinal_bound, created_us, commit_position) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.key,
                    made.number,
                    made.id,
                    made.message,
                    made.created_at,
                    made.datapoint_count,
                    made.ordinal_bound,
                    instant_us(commit.recorded_at),
                    position,
                ),
            )
        for label_event in self._labelled:  # after the version a name may name is recorded
            apply_label(conn, row.key, commit, label_event)
            if (
                made is not None
                and isinstance(label_event, VersionNamed)
                and label_event.version == made.number
            ):
                made = attrs.evolve(
                    made, name=label_event.name, description=label_event.description
                )
        if commit.idempotency is not None:
            conn.execute(
                "INSERT INTO dl_idempotency (dataset_key, key, request_hash, version) "
                "VALUES (?, ?, ?, ?)",
                (row.key, commit.idempotency.key, commit.idempotency.request_hash, version),
            )
        conn.execute("UPDATE dl_rm_meta SET value = ? WHERE key = 'position'", (position,))
        dataset = attrs.evolve(
            row,
            updated_at=recorded_at,
            sequence=commit.sequence,
            version=version,
            datapoint_count=count,
            next_ordinal=next_ordinal,
        )
        self._row = dataset
        return Applied(dataset, made)


def _create(conn: Connection, commit: Commit, event: DatasetCreated | DatasetForked) -> DatasetRow:
    """Record a new dataset; return its row (the database assigns its key)."""
    created_at = commit.recorded_at.isoformat()
    source_id, source_version = (
        (event.source_id, event.source_version)
        if isinstance(event, DatasetForked)
        else (None, None)
    )
    [key] = conn.execute(
        "INSERT INTO dl_datasets (id, project_id, name, description, created_at, "
        "updated_at, deleted, sequence, version, datapoint_count, next_ordinal, "
        "forked_from, forked_at) VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0, ?, ?) RETURNING key",
        (
            commit.dataset_id,
            event.project_id,
            event.name,
            event.description,
            created_at,
            created_at,
            source_id,
            source_version,
        ),
    ).fetchone()
    return DatasetRow(
        key=int(key),
        id=commit.dataset_id,
        project_id=event.project_id,
        name=event.name,
        description=event.description,
        created_at=created_at,
        updated_at=created_at,
        deleted=0,
        sequence=0,
        version=0,
        datapoint_count=0,
        next_ordinal=0,
        forked_from=source_id,
        forked_at=source_version,
    )


def _forked(conn: Connection, row: DatasetRow, event: DatasetForked) -> VersionRow:
    """The version a new fork holds; the fork copies nothing and reads it as its lowest layer."""
    found = conn.execute(
        f"SELECT {', '.join('v.' + c for c in VERSION_COLUMNS)} FROM dl_versions v "
        "JOIN dl_datasets d ON d.key = v.dataset_key WHERE d.id = ? AND v.number = ?",
        (event.source_id, event.source_version),
    ).fetchone()
    if found is None:
        raise StoreError(
            f"dataset {row.id} forks version {event.source_version} of {event.source_id}, "
            "which the read models lack"
        )
    return VersionRow(*found)


def _claim(conn: Connection, row: DatasetRow, datapoint_id: str) -> int:
    """The ordinal of an inherited datapoint a fork's event updates or restores (it claims it).

    Raises:
        StoreError: The datapoint is not live in the dataset.
    """
    return _claims(conn, row, [datapoint_id])[datapoint_id]


def _claims(conn: Connection, row: DatasetRow, datapoint_ids: list[str]) -> dict[str, int]:
    """The ordinals of inherited datapoints a fork's event changes, by id.

    Raises:
        StoreError: One of them is not live in the dataset.
    """
    if not datapoint_ids:
        return {}
    held: set[str] = set()
    for start in range(0, len(datapoint_ids), _CLOSE_AT_ONCE):
        chunk = datapoint_ids[start : start + _CLOSE_AT_ONCE]
        found = conn.execute(  # by id only, so that the id index is used
            f"SELECT datapoint_id, dataset_key FROM dl_rows "
            f"WHERE datapoint_id IN ({', '.join('?' * len(chunk))})",
            chunk,
        ).fetchall()
        held |= {datapoint_id for datapoint_id, key in found if key == row.key}
    inherited = [
        datapoint_id
        for datapoint_id in datapoint_ids
        if datapoint_id not in held and datapoint_id == derived_id(datapoint_id, row.id)
    ]
    found_below = inherited_ordinals(conn, view_of(conn, row), inherited) if inherited else {}
    ordinals: dict[str, int] = {}
    for datapoint_id in datapoint_ids:
        below = found_below.get(datapoint_id)
        if below is None or not below[1]:
            raise StoreError(f"event names datapoint {datapoint_id}, which is not live")
        ordinals[datapoint_id] = below[0]
    return ordinals


def _record_deletions(conn: Connection, key: int, version: int, deltas: dict[int, int]) -> None:
    """Record the ordinals a version deleted (1) or restored (-1), and the running block counts."""
    if not deltas:
        return
    conn.insert_rows(
        "dl_deletions",
        ("dataset_key", "ordinal", "version", "delta"),
        [(key, ordinal, version, delta) for ordinal, delta in sorted(deltas.items())],
    )
    per_block: Counter[int] = Counter()
    for ordinal, delta in deltas.items():
        per_block[ordinal // paging.BLOCK] += delta
    for block, net in sorted(per_block.items()):
        before = conn.execute(_BLOCK_DELETED, (key, block, version)).fetchone()
        conn.execute(
            "INSERT INTO dl_deletion_blocks (dataset_key, block, version, deleted) "
            "VALUES (?, ?, ?, ?)",
            (key, block, version, (before[0] if before else 0) + net),
        )


_CLOSE_AT_ONCE = 500
"""Spans ended per statement when a commit deletes many datapoints (one round trip each)."""


def _close_spans(
    conn: Connection, datapoint_ids: list[str], version: int
) -> tuple[list[int], list[str]]:
    """End the live spans of datapoints at ``version``.

    Returns the ordinals of the spans ended, and the ids that had no live span
    (a fork's inherited datapoints, which it then claims).
    """
    ordinals: list[int] = []
    missing: list[str] = []
    for start in range(0, len(datapoint_ids), _CLOSE_AT_ONCE):
        chunk = datapoint_ids[start : start + _CLOSE_AT_ONCE]
        marks = ", ".join("?" * len(chunk))
        found = conn.execute(
            f"UPDATE dl_rows SET removed_in = ? WHERE datapoint_id IN ({marks}) "
            "AND removed_in IS NULL RETURNING ordinal, datapoint_id",
            (version, *chunk),
        ).fetchall()
        ordinals += [int(row[0]) for row in found]
        ended = {row[1] for row in found}
        missing += [
            datapoint_id for datapoint_id in dict.fromkeys(chunk) if datapoint_id not in ended
        ]
    return ordinals, missing


def _close_span(conn: Connection, datapoint_id: str, version: int) -> int | None:
    """End a datapoint's live span at ``version``; return its ordinal (None: it has none)."""
    found = conn.execute(
        "UPDATE dl_rows SET removed_in = ? WHERE datapoint_id = ? "
        "AND removed_in IS NULL RETURNING ordinal",
        (version, datapoint_id),
    ).fetchone()
    return int(found[0]) if found is not None else None


def _reopen_span(
    conn: Connection, row: DatasetRow, datapoint_id: str, version: int, deltas: dict[int, int]
) -> int:
    """Make room for a restored datapoint's span at its own ordinal; return that ordinal.

    A live datapoint's span ends here; a deleted one's ordinal counts as live
    again; a fork's inherited datapoint is claimed.
    """
    found = _close_span(conn, datapoint_id, version)
    if found is not None:
        return found
    gone = conn.execute(
        "SELECT ordinal FROM dl_rows WHERE datapoint_id = ? AND dataset_key = ? LIMIT 1",
        (datapoint_id, row.key),
    ).fetchone()
    if gone is None:
        return _claim(conn, row, datapoint_id)
    deltas[int(gone[0])] = -1
    return int(gone[0])
