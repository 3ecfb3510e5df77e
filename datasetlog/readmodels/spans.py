"""A version's datapoints: its live spans in ordinal order, each joined to its event's JSON.

A fork's version is read through layers (see :mod:`datasetlog.readmodels.layers`);
any other through the one span index.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from operator import itemgetter
from typing import Any

import attrs

from datasetlog.readmodels.layers import Claims, Layer, Layering, View
from datasetlog.readmodels.schema import PAYLOAD, PAYLOAD_JOIN
from datasetlog.serialization.decode import Inherited, rewrite_id
from datasetlog.store.base import Connection, KeyedScan, SQLStore


@attrs.frozen
class Span:
    """One datapoint of a version: its ordinal and stored JSON (text, or its UTF-8 bytes)."""

    ordinal: int
    payload: Any


_LIVE = (
    "r.dataset_key = ? AND r.ordinal < ? AND r.added_in <= ? "
    "AND (r.removed_in IS NULL OR r.removed_in > ?)"
)
_SELECT_PAGE = (
    f"SELECT r.ordinal, {PAYLOAD} FROM dl_rows r {PAYLOAD_JOIN} "
    f"WHERE {_LIVE} AND r.ordinal >= ? ORDER BY r.ordinal LIMIT ?"
)


def live_spans(layer: Layer, end: int) -> KeyedScan:
    """A layer's own live spans below ordinal ``end``, as ``(ordinal, JSON)`` rows: the
    span index in ordinal order, each joined to its event."""
    return KeyedScan(
        columns=f"r.ordinal, {PAYLOAD}",
        source=f"dl_rows r {PAYLOAD_JOIN}",
        where=_LIVE,
        parameters=(layer.key, end, layer.version, layer.version),
        key="r.ordinal",
    )


class Spans:
    """Reads of a version's spans in the read models."""

    def __init__(self) -> None:
        self.layering = Layering()

    def page(
        self, conn: Connection, view: View, *, start: int = 0, limit: int = 1000
    ) -> list[Span]:
        """Up to ``limit`` spans of a version, from ordinal ``start`` on (JSON as text)."""
        return [Span(ordinal, payload) for ordinal, payload in self.rows(conn, view, start, limit)]

    def rows(
        self, conn: Connection, view: View, start: int, limit: int, *, as_bytes: bool = False
    ) -> list[Any]:
        """The ``(ordinal, JSON)`` rows of :meth:`page`; with ``as_bytes`` JSON as UTF-8 bytes.

        Inherited datapoints come with their ids in this dataset spliced in.
        """
        if not view.layered:
            return self._rows(
                conn, view.layers[0], start, view.version.ordinal_bound, limit, as_bytes
            )
        suffix = view.suffix
        return [
            (ordinal, rewrite_id(payload, suffix) if index else payload)
            for ordinal, index, payload in self._merged(conn, view, start, limit, as_bytes)
        ][:limit]

    def _rows(
        self, conn: Connection, layer: Layer, start: int, end: int, limit: int, as_bytes: bool
    ) -> list[Any]:
        """A layer's own live spans in ``[start, end)``, up to ``limit``, as ``(ordinal, JSON)``."""
        parameters = (layer.key, end, layer.version, layer.version, start, limit)
        if as_bytes:
            return conn.fetch_bytes(_SELECT_PAGE, parameters)
        return conn.execute(_SELECT_PAGE, parameters).fetchall()

    def _merged(
        self,
        conn: Connection,
        view: View,
        start: int,
        limit: int,
        as_bytes: bool,
        claims: Claims | None = None,
    ) -> list[tuple[int, int, Any]]:
        """At least ``limit`` rows of a layered view from ``start`` (fewer only at its end),
        as ``(ordinal, layer, JSON)`` in ordinal order (``claims``: the view's, if known)."""
        if claims is None:
            claims = self.layering.claims(conn, view)
        found: list[tuple[int, int, Any]] = []
        for index in reversed(range(len(view.layers))):  # the lowest ordinals first
            layer, floor = view.layers[index], view.floor(index)
            cursor = max(start, floor)
            while cursor < layer.bound and len(found) < limit:
                want = limit - len(found)
                rows = self._rows(conn, layer, cursor, layer.bound, want, as_bytes)
                end = rows[-1][0] + 1 if len(rows) == want else layer.bound
                window = [(o, index, p) for o, p in rows if o not in claims]
                claimed = claims.within(cursor, end)
                if claimed:
                    held = self.layering.at(conn, view, claimed)
                    if as_bytes:
                        held = {o: (i, _utf8(p)) for o, (i, p) in held.items()}
                    window += [(o, i, p) for o, (i, p) in held.items()]
                    window.sort(key=lambda row: row[0])
                found += window
                cursor = end
        return found

    def chunks(
        self, store: SQLStore, view: View, *, batch: int, as_bytes: bool = False
    ) -> Iterator[list[Any]]:
        """A version's JSON in ordinal order, in lists of up to ``batch``.

        Each layer's live spans are one :class:`~datasetlog.store.base.KeyedScan`,
        read as the store reads scans (see ``SQLStore.scan``). Chunks of
        inherited datapoints are :class:`~datasetlog.serialization.decode.Inherited`,
        which the decoders give the fork's ids.
        """
        claims = None
        if view.layered:
            with store.reading() as conn:
                claims = self.layering.claims(conn, view)
        if claims:
            yield from self._claimed_chunks(store, view, claims, batch, as_bytes)
            return
        suffix = view.suffix
        for index in reversed(range(len(view.layers))):
            layer = view.layers[index]
            for rows in self._layer_rows(
                store, layer, view.floor(index), layer.bound, batch, as_bytes
            ):
                chunk = [payload for _, payload in rows]
                yield Inherited(chunk, suffix) if index else chunk

    @staticmethod
    def _layer_rows(
        store: SQLStore, layer: Layer, start: int, end: int, batch: int, as_bytes: bool
    ) -> Iterator[list[Any]]:
        """A layer's live spans in ``[start, end)`` as ``(ordinal, JSON)``, in chunks."""
        return store.scan(live_spans(layer, end), start=start, size=batch, as_bytes=as_bytes)

    def _claimed_chunks(
        self, store: SQLStore, view: View, claims: Claims, batch: int, as_bytes: bool
    ) -> Iterator[list[Any]]:
        """A fork's version whose layers claimed ordinals from those below them.

        Each layer's own range streams as when nothing is claimed, less the
        claimed ordinals; the claiming layers' live spans there (few, in
        ordinal order) are merged in as the stream passes them.
        """
        claimed = [
            self._claimed_rows(store, view, claims, index, batch, as_bytes)
            for index in range(len(view.layers) - 1)
        ]
        pending = _Pending(heapq.merge(*claimed))
        suffix = view.suffix
        for index in reversed(range(len(view.layers))):
            layer = view.layers[index]
            for rows in self._layer_rows(
                store, layer, view.floor(index), layer.bound, batch, as_bytes
            ):
                merged = [(o, index, p) for o, p in rows if o not in claims]
                if rows:
                    passed = pending.until(rows[-1][0])
                    if passed:
                        merged += passed
                        merged.sort(key=itemgetter(0))
                yield from _runs(merged, suffix)
            yield from _runs(pending.until(layer.bound - 1), suffix)

    def _claimed_rows(
        self, store: SQLStore, view: View, claims: Claims, index: int, batch: int, as_bytes: bool
    ) -> Iterator[tuple[int, int, Any]]:
        """The live spans of layer ``index`` at the ordinals it is the topmost to claim."""
        for rows in self._layer_rows(
            store, view.layers[index], 0, view.floor(index), batch, as_bytes
        ):
            for ordinal, payload in rows:
                if claims.owners.get(ordinal) == index:
                    yield ordinal, index, payload


class _Pending:
    """Rows in ordinal order, handed out as a stream of lower ordinals passes them."""

    def __init__(self, rows: Iterator[tuple[int, int, Any]]) -> None:
        self._rows = rows
        self._next = next(rows, None)

    def until(self, ordinal: int) -> list[tuple[int, int, Any]]:
        """The rows up to ``ordinal``, not handed out before."""
        taken = []
        while self._next is not None and self._next[0] <= ordinal:
            taken.append(self._next)
            self._next = next(self._rows, None)
        return taken


def _runs(rows: list[tuple[int, int, Any]], suffix: str) -> Iterator[list[Any]]:
    """The JSON of rows in runs of one kind: a fork's own, or inherited (``Inherited``)."""
    run: list[Any] = []
    inherited = False
    for _, index, payload in rows:
        if bool(index) != inherited and run:
            yield Inherited(run, suffix) if inherited else run
            run = []
        inherited = bool(index)
        run.append(payload)
    if run:
        yield Inherited(run, suffix) if inherited else run


def _utf8(payload: Any) -> Any:
    return payload.encode() if isinstance(payload, str) else payload
