"""Id generation: a prefix, then 24 characters of base32hex, URL-safe and time-ordered.

Each id packs 48 bits of milliseconds since the epoch and 72 random bits
(15 bytes); base32hex keeps byte order, so ids sort by creation time and
new ids land at the end of every index over them instead of all over it.
"""

from __future__ import annotations

import base64
import os
import time

DATASET_PREFIX = "evts_"
DATAPOINT_PREFIX = "dp_"
VERSION_PREFIX = "dsv_"


def new_ids(prefix: str, count: int) -> list[str]:
    """Return ``count`` fresh ids, each unique with 72 random bits."""
    stamp = (time.time_ns() // 1_000_000).to_bytes(6, "big")
    noise = os.urandom(9 * count)
    raw = base64.b32hexencode(
        b"".join(stamp + noise[i : i + 9] for i in range(0, 9 * count, 9))
    ).decode()
    return [prefix + raw[i : i + 24].lower() for i in range(0, 24 * count, 24)]


def new_id(prefix: str) -> str:
    """Return one fresh id."""
    return new_ids(prefix, 1)[0]
