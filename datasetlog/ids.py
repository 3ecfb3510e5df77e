"""Id generation: a prefix, then 20 URL-safe characters that sort by creation time.

Each id packs 48 bits of milliseconds since the epoch and 72 random bits
(15 bytes) into 20 characters of base64 whose alphabet is URL-safe and in
ASCII order (digits, upper case, ``_``, lower case, ``~``), so ids sort by creation
time and new ids land at the end of every index over them instead of all
over it. Encoding runs in C (``binascii``), which matters for bulk adds.
"""

from __future__ import annotations

import base64
import os
import time

DATASET_PREFIX = "evts_"
DATAPOINT_PREFIX = "dp_"
VERSION_PREFIX = "dsv_"

_STANDARD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_ORDERED = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~"
_TO_ORDERED = bytes.maketrans(_STANDARD, _ORDERED)


def new_ids(prefix: str, count: int) -> list[str]:
    """Return ``count`` fresh ids, each unique with 72 random bits."""
    stamp = (time.time_ns() // 1_000_000).to_bytes(6, "big")
    noise = os.urandom(9 * count)
    raw = b"".join(stamp + noise[i : i + 9] for i in range(0, 9 * count, 9))
    text = base64.b64encode(raw).translate(_TO_ORDERED).decode()
    return [prefix + text[i : i + 20] for i in range(0, 20 * count, 20)]


def new_id(prefix: str) -> str:
    """Return one fresh id."""
    return new_ids(prefix, 1)[0]


def derived_id(datapoint_id: str, dataset_id: str) -> str:
    """The id a datapoint of another dataset has in ``dataset_id``, which forked or merged it.

    It is the datapoint's root id (:func:`root_id`), a dot, and the dataset
    id without its prefix: ``dp_A`` (or ``dp_A.F``) is ``dp_A.G`` in a dataset
    ``evts_G``. Ids stay unique across datasets, so every datapoint id names
    one datapoint of one dataset, and the root says which datapoints of
    related datasets are the same one.
    """
    return f"{root_id(datapoint_id)}.{dataset_id.removeprefix(DATASET_PREFIX)}"


def root_id(datapoint_id: str) -> str:
    """The id a datapoint was first created under: what it shares with its forks and merges."""
    return datapoint_id.partition(".")[0]
