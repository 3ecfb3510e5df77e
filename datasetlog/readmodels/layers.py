"""A fork's versions as layers: its own spans over those of the version it forked.

A fork copies nothing when it is made. Its version ``v`` is read through
layers: the fork itself at ``v``, then the version it forked, then (for a
fork of a fork) the version that one forked, and so on. Ordinals are shared
down the chain: the fork inherits its source's ordinals below the source
version's bound and adds its own above it. Layer ``i`` owns:

- the ordinals from the bound of the layer below it to its own bound (what
  it added), and
- the ordinals below that which it *claimed*: where it updated, deleted
  (a tombstone span, live in no version) or restored an inherited datapoint.

An ordinal's content comes from the topmost layer that owns it. Inherited
datapoints keep their source's JSON; their id in the fork is their root id
with the fork's suffix (:func:`~datasetlog.ids.derived_id`), spliced in as
they are read.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from typing import Any

import attrs

from datasetlog.errors import StoreError
from datasetlog.ids import DATASET_PREFIX, derived_id, root_id
from datasetlog.readmodels.lookups import Lookups
from datasetlog.readmodels.rows import DatapointRow, DatasetRow, VersionRow
from datasetlog.readmodels.schema import PAYLOAD, PAYLOAD_JOIN
from datasetlog.serialization.decode import rewrite_id
from datasetlog.store.base import Connection


@attrs.frozen
class Layer:
    """One layer of a view: a dataset at a version, and that version's ordinal bound."""

    dataset_id: str
    key: int
    version: int
    bound: int


@attrs.frozen
class View:
    """A version of a dataset as the layers it is read through (one, unless a fork).

    ``layers[0]`` is the dataset at the version read; ``layers[i + 1]`` the
    version ``layers[i]`` forked. ``suffix`` ends every inherited id.
    """

    dataset: DatasetRow
    version: VersionRow
    layers: tuple[Layer, ...]

    @property
    def layered(self) -> bool:
        """Whether the dataset is a fork, read through more than one layer."""
        return len(self.layers) > 1

    @property
    def suffix(self) -> str:
        """What an inherited datapoint's root id takes in this dataset."""
        return derived_id("", self.dataset.id)

    def floor(self, index: int) -> int:
        """The lowest ordinal layer ``index`` added: the bound of the layer below it."""
        return self.layers[index + 1].bound if index + 1 < len(self.layers) else 0


def view_of(conn: Connection, dataset: DatasetRow, version: VersionRow | None = None) -> View:
    """The layers a version of a dataset is read through.

    Raises:
        StoreError: A fork's source or forked version is missing from the read models.
    """
    if version is None:
        version = Lookups.version(conn, dataset.key, dataset.version)
        if version is None:
            raise StoreError(
                f"the read models lack the latest version of {dataset.id}; run verify()"
            )
    layers = [Layer(dataset.id, dataset.key, version.number, version.ordinal_bound)]
    current = dataset
    while current.forked_from is not None and current.forked_at is not None:
        source = Lookups.dataset(conn, current.forked_from, include_deleted=True)
        forked = Lookups.version(conn, source.key, current.forked_at) if source else None
        if source is None or forked is None:
            raise StoreError(
                f"the read models lack version {current.forked_at} of {current.forked_from}, "
                f"which {current.id} forked; run verify()"
            )
        layers.append(Layer(source.id, source.key, forked.number, forked.ordinal_bound))
        current = source
    return View(dataset, version, tuple(layers))


def own_view(dataset: DatasetRow, version: VersionRow) -> View:
    """A version of a dataset read through its own spans only (what it added and claimed)."""
    layer = Layer(dataset.id, dataset.key, version.number, version.ordinal_bound)
    return View(dataset, version, (layer,))


def fork_source(datapoint_id: str) -> str | None:
    """The dataset a derived datapoint id names (``dp_A.F``: ``evts_F``), or None for a root id."""
    _, dot, token = datapoint_id.partition(".")
    return DATASET_PREFIX + token if dot else None


@attrs.frozen
class Claims:
    """The ordinals a view's layers claimed, each with the topmost layer that claimed it."""

    owners: dict[int, int]
    ordered: list[int]

    def __bool__(self) -> bool:
        return bool(self.owners)

    def __contains__(self, ordinal: object) -> bool:
        return ordinal in self.owners

    def within(self, start: int, end: int) -> list[int]:
        """The claimed ordinals in ``[start, end)``, ascending."""
        return self.ordered[bisect_left(self.ordered, start) : bisect_left(self.ordered, end)]


