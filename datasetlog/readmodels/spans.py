"""A version's datapoints: its live spans in ordinal order, each joined to its event's JSON."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from datasetlog.readmodels.rows import VersionRow
from datasetlog.store.base import Connection, SQLStore, StreamingStore
from datasetlog.store.dialect import Dialect


@attrs.frozen
class Span:
    """One datapoint of a version: its ordinal and stored JSON (text, or its UTF-8 bytes)."""

    ordinal: int
    payload: Any


class Spans:
    """Reads of a version's spans in the read models of one store."""

    def __init__(self, dialect: Dialect) -> None:
        events = dialect.events
        live = (
            f"FROM dl_rows r JOIN {events.table} e ON e.{events.position} = r.event "
            "WHERE r.dataset_key = ? AND r.ordinal >= ? AND r.ordinal < ? "
            "AND r.added_in <= ? AND (r.removed_in IS NULL OR r.removed_in > ?) "
            "ORDER BY r.ordinal"
        )
        self._select = f"SELECT r.ordinal, {dialect.span_payload} {live} LIMIT ?"
        # A whole version in one query: the span index in ordinal order.
        self._stream = f"SELECT {dialect.span_payload} {live}"

    def page(
        self,
        conn: Connection,
        key: int,
        version: VersionRow,
        *,
        start: int = 0,
        limit: int = 1000,
        as_bytes: bool = False,
    ) -> list[Span]:
        """Up to ``limit`` spans of a version, from ordinal ``start`` on.

        With ``as_bytes`` each payload is its UTF-8 bytes instead of text.
        """
        rows = self.rows(conn, key, version, start, limit, as_bytes)
        return [Span(ordinal, payload) for ordinal, payload in rows]

    def rows(
        self,
        conn: Connection,
        key: int,
        version: VersionRow,
        start: int,
        limit: int,
        as_bytes: bool,
    ) -> list[Any]:
        """The (ordinal, payload) rows of :meth:`page`, for loops that need no Span objects."""
        parameters = (key, start, version.ordinal_bound, version.number, version.number, limit)
        if as_bytes:
            return conn.fetch_bytes(self._select, parameters)
        return conn.execute(self._select, parameters).fetchall()

    def chunks(
        self,
        store: SQLStore,
        key: int,
        version: VersionRow,
        *,
        batch: int,
        as_bytes: bool = False,
    ) -> Iterator[list[Any]]:
        """A version's payloads in ordinal order, in lists of up to ``batch``.

        A :class:`~datasetlog.store.base.StreamingStore` sends them from one
        query while the caller decodes; otherwise each chunk is its own short
        query, resuming after the last ordinal read (keyset paging), so no
        read holds a snapshot open between chunks.
        """
        if isinstance(store, StreamingStore):
            parameters = (key, 0, version.ordinal_bound, version.number, version.number)
            yield from store.stream(self._stream, parameters, size=batch, as_bytes=as_bytes)
            return
        start = 0
        while True:
            with store.reading() as conn:
                rows = self.rows(conn, key, version, start, batch, as_bytes)
            yield [payload for _, payload in rows]
            if len(rows) < batch:
                return
            start = rows[-1][0] + 1
