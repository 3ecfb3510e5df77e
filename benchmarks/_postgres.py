"""The PostgreSQL backend: fresh schemas of one server, its floor, and the server of a run.

A run starts at most one PostgreSQL server (``datasetlog.testing.postgres_server``),
and none when given ``--postgres-url`` or ``--backend sqlite``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import orjson

from benchmarks._backend_base import Backend, ObjectSize, RawInsert
from benchmarks._baselines import FLOOR_SELECT
from benchmarks._payloads import Body
from datasetlog.testing import (
    PostgresUnavailableError,
    drop_schema_of,
    new_schema_location,
    postgres_server,
)

if TYPE_CHECKING:
    import psycopg

STREAM_ROWS: Final = 2000
"""Rows per chunk when the PostgreSQL floor is streamed (datasetlog streams in 2,000s too)."""

_SETTINGS: Final = ("fsync", "synchronous_commit", "full_page_writes", "shared_buffers")
_RELATIONS: Final = """
    SELECT c.relname, coalesce(t.relname, c.relname), pg_table_size(c.oid)
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_index i ON i.indexrelid = c.oid
    LEFT JOIN pg_class t ON t.oid = i.indrelid
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'i')
      AND coalesce(t.relname, c.relname) LIKE 'dl\\_%'
    ORDER BY 1"""
_TOTAL: Final = """
    SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname LIKE 'dl\\_%'"""


def pg_connect(location: str) -> psycopg.Connection[Any]:
    """An autocommit connection to a PostgreSQL location (a URL, maybe with a schema)."""
    import psycopg

    return psycopg.connect(location, autocommit=True)


def _value(conn: psycopg.Connection[Any], query: str) -> Any:
    """The first column of the one row a query returns."""
    row = conn.execute(query).fetchone()
    assert row is not None
    return row[0]


def pg_floor_payloads(conn: psycopg.Connection[Any]) -> Iterator[str]:
    """The floor's payloads, streamed: chunked rows (libpq >= 17), else a server-side cursor."""
    import psycopg

    if psycopg.pq.version() >= 170000:
        with conn.cursor() as cursor:
            for (payload,) in cursor.stream(FLOOR_SELECT, size=STREAM_ROWS):
                yield payload
        return
    with conn.transaction(), conn.cursor(name="floor") as named:
        named.itersize = STREAM_ROWS
        named.execute(FLOOR_SELECT)
        for (payload,) in named:
            yield payload


def _vacuum(conn: psycopg.Connection[Any], *, analyze: bool) -> None:
    """Flush the WAL, then VACUUM every table of the connection's schema.

    With ``synchronous_commit=off`` (the throwaway server's setting) a commit's
    WAL reaches disk a little later, and until it has, VACUUM may not set the
    hint bits of the rows it wrote (PostgreSQL tracks that per group of 32
    transaction ids, so ANALYZE's own quick commits delay it too) nor mark their
    pages all-visible: index-only scans then still visit the heap. So this
    session commits synchronously, starting with one small commit that flushes
    everything before it (no CHECKPOINT, so no superuser needed).
    """
    from psycopg import sql

    conn.execute("SET synchronous_commit TO on")
    with conn.transaction():
        conn.execute("CREATE TEMP TABLE bench_wal_flush (x int) ON COMMIT DROP")
    tables = [
        row[0]
        for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
    ]
    if tables:
        names = sql.SQL(", ").join(sql.Identifier(t) for t in tables)
        command = sql.SQL("VACUUM (ANALYZE) {}" if analyze else "VACUUM {}")
        conn.execute(command.format(names))


class PgFloor:
    """The PostgreSQL floor: ``floor(id BIGINT PRIMARY KEY, payload TEXT)`` in its own schema,
    filled with COPY, vacuumed and analyzed, read with one streamed SELECT."""

    backend = "postgres"

    def __init__(self, location: str, payloads: Iterable[str]) -> None:
        self.location = location
        self.conn = pg_connect(location)
        self.conn.execute("CREATE TABLE floor (id BIGINT PRIMARY KEY, payload TEXT NOT NULL)")
        with (
            self.conn.transaction(),
            self.conn.cursor() as cursor,
            cursor.copy("COPY floor (id, payload) FROM STDIN") as copy,
        ):
            for row in enumerate(payloads, 1):
                copy.write_row(row)
        _vacuum(self.conn, analyze=True)

    def read(self) -> int:
        """One ``SELECT payload FROM floor ORDER BY id``, each row decoded and dropped."""
        loads = orjson.loads
        count = 0
        for payload in pg_floor_payloads(self.conn):
            loads(payload)
            count += 1
        return count

    def close(self) -> None:
        self.conn.close()