_CLAIMS = (
    "SELECT DISTINCT ordinal FROM dl_rows WHERE dataset_key = ? AND ordinal < ? AND added_in <= ?"
)
_AT = (
    f"SELECT r.ordinal, r.added_in, r.removed_in, {PAYLOAD} FROM dl_rows r {PAYLOAD_JOIN} "
    "WHERE r.dataset_key = ? AND r.ordinal IN (<marks>) AND r.added_in <= ? "
    "ORDER BY r.ordinal, r.added_in"
)


class Layering:
    """Reads across a fork's layers."""

    def claims(self, conn: Connection, view: View) -> Claims:
        """The ordinals the layers of a view claimed from those below them."""
        owners: dict[int, int] = {}
        for index in range(len(view.layers) - 1):
            layer = view.layers[index]
            rows = conn.execute(_CLAIMS, (layer.key, view.floor(index), layer.version)).fetchall()
            for (ordinal,) in rows:
                owners.setdefault(int(ordinal), index)
        return Claims(owners, sorted(owners))

    def at(
        self, conn: Connection, view: View, ordinals: Iterable[int], *, first: int = 0
    ) -> dict[int, tuple[int, Any]]:
        """What layers ``first`` and down hold at these ordinals: ``{ordinal: (layer, JSON)}``.

        An ordinal is looked up from the topmost of those layers that owns it;
        one that layer holds no live content at is left out.
        """
        wanted = sorted(set(ordinals))
        found: dict[int, tuple[int, Any]] = {}
        decided: set[int] = set()
        for index in range(first, len(view.layers)):
            layer, floor = view.layers[index], view.floor(index)
            ask = [o for o in wanted if o not in decided and o < layer.bound]
            if not ask:
                continue
            for ordinal, added_in, removed_in, payload in self._rows_at(conn, layer, ask):
                decided.add(ordinal)
                if added_in <= layer.version and (removed_in is None or removed_in > layer.version):
                    found[ordinal] = (index, payload)
            decided.update(o for o in ask if o >= floor)  # its own range: nothing is below it
        return found

    def _rows_at(self, conn: Connection, layer: Layer, ordinals: list[int]) -> list[Any]:
        rows: list[Any] = []
        for start in range(0, len(ordinals), 500):
            chunk = ordinals[start : start + 500]
            statement = _AT.replace("<marks>", ", ".join("?" * len(chunk)))
            rows += conn.execute(statement, (layer.key, *chunk, layer.version)).fetchall()
        return [(int(row[0]), row[1], row[2], row[3]) for row in rows]

    def datapoint(
        self, conn: Connection, lookups: Lookups, datapoint_id: str
    ) -> DatapointRow | None:
        """A datapoint's latest content in a live dataset, forks' inherited ones included."""
        found = lookups.datapoint(conn, datapoint_id)
        if found is not None:
            return found
        inherited = self.inherited(conn, datapoint_id)
        if inherited is None or inherited[2] is None:
            return None
        return DatapointRow(inherited[0].dataset.id, inherited[2])

    def inherited(
        self, conn: Connection, datapoint_id: str, *, changed_too: bool = False
    ) -> tuple[View, int, Any] | None:
        """A live fork's inherited datapoint, found by its id in the fork, as it was inherited.

        Returns the fork's latest view, the datapoint's ordinal and its JSON
        with the fork's id spliced in (None if it was deleted below the fork),
        or None if the id names no such datapoint, or (unless ``changed_too``)
        one the fork has changed since, whose own spans then say all.
        """
        source = fork_source(datapoint_id)
        dataset = Lookups.dataset(conn, source) if source is not None else None
        if dataset is None or dataset.forked_from is None:
            return None
        if datapoint_id != derived_id(datapoint_id, dataset.id):
            return None
        own = conn.execute(
            "SELECT 1 FROM dl_rows WHERE datapoint_id = ? AND dataset_key = ? LIMIT 1",
            (datapoint_id, dataset.key),
        ).fetchone()
        if own is not None and not changed_too:
            return None
        view = view_of(conn, dataset)
        found = self.find(conn, view, datapoint_id)
        if found is None:
            return None
        ordinal, payload = found
        return view, ordinal, rewrite_id(payload, view.suffix) if payload is not None else None

    def inherited_datasets(self, conn: Connection, datapoint_ids: list[str]) -> dict[str, str]:
        """Which live forks hold these ids as inherited datapoints they never changed, by id.

        The batch form of :meth:`inherited` for writes that need only the
        dataset: a few statements per fork, not per datapoint.
        """
        by_fork: dict[str, list[str]] = {}
        for datapoint_id in datapoint_ids:
            source = fork_source(datapoint_id)
            if source is not None and datapoint_id == derived_id(datapoint_id, source):
                by_fork.setdefault(source, []).append(datapoint_id)
        found: dict[str, str] = {}
        for fork_id, ids in by_fork.items():
            dataset = Lookups.dataset(conn, fork_id)
            if dataset is None or dataset.forked_from is None:
                continue
            changed: set[str] = set()
            for start in range(0, len(ids), _AT_ONCE):
                chunk = ids[start : start + _AT_ONCE]
                rows = conn.execute(  # by id only, so that the id index is used
                    "SELECT datapoint_id, dataset_key FROM dl_rows "
                    f"WHERE datapoint_id IN ({', '.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
                changed |= {datapoint_id for datapoint_id, key in rows if key == dataset.key}
            unchanged = [datapoint_id for datapoint_id in ids if datapoint_id not in changed]
            below = inherited_ordinals(conn, view_of(conn, dataset), unchanged)
            found.update({i: dataset.id for i, (_, live) in below.items() if live})
        return found

    def find(self, conn: Connection, view: View, datapoint_id: str) -> tuple[int, Any] | None:
        """Where a fork inherits a datapoint from: its ordinal and live JSON there (JSON None
        if it was deleted below the fork), or None if no layer below held it."""
        found = inherited_ordinal(conn, view, datapoint_id)
        if found is None:
            return None
        ordinal, _ = found
        held = self.at(conn, view, [ordinal], first=1).get(ordinal)
        return ordinal, held[1] if held is not None else None


# By datapoint id only, so that the id index is used (not a scan of the dataset's spans);
# the layer's key, bound and version are checked on the few rows found.
_HELD_AS = (
    "SELECT datapoint_id, dataset_key, ordinal, added_in, removed_in FROM dl_rows "
    "WHERE datapoint_id IN (<ids>) ORDER BY added_in"
)
_AT_ONCE = 250
"""Datapoints looked up per statement (two candidate ids each)."""


def inherited_ordinal(conn: Connection, view: View, datapoint_id: str) -> tuple[int, bool] | None:
    """The ordinal of a datapoint in the layers below a fork, and whether it is live there.

    The topmost layer holding the datapoint's root (under the root id or
    that layer's derived id) decides; None if none held it.
    """
    return inherited_ordinals(conn, view, [datapoint_id]).get(datapoint_id)


def inherited_ordinals(
    conn: Connection, view: View, datapoint_ids: Iterable[str]
) -> dict[str, tuple[int, bool]]:
    """:func:`inherited_ordinal` of many datapoints, a few statements per layer."""
    found: dict[str, tuple[int, bool]] = {}
    left = {root_id(datapoint_id): datapoint_id for datapoint_id in datapoint_ids}
    for index in range(1, len(view.layers)):
        if not left:
            break
        layer = view.layers[index]
        roots = sorted(left)
        for start in range(0, len(roots), _AT_ONCE):
            chunk = roots[start : start + _AT_ONCE]
            ids = [i for root in chunk for i in (root, derived_id(root, layer.dataset_id))]
            statement = _HELD_AS.replace("<ids>", ", ".join("?" * len(ids)))
            rows: dict[str, list[tuple[int, Any]]] = {}
            for held_id, key, ordinal, added_in, removed_in in conn.execute(
                statement, ids
            ).fetchall():
                if key == layer.key and ordinal < layer.bound and added_in <= layer.version:
                    rows.setdefault(root_id(held_id), []).append((int(ordinal), removed_in))
            for root, spans in rows.items():
                live = any(removed is None or removed > layer.version for _, removed in spans)
                found[left.pop(root)] = (spans[-1][0], live)
    return found
