"""A commit into the read models, inside the transaction that appends it."""

from __future__ import annotations

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
from datasetlog.models import Version
from datasetlog.readmodels import edits
from datasetlog.readmodels.labels import apply_label
from datasetlog.readmodels.lookups import VERSION_COLUMNS, Lookups
from datasetlog.readmodels.rows import DatasetRow, VersionRow, instant_us
from datasetlog.store.base import Connection

_SPAN_COLUMNS = ("dataset_key", "ordinal", "added_in", "datapoint_id", "event")
_TOMBSTONE_COLUMNS = ("dataset_key", "ordinal", "added_in", "removed_in", "datapoint_id", "event")


@attrs.frozen
class Applied:
    """What applying a commit wrote: its dataset's row after it, and the version it made.

    Writes build what they return from these, inside their own transaction,
    so a result is always what its commit wrote.
    """

    dataset: DatasetRow
    version: VersionRow | None

    def made_row(self) -> VersionRow:
        """The row of the content version the commit made.

        Raises:
            StoreError: It made none (it was not a content commit).
        """
        if self.version is None:
            raise StoreError(f"the commit to {self.dataset.id!r} made no content version")
        return self.version

    def made_version(self) -> Version:
        """The content version the commit made, as users see it (see :meth:`made_row`)."""
        return self.made_row().to_version(self.dataset.id)


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
        spans: list[tuple[int, int, int, str, int]] = []
        tombstones = []
        updates: dict[str, int] = {}  # a run of updates not yet applied: event index by id
        for index, event in enumerate(events, start=first_event):
            if updates and (not isinstance(event, DatapointUpdated) or event.id in updates):
                self._end_updated(row, updates, spans)
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
                updates[event.id] = index
            elif isinstance(event, DatapointRestored):
                ordinal = edits.reopen_span(conn, row, event.id, version, deltas)
                spans.append((row.key, ordinal, version, event.id, index))
                changed.add(ordinal)
            elif isinstance(event, DatapointsDeleted):
                ended, inherited = edits.close_spans(conn, event.datapoint_ids, version)
                closed = list(ended.values())
                for datapoint_id, ordinal in edits.claims(conn, row, inherited).items():
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
        if updates:
            self._end_updated(row, updates, spans)
        conn.insert_rows("dl_rows", _SPAN_COLUMNS, spans)
        if tombstones:  # a fork deleting inherited datapoints: spans live in no version
            conn.insert_rows("dl_rows", _TOMBSTONE_COLUMNS, tombstones)

    def _end_updated(
        self,
        row: DatasetRow,
        updates: dict[str, int],
        spans: list[tuple[int, int, int, str, int]],
    ) -> None:
        """Apply a run of updates to distinct datapoints: end their spans, start their new ones."""
        ordinals = edits.updated_ordinals(self.conn, row, list(updates), self._version)
        for datapoint_id, index in updates.items():
            ordinal = ordinals[datapoint_id]
            spans.append((row.key, ordinal, self._version, datapoint_id, index))
            self._changed.add(ordinal)
        updates.clear()

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
        edits.record_deletions(conn, row.key, version, deltas)
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
