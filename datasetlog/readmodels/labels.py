"""Version names and tags: one namespace per dataset, and every move a tag ever made."""

from __future__ import annotations

from datasetlog.errors import StoreError
from datasetlog.events import Commit, TagDeleted, TagSet, VersionNamed
from datasetlog.readmodels.rows import LabelRow
from datasetlog.store.base import Connection

NAME = "name"
TAG = "tag"

_LABEL_COLUMNS = "label, kind, version, set_at"


def apply_label(
    conn: Connection, key: int, commit: Commit, event: VersionNamed | TagSet | TagDeleted
) -> None:
    """Apply a name or tag event of ``commit`` to the dataset with this key.

    Raises:
        StoreError: The event does not follow from what the read models hold.
    """
    at = commit.recorded_at.isoformat()
    if isinstance(event, VersionNamed):
        named = conn.execute(
            "UPDATE dl_versions SET name = ?, description = ? WHERE dataset_key = ? "
            "AND number = ? AND name IS NULL RETURNING number",
            (event.name, event.description, key, event.version),
        ).fetchone()
        if named is None:
            raise StoreError(f"event names version {event.version}, which is missing or named")
        conn.execute(
            "INSERT INTO dl_labels (dataset_key, label, kind, version, set_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (key, event.name, NAME, event.version, at),
        )
        return
    before = label(conn, key, event.name)
    if before is not None and before.kind != TAG:
        raise StoreError(f"event moves tag {event.name!r}, which names a version")
    if isinstance(event, TagDeleted) and before is None:
        raise StoreError(f"event deletes tag {event.name!r}, which is not set")
    conn.execute("DELETE FROM dl_labels WHERE dataset_key = ? AND label = ?", (key, event.name))
    to = event.version if isinstance(event, TagSet) else None
    if to is not None:
        conn.execute(
            "INSERT INTO dl_labels (dataset_key, label, kind, version, set_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (key, event.name, TAG, to, at),
        )
    conn.execute(
        "INSERT INTO dl_tag_moves (dataset_key, tag, sequence, from_version, to_version, "
        "moved_at) VALUES (?, ?, ?, ?, ?, ?)",
        (key, event.name, commit.sequence, before.version if before else None, to, at),
    )


def label(conn: Connection, key: int, name: str) -> LabelRow | None:
    """The version name or tag ``name`` of the dataset with this key, or None."""
    row = conn.execute(
        f"SELECT {_LABEL_COLUMNS} FROM dl_labels WHERE dataset_key = ? AND label = ?",
        (key, name),
    ).fetchone()
    if row is None:
        return None
    found = LabelRow(*row)
    if found.label != name:
        raise StoreError(
            f"the store is damaged: looking up label {name!r} found {found.label!r}; run verify()"
        )
    return found


def tags(conn: Connection, key: int) -> list[LabelRow]:
    """The tags of the dataset with this key, by name."""
    rows = conn.execute(
        f"SELECT {_LABEL_COLUMNS} FROM dl_labels WHERE dataset_key = ? AND kind = ? ORDER BY label",
        (key, TAG),
    ).fetchall()
    return [LabelRow(*row) for row in rows]


def tag_moves(conn: Connection, key: int, tag: str) -> list[tuple[int | None, int | None, str]]:
    """Every move of a tag, oldest first: (from version, to version, when)."""
    rows = conn.execute(
        "SELECT from_version, to_version, moved_at FROM dl_tag_moves "
        "WHERE dataset_key = ? AND tag = ? ORDER BY sequence",
        (key, tag),
    ).fetchall()
    return [(row[0], row[1], row[2]) for row in rows]
