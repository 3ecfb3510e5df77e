"""Point lookups: datasets, versions, a datapoint's latest content, idempotency keys."""

from __future__ import annotations

from datasetlog.errors import NotFoundError, StoreError
from datasetlog.readmodels.rows import (
    DatapointRow,
    DatasetRow,
    HeldRow,
    IdempotencyRow,
    MergeRow,
    VersionRow,
)
from datasetlog.readmodels.schema import PAYLOAD, PAYLOAD_JOIN
from datasetlog.store.base import Connection

_DATASET_COLUMNS = (
    "key, id, project_id, name, description, created_at, updated_at, deleted, sequence, "
    "version, datapoint_count, next_ordinal, forked_from, forked_at"
)
VERSION_COLUMNS = (
    "number",
    "id",
    "message",
    "created_at",
    "datapoint_count",
    "ordinal_bound",
    "name",
    "description",
    "commit_position",
)
"""The columns of ``dl_versions`` a :class:`~datasetlog.readmodels.rows.VersionRow` holds."""
_VERSION_COLUMNS = ", ".join(VERSION_COLUMNS)

_AT_ONCE = 500
"""Ids looked up per statement."""


def _require_same(kind: str, asked: object, found: object) -> None:
    """Refuse a row that is not the one asked for: a damaged index must not redirect a read.

    Raises:
        StoreError: The store's index led to another row.
    """
    if asked != found:
        raise StoreError(
            f"the store is damaged: looking up {kind} {asked!r} found {found!r}; "
            "run verify(), then rebuild() if only the read models are affected"
        )


_DATAPOINT = (
    f"SELECT d.id, {PAYLOAD}, r.datapoint_id FROM dl_rows r "
    f"JOIN dl_datasets d ON d.key = r.dataset_key {PAYLOAD_JOIN} "
    "WHERE r.datapoint_id = ? AND r.removed_in IS NULL AND d.deleted = 0"
)
# By id only, so that the id index is used; the dataset is checked on the rows found.
_HELD = (
    f"SELECT r.datapoint_id, r.removed_in, {PAYLOAD}, r.dataset_key "
    f"FROM dl_rows r {PAYLOAD_JOIN} WHERE r.datapoint_id IN (<ids>) ORDER BY r.added_in"
)
_ADDED_IN = (
    f"SELECT {PAYLOAD} FROM dl_rows r {PAYLOAD_JOIN} "
    "WHERE r.dataset_key = ? AND r.ordinal >= ? AND r.ordinal < ? AND r.added_in = ? "
    "ORDER BY r.ordinal"
)


