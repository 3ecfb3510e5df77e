"""The backends the benchmarks run datasetlog on: SQLite files and PostgreSQL schemas.

Every script measures datasetlog with the same code on each backend chosen with
``--backend sqlite|postgres|both``; what differs per backend lives here:

- where a fresh store goes: a file in the run's temporary folder, or a fresh
  schema of the PostgreSQL server (``datasetlog.testing.new_schema_location``),
  dropped at the end of the run;
- what is done after a store is built, before it is measured: nothing for
  SQLite; for PostgreSQL, a WAL flush then ``VACUUM (ANALYZE)`` of the schema's
  tables, the state autovacuum brings a bulk load to within a minute or so: no
  timing then catches autovacuum midway, a plan made without statistics, or
  index-only scans still visiting the heap (see ``benchmarks._postgres._vacuum``);
- the backend's own floor: the same payloads in a plain table, read with one
  ``SELECT payload FROM floor ORDER BY id``, each row decoded with orjson
  (PostgreSQL: streamed in chunks of 2,000 rows with libpq's chunked-rows mode,
  or a server-side cursor where libpq is older than 17);
- the raw insert P7 compares with: ``executemany`` into a plain table in one
  transaction (PostgreSQL: also ``COPY``);
- a store's size: SQLite, file + WAL after a TRUNCATE checkpoint, by table and
  index from ``dbstat``; PostgreSQL, ``pg_total_relation_size`` summed over the
  ``dl_`` tables after ``VACUUM``, by table and index.

A run starts at most one PostgreSQL server (``datasetlog.testing.postgres_server``),
and none when given ``--postgres-url`` or ``--backend sqlite``.

This module has the SQLite backend and chooses the backends of a run; what a
backend is, is in ``benchmarks._backend_base``, the PostgreSQL backend in
``benchmarks._postgres``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from benchmarks._backend_base import Backend, ObjectSize, RawInsert
from benchmarks._baselines import Floor
from benchmarks._config import DURABILITY
from benchmarks._files import checkpoint, file_bytes
from benchmarks._payloads import Body
from benchmarks._postgres import PostgresBackend, postgres_for
from benchmarks._tables import set_table_settings

# -- SQLite --------------------------------------------------------------------------------


class SQLiteBackend(Backend):
    """Stores are files in the run's temporary folder."""

    name = "sqlite"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._connections: list[sqlite3.Connection] = []

    def _path(self, key: str) -> Path:
        path = self.folder / f"{key}.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            raise ValueError(f"{path} exists: store keys must be unique within a run")
        return path

    def new_location(self, key: str) -> str:
        return str(self._path(key))

    def after_build(self, location: str) -> None:
        """Nothing: an SQLite store is measured as written."""

    def floor(self, key: str, payloads: Iterable[str]) -> Floor:
        return Floor(self._path(key), payloads)

    def settle(self, location: str) -> None:
        checkpoint(Path(location))

    def total_bytes(self, location: str) -> int:
        return file_bytes(Path(location))

    def objects(self, location: str) -> list[ObjectSize]:
        with contextlib.closing(sqlite3.connect(location)) as conn:
            owner = dict(
                conn.execute(
                    "SELECT name, tbl_name FROM sqlite_schema WHERE type IN ('table', 'index')"
                )
            )
            sizes = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            free = conn.execute("PRAGMA freelist_count").fetchone()[0] * page_size
        found = [(str(name), str(owner.get(name, name)), int(size)) for name, size in sizes]
        return [*found, ("(free pages)", "(free pages)", int(free))]

    def raw_inserts(self, key: str, bodies: Sequence[Body]) -> list[RawInsert]:
        conn = sqlite3.connect(self._path(key), isolation_level=None)
        self._connections.append(conn)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {DURABILITY.upper()}")
        counter = itertools.count()

        def executemany() -> None:
            table = f"raw_{next(counter)}"
            conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, payload TEXT)")
            dumps = orjson.dumps
            conn.execute("BEGIN")
            conn.executemany(
                f"INSERT INTO {table} (payload) VALUES (?)", ((dumps(b).decode(),) for b in bodies)
            )
            conn.execute("COMMIT")

        return [("executemany", executemany)]

    def describe(self) -> str:
        return (
            f"sqlite = SQLite {sqlite3.sqlite_version}, a file per store, durability={DURABILITY}"
        )

    def close(self) -> None:
        for conn in self._connections:
            conn.close()
        self._connections.clear()


# -- choosing the backends -----------------------------------------------------------------


@dataclass
class Backends:
    """The backends of one run: those datasetlog is measured on, and SQLite for the floor.

    The floor of P1, P2 and P8 and the baselines are SQLite files whatever the
    choice; ``chosen`` lists the backends datasetlog itself runs on.
    """

    sqlite: SQLiteBackend
    postgres: PostgresBackend | None
    chosen: list[Backend]
    note: str

    @property
    def has_sqlite(self) -> bool:
        return any(b is self.sqlite for b in self.chosen)

    def describe(self) -> str:
        """The header line naming the backends measured and their settings."""
        parts = [b.describe() for b in self.chosen]
        if self.postgres is None:
            parts.append(self.note)
        elif not self.has_sqlite:
            parts.append("SQLite only holds the floor and the baselines")
        return "backends: " + "; ".join(parts)

    def restricted(self, chosen: list[Backend]) -> Backends:
        """The same backends, datasetlog measured on ``chosen`` only."""
        return dataclasses.replace(self, chosen=chosen)

    def title_settings(self) -> str:
        if self.postgres is None:
            return f"durability={DURABILITY}"
        return f"SQLite durability={DURABILITY}; PostgreSQL {self.postgres.title_settings()}"


@contextlib.contextmanager
def open_backends(args: argparse.Namespace, folder: Path) -> Iterator[Backends]:
    """The backends ``--backend`` and ``--postgres-url`` ask for; SQLite files go in ``folder``.

    Starts at most one PostgreSQL server and stops it, and drops every schema
    made, at the end.
    """
    sqlite = SQLiteBackend(folder)
    with postgres_for(args.backend, args.postgres_url) as choice:
        postgres = PostgresBackend(choice.url, choice.note) if choice.url else None
        chosen: list[Backend] = [sqlite] if args.backend != "postgres" else []
        if postgres is not None:
            chosen.append(postgres)
        backends = Backends(sqlite, postgres, chosen, choice.note)
        set_table_settings(backends.title_settings())
        try:
            yield backends
        finally:
            if postgres is not None:
                postgres.close()
            sqlite.close()
