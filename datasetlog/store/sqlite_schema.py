"""What an SQLite file must hold to open as a store: the migrations and the objects they make.

A store file is checked before anything in it is used or changed: its event
tables and their indexes must have the shape this datasetlog's migrations
give them, and it may hold no trigger datasetlog did not create and no view
at all, since either would run SQL of someone else's inside our transactions
(a file from elsewhere is untrusted input). Tables of other kinds (the read
models, a log source) hold data only, and are checked by their owners.

sqlite-utils runs the migrations, and is imported only when one runs (or an
older format is checked): it imports pandas and numpy whenever they are
installed, which would cost every process that opens a store about half a
second and 65 MB. A current store is checked against :data:`CURRENT_OBJECTS`,
which a test keeps equal to what the migrations make.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    import sqlite_utils

APPLICATION_ID = 0x64736C67  # "dslg": marks a file as a datasetlog store
EVENT_TABLES = ("dl_commits", "dl_events")


def claim_if_empty(raw: sqlite3.Connection) -> None:
    """Mark an empty file as datasetlog's (format 0), so that a store may later open it.

    A log source does this for a file it creates; a file that already holds
    anything is left unmarked, and a store will refuse it.
    """
    if not raw.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]:
        raw.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def _create_commits_and_events(db: sqlite_utils.Database) -> None:
    db.table("dl_commits").create(
        {
            "position": int,
            "stream_id": str,
            "stream_version": int,
            "recorded_at": str,
            "metadata": str,
            "first_event": int,
            "event_count": int,
            "hash": str,
        },
        pk="position",
        not_null={
            "stream_id",
            "stream_version",
            "recorded_at",
            "metadata",
            "first_event",
            "event_count",
            "hash",
        },
    )
    db.table("dl_commits").create_index(["stream_id", "stream_version"], unique=True)
    db.table("dl_events").create(
        {
            "position": int,
            "commit_position": int,
            "type": str,
            "schema_version": int,
            "payload": str,
        },
        pk="position",
        not_null={"commit_position", "type", "schema_version", "payload"},
    )


def _append_only_trigger(table: str, action: str) -> str:
    return (
        f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
    )


def _guard_append_only(db: sqlite_utils.Database) -> None:
    for table in EVENT_TABLES:
        for action in ("UPDATE", "DELETE"):
            db.execute(_append_only_trigger(table, action))


def _add_event_digests(db: sqlite_utils.Database) -> None:
    # Events appended before this migration keep a NULL digest.
    db.table("dl_events").add_column("digest", str)


def _name_the_stream_sequence(db: sqlite_utils.Database) -> None:
    # "version" is the content version; a commit's place in its stream is its sequence.
    db.execute("ALTER TABLE dl_commits RENAME COLUMN stream_version TO sequence")
    db.execute("DROP INDEX idx_dl_commits_stream_id_stream_version")
    db.table("dl_commits").create_index(["stream_id", "sequence"], unique=True)


Migration = tuple[str, Callable[["sqlite_utils.Database"], None]]
MIGRATIONS: tuple[Migration, ...] = (
    ("0001_commits_and_events", _create_commits_and_events),
    ("0002_append_only_guards", _guard_append_only),
    ("0003_event_digests", _add_event_digests),
    ("0004_stream_sequence", _name_the_stream_sequence),
)
"""Named schema migrations; ``PRAGMA user_version`` counts those applied (the format)."""


@attrs.frozen
class SchemaObject:
    """One object of a file's schema, by what it does rather than how its SQL is spelled."""

    kind: str
    name: str
    table: str
    shape: tuple[object, ...]

    def __str__(self) -> str:
        return f"{self.kind} {self.name} on {self.table}"


def _columns(*columns: tuple[str, str, int, int]) -> tuple[tuple[object, ...], ...]:
    """A table's shape as ``pragma_table_xinfo`` gives it: (name, type, not null, pk) each."""
    return tuple(
        (i, name, kind, notnull, None, pk, 0) for i, (name, kind, notnull, pk) in enumerate(columns)
    )


