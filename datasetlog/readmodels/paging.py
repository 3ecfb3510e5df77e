"""Where a page of a version starts, found without an ``OFFSET`` scan.

Ordinals are dense and updates and restores keep them, so the live
datapoints below ordinal ``x`` in version ``k`` are ``x`` less the net
deletions below ``x`` up to ``k`` (``dl_deletions``: 1 for a deletion, -1 for
a restore). ``dl_deletion_blocks`` keeps, per block of
ordinals, the running count of its deletions at each version that deleted in
it, so a page's block is found with one seek per block and its first ordinal
by counting deletions within that block only.

A fork's version counts the deletions of every layer it is read through
(see :mod:`datasetlog.readmodels.layers`), each as of that layer's version:
a fork that deletes an inherited datapoint records it in its own rows.
"""

from __future__ import annotations

from datasetlog.readmodels.layers import View
from datasetlog.store.base import Connection

BLOCK = 4096
"""Ordinals per block of the deletion counts that paging uses."""
FEW_DELETIONS = 1024
"""Up to this many deletions in a version, pages are found by counting them directly."""

_COUNT_DELETIONS = (
    "SELECT coalesce(sum(delta), 0) FROM dl_deletions WHERE dataset_key = ? AND ordinal >= ? "
    "AND ordinal < ? AND version <= ?"
)
# Deletions per block as of a version: one index seek per block, in one statement.
_BLOCKS_DELETED = (
    "WITH RECURSIVE blocks(block) AS (SELECT 0 UNION ALL SELECT block + 1 FROM blocks "
    "WHERE block + 1 < ?) SELECT block, (SELECT deleted FROM dl_deletion_blocks d "
    "WHERE d.dataset_key = ? AND d.block = blocks.block AND d.version <= ? "
    "ORDER BY d.version DESC LIMIT 1) FROM blocks ORDER BY block"
)


def rank_start(conn: Connection, view: View, rank: int) -> int:
    """The smallest ordinal with exactly ``rank`` live datapoints of a version before it.

    Costs nothing without deletions, a few counts over at most
    ``FEW_DELETIONS`` rows with few, and otherwise one seek per block of
    ``BLOCK`` ordinals (per layer) plus counts within one block: never a
    scan of the rows skipped.
    """
    version = view.version
    deleted = version.ordinal_bound - version.datapoint_count
    if deleted == 0 or rank == 0:
        return rank
    if deleted <= FEW_DELETIONS:
        return _start_within(conn, view, 0, rank)
    blocks = -(-version.ordinal_bound // BLOCK)
    per_block = [0] * blocks
    for layer in view.layers:
        for block, deleted_in_block in conn.execute(
            _BLOCKS_DELETED, (blocks, layer.key, layer.version)
        ).fetchall():
            per_block[int(block)] += deleted_in_block or 0
    live_before = 0
    for block, deleted_in_block in enumerate(per_block):
        first = block * BLOCK
        size = min(BLOCK, version.ordinal_bound - first)
        live = size - deleted_in_block
        if live_before + live > rank:
            return _start_within(conn, view, first, rank - live_before)
        live_before += live
    return version.ordinal_bound


def _start_within(conn: Connection, view: View, first: int, rank: int) -> int:
    """The smallest ordinal from ``first`` on with ``rank`` live ordinals in between.

    Iterates to the fixed point of ``x = first + rank + deletions in [first, x)``.
    """
    start = first + rank
    while True:
        deleted = sum(
            int(
                conn.execute(_COUNT_DELETIONS, (layer.key, first, start, layer.version)).fetchone()[
                    0
                ]
            )
            for layer in view.layers
        )
        if first + rank + deleted == start:
            return start
        start = first + rank + deleted
