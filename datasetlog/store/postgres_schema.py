"""The PostgreSQL store's tables: named migrations, applied in order under an advisory lock."""

from __future__ import annotations

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
