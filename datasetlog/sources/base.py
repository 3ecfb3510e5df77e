"""The log source contract."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from datasetlog.models import Log


@runtime_checkable
class LogSource(Protocol):
    """Anything that can look logs up by id."""

    def get_logs(self, log_ids: Sequence[str]) -> Mapping[str, Log]:
        """Return the logs found, keyed by id; ids not found are simply absent."""
