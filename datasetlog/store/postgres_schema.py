"""The PostgreSQL store's tables: named migrations (applied in order under an advisory lock),
and amcheck's checks of them."""

from __future__ import annotations

import psycopg

from datasetlog.store.base import Connection, EngineCheck

_AMCHECK = "SELECT extversion FROM pg_extension WHERE extname = 'amcheck'"
_OWN_RELATIONS = (
    "SELECT c.relname, c.relkind FROM pg_class c "
    "WHERE c.relnamespace = current_schema()::regnamespace AND c.relname LIKE 'dl\\_%' "
    "AND (c.relkind = 'r' OR (c.relkind = 'i' AND c.relam = "
    "(SELECT oid FROM pg_am WHERE amname = 'btree'))) ORDER BY c.relname"
)

MIGRATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "0001_commits_and_events",
        (
            """CREATE TABLE dl_commits (
                position BIGINT PRIMARY KEY, stream_id TEXT NOT NULL,
                stream_version BIGINT NOT NULL, recorded_at TEXT NOT NULL,
                metadata TEXT NOT NULL, first_event BIGINT NOT NULL,
                event_count BIGINT NOT NULL, hash TEXT NOT NULL)""",
            "CREATE UNIQUE INDEX idx_dl_commits_stream_id_stream_version "
            "ON dl_commits (stream_id, stream_version)",
            """CREATE TABLE dl_events (
                position BIGINT PRIMARY KEY, commit_position BIGINT NOT NULL,
                type TEXT NOT NULL, schema_version BIGINT NOT NULL, payload TEXT NOT NULL)""",
        ),
    ),
    (
        "0002_append_only_guards",
        (
            """CREATE FUNCTION dl_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$""",
            "CREATE TRIGGER dl_commits_no_change BEFORE UPDATE OR DELETE ON dl_commits "
            "FOR EACH ROW EXECUTE FUNCTION dl_refuse_change()",
            "CREATE TRIGGER dl_events_no_change BEFORE UPDATE OR DELETE ON dl_events "
            "FOR EACH ROW EXECUTE FUNCTION dl_refuse_change()",
        ),
    ),
    ("0003_event_digests", ("ALTER TABLE dl_events ADD COLUMN digest TEXT",)),
    (
        "0004_stream_sequence",
        (
            # "version" is the content version; a commit's place in its stream is its sequence.
            "ALTER TABLE dl_commits RENAME COLUMN stream_version TO sequence",
            "ALTER INDEX idx_dl_commits_stream_id_stream_version "
            "RENAME TO idx_dl_commits_stream_id_sequence",
        ),
    ),
)
"""Named schema migrations; ``dl_migrations`` records those applied (their count is the format)."""


def check_with_amcheck(conn: Connection) -> EngineCheck:
    """Check every table (``verify_heapam``) and B-tree index (``bt_index_check``) of the store.

    amcheck is a contrib extension an administrator installs per database
    (``CREATE EXTENSION amcheck``); without it nothing is checked, and the
    result says so.
    """
    installed = conn.execute(_AMCHECK).fetchone()
    if installed is None:
        return EngineCheck(not_checked="tables and indexes: the amcheck extension is not installed")
    problems = []
    for name, kind in conn.execute(_OWN_RELATIONS).fetchall():
        try:
            if kind == "i":
                conn.execute("SELECT bt_index_check(?::regclass, true)", (name,))
                continue
            for block, offset, message in conn.execute(
                "SELECT blkno, offnum, msg FROM verify_heapam(?::regclass)", (name,)
            ).fetchall():
                problems.append(f"table {name}, block {block}, item {offset}: {message}")
        except psycopg.Error as error:
            problems.append(f"{'index' if kind == 'i' else 'table'} {name}: {error}")
    return EngineCheck(problems=tuple(problems))
