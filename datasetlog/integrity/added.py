"""The ordinal of every datapoint each dataset added, for verify's fold, kept on disk.

A million datapoint ids as a Python dict take about 150 MB; here they are
rows of a temporary table of verify's scratch database (on disk, behind its
page cache), written a batch at a time, so the fold's memory is a few bytes
per datapoint (:mod:`.fold` keeps its content digests in an array).
"""

from __future__ import annotations

from datasetlog.errors import StoreError
from datasetlog.store.base import Connection

_TABLE = "verify_added"
_CREATE = (
    f"CREATE TEMP TABLE IF NOT EXISTS {_TABLE} (dataset INTEGER NOT NULL, "
    "datapoint_id TEXT NOT NULL, ordinal INTEGER NOT NULL, "
    "PRIMARY KEY (dataset, datapoint_id)) WITHOUT ROWID"
)
_ORDINAL = f"SELECT ordinal FROM {_TABLE} WHERE dataset = ? AND datapoint_id = ?"
_AT = f"SELECT datapoint_id FROM {_TABLE} WHERE dataset = ? AND ordinal = ?"
FLUSH_AT = 1000
"""Ids held in memory before they are written (as one statement)."""


class AddedIds:
    """Datapoint ids by dataset (a small integer key), each with the ordinal it was added at.

    Args:
        conn: A connection to an SQLite database of verify's own (its scratch).
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        conn.execute(_CREATE)
        self._pending: dict[tuple[int, str], int] = {}

    def add(self, dataset: int, datapoint_id: str, ordinal: int) -> None:
        """Record a datapoint a dataset added.

        Raises:
            StoreError: The dataset added it already (written ones fail at the next write).
        """
        if (dataset, datapoint_id) in self._pending:
            raise StoreError(f"datapoint {datapoint_id} is added twice")
        self._pending[dataset, datapoint_id] = ordinal
        if len(self._pending) >= FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        """Write the ids held in memory (a duplicate of a written one fails here)."""
        if self._pending:
            rows = [(key, datapoint_id, o) for (key, datapoint_id), o in self._pending.items()]
            self._pending.clear()
            self._conn.insert_rows(_TABLE, ("dataset", "datapoint_id", "ordinal"), rows)

    def ordinal(self, dataset: int, datapoint_id: str) -> int | None:
        """The ordinal a dataset added a datapoint at, or None if it never added it."""
        held = self._pending.get((dataset, datapoint_id))
        if held is not None:
            return held
        found = self._conn.execute(_ORDINAL, (dataset, datapoint_id)).fetchone()
        return int(found[0]) if found is not None else None

    def at(self, dataset: int, ordinal: int) -> str | None:
        """The id of the datapoint a dataset added at an ordinal (a scan: for reports only)."""
        for (key, datapoint_id), held in self._pending.items():
            if (key, held) == (dataset, ordinal):
                return datapoint_id
        found = self._conn.execute(_AT, (dataset, ordinal)).fetchone()
        return str(found[0]) if found is not None else None