class PostgresBackend(Backend):
    """Stores are fresh schemas of one PostgreSQL server, dropped when the run ends."""

    name = "postgres"

    def __init__(self, url: str, origin: str) -> None:
        self.url = url
        self.origin = origin
        self._locations: list[str] = []
        self._connections: list[psycopg.Connection[Any]] = []
        with pg_connect(url) as conn:
            self.version = str(_value(conn, "SHOW server_version")).split()[0]
            self.settings = {name: str(_value(conn, f"SHOW {name}")) for name in _SETTINGS}

    def new_location(self, key: str) -> str:
        location = new_schema_location(self.url)
        self._locations.append(location)
        return location

    def _connect(self, location: str) -> psycopg.Connection[Any]:
        conn = pg_connect(location)
        self._connections.append(conn)
        return conn

    def after_build(self, location: str) -> None:
        with pg_connect(location) as conn:
            _vacuum(conn, analyze=True)

    def floor(self, key: str, payloads: Iterable[str]) -> PgFloor:
        return PgFloor(self.new_location(key), payloads)

    def settle(self, location: str) -> None:
        # Relation files grow as pages are added and WAL is not part of them, so a
        # CHECKPOINT would change nothing here. VACUUM frees the dead row versions
        # that updates of dl_datasets and dl_rm_meta leave, as autovacuum would.
        with pg_connect(location) as conn:
            _vacuum(conn, analyze=False)

    def total_bytes(self, location: str) -> int:
        with pg_connect(location) as conn:
            return int(_value(conn, _TOTAL))

    def objects(self, location: str) -> list[ObjectSize]:
        with pg_connect(location) as conn:
            return [(str(a), str(b), int(c)) for a, b, c in conn.execute(_RELATIONS)]

    def raw_inserts(self, key: str, bodies: Sequence[Body]) -> list[RawInsert]:
        conn = self._connect(self.new_location(key))
        counter = itertools.count()

        def create() -> str:
            table = f"raw_{next(counter)}"
            conn.execute(
                f"CREATE TABLE {table} "
                "(id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload TEXT)"
            )
            return table

        def executemany() -> None:
            table = create()
            dumps = orjson.dumps
            with conn.transaction(), conn.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {table} (payload) VALUES (%s)",
                    ((dumps(b).decode(),) for b in bodies),
                )

        def copy() -> None:
            table = create()
            dumps = orjson.dumps
            with (
                conn.transaction(),
                conn.cursor() as cursor,
                cursor.copy(f"COPY {table} (payload) FROM STDIN") as writer,
            ):
                for body in bodies:
                    writer.write_row((dumps(body).decode(),))

        return [("executemany", executemany), ("COPY", copy)]

    def describe(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self.settings.items())
        return f"postgres = PostgreSQL {self.version} on loopback ({self.origin}), {settings}"

    def title_settings(self) -> str:
        return ", ".join(f"{k}={self.settings[k]}" for k in ("fsync", "synchronous_commit"))

    def close(self) -> None:
        for conn in self._connections:
            conn.close()
        self._connections.clear()
        for location in self._locations:
            with contextlib.suppress(Exception):
                drop_schema_of(location)
        self._locations.clear()


# -- the server of a run -------------------------------------------------------------------


@dataclass(frozen=True)
class PostgresChoice:
    """The server a run uses (``url``), or None and why not (``note``)."""

    url: str | None
    note: str


@contextlib.contextmanager
def postgres_for(backend: str | None, url: str | None) -> Iterator[PostgresChoice]:
    """The PostgreSQL server for a run: ``url`` if given, else one started for the run.

    ``backend`` is the ``--backend`` argument (None when not given). The choice
    has no URL for ``--backend sqlite``, and when no server can be had and none
    was asked for explicitly.

    Raises:
        SystemExit: ``--backend postgres|both`` was given and no server can be had.
    """
    if backend == "sqlite":
        yield PostgresChoice(None, "PostgreSQL not measured (--backend sqlite)")
        return
    if url is not None:
        yield PostgresChoice(url, "the server given by --postgres-url")
        return
    with contextlib.ExitStack() as stack:
        started: str | None = None
        try:
            if importlib.util.find_spec("psycopg") is None:
                raise PostgresUnavailableError(
                    "psycopg is not installed (pip install 'datasetlog[postgres]')"
                )
            started = stack.enter_context(postgres_server())
        except PostgresUnavailableError as error:
            if backend is not None:
                raise SystemExit(f"--backend {backend}: no PostgreSQL server: {error}") from error
            reason = str(error)
        if started is None:
            yield PostgresChoice(None, f"PostgreSQL not measured, SQLite only: {reason}")
            return
        origin = (
            "DATASETLOG_TEST_POSTGRES_URL"
            if os.environ.get("DATASETLOG_TEST_POSTGRES_URL")
            else "a throwaway server started for this run (datasetlog.testing)"
        )
        yield PostgresChoice(started, origin)
