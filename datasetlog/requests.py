"""The requests datasetlog accepts as objects, beside the plain v4 JSON data they stand for."""

from __future__ import annotations

import attrs

from datasetlog.models import ChatMessage, JSONValue


@attrs.frozen(hash=False)
class DatapointRequest:
    """A request to add one datapoint; every field is optional, as in v4.

    It hashes on what identifies it without its JSON values: its input and
    target keys and its messages.
    """

    inputs: dict[str, str] | None = None
    messages: list[ChatMessage] | None = None
    target: dict[str, JSONValue] | None = None

    def __hash__(self) -> int:
        keys = (frozenset(self.inputs or ()), frozenset(self.target or ()))
        return hash((*keys, *(self.messages or ())))


@attrs.frozen(hash=False)
class LogsRequest:
    """A request to add one datapoint from each of the given stored logs."""

    log_ids: list[str]

    def __hash__(self) -> int:
        return hash(tuple(self.log_ids))
