"""The datapoints the benchmarks write: realistic v4 request bodies, deterministic in a seed."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Any, Final

import orjson

Body = dict[str, Any]

_WORD_TEXT = (
    "the of and to in is it you that was for on are with as his they be at one have this "
    "from or had by hot word but what some we can out other were all there when up use "
    "your how said an each she which do their time if will way about many then them "
    "write would like so these her long make thing see him two has look more day could "
    "go come did number sound no most people my over know water than call first who may "
    "down side been now find model answer question context prompt score label dataset "
    "version review summary travel invoice refund order account password shipping "
    "delivery weather recipe python error"
)
_WORDS = _WORD_TEXT.split()
_CORPUS: Final = " ".join(random.Random(0).choices(_WORDS, k=40_000))


def _text(rng: random.Random, low: int, high: int) -> str:
    length = rng.randint(low, high)
    start = rng.randrange(0, len(_CORPUS) - length)
    return _CORPUS[start : start + length].strip() or "x"


def make_bodies(seed: int, start: int, count: int) -> list[Body]:
    """``count`` realistic datapoint bodies (v4 request JSON), deterministic in seed and start.

    Each has inputs with 2-3 short string keys, a user and an assistant message of
    50-150 characters, and a target ``{"answer": ..., "score": 0.5}``. Text is ASCII.
    """
    rng = random.Random(seed * 1_000_003 + start)
    bodies: list[Body] = []
    for _ in range(count):
        inputs = {"question": _text(rng, 20, 60), "context": _text(rng, 10, 30)}
        if rng.random() < 0.5:
            inputs["lang"] = "en"
        bodies.append(
            {
                "inputs": inputs,
                "messages": [
                    {"role": "user", "content": _text(rng, 50, 150)},
                    {"role": "assistant", "content": _text(rng, 50, 150)},
                ],
                "target": {"answer": _text(rng, 10, 40), "score": 0.5},
            }
        )
    return bodies


def body_bytes(body: Body) -> int:
    """The payload size of a datapoint: the bytes of its body as compact JSON."""
    return len(orjson.dumps(body))


def make_records(bodies: Sequence[Body], start: int, *, now: str | None = None) -> list[Body]:
    """Bodies as stored records (id and timestamps added), for the non-datasetlog baselines."""
    stamp = now or dt.datetime.now(dt.UTC).isoformat()
    return [
        {"id": f"dp_{start + i:024d}", "created_at": stamp, "updated_at": stamp, **body}
        for i, body in enumerate(bodies)
    ]
