"""Logs kept in a dict."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from datasetlog.errors import ErrorDetail, ValidationError
from datasetlog.models import Log
from datasetlog.validation.requests import parse_log


class DictLogSource:
    """Logs kept in a dict; handy for tests and for services that already hold them.

    Args:
        logs: Logs, as :class:`~datasetlog.models.Log` or as v4-shaped dicts
            with ``id``, ``inputs``, ``messages`` and ``output``.
    """

    def __init__(self, logs: Iterable[Log | Mapping[str, Any]] = ()) -> None:
        if isinstance(logs, Mapping | str):
            kind = type(logs).__name__
            raise ValidationError(
                [ErrorDetail(("logs",), f"expected an iterable of logs, got a {kind}", "logs")]
            )
        self._logs: dict[str, Log] = {}
        for log in logs:
            self.add(log)

    def add(self, log: Log | Mapping[str, Any]) -> Log:
        """Add or replace one log and return it.

        Raises:
            ValidationError: The log is malformed.
        """
        value = parse_log(log)
        self._logs[value.id] = value
        return value

    def get_logs(self, log_ids: Sequence[str]) -> Mapping[str, Log]:
        """Return the logs found, keyed by id."""
        return {log_id: self._logs[log_id] for log_id in log_ids if log_id in self._logs}