class Lookups:
    """Point lookups in the read models of one store; each takes the connection to use."""

    @staticmethod
    def dataset(
        conn: Connection, dataset_id: str, *, include_deleted: bool = False
    ) -> DatasetRow | None:
        """The dataset with this id, or None (also for a deleted one, unless asked)."""
        row = conn.execute(
            f"SELECT {_DATASET_COLUMNS} FROM dl_datasets WHERE id = ?", (dataset_id,)
        ).fetchone()
        if row is None:
            return None
        found = DatasetRow(*row)
        _require_same("dataset", dataset_id, found.id)
        return found if include_deleted or not found.deleted else None

    @staticmethod
    def live(conn: Connection, dataset_id: str) -> DatasetRow:
        """The live dataset with this id.

        Raises:
            NotFoundError: There is none.
        """
        row = Lookups.dataset(conn, dataset_id)
        if row is None:
            raise NotFoundError(f"no dataset {dataset_id!r}")
        return row

    @staticmethod
    def datasets(conn: Connection, project_id: str | None) -> list[DatasetRow]:
        """A project's live datasets (every project's, if None), oldest first."""
        if project_id is None:
            query = f"SELECT {_DATASET_COLUMNS} FROM dl_datasets WHERE deleted = 0 ORDER BY key"
            rows = conn.execute(query).fetchall()
        else:
            rows = conn.execute(
                f"SELECT {_DATASET_COLUMNS} FROM dl_datasets WHERE project_id = ? "
                "AND deleted = 0 ORDER BY key",
                (project_id,),
            ).fetchall()
        return [DatasetRow(*row) for row in rows]

    @staticmethod
    def name_taken(conn: Connection, project_id: str, name: str, *, other_than: str = "") -> bool:
        """Whether a live dataset of the project other than ``other_than`` has this name."""
        row = conn.execute(
            "SELECT 1 FROM dl_datasets WHERE project_id = ? AND name = ? AND deleted = 0 "
            "AND id != ?",
            (project_id, name, other_than),
        ).fetchone()
        return row is not None

    @staticmethod
    def version(conn: Connection, key: int, number: int) -> VersionRow | None:
        """Version ``number`` of the dataset with this key."""
        row = conn.execute(
            f"SELECT {_VERSION_COLUMNS} FROM dl_versions WHERE dataset_key = ? AND number = ?",
            (key, number),
        ).fetchone()
        if row is None:
            return None
        found = VersionRow(*row)
        _require_same("version", number, found.number)
        return found

    @staticmethod
    def version_by_id(conn: Connection, key: int, version_id: str) -> VersionRow | None:
        """The version of the dataset with this key that has this version id."""
        row = conn.execute(
            f"SELECT {_VERSION_COLUMNS} FROM dl_versions WHERE id = ? AND dataset_key = ?",
            (version_id, key),
        ).fetchone()
        if row is None:
            return None
        found = VersionRow(*row)
        _require_same("version", version_id, found.id)
        return found

    @staticmethod
    def version_by_label(conn: Connection, key: int, label: str) -> VersionRow | None:
        """The version a name or tag of the dataset with this key names, in one statement."""
        row = conn.execute(
            f"SELECT {', '.join('v.' + c for c in VERSION_COLUMNS)}, l.label "
            "FROM dl_labels l JOIN dl_versions v ON v.dataset_key = l.dataset_key "
            "AND v.number = l.version WHERE l.dataset_key = ? AND l.label = ?",
            (key, label),
        ).fetchone()
        if row is None:
            return None
        _require_same("label", label, row[-1])
        return VersionRow(*row[:-1])

    @staticmethod
    def version_at(conn: Connection, key: int, instant_us: int) -> VersionRow | None:
        """The version with the latest commit time at or before ``instant_us``, or None."""
        row = conn.execute(
            f"SELECT {_VERSION_COLUMNS} FROM dl_versions WHERE dataset_key = ? "
            "AND created_us <= ? ORDER BY created_us DESC, number DESC LIMIT 1",
            (key, instant_us),
        ).fetchone()
        return VersionRow(*row) if row else None

    @staticmethod
    def versions_numbered(conn: Connection, key: int, numbers: list[int]) -> dict[int, VersionRow]:
        """The versions of the dataset with this key among ``numbers``, by number, in one query."""
        if not numbers:
            return {}
        rows = conn.execute(
            f"SELECT {_VERSION_COLUMNS} FROM dl_versions WHERE dataset_key = ? "
            f"AND number IN ({', '.join('?' * len(numbers))})",
            (key, *numbers),
        ).fetchall()
        return {row.number: row for row in (VersionRow(*row) for row in rows)}

    @staticmethod
    def versions(conn: Connection, key: int) -> list[VersionRow]:
        """Every version of the dataset with this key, oldest first."""
        rows = conn.execute(
            f"SELECT {_VERSION_COLUMNS} FROM dl_versions WHERE dataset_key = ? ORDER BY number",
            (key,),
        ).fetchall()
        return [VersionRow(*row) for row in rows]

    @staticmethod
    def datapoint(conn: Connection, datapoint_id: str) -> DatapointRow | None:
        """A datapoint's latest content in a live dataset, or None."""
        row = conn.execute(_DATAPOINT, (datapoint_id,)).fetchone()
        if row is None:
            return None
        _require_same("datapoint", datapoint_id, row[2])
        return DatapointRow(row[0], row[1])

    @staticmethod
    def held(conn: Connection, key: int, datapoint_ids: list[str]) -> dict[str, HeldRow]:
        """Which of these ids the dataset with this key ever held, and their latest state.

        Each found id maps to its live span's JSON, or, if it was deleted, to
        its last span's; ids it never held are left out.
        """
        found: dict[str, HeldRow] = {}
        for start in range(0, len(datapoint_ids), _AT_ONCE):
            chunk = datapoint_ids[start : start + _AT_ONCE]
            statement = _HELD.replace("<ids>", ", ".join("?" * len(chunk)))
            for datapoint_id, removed_in, payload, held_by in conn.execute(
                statement, chunk
            ).fetchall():
                if held_by != key:
                    continue
                seen = found.get(datapoint_id)
                if seen is None or not seen.live:
                    found[datapoint_id] = HeldRow(removed_in is None, payload)
        return found

    @staticmethod
    def added_in(conn: Connection, key: int, number: int) -> list[str]:
        """Payloads of the datapoints first added in version ``number``, in order."""
        before = Lookups.version(conn, key, number - 1)
        this = Lookups.version(conn, key, number)
        if before is None or this is None:
            raise StoreError(f"the read models lack version {number} or {number - 1}; run verify()")
        rows = conn.execute(
            _ADDED_IN, (key, before.ordinal_bound, this.ordinal_bound, number)
        ).fetchall()
        return [row[0] for row in rows]

    @staticmethod
    def merges(conn: Connection, key: int, source_id: str) -> list[MergeRow]:
        """The merges from ``source_id`` into the dataset with this key, oldest first."""
        rows = conn.execute(
            "SELECT version, source_id, source_version FROM dl_merges WHERE dataset_key = ? "
            "AND source_id = ? ORDER BY version",
            (key, source_id),
        ).fetchall()
        return [MergeRow(*row) for row in rows]

    @staticmethod
    def idempotency(conn: Connection, key: int, idempotency_key: str) -> IdempotencyRow | None:
        """The request and version an idempotency key was first used with, or None."""
        row = conn.execute(
            "SELECT request_hash, version FROM dl_idempotency WHERE dataset_key = ? AND key = ?",
            (key, idempotency_key),
        ).fetchone()
        return IdempotencyRow(*row) if row else None
