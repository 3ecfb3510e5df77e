"""How a commit edits the spans of ``dl_rows`` and the deletion counts of its version.

A span is ended where a datapoint is updated or deleted, and reopened where
one is restored; a fork *claims* the inherited datapoints it changes (their
ordinals become its own). :class:`~datasetlog.readmodels.apply.CommitApplication`
calls these as it feeds a commit's events.
"""

from __future__ import annotations

from collections import Counter

from datasetlog.errors import StoreError
from datasetlog.ids import derived_id
from datasetlog.readmodels import paging
from datasetlog.readmodels.layers import inherited_ordinals, view_of
from datasetlog.readmodels.rows import DatasetRow
from datasetlog.store.base import Connection

_BLOCK_DELETED = (
    "SELECT deleted FROM dl_deletion_blocks WHERE dataset_key = ? AND block = ? "
    "AND version <= ? ORDER BY version DESC LIMIT 1"
)


def claim(conn: Connection, row: DatasetRow, datapoint_id: str) -> int:
    """The ordinal of an inherited datapoint a fork's event updates or restores (it claims it).

    Raises:
        StoreError: The datapoint is not live in the dataset.
    """
    return claims(conn, row, [datapoint_id])[datapoint_id]


def claims(conn: Connection, row: DatasetRow, datapoint_ids: list[str]) -> dict[str, int]:
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


def record_deletions(conn: Connection, key: int, version: int, deltas: dict[int, int]) -> None:
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


def close_spans(
    conn: Connection, datapoint_ids: list[str], version: int
) -> tuple[dict[str, int], list[str]]:
    """End the live spans of datapoints at ``version``.

    Returns the ordinals of the spans ended, by datapoint id, and the ids that
    had no live span (a fork's inherited datapoints, which it then claims).
    """
    ended: dict[str, int] = {}
    missing: list[str] = []
    for start in range(0, len(datapoint_ids), _CLOSE_AT_ONCE):
        chunk = datapoint_ids[start : start + _CLOSE_AT_ONCE]
        marks = ", ".join("?" * len(chunk))
        found = conn.execute(
            f"UPDATE dl_rows SET removed_in = ? WHERE datapoint_id IN ({marks}) "
            "AND removed_in IS NULL RETURNING ordinal, datapoint_id",
            (version, *chunk),
        ).fetchall()
        ended_here = {str(datapoint_id): int(ordinal) for ordinal, datapoint_id in found}
        missing += [
            datapoint_id for datapoint_id in dict.fromkeys(chunk) if datapoint_id not in ended_here
        ]
        ended |= ended_here
    return ended, missing


def updated_ordinals(
    conn: Connection, row: DatasetRow, datapoint_ids: list[str], version: int
) -> dict[str, int]:
    """End the live spans of datapoints a commit updates; return their ordinals by id.

    Spans end a few hundred to a statement, and a fork claims the inherited
    datapoints among them, so a commit updating many datapoints costs a few
    round trips, not one each.

    Raises:
        StoreError: One of them is not live in the dataset.
    """
    ended, inherited = close_spans(conn, datapoint_ids, version)
    return ended | claims(conn, row, inherited)


def close_span(conn: Connection, datapoint_id: str, version: int) -> int | None:
    """End a datapoint's live span at ``version``; return its ordinal (None: it has none)."""
    found = conn.execute(
        "UPDATE dl_rows SET removed_in = ? WHERE datapoint_id = ? "
        "AND removed_in IS NULL RETURNING ordinal",
        (version, datapoint_id),
    ).fetchone()
    return int(found[0]) if found is not None else None


def reopen_span(
    conn: Connection, row: DatasetRow, datapoint_id: str, version: int, deltas: dict[int, int]
) -> int:
    """Make room for a restored datapoint's span at its own ordinal; return that ordinal.

    A live datapoint's span ends here; a deleted one's ordinal counts as live
    again; a fork's inherited datapoint is claimed.
    """
    found = close_span(conn, datapoint_id, version)
    if found is not None:
        return found
    gone = conn.execute(
        "SELECT ordinal FROM dl_rows WHERE datapoint_id = ? AND dataset_key = ? LIMIT 1",
        (datapoint_id, row.key),
    ).fetchone()
    if gone is None:
        return claim(conn, row, datapoint_id)
    deltas[int(gone[0])] = -1
    return int(gone[0])
