"""The requests datasetlog accepts as objects, beside the plain v4 JSON data they stand for."""

from __future__ import annotations

import attrs

from datasetlog.models import ChatMessage, JSONValue


@attrs.frozen
class DatapointRequest:
    """A request to add one datapoint; every field is optional, as in v4."""

    inputs: dict[str, str] | None = None
    messages: list[ChatMessage] | None = None
    target: dict[str, JSONValue] | None = None


@attrs.frozen
class LogsRequest:
    """A request to add one datapoint from each of the given stored logs."""

    log_ids: list[str]
