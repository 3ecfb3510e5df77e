"""The one registry of read-model tables, and their life cycle: create, check, drop, dump.

Every read-model table is declared here once; the store's dialect renders its
DDL, and ``verify()`` takes from here how to order, compare and name its rows.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from datasetlog.store.base import Connection
from datasetlog.store.dialect import EVENTS, Column, Dialect, Index, Table

FORMAT = 6
"""The read models' layout; stored tables of another format are rebuilt from the events."""

PAYLOAD_JOIN = f"JOIN {EVENTS.table} e ON e.{EVENTS.position} = r.event"
"""Joins a span (``dl_rows r``) to the event (``e``) that states its content."""
PAYLOAD = f"e.{EVENTS.payload}"
"""A span's stored JSON, once joined."""
EVENT_TYPE = f"e.{EVENTS.type}"
"""The type of the event behind a span, once joined."""


def _integer(name: str, *, nullable: bool = False) -> Column:
    return Column(name, "integer", nullable)


def _text(name: str, *, nullable: bool = False) -> Column:
    return Column(name, "text", nullable)


@attrs.frozen
class ReadModelTable:
    """A read-model table and what ``verify()`` needs to compare it with a replay.

    Attributes:
        table: The table's declaration.
        order: The ``ORDER BY`` that lists its rows in a fixed order.
        version_column: The column naming the content version a row belongs to.
        subject: How to name one row for a reader, a format over its columns.
    """

    table: Table
    order: str
    version_column: str | None = None
    subject: str = ""

    @property
    def name(self) -> str:
        """The table's name."""
        return self.table.name


META = ReadModelTable(
    Table("dl_rm_meta", (_text("key"), _integer("value")), ("key",), clustered=True), "1, 2"
)
DATASETS = ReadModelTable(
    Table(
        "dl_datasets",
        (
            _text("id"),
            _text("project_id"),
            _text("name"),
            _text("description", nullable=True),
            _text("created_at"),
            _text("updated_at"),
            _integer("deleted"),
            _integer("sequence"),
            _integer("version"),
            _integer("datapoint_count"),
            _integer("next_ordinal"),
            _text("forked_from", nullable=True),
            _integer("forked_at", nullable=True),
        ),
        indexes=(
            Index("dl_datasets_id", ("id",), unique=True),
            Index("dl_datasets_project", ("project_id", "name")),
        ),
        key="key",
    ),
    "key",
    subject="of dataset {id}",
)
VERSIONS = ReadModelTable(
    Table(
        "dl_versions",
        (
            _integer("dataset_key"),
            _integer("number"),
            _text("id"),
            _text("message"),
            _text("created_at"),
            _integer("datapoint_count"),
            _integer("ordinal_bound"),
            _integer("created_us"),
            _integer("commit_position"),
            _text("name", nullable=True),
            _text("description", nullable=True),
        ),
        ("dataset_key", "number"),
        (
            Index("dl_versions_id", ("id",), unique=True),
            # as_of: the latest version committed at or before an instant, in one seek.
            Index("dl_versions_time", ("dataset_key", "created_us", "number")),
        ),
        clustered=True,
    ),
    "1, 2",
    version_column="number",
    subject="of version {number}",
)
ROWS = ReadModelTable(
    Table(
        "dl_rows",
        (
            _integer("dataset_key"),
            _integer("ordinal"),
            _integer("added_in"),
            _integer("removed_in", nullable=True),
            _text("datapoint_id"),
            _integer("event"),
        ),
        indexes=(
            # Covering: a version is read from this index alone, then each span's event.
            Index("dl_rows_span", ("dataset_key", "ordinal", "added_in", "removed_in", "event")),
            Index("dl_rows_datapoint", ("datapoint_id", "removed_in")),
        ),
    ),
    "dataset_key, ordinal, added_in",
    version_column="added_in",
    subject="of datapoint {datapoint_id} at ordinal {ordinal}",
)
DELETIONS = ReadModelTable(
    Table(
        "dl_deletions",
        # delta: 1 where a version deleted the ordinal's datapoint, -1 where one restored it.
        (_integer("dataset_key"), _integer("ordinal"), _integer("version"), _integer("delta")),
        ("dataset_key", "ordinal", "version"),
        clustered=True,
    ),
    "1, 2, 3",
    version_column="version",
    subject="at ordinal {ordinal}",
)
CHANGES = ReadModelTable(
    Table(
        "dl_changes",
        # The ordinals a version updated, deleted or restored: with the ordinals it added
        # (a range, from dl_versions), all that a diff across it must look at.
        (_integer("dataset_key"), _integer("version"), _integer("ordinal")),
        ("dataset_key", "version", "ordinal"),
        clustered=True,
    ),
    "1, 2, 3",
    version_column="version",
    subject="at ordinal {ordinal}",
)
LABELS = ReadModelTable(
    Table(
        "dl_labels",
        # Version names and tags: one namespace per dataset.
        (
            _integer("dataset_key"),
            _text("label"),
            _text("kind"),
            _integer("version"),
            _text("set_at"),
        ),
        ("dataset_key", "label"),
        clustered=True,
    ),
    "1, 2",
    version_column="version",
    subject="of {kind} {label!r}",
)
TAG_MOVES = ReadModelTable(
    Table(
        "dl_tag_moves",
        (
            _integer("dataset_key"),
            _text("tag"),
            _integer("sequence"),
            _integer("from_version", nullable=True),
            _integer("to_version", nullable=True),
            _text("moved_at"),
        ),
        ("dataset_key", "tag", "sequence"),
        clustered=True,
    ),
    "1, 2, 3",
    subject="of tag {tag!r} in commit {sequence}",
)
DELETION_BLOCKS = ReadModelTable(
    Table(
        "dl_deletion_blocks",
        (_integer("dataset_key"), _integer("block"), _integer("version"), _integer("deleted")),
        ("dataset_key", "block", "version"),
        clustered=True,
    ),
    "1, 2, 3",
    version_column="version",
    subject="of block {block}",
)
MERGES = ReadModelTable(
    Table(
        "dl_merges",
        # The merges into a dataset: which dataset's version each brought in.
        (
            _integer("dataset_key"),
            _integer("version"),
            _text("source_id"),
            _integer("source_version"),
        ),
        ("dataset_key", "version"),
        clustered=True,
    ),
    "1, 2",
    version_column="version",
    subject="of {source_id} version {source_version}",
)
IDEMPOTENCY = ReadModelTable(
    Table(
        "dl_idempotency",
        (_integer("dataset_key"), _text("key"), _text("request_hash"), _integer("version")),
        ("dataset_key", "key"),
        clustered=True,
    ),
    "1, 2",
    version_column="version",
    subject="of key {key!r}",
)
TABLES: tuple[ReadModelTable, ...] = (
    DATASETS,
    VERSIONS,
    ROWS,
    DELETIONS,
    DELETION_BLOCKS,
    CHANGES,
    LABELS,
    TAG_MOVES,
    MERGES,
    IDEMPOTENCY,
    META,
)
"""Every read-model table: the one registry."""


