"""Read models: tables derived only from events, updated in each commit's transaction.

Design: every datapoint *span* (one content of one datapoint) is a row in
``dl_rows`` with its dataset, its *ordinal* (the datapoint's place in the
dataset, fixed when it is first added), its validity interval
``[added_in, removed_in)`` in content versions, and the position of the event
that states its content (the JSON is stored once, in the event log). Version
``k`` is the spans with ``added_in <= k < removed_in`` and
``ordinal < ordinal_bound(k)``, read in ordinal order off one index.

Pages need no ``OFFSET`` scan. Ordinals are dense and updates keep them, so
the live datapoints below ordinal ``x`` in version ``k`` are ``x`` less the
deletions below ``x`` up to ``k`` (``dl_deletions``). ``dl_deletion_blocks``
keeps, per block of ordinals, the running count of its deletions at each
version that deleted in it, so a page's block is found with one seek per
block and its first ordinal by counting deletions within that block only.

Everything here can be dropped and rebuilt from the event log
(:meth:`DatasetLog.rebuild`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import attrs

from datasetlog.errors import StoreError
from datasetlog.events import (
    Commit,
    DatapointAdded,
    DatapointsDeleted,
    DatapointUpdated,
    DatasetCreated,
    DatasetDeleted,
    DatasetUpdated,
)
from datasetlog.store.base import Connection, EventStore, StreamingStore

SCHEMA_VERSION = 2
TABLES = (
    "dl_datasets",
    "dl_versions",
    "dl_rows",
    "dl_deletions",
    "dl_deletion_blocks",
    "dl_idempotency",
    "dl_rm_meta",
)
_SCHEMA = (
    "CREATE TABLE dl_rm_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
    """CREATE TABLE dl_datasets (
        key INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, project_id TEXT NOT NULL,
        name TEXT NOT NULL, description TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
        deleted INTEGER NOT NULL, sequence INTEGER NOT NULL, version INTEGER NOT NULL,
        datapoint_count INTEGER NOT NULL, next_ordinal INTEGER NOT NULL)""",
    "CREATE INDEX dl_datasets_project ON dl_datasets (project_id, name)",
    """CREATE TABLE dl_versions (
        dataset_key INTEGER NOT NULL, number INTEGER NOT NULL, id TEXT NOT NULL,
        message TEXT NOT NULL, created_at TEXT NOT NULL, datapoint_count INTEGER NOT NULL,
        ordinal_bound INTEGER NOT NULL, PRIMARY KEY (dataset_key, number)) WITHOUT ROWID""",
    "CREATE UNIQUE INDEX dl_versions_id ON dl_versions (id)",
    """CREATE TABLE dl_rows (
        dataset_key INTEGER NOT NULL, ordinal INTEGER NOT NULL, added_in INTEGER NOT NULL,
        removed_in INTEGER, datapoint_id TEXT NOT NULL, event INTEGER NOT NULL)""",
    # Covering: a version is read from this index alone, then each span's event by rowid.
    "CREATE INDEX dl_rows_span ON dl_rows (dataset_key, ordinal, added_in, removed_in, event)",
    "CREATE INDEX dl_rows_datapoint ON dl_rows (datapoint_id, removed_in)",
    """CREATE TABLE dl_deletions (
        dataset_key INTEGER NOT NULL, ordinal INTEGER NOT NULL, version INTEGER NOT NULL,
        PRIMARY KEY (dataset_key, ordinal)) WITHOUT ROWID""",
    """CREATE TABLE dl_deletion_blocks (
        dataset_key INTEGER NOT NULL, block INTEGER NOT NULL, version INTEGER NOT NULL,
        deleted INTEGER NOT NULL, PRIMARY KEY (dataset_key, block, version)) WITHOUT ROWID""",
    """CREATE TABLE dl_idempotency (
        dataset_key INTEGER NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL,
        version INTEGER NOT NULL, PRIMARY KEY (dataset_key, key)) WITHOUT ROWID""",
)
_SELECT_SPANS = (
    "SELECT r.ordinal, e.payload FROM dl_rows r JOIN dl_events e ON e.position = r.event "
    "WHERE r.dataset_key = ? AND r.ordinal >= ? AND r.ordinal < ? "
    "AND r.added_in <= ? AND (r.removed_in IS NULL OR r.removed_in > ?) "
    "ORDER BY r.ordinal LIMIT ?"
)
# A whole version in one query: the span index in ordinal order, each span joined to its event.
_STREAM_SPANS = (
    "SELECT e.payload FROM dl_rows r JOIN dl_events e ON e.position = r.event "
    "WHERE r.dataset_key = ? AND r.ordinal < ? "
    "AND r.added_in <= ? AND (r.removed_in IS NULL OR r.removed_in > ?) "
    "ORDER BY r.ordinal"
)
_INSERT_SPAN = (
    "INSERT INTO dl_rows (dataset_key, ordinal, added_in, datapoint_id, event) "
    "VALUES (?, ?, ?, ?, ?)"
)
_COUNT_DELETIONS = (
    "SELECT count(*) FROM dl_deletions WHERE dataset_key = ? AND ordinal >= ? AND ordinal < ? "
    "AND version <= ?"
)
_BLOCK_DELETED = (
    "SELECT deleted FROM dl_deletion_blocks WHERE dataset_key = ? AND block = ? "
    "AND version <= ? ORDER BY version DESC LIMIT 1"
)
# Deletions per block as of a version: one index seek per block, in one statement.
_BLOCKS_DELETED = (
    "WITH RECURSIVE blocks(block) AS (SELECT 0 UNION ALL SELECT block + 1 FROM blocks "
    "WHERE block + 1 < ?) SELECT block, (SELECT deleted FROM dl_deletion_blocks d "
    "WHERE d.dataset_key = ? AND d.block = blocks.block AND d.version <= ? "
    "ORDER BY d.version DESC LIMIT 1) FROM blocks ORDER BY block"
)
_DUMP_ORDER = {
    "dl_datasets": "key",
    "dl_rows": "dataset_key, ordinal, added_in",
    "dl_deletion_blocks": "1, 2, 3",
}
_DATASET_COLUMNS = (
    "key, id, project_id, name, description, created_at, updated_at, deleted, sequence, "
    "version, datapoint_count, next_ordinal"
)
_VERSION_COLUMNS = "number, id, message, created_at, datapoint_count, ordinal_bound"


@attrs.frozen
class DatasetRow:
    """A dataset as the read model holds it."""

    key: int
    id: str
    project_id: str
    name: str
    description: str | None
    created_at: str
    updated_at: str
    deleted: int
    sequence: int
    version: int
    datapoint_count: int
    next_ordinal: int


@attrs.frozen
class VersionRow:
    """A committed version as the read model holds it."""

    number: int
    id: str
    message: str
    created_at: str
    datapoint_count: int
    ordinal_bound: int


def _postgres_ddl(statement: str) -> str:
    """The same table in PostgreSQL: 64-bit integers, identity keys, no WITHOUT ROWID."""
    statement = statement.replace(" WITHOUT ROWID", "")
    statement = statement.replace(
        "key INTEGER PRIMARY KEY", "key BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
    )
    return statement.replace("INTEGER", "BIGINT")


class ReadModels:
    """The read models of one database; every method takes the connection to use.

    Attributes:
        BLOCK: Ordinals per block of the deletion counts that paging uses.
        FEW_DELETIONS: Up to this many deletions in a version, pages are found
            by counting deletions directly, without the blocks.

    Args:
        postgres: Create the tables in PostgreSQL's dialect; all other SQL is
            shared, written with ``?`` placeholders that the store's connection
            adapts.
    """

    BLOCK = 4096
    FEW_DELETIONS = 1024

    def __init__(self, *, postgres: bool = False) -> None:
        self._schema = tuple(map(_postgres_ddl, _SCHEMA)) if postgres else _SCHEMA
        self._exists = (
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'dl_rm_meta' "
            "AND table_schema = current_schema()"
            if postgres
            else "SELECT count(*) FROM sqlite_schema WHERE name = 'dl_rm_meta'"
        )
        self._postgres = postgres
        # SQLite hands out a TEXT value's bytes for free; psycopg sends bytea as hex text.
        self._select_span_bytes = _SELECT_SPANS.replace("e.payload", "CAST(e.payload AS BLOB)")

    def current(self, conn: Connection) -> bool:
        """Whether the tables exist in this version of their schema."""
        if not conn.execute(self._exists).fetchone()[0]:
            return False
        row = conn.execute("SELECT value FROM dl_rm_meta WHERE key = 'schema'").fetchone()
        return bool(row and row[0] == SCHEMA_VERSION)

    def ensure(self, conn: Connection) -> bool:
        """Create the tables if missing; return True if they must be rebuilt from events."""
        if self.current(conn):
            return False
        self.drop(conn)
        for statement in self._schema:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO dl_rm_meta VALUES ('schema', ?), ('position', 0)", (SCHEMA_VERSION,)
        )
        return True

    def drop(self, conn: Connection) -> None:
        """Drop every read-model table."""
        for table in TABLES:
            conn.execute(f"DROP TABLE IF EXISTS {table}")

    def position(self, conn: Connection) -> int:
        """The global position of the last commit applied."""
        return int(
            conn.execute("SELECT value FROM dl_rm_meta WHERE key = 'position'").fetchone()[0]
        )

    def apply(self, conn: Connection, commit: Commit, position: int, first_event: int) -> None:
        """Apply one commit, inside the transaction that appends it.

        Args:
            conn: The connection of that transaction.
            commit: The decoded commit.
            position: Its global position.
            first_event: The global position of its first event; a span
                points at the event that states its content.
        """
        row = self.dataset(conn, commit.dataset_id, include_deleted=True)
        if row is None:
            created = commit.events[0]
            if not isinstance(created, DatasetCreated):
                raise StoreError(f"dataset {commit.dataset_id} changed before it was created")
            row = self._create(conn, commit, created)
        version = commit.version.number if commit.version else row.version
        spans = []
        added = removed = 0
        for index, event in enumerate(commit.events, start=first_event):
            if isinstance(event, DatasetUpdated):
                conn.execute(
                    "UPDATE dl_datasets SET name = coalesce(?, name), "
                    "description = coalesce(?, description) WHERE key = ?",
                    (event.name, event.description, row.key),
                )
            elif isinstance(event, DatasetDeleted):
                conn.execute("UPDATE dl_datasets SET deleted = 1 WHERE key = ?", (row.key,))
            elif isinstance(event, DatapointAdded):
                spans.append((row.key, row.next_ordinal + added, version, event.id, index))
                added += 1
            elif isinstance(event, DatapointUpdated):
                ordinal = self._close_span(conn, event.id, version)
                spans.append((row.key, ordinal, version, event.id, index))
            elif isinstance(event, DatapointsDeleted):
                ordinals = [self._close_span(conn, i, version) for i in event.datapoint_ids]
                self._record_deletions(conn, row.key, version, ordinals)
                removed += len(ordinals)
        conn.executemany(_INSERT_SPAN, spans)
        count = row.datapoint_count + added - removed
        conn.execute(
            "UPDATE dl_datasets SET updated_at = ?, sequence = ?, version = ?, "
            "datapoint_count = ?, next_ordinal = ? WHERE key = ?",
            (
                commit.recorded_at.isoformat(),
                commit.sequence,
                version,
                count,
                row.next_ordinal + added,
                row.key,
            ),
        )
        if commit.version is not None:
            conn.execute(
                f"INSERT INTO dl_versions (dataset_key, {_VERSION_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    row.key,
                    version,
                    commit.version.id,
                    commit.version.message,
                    commit.recorded_at.isoformat(),
                    count,
                    row.next_ordinal + added,
                ),
            )
        if commit.idempotency is not None:
            conn.execute(
                "INSERT INTO dl_idempotency VALUES (?, ?, ?, ?)",
                (row.key, commit.idempotency.key, commit.idempotency.request_hash, version),
            )
        conn.execute("UPDATE dl_rm_meta SET value = ? WHERE key = 'position'", (position,))

    def _create(self, conn: Connection, commit: Commit, event: DatasetCreated) -> DatasetRow:
        created_at = commit.recorded_at.isoformat()
        conn.execute(
            "INSERT INTO dl_datasets (id, project_id, name, description, created_at, "
            "updated_at, deleted, sequence, version, datapoint_count, next_ordinal) "
            "VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0)",
            (
                commit.dataset_id,
                event.project_id,
                event.name,
                event.description,
                created_at,
                created_at,
            ),
        )
        row = self.dataset(conn, commit.dataset_id, include_deleted=True)
        assert row is not None
        return row

    def _record_deletions(
        self, conn: Connection, key: int, version: int, ordinals: list[int]
    ) -> None:
        conn.executemany(
            "INSERT INTO dl_deletions VALUES (?, ?, ?)", [(key, o, version) for o in ordinals]
        )
        per_block = Counter(ordinal // self.BLOCK for ordinal in ordinals)
        for block, count in sorted(per_block.items()):
            before = conn.execute(_BLOCK_DELETED, (key, block, version)).fetchone()
            conn.execute(
                "INSERT INTO dl_deletion_blocks VALUES (?, ?, ?, ?)",
                (key, block, version, (before[0] if before else 0) + count),
            )

    @staticmethod
    def _close_span(conn: Connection, datapoint_id: str, version: int) -> int:
        """End a datapoint's live span at ``version``; return its ordinal."""
        found = conn.execute(
            "UPDATE dl_rows SET removed_in = ? WHERE datapoint_id = ? "
            "AND removed_in IS NULL RETURNING ordinal",
            (version, datapoint_id),
        ).fetchone()
        if found is None:
            raise StoreError(f"event names datapoint {datapoint_id}, which is not live")
        return int(found[0])

    def dataset(
        self, conn: Connection, dataset_id: str, *, include_deleted: bool = False
    ) -> DatasetRow | None:
        """The dataset with this id, or None (also for a deleted one, unless asked)."""
        row = conn.execute(
            f"SELECT {_DATASET_COLUMNS} FROM dl_datasets WHERE id = ?", (dataset_id,)
        ).fetchone()
        if row is None or (row[7] and not include_deleted):
            return None
        return DatasetRow(*row)

    def datasets(self, conn: Connection, project_id: str) -> list[DatasetRow]:
        """A project's live datasets, oldest first."""
        rows = conn.execute(
            f"SELECT {_DATASET_COLUMNS} FROM dl_datasets WHERE project_id = ? AND deleted = 0 "
            "ORDER BY key",
            (project_id,),
        ).fetchall()
        return [DatasetRow(*row) for row in rows]

    def name_taken(
        self, conn: Connection, project_id: str, name: str, *, other_than: str = ""
    ) -> bool:
        """Whether a live dataset of the project other than ``other_than`` has this name."""
        return (
            conn.execute(
                "SELECT 1 FROM dl_datasets WHERE project_id = ? AND name = ? AND deleted = 0 "
                "AND id != ?",
                (project_id, name, other_than),
            ).fetchone()
            is not None
        )

    def version(self, conn: Connection, key: int, number: int) -> VersionRow | None:
        """Version ``number`` of the dataset with this key."""
        row = conn.execute(
            f"SELECT {_VERSION_COLUMNS} FROM dl_versions WHERE dataset_key = ? AND number = ?",
            (key, number),
        ).fetchone()
        return VersionRow(*row) if row else None

    def version_by_id(self, conn: Connection, key: int, version_id: str) -> VersionRow | None:
        """The version of the dataset with this key that has this version id."""
        row = conn.execute(
            f"SELECT {_VERSION_COLUMNS} FROM dl_versions WHERE id = ? AND dataset_key = ?",
            (version_id, key),
        ).fetchone()
        return VersionRow(*row) if row else None

    def versions(self, conn: Connection, key: int) -> list[VersionRow]:
        """Every version of the dataset with this key, oldest first."""
        rows = conn.execute(
            f"SELECT {_VERSION_COLUMNS} FROM dl_versions WHERE dataset_key = ? ORDER BY number",
            (key,),
        ).fetchall()
        return [VersionRow(*row) for row in rows]

    def spans(
        self,
        conn: Connection,
        key: int,
        version: VersionRow,
        *,
        start: int = 0,
        limit: int = 1000,
        as_bytes: bool = False,
    ) -> list[tuple[int, Any]]:
        """Up to ``limit`` (ordinal, payload) rows of a version, from ordinal ``start`` on.

        With ``as_bytes`` each payload is its UTF-8 bytes instead of text.
        """
        parameters = (key, start, version.ordinal_bound, version.number, version.number, limit)
        if not as_bytes:
            return conn.execute(_SELECT_SPANS, parameters).fetchall()
        if self._postgres:
            rows = conn.execute(_SELECT_SPANS, parameters).fetchall()
            return [(ordinal, payload.encode()) for ordinal, payload in rows]
        return conn.execute(self._select_span_bytes, parameters).fetchall()

    def payload_chunks(
        self,
        store: EventStore,
        key: int,
        version: VersionRow,
        *,
        batch: int,
        as_bytes: bool = False,
    ) -> Iterator[list[Any]]:
        """A version's payloads in ordinal order, in lists of up to ``batch``.

        A :class:`~datasetlog.store.base.StreamingStore` sends them from one
        query while the caller decodes; otherwise each chunk is its own short
        query, resuming after the last ordinal read (keyset paging).
        """
        if isinstance(store, StreamingStore):
            parameters = (key, version.ordinal_bound, version.number, version.number)
            yield from store.stream(_STREAM_SPANS, parameters, size=batch, as_bytes=as_bytes)
            return
        start = 0
        while True:
            with store.reading() as conn:
                spans = self.spans(conn, key, version, start=start, limit=batch, as_bytes=as_bytes)
            yield [payload for _, payload in spans]
            if len(spans) < batch:
                return
            start = spans[-1][0] + 1

    def rank_start(self, conn: Connection, key: int, version: VersionRow, rank: int) -> int:
        """The smallest ordinal with exactly ``rank`` live datapoints of ``version`` before it.

        Costs nothing without deletions, a few counts over at most
        ``FEW_DELETIONS`` rows with few, and otherwise one seek per block of
        ``BLOCK`` ordinals plus counts within one block: never a scan of the
        rows skipped.
        """
        deleted = version.ordinal_bound - version.datapoint_count
        if deleted == 0 or rank == 0:
            return rank
        if deleted <= self.FEW_DELETIONS:
            return self._start_within(conn, key, version.number, 0, rank)
        blocks = -(-version.ordinal_bound // self.BLOCK)
        live_before = 0
        for block, deleted_in_block in conn.execute(
            _BLOCKS_DELETED, (blocks, key, version.number)
        ).fetchall():
            first = block * self.BLOCK
            size = min(self.BLOCK, version.ordinal_bound - first)
            live = size - (deleted_in_block or 0)
            if live_before + live > rank:
                return self._start_within(conn, key, version.number, first, rank - live_before)
            live_before += live
        return version.ordinal_bound

    def _start_within(self, conn: Connection, key: int, version: int, first: int, rank: int) -> int:
        """The smallest ordinal from ``first`` on with ``rank`` live ordinals in between.

        Iterates to the fixed point of ``x = first + rank + deletions in [first, x)``.
        """
        start = first + rank
        while True:
            deleted = conn.execute(_COUNT_DELETIONS, (key, first, start, version)).fetchone()[0]
            if first + rank + deleted == start:
                return start
            start = first + rank + deleted

    def datapoint(self, conn: Connection, datapoint_id: str) -> tuple[str, str] | None:
        """The (dataset id, payload) of a datapoint's latest content in a live dataset."""
        row = conn.execute(
            "SELECT d.id, e.payload FROM dl_rows r JOIN dl_datasets d ON d.key = r.dataset_key "
            "JOIN dl_events e ON e.position = r.event "
            "WHERE r.datapoint_id = ? AND r.removed_in IS NULL AND d.deleted = 0",
            (datapoint_id,),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def added_in(self, conn: Connection, key: int, number: int) -> list[str]:
        """Payloads of the datapoints first added in version ``number``, in order."""
        before = self.version(conn, key, number - 1)
        this = self.version(conn, key, number)
        assert before is not None
        assert this is not None
        rows = conn.execute(
            "SELECT e.payload FROM dl_rows r JOIN dl_events e ON e.position = r.event "
            "WHERE r.dataset_key = ? AND r.ordinal >= ? AND r.ordinal < ? AND r.added_in = ? "
            "ORDER BY r.ordinal",
            (key, before.ordinal_bound, this.ordinal_bound, number),
        ).fetchall()
        return [row[0] for row in rows]

    def idempotent_version(
        self, conn: Connection, key: int, idempotency_key: str
    ) -> tuple[str, int] | None:
        """The (request hash, version) an idempotency key was first used with."""
        row = conn.execute(
            "SELECT request_hash, version FROM dl_idempotency WHERE dataset_key = ? AND key = ?",
            (key, idempotency_key),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def dump(self, conn: Connection) -> Iterator[tuple[str, tuple[object, ...]]]:
        """Every read-model row, table by table in a fixed order, for comparisons."""
        for table in TABLES:
            order = _DUMP_ORDER.get(table, "1, 2")
            cursor = conn.execute(f"SELECT * FROM {table} ORDER BY {order}")
            for row in iter(cursor.fetchone, None):
                yield table, tuple(row)
