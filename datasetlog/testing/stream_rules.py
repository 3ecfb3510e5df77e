"""The state machine's rules for streamed adds: good streams in any batch sizes, bad ones.

:class:`StreamRules` is mixed into
:class:`~datasetlog.testing.stateful.DatasetLogMachine`, so every machine
built on it streams too, and checks what it streamed on every read path by
the invariants it has.

Added in 0.2.
"""

from __future__ import annotations

import copy
from typing import Any

try:
    from hypothesis import note
    from hypothesis import strategies as st
    from hypothesis.stateful import precondition, rule
except ImportError as error:
    raise ImportError(
        "datasetlog.testing.stream_rules needs hypothesis: pip install 'datasetlog[testing]'"
    ) from error

from datasetlog import DatasetLog, ValidationError
from datasetlog.testing.checks import expect_unchanged
from datasetlog.testing.oracle import Model
from datasetlog.testing.strategies import datapoint_bodies, invalid_datapoint_bodies


class StreamRules:
    """Rules for ``commit_datapoint_stream``, over the machine's ``db`` and ``model``."""

    db: DatasetLog
    model: Model

    @precondition(lambda self: self.model.live)
    @rule(
        data=st.data(),
        bodies=st.lists(datapoint_bodies(), min_size=1, max_size=7),
        batch=st.integers(1, 3),
    )
    def stream_datapoints(self, data: st.DataObject, bodies: list[Any], batch: int) -> None:
        """Add datapoints in batches as one version (commit_datapoint_stream)."""
        ds = data.draw(st.sampled_from(list(self.model.live)), label="dataset")
        batches = [bodies[i : i + batch] for i in range(0, len(bodies), batch)]
        note(f"commit_datapoint_stream({ds!r}, {batches!r})")
        sizes: list[int] = []
        version = self.db.commit_datapoint_stream(
            ds, iter(copy.deepcopy(batches)), count=len(bodies), progress=sizes.append
        )
        assert sizes == [len(b) for b in batches]
        assert version.number == len(self.model.live[ds].versions)
        assert version == self.db.get_version(ds, version.number)
        added = list(self.db.iter_datapoints_v4(ds, version=version.number))[-len(bodies) :]
        self.model.add_rows(ds, added, bodies)

    @precondition(lambda self: self.model.live)
    @rule(
        data=st.data(),
        bodies=st.lists(datapoint_bodies(), min_size=1, max_size=4),
        bad=invalid_datapoint_bodies(),
        miscount=st.sampled_from((-1, 0, 1)),
    )
    def stream_invalid_datapoints(
        self, data: st.DataObject, bodies: list[Any], bad: tuple[Any, Any], miscount: int
    ) -> None:
        """A bad datapoint in any batch, or a wrong count, fails the stream; nothing changes."""
        ds = data.draw(st.sampled_from(list(self.model.live)), label="dataset")
        at = data.draw(st.integers(0, len(bodies)), label="bad at")
        body, loc = bad
        stream = [*bodies[:at], body, *bodies[at:]] if miscount == 0 else bodies
        count = len(stream) + miscount
        note(f"commit_datapoint_stream({ds!r}, {stream!r}, count={count}) must fail")
        info = expect_unchanged(
            self.db,
            self.model.live,
            ValidationError,
            lambda: self.db.commit_datapoint_stream(ds, ([item] for item in stream), count=count),
        )
        assert isinstance(info.value, ValidationError)
        expected = ("body", at, *loc) if miscount == 0 else ("count",)
        assert expected in [d.loc for d in info.value.details]