class Schema:
    """The read-model tables of one store: their creation, checks, removal and dumps."""

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._create = [s for t in TABLES for s in dialect.create_table(t.table)]

    def missing(self, conn: Connection) -> list[str]:
        """The registry's tables that the store does not have, in registry order."""
        present = {row[0] for row in conn.execute(self._dialect.list_tables).fetchall()}
        return [t.name for t in TABLES if t.name not in present]

    def current(self, conn: Connection) -> bool:
        """Whether every table exists in this format."""
        if self.missing(conn):
            return False
        row = conn.execute("SELECT value FROM dl_rm_meta WHERE key = 'format'").fetchone()
        return bool(row and row[0] == FORMAT)

    def ensure(self, conn: Connection) -> bool:
        """Create the tables if missing or outdated; return True if they must be rebuilt."""
        if self.current(conn):
            return False
        self.drop(conn)
        for statement in self._create:
            conn.execute(statement)
        conn.execute("INSERT INTO dl_rm_meta VALUES ('format', ?), ('position', 0)", (FORMAT,))
        return True

    def refresh_statistics(self, conn: Connection) -> None:
        """Have the database plan with the read models as they now are, after a bulk load
        (a streamed commit of many datapoints, a rebuild): the tables that grow with the
        datapoints. Nothing where the planner needs no statistics."""
        if self._dialect.analyze is not None:
            for table in (ROWS, CHANGES, DELETIONS):
                conn.execute(self._dialect.analyze.format(table=table.name))

    @staticmethod
    def drop(conn: Connection) -> None:
        """Drop every read-model table."""
        for table in TABLES:
            conn.execute(f"DROP TABLE IF EXISTS {table.name}")

    @staticmethod
    def position(conn: Connection) -> int:
        """The global position of the last commit applied."""
        return int(
            conn.execute("SELECT value FROM dl_rm_meta WHERE key = 'position'").fetchone()[0]
        )

    @staticmethod
    def dump(conn: Connection, table: ReadModelTable) -> Iterator[tuple[object, ...]]:
        """Every row of a table, in its fixed order, for comparisons."""
        cursor = conn.execute(f"SELECT * FROM {table.name} ORDER BY {table.order}")
        for row in iter(cursor.fetchone, None):
            yield tuple(row)
