"""Long PostgreSQL reads, streamed from one query on pooled connections of their own.

A version read as one query lets the server find rows while the client
decodes earlier ones. Each stream takes its own connection, so the thread's
connection stays free: two versions can be read side by side, and other
calls made between rows.
"""

from __future__ import annotations

import re
import select
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import suppress
from itertools import islice
from typing import Any

import psycopg
from psycopg.rows import tuple_row
from psycopg.types.string import ByteaBinaryLoader

from datasetlog.errors import DatasetLogError, StoreError

PLACEHOLDER = re.compile(r"\?")
CHUNKED_ROWS = psycopg.pq.version() >= 170000
"""Whether libpq streams rows in chunks (17+); older ones stream through a server-side cursor."""
KEEP_IDLE_STREAMS = 4
"""Idle streaming connections a store keeps for the next long read."""
_STREAM_SETTINGS = (
    # A stream's rows should leave as the server finds them: plans that must
    # finish first (a sort, a hash or merge join's build, a parallel gather) or
    # that compile (JIT) would hold back the first row until the last is found.
    "SET enable_sort = off",
    "SET enable_hashjoin = off",
    "SET enable_mergejoin = off",
    "SET max_parallel_workers_per_gather = 0",
    "SET jit = off",
    # Payloads read as bytes are the server's bytes: make them UTF-8.
    "SET client_encoding = 'UTF8'",
)

RawConnection = psycopg.Connection[Any]


def idle_and_alive(raw: RawConnection) -> bool:
    """Whether an idle connection is still usable, without a round trip.

    A server that ends a session (a restart, ``pg_terminate_backend``, an idle
    timeout) sends its goodbye and closes the socket, so an idle connection
    with anything to read is gone: finding out here, before a statement, lets
    the caller's next call simply reconnect instead of failing.
    """
    if raw.closed or raw.broken:
        return False
    readable, _, _ = select.select([raw.fileno()], [], [], 0)
    return not readable


class StreamPool:
    """Streams on a small pool of connections set up for streaming plans.

    Args:
        connect: Opens a new connection to the store's database and schema.
        forget: Closes a connection and drops it from the store's books.
        translate: Maps a driver error to a datasetlog error.
    """

    def __init__(
        self,
        connect: Callable[[], RawConnection],
        forget: Callable[[RawConnection], None],
        translate: Callable[[psycopg.Error], DatasetLogError],
    ) -> None:
        self._connect = connect
        self._forget = forget
        self._translate = translate
        self._lock = threading.Lock()
        self._idle: list[RawConnection] = []
        self.closed = False

    @property
    def idle(self) -> int:
        """How many connections wait in the pool."""
        return len(self._idle)

    def stream(
        self,
        statement: str,
        parameters: Sequence[Any],
        *,
        size: int,
        as_bytes: bool = False,
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Yield one query's rows, in lists of up to ``size``.

        The whole stream is one snapshot. With ``as_bytes`` text arrives as
        its UTF-8 bytes, never decoded. A stream dropped early cancels its
        query and gives its connection back idle.
        """
        raw = self._take()
        query = PLACEHOLDER.sub("%s", statement)
        rows = _rows(raw, query, parameters, size, as_bytes)
        try:
            while chunk := list(islice(rows, size)):
                yield chunk
        except psycopg.Error as error:
            raise self._translate(error) from error
        finally:
            with suppress(psycopg.Error):
                rows.close()  # cancels an unfinished query, leaving the connection idle
            self._give_back(raw)

    def _take(self) -> RawConnection:
        if self.closed:
            raise StoreError("the store is closed")
        while True:
            with self._lock:
                raw = self._idle.pop() if self._idle else None
            if raw is None:
                return self._new()
            if idle_and_alive(raw):
                return raw
            self._forget(raw)

    def _new(self) -> RawConnection:
        raw = self._connect()
        try:
            for setting in _STREAM_SETTINGS:
                raw.execute(setting)
        except psycopg.Error as error:
            self._forget(raw)
            raise self._translate(error) from error
        return raw

    def _give_back(self, raw: RawConnection) -> None:
        idle = not raw.closed and raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with self._lock:
            if idle and not self.closed and len(self._idle) < KEEP_IDLE_STREAMS:
                self._idle.append(raw)
                return
        self._forget(raw)

    def close(self) -> None:
        """Stop lending connections; the store closes them."""
        with self._lock:
            self.closed = True
            self._idle.clear()


def _rows(
    raw: RawConnection,
    query: str,
    parameters: Sequence[Any],
    size: int,
    as_bytes: bool,
) -> Generator[Any, None, None]:
    if CHUNKED_ROWS:
        with raw.cursor(row_factory=tuple_row) as cursor:
            if as_bytes:
                cursor.adapters.register_loader("text", ByteaBinaryLoader)
            yield from cursor.stream(query, parameters, binary=True, size=size)
        return
    with raw.transaction(), raw.cursor("datasetlog_stream", row_factory=tuple_row) as named:
        if as_bytes:
            named.adapters.register_loader("text", ByteaBinaryLoader)
        named.itersize = size
        named.execute(query, parameters, binary=True)
        yield from named
