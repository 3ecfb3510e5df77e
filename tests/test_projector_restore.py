"""The projector folds a restore in time linear in the dataset, whatever it brings back.

Work is counted (ordinal lookups), never timed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from datasetlog.events import Commit, DatapointAdded, DatapointRestored, DatapointsDeleted
from datasetlog.projector import DatasetState, apply


class CountingOrdinals(dict[str, int]):
    """Ordinals that count how often they are looked up."""

    lookups = 0

    def __getitem__(self, key: str) -> int:
        CountingOrdinals.lookups += 1
        return super().__getitem__(key)


def test_the_projector_orders_a_restore_once() -> None:
    """A commit restoring k of n datapoints looks up O(n) ordinals, not k * n, and puts
    each datapoint back at its place."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    n = 400
    records = [DatapointAdded(f"dp_{i:04}", at, at) for i in range(n)]
    state = DatasetState("evts_x", "p", "n", None, at, at)
    for record in records:
        state.ordinals[record.id] = len(state.ordinals)
        state.records[record.id] = record
    apply(state, Commit("evts_x", 2, at, (DatapointsDeleted([r.id for r in records]),)))
    state.ordinals = CountingOrdinals(state.ordinals)
    restores = tuple(DatapointRestored(r.id, at, at) for r in reversed(records))
    apply(state, Commit("evts_x", 3, at, restores))
    assert list(state.records) == [r.id for r in records]
    assert CountingOrdinals.lookups <= 3 * n


def test_restoring_a_datapoint_never_held_fails_as_before() -> None:
    """A restore of an id the dataset never held still fails the fold (KeyError)."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    state = DatasetState("evts_x", "p", "n", None, at, at)
    with pytest.raises(KeyError):
        apply(state, Commit("evts_x", 2, at, (DatapointRestored("dp_never", at, at),)))
