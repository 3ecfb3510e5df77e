"""The references datasetlog is measured against, other than eventsourcing.

- the floor: the payloads as rows of a plain SQLite table, read with one SELECT;
- baseline (a), copy-on-commit: the literal v4 layout, every version a copy;
- baseline (b), replay: every commit decoded and folded, no read models.

Baseline (c), eventsourcing, is in ``benchmarks._eventsourcing``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Final

import orjson

from benchmarks._config import DURABILITY
from benchmarks._timing import consume
from datasetlog import Datapoint, DatasetLog
from datasetlog.projector import project
from datasetlog.serialization.codec import decode_commit
from datasetlog.serialization.decode import datapoints_from_json


def decode_datapoints(dataset_id: str, payloads: Iterable[str]) -> Iterator[Datapoint]:
    """Stored payloads to Datapoint objects with datasetlog's own (batch) decoder, so that
    baselines pay the same decoding cost."""
    return datapoints_from_json(dataset_id, [payloads])


def replay_datapoints(db: DatasetLog, dataset_id: str, version: int) -> list[Datapoint]:
    """Baseline (b): pure event replay, no read models: fold every commit up to ``version``."""
    commits = (decode_commit(stored) for stored in db.store.read_stream(dataset_id))
    return project(commits, version=version).datapoints()


# -- the floor and the copy-on-commit baseline --------------------------------------------

FLOOR_SELECT: Final = "SELECT payload FROM floor ORDER BY id"


class Floor:
    """The floor: payloads as rows of ``floor(id INTEGER PRIMARY KEY, payload TEXT)``."""

    backend = "sqlite"

    def __init__(self, path: Path, payloads: Iterable[str] | None = None) -> None:
        self.path = path
        self.location = str(path)
        self.conn = sqlite3.connect(path, isolation_level=None)
        if payloads is not None:
            self.conn.execute("CREATE TABLE floor (id INTEGER PRIMARY KEY, payload TEXT)")
            self.conn.execute("BEGIN")
            self.conn.executemany(
                "INSERT INTO floor (payload) VALUES (?)", ((p,) for p in payloads)
            )
            self.conn.execute("COMMIT")

    def payloads(self) -> Iterator[str]:
        """The payloads, in order."""
        for (payload,) in self.conn.execute(FLOOR_SELECT):
            yield payload

    def read(self) -> int:
        """One ``SELECT payload FROM floor ORDER BY id``, each row decoded and dropped."""
        loads = orjson.loads
        count = 0
        for (payload,) in self.conn.execute(FLOOR_SELECT):
            loads(payload)
            count += 1
        return count

    def close(self) -> None:
        self.conn.close()


class CopyOnCommit:
    """Baseline (a): the literal v4 layout; every version copies all rows of its parent.

    ``rows(version, ordinal, payload)`` clustered on ``(version, ordinal)``; a page
    is read with ``LIMIT/OFFSET`` as the v4 service does.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute(f"PRAGMA synchronous = {DURABILITY.upper()}")
        self.conn.execute(
            "CREATE TABLE rows (version INTEGER NOT NULL, ordinal INTEGER NOT NULL, "
            "payload TEXT NOT NULL, PRIMARY KEY (version, ordinal)) WITHOUT ROWID"
        )
        self.version = 0
        self.next_ordinal = 0

    def commit(
        self,
        add: Sequence[str] = (),
        update: Sequence[tuple[int, str]] = (),
        delete: Sequence[int] = (),
    ) -> int:
        """Commit one new version: copy the parent's rows, then apply the change."""
        conn = self.conn
        new = self.version + 1
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO rows SELECT ?, ordinal, payload FROM rows WHERE version = ?",
            (new, self.version),
        )
        conn.executemany(
            "UPDATE rows SET payload = ? WHERE version = ? AND ordinal = ?",
            [(payload, new, ordinal) for ordinal, payload in update],
        )
        conn.executemany(
            "DELETE FROM rows WHERE version = ? AND ordinal = ?", [(new, o) for o in delete]
        )
        conn.executemany(
            "INSERT INTO rows VALUES (?, ?, ?)",
            [(new, self.next_ordinal + i, payload) for i, payload in enumerate(add)],
        )
        conn.execute("COMMIT")
        self.next_ordinal += len(add)
        self.version = new
        return new

    def payloads(self, version: int) -> Iterator[str]:
        for (payload,) in self.conn.execute(
            "SELECT payload FROM rows WHERE version = ? ORDER BY ordinal", (version,)
        ):
            yield payload

    def read_datapoints(self, dataset_id: str, version: int) -> int:
        """Read a version materializing Datapoint objects, as ``iter_datapoints`` does."""
        return consume(decode_datapoints(dataset_id, self.payloads(version)))

    def read_dicts(self, dataset_id: str, version: int) -> int:
        """Read a version as v4 dicts, as ``iter_datapoints_v4`` does."""
        count = 0
        loads = orjson.loads
        for payload in self.payloads(version):
            data = loads(payload)
            data["dataset_id"] = dataset_id
            count += 1
        return count

    def page(self, dataset_id: str, version: int, page: int, size: int) -> list[Datapoint]:
        rows = self.conn.execute(
            "SELECT payload FROM rows WHERE version = ? ORDER BY ordinal LIMIT ? OFFSET ?",
            (version, size, (page - 1) * size),
        ).fetchall()
        return list(decode_datapoints(dataset_id, [payload for (payload,) in rows]))

    def close(self) -> None:
        self.conn.close()
