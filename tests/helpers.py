"""Small helpers the example tests of DatasetLog's operations share (fixtures: conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from datasetlog import DatasetLog, ValidationError


class Ticker:
    """A clock that moves one second per reading."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


LOGS: list[dict[str, Any]] = [
    {
        "id": "log_1",
        "inputs": {"q": "2+2?"},
        "messages": [{"role": "user", "content": "2+2?"}],
        "output": "4",
    },
    {"id": "log_2", "inputs": {"q": "silent"}},
]
"""The logs the ``ticking`` fixture's DatasetLog makes datapoints from."""


def commit_count(db: DatasetLog) -> int:
    """How many commits the log's store holds."""
    return len(list(db.store.read_all()))


def locs(error: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str | int, ...]]:
    """The locs of a raised ValidationError, in order."""
    return [detail.loc for detail in error.value.details]


def contents(db: DatasetLog, dataset_id: str, version: int | None = None) -> list[Any]:
    """The ``inputs`` of each datapoint of a version, in order."""
    return [d.inputs for d in db.iter_datapoints(dataset_id, version=version)]
