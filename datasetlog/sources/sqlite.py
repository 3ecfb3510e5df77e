"""Logs kept in a table of an SQLite file, which may be the store's own file."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from datasetlog.errors import DatasetLogError, StoreError
from datasetlog.models import ChatMessage, Log
from datasetlog.serialization.converter import converter
from datasetlog.store.sqlite_schema import claim_if_empty
from datasetlog.validation.requests import parse_log


def new_log_id() -> str:
    """A fresh, URL-safe log id."""
    return "log_" + secrets.token_hex(12)


class SQLiteLogSource:
    """Logs kept in a table of an SQLite file (``dl_logs`` by default).

    A new file is marked as datasetlog's, so that ``DatasetLog(path)`` may
    later make it a store too; an existing file is used as it is.

    Args:
        path: The SQLite file; it may be the datasetlog store's own file.
        table: The table name.

    Raises:
        StoreError: The file cannot be opened as an SQLite database.
    """

    def __init__(self, path: str | Path, *, table: str = "dl_logs") -> None:
        self.path = str(path)
        if Path(path).is_dir():
            raise StoreError(f"log source {self.path!r} is a folder; give the path of a file")
        import sqlite_utils  # here only: it loads pandas and numpy when they are installed

        with self._translated():
            self._db = sqlite_utils.Database(path)
            self._table = self._db.table(table)
            if not self._table.exists():
                with self._db.conn:
                    claim_if_empty(self._db.conn)
                    self._table.create(
                        {"id": str, "inputs": str, "messages": str, "output": str}, pk="id"
                    )

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Driver errors, and rows that no longer decode, as StoreError."""
        try:
            yield
        except DatasetLogError:
            raise
        except Exception as error:  # the file is input from elsewhere: any fault is its fault
            raise StoreError(f"log source {self.path!r} failed: {error!r}") from error

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
        with self._translated():
            self._upsert(log, data)
        return log

    def _upsert(self, log: Log, data: dict[str, Any]) -> None:
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

    def get_logs(self, log_ids: Sequence[str]) -> Mapping[str, Log]:
        """Return the logs found, keyed by id.

        Raises:
            StoreError: The file failed, or a row no longer decodes.
        """
        with self._translated():
            return self._get_logs(log_ids)

    def _get_logs(self, log_ids: Sequence[str]) -> Mapping[str, Log]:
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