CURRENT_OBJECTS = frozenset(
    {
        SchemaObject(
            "table",
            "dl_commits",
            "dl_commits",
            _columns(
                ("position", "INTEGER", 0, 1),
                ("stream_id", "TEXT", 1, 0),
                ("sequence", "INTEGER", 1, 0),
                ("recorded_at", "TEXT", 1, 0),
                ("metadata", "TEXT", 1, 0),
                ("first_event", "INTEGER", 1, 0),
                ("event_count", "INTEGER", 1, 0),
                ("hash", "TEXT", 1, 0),
            ),
        ),
        SchemaObject(
            "index",
            "idx_dl_commits_stream_id_sequence",
            "dl_commits",
            (True, "stream_id", "sequence"),
        ),
        SchemaObject(
            "table",
            "dl_events",
            "dl_events",
            _columns(
                ("position", "INTEGER", 0, 1),
                ("commit_position", "INTEGER", 1, 0),
                ("type", "TEXT", 1, 0),
                ("schema_version", "INTEGER", 1, 0),
                ("payload", "TEXT", 1, 0),
                ("digest", "TEXT", 0, 0),
            ),
        ),
        *(
            SchemaObject(
                "trigger",
                f"{table}_no_{action.lower()}",
                table,
                (_append_only_trigger(table, action),),
            )
            for table in EVENT_TABLES
            for action in ("UPDATE", "DELETE")
        ),
    }
)
"""What every migration together makes, as :func:`schema_objects` describes a file: a store
at the current format is checked against this without running them (a test keeps the two
equal; a new migration changes both)."""


def _shape(raw: sqlite3.Connection, kind: str, name: str, sql: str | None) -> tuple[object, ...]:
    if kind == "table":
        return tuple(
            tuple(row) for row in raw.execute("SELECT * FROM pragma_table_xinfo(?)", (name,))
        )
    if kind == "index":
        columns = raw.execute("SELECT name FROM pragma_index_info(?) ORDER BY seqno", (name,))
        return (sql is not None and "UNIQUE" in sql.upper(), *(row[0] for row in columns))
    return (sql,)  # triggers and views: datasetlog's own are written here, in its own words


def schema_objects(raw: sqlite3.Connection) -> frozenset[SchemaObject]:
    """The objects of a file that a store must account for: everything on its event tables,
    every trigger and every view."""
    rows = raw.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE tbl_name IN (?, ?) "
        "OR type IN ('trigger', 'view')",
        EVENT_TABLES,
    ).fetchall()
    return frozenset(
        SchemaObject(kind, name, table, _shape(raw, kind, name, sql))
        for kind, name, table, sql in rows
    )


def migrate(raw: sqlite3.Connection, start: int, end: int | None = None) -> None:
    """Run the migrations from ``start`` (those applied already) to ``end`` (default: all)."""
    import sqlite_utils

    db = sqlite_utils.Database(raw, execute_plugins=False, recursive_triggers=False)
    for _name, migration in MIGRATIONS[start:end]:
        migration(db)


@functools.cache
def expected_objects(applied: int) -> frozenset[SchemaObject]:
    """The objects the first ``applied`` migrations make."""
    return CURRENT_OBJECTS if applied == len(MIGRATIONS) else migrated_objects(applied)


def migrated_objects(applied: int) -> frozenset[SchemaObject]:
    """The objects the first ``applied`` migrations make, made in a scratch database."""
    scratch = sqlite3.connect(":memory:")
    try:
        migrate(scratch, 0, applied)
        return schema_objects(scratch)
    finally:
        scratch.close()


def foreign_objects(raw: sqlite3.Connection, applied: int) -> list[str]:
    """The objects of the file that ``applied`` migrations did not make (or made otherwise)."""
    return sorted(str(o) for o in schema_objects(raw) - expected_objects(applied))


def missing_objects(raw: sqlite3.Connection, applied: int) -> list[str]:
    """The objects ``applied`` migrations make that the file lacks (a guard trigger dropped)."""
    return sorted(str(o) for o in expected_objects(applied) - schema_objects(raw))
