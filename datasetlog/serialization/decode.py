"""The hot read path: stored datapoint payloads to Datapoint objects, in one tight loop.

Stored payloads were validated when written, so objects are made as unpickling
makes them: a new instance given its complete field dict, without running
``__init__`` (about a tenth of the cost of a version read).
"""

from __future__ import annotations

import functools
from collections.abc import Generator, Iterable
from datetime import datetime
from typing import Any

import orjson

from datasetlog.errors import DatasetLogError, StoreError
from datasetlog.events import DatapointRecord
from datasetlog.models import ChatMessage, Datapoint, Role, ToolCall, assemble

ROLES = {role.value: role for role in Role}
"""Each role by its value: a dict lookup beats ``Role(value)``."""


# The datapoints of one commit share their timestamps: convert each once.
@functools.lru_cache(maxsize=4096)
def parse_datetime(value: str) -> datetime:
    """An ISO-8601 date-time as an aware datetime (cached: commits share theirs)."""
    return datetime.fromisoformat(value)


class Inherited(list[Any]):
    """A chunk of stored datapoint JSON a fork inherited: each id takes the fork's ``suffix``.

    Such JSON holds the id the datapoint has where it was stored; in the fork
    it is the id's root plus ``suffix`` (see :func:`datasetlog.ids.derived_id`).
    """

    def __init__(self, payloads: list[Any], suffix: str) -> None:
        super().__init__(payloads)
        self.suffix = suffix


def inherited_id(stored_id: str, suffix: str) -> str:
    """The id in a fork of a datapoint it inherited: the stored id's root plus ``suffix``."""
    return stored_id.partition(".")[0] + suffix


def rewrite_id(payload: Any, suffix: str) -> Any:
    """Stored datapoint JSON (text or UTF-8 bytes) with its id made ``root + suffix``.

    Datapoint JSON starts with its id (``{"id":"dp_A",...``), which holds no
    quote, so the id is cut at its first dot or its closing quote.
    """
    if isinstance(payload, bytes):
        end = payload.index(b'"', 7)
        cut = payload.find(b".", 7, end)
        return payload[: end if cut < 0 else cut] + suffix.encode() + payload[end:]
    end = payload.index('"', 7)
    cut = payload.find(".", 7, end)
    return payload[: end if cut < 0 else cut] + suffix + payload[end:]


def structure_tool_call(data: dict[str, Any]) -> ToolCall:
    """A stored tool call as a ToolCall."""
    return ToolCall(data["name"], data.get("arguments"))


def datapoints_from_json(
    dataset_id: str, chunks: Iterable[Iterable[str | bytes | dict[str, Any]]]
) -> Generator[Datapoint, None, None]:
    """Decode stored datapoint payloads, chunk by chunk, into datapoints of a dataset.

    The same result as structuring each payload with the converter, at a
    fraction of the cost per row, its names bound locally. Payloads may also
    be already-decoded dicts.
    """
    loads, roles, parse, tool_call = orjson.loads, ROLES, parse_datetime, structure_tool_call
    # models.assemble, inlined: this loop runs once per datapoint of a version.
    new, set_fields = object.__new__, object.__setattr__  # frozen classes refuse plain setattr
    read, payload = 0, None
    try:
        for chunk in chunks:
            suffix = chunk.suffix if type(chunk) is Inherited else None
            for payload in chunk:
                data = payload if isinstance(payload, dict) else loads(payload)
                messages = data.get("messages")
                if messages is not None:
                    built = []
                    for m in messages:
                        message = new(ChatMessage)
                        set_fields(
                            message,
                            "__dict__",
                            {
                                "role": roles[m["role"]],
                                "content": m.get("content"),
                                "name": m.get("name"),
                                "tool_call": tool_call(m["tool_call"])
                                if "tool_call" in m
                                else None,
                            },
                        )
                        built.append(message)
                    messages = built
                datapoint = new(Datapoint)
                set_fields(
                    datapoint,
                    "__dict__",
                    {
                        "id": data["id"]
                        if suffix is None
                        else data["id"].partition(".")[0] + suffix,
                        "dataset_id": dataset_id,
                        "created_at": parse(data["created_at"]),
                        "updated_at": parse(data["updated_at"]),
                        "inputs": data.get("inputs"),
                        "messages": messages,
                        "target": data.get("target"),
                        "source_project_data_id": data.get("source_project_data_id"),
                    },
                )
                read += 1
                yield datapoint
    except DatasetLogError:
        raise
    except Exception as error:  # a stored row that no longer decodes: the store is damaged
        raise corrupt(dataset_id, read, payload, error) from error


def corrupt(dataset_id: str, index: int, payload: object, error: Exception) -> StoreError:
    """The error for a stored datapoint that does not decode: which one, and how."""
    shown = repr(payload)
    shown = shown if len(shown) <= 120 else f"{shown[:120]}..."
    return StoreError(
        f"stored datapoint #{index} read for dataset {dataset_id} is corrupt ({error!r}): "
        f"{shown}; run verify() to find what else is damaged"
    )


def datapoint_from_json(dataset_id: str, payload: str | bytes | dict[str, Any]) -> Datapoint:
    """Decode one stored datapoint payload (or its already-decoded JSON data)."""
    return next(datapoints_from_json(dataset_id, [[payload]]))


def stored_datapoint(dataset_id: str, datapoint_id: str, payload: str | bytes) -> Datapoint:
    """Decode the stored payload a lookup of ``datapoint_id`` found, and check it is that one.

    Raises:
        StoreError: It does not decode, or is another datapoint (a damaged
            store must not make a read or an update land on the wrong one).
    """
    found = datapoint_from_json(dataset_id, payload)
    if found.id != datapoint_id:
        raise StoreError(
            f"the store is damaged: looking up datapoint {datapoint_id!r} found {found.id!r}; "
            "run verify(), then rebuild() if only the read models are affected"
        )
    return found


def datapoint_from_record(dataset_id: str, record: DatapointRecord) -> Datapoint:
    """Make the user-facing datapoint of a record in a dataset.

    A record's fields are already valid, so the datapoint is assembled from
    its field dict, as :func:`datapoints_from_json` makes them.
    """
    return assemble(
        Datapoint,
        {
            "id": record.id,
            "dataset_id": dataset_id,
            "created_at": record.created_at,
            "updated_at": record.updated_at,
            "inputs": record.inputs,
            "messages": record.messages,
            "target": record.target,
            "source_project_data_id": record.source_project_data_id,
        },
    )
