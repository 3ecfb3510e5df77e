"""Logs kept in a table of an SQLite file, which may be the store's own file."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import sqlite_utils

from datasetlog.models import ChatMessage, Log
from datasetlog.serialization.converter import converter
from datasetlog.validation.requests import parse_log


def new_log_id() -> str:
    """A fresh, URL-safe log id."""
    return "log_" + secrets.token_hex(12)


class SQLiteLogSource:
    """Logs kept in a table of an SQLite file (``dl_logs`` by default).

    Args:
        path: The SQLite file; it may be the datasetlog store's own file.
        table: The table name.
    """

    def __init__(self, path: str | Path, *, table: str = "dl_logs") -> None:
        self._db = sqlite_utils.Database(path)
        self._table = self._db.table(table)
        if not self._table.exists():
            self._table.create({"id": str, "inputs": str, "messages": str, "output": str}, pk="id")

    def record_log(
        self,
        *,
        inputs: Mapping[str, str] | None = None,
        messages: Sequence[ChatMessage | Mapping[str, Any]] | None = None,
        output: str | None = None,
        id: str | None = None,
    ) -> Log:
        """Store a log and return it (with a new ``log_…`` id unless one is given).

        Raises:
            ValidationError: The log is malformed.
        """
        log = parse_log(
            {"id": id or new_log_id(), "inputs": inputs, "messages": messages, "output": output}
        )
        data = converter.unstructure(log)
        self._table.upsert(
            {
                "id": log.id,
                "inputs": orjson.dumps(data["inputs"]).decode() if "inputs" in data else None,
                "messages": (
                    orjson.dumps(data["messages"]).decode() if "messages" in data else None
                ),
                "output": log.output,
            },
            pk="id",
        )
        return log

    def get_logs(self, log_ids: Sequence[str]) -> Mapping[str, Log]:
        """Return the logs found, keyed by id."""
        found: dict[str, Log] = {}
        ids = list(dict.fromkeys(log_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            for row in self._table.rows_where(f"id IN ({marks})", chunk):
                data = {
                    "id": row["id"],
                    "inputs": orjson.loads(row["inputs"]) if row["inputs"] else None,
                    "messages": orjson.loads(row["messages"]) if row["messages"] else None,
                    "output": row["output"],
                }
                found[row["id"]] = converter.structure(data, Log)
        return found

    def close(self) -> None:
        """Close the underlying connection."""
        self._db.close()
