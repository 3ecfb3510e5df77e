"""Id generation: a prefix and 24 random base32 characters, URL-safe."""

from __future__ import annotations

import base64
import os

DATASET_PREFIX = "evts_"
DATAPOINT_PREFIX = "dp_"
VERSION_PREFIX = "dsv_"


def new_ids(prefix: str, count: int) -> list[str]:
    """Return ``count`` fresh ids with 120 random bits each."""
    raw = base64.b32encode(os.urandom(15 * count)).decode().lower()
    return [prefix + raw[i : i + 24] for i in range(0, 24 * count, 24)]


def new_id(prefix: str) -> str:
    """Return one fresh id."""
    return new_ids(prefix, 1)[0]
