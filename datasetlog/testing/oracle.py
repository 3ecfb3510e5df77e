"""The stateful machine's oracle: what every read must return, from request dicts alone.

Deliberately independent of datasetlog's own helpers: expected contents,
messages and rows are computed here from the plain data the machine sends, so
a bug in a production helper cannot hide by being used on both sides.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from typing import Any

PROJECTS = ("pr_1", "pr_2")
NAMES = ("alpha", "beta", "gamma")
LOGS: list[dict[str, Any]] = [
    {
        "id": "log_a",
        "inputs": {"q": "1+1?"},
        "messages": [{"role": "user", "content": "1+1?"}],
        "output": "2",
    },
    {"id": "log_b", "inputs": {"q": "no output"}},
    {
        "id": "log_c",
        "messages": [
            {"role": "assistant", "name": "bot", "tool_call": {"name": "f", "arguments": [1, 2.5]}},
            {"role": "tool", "content": "done", "name": None},
        ],
        "output": "",
    },
    {"id": "log_d", "output": "only an output"},
]
LOG_IDS = [log["id"] for log in LOGS]
IDENTITY = ("id", "dataset_id", "created_at", "updated_at")


def _without_none(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def expected_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """A message as v4 returns it: fields given as null are simply absent."""
    result = _without_none(message)
    if "tool_call" in result:
        result["tool_call"] = _without_none(result["tool_call"])
    return result


def expected_content(body: Mapping[str, Any]) -> dict[str, Any]:
    """The content v4 returns for a datapoint object: given fields, nulls dropped."""
    result = _without_none({key: body.get(key) for key in ("inputs", "messages", "target")})
    if "messages" in result:
        result["messages"] = [expected_message(m) for m in result["messages"]]
    return result


def expected_from_log(log: Mapping[str, Any]) -> dict[str, Any]:
    """The content of a datapoint made from a log: inputs, messages, target ``{"output"}``."""
    result = expected_content({"inputs": log.get("inputs"), "messages": log.get("messages")})
    if log.get("output") is not None:
        result["target"] = {"output": log["output"]}
    result["source_project_data_id"] = log["id"]
    return result


def expected_request(body: Any) -> list[dict[str, Any]]:
    """The contents a create request adds, in request order, for any of the three forms."""
    if isinstance(body, dict) and "log_ids" in body:
        by_id = {log["id"]: log for log in LOGS}
        return [expected_from_log(by_id[log_id]) for log_id in body["log_ids"]]
    return [expected_content(item) for item in (body if isinstance(body, list) else [body])]


def canonical(value: Any) -> str:
    """JSON text that tells 1, 1.0, True and -0.0 apart, for "same request" checks."""
    return json.dumps(value, sort_keys=True)


@dataclasses.dataclass(frozen=True)
class Row:
    """One datapoint of one version: id, content and timestamps (ISO strings)."""

    id: str
    content: dict[str, Any]
    created_at: str
    updated_at: str

    def v4(self, dataset_id: str) -> dict[str, Any]:
        """The v4 dict a read of this row must return."""
        return {
            "id": self.id,
            "dataset_id": dataset_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            **self.content,
        }


@dataclasses.dataclass
class ModelDataset:
    """A dataset in the model: metadata and every committed version's rows."""

    project_id: str
    name: str
    description: str | None
    versions: list[list[Row]]
    messages: list[str]
    version_ids: dict[int, str] = dataclasses.field(default_factory=dict)

    def rows(self) -> Iterator[Row]:
        """Every row of every version."""
        for version in self.versions:
            yield from version


@dataclasses.dataclass(frozen=True)
class Keyed:
    """The first request made under an idempotency key, and what it returned."""

    body: Any
    request: str
    version: int
    returned: list[dict[str, Any]]


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


@dataclasses.dataclass
class Model:
    """The model: every dataset's versions, and what the machine has done so far."""

    live: dict[str, ModelDataset] = dataclasses.field(default_factory=dict)
    dead: dict[str, ModelDataset] = dataclasses.field(default_factory=dict)
    gone_datapoints: list[str] = dataclasses.field(default_factory=list)
    commits: int = 0
    keyed: dict[tuple[str, str], Keyed] = dataclasses.field(default_factory=dict)

    def name_taken(self, project_id: str, name: str, other_than: str = "") -> bool:
        """Whether another live dataset of the project has this name."""
        return any(
            m.project_id == project_id and m.name == name and ds != other_than
            for ds, m in self.live.items()
        )

    def latest_rows(self) -> list[tuple[str, Row]]:
        """Every datapoint of every live dataset's latest version, with its dataset id."""
        return [(ds, row) for ds, m in self.live.items() for row in m.versions[-1]]

    def add_version(self, ds: str, rows: list[Row], message: str) -> None:
        """Record a new committed version of a dataset in the model."""
        self.live[ds].versions.append(rows)
        self.live[ds].messages.append(message)
        self.commits += 1

    def add_rows(self, ds: str, returned: list[dict[str, Any]], body: Any) -> None:
        """Check the datapoints (as v4 dicts) a create of ``body`` returned; add a version."""
        contents = [{k: v for k, v in d.items() if k not in IDENTITY} for d in returned]
        assert contents == expected_request(body)
        known = {row.id for m in (*self.live.values(), *self.dead.values()) for row in m.rows()}
        ids = [d["id"] for d in returned]
        assert len(set(ids)) == len(ids)
        assert all(i.startswith("dp_") and i not in known for i in ids)
        assert all(d["dataset_id"] == ds for d in returned)
        assert all(d["created_at"] == d["updated_at"] for d in returned)
        new = [
            Row(d["id"], c, d["created_at"], d["updated_at"])
            for d, c in zip(returned, contents, strict=True)
        ]
        from_logs = " from logs" if isinstance(body, dict) and "log_ids" in body else ""
        message = f"Add {plural(len(new), 'datapoint')}{from_logs}"
        self.add_version(ds, [*self.live[ds].versions[-1], *new], message)
