"""The documented limits on what one request may hold; each exceeded one is a ValidationError.

- ``MAX_DATAPOINTS_PER_REQUEST`` datapoints or log ids in one request (``too_many``);
- ``MAX_JSON_DEPTH`` levels of nesting inside a target value or tool-call
  arguments (``too_deep``);
- ``MAX_STRING_LENGTH`` characters in any one string (``too_long``);
- ``MAX_NAME_LENGTH`` characters in a project id, dataset name, id or
  idempotency key (``too_long``);
- ``MAX_REQUEST_SIZE`` characters of stored JSON for everything one call
  writes (``too_large``);
- pages from 1 to ``MAX_PAGE`` of up to ``MAX_PAGE_SIZE`` datapoints.
"""

from __future__ import annotations

MAX_DATAPOINTS_PER_REQUEST = 100_000
MAX_JSON_DEPTH = 32
MAX_STRING_LENGTH = 10_000_000
MAX_REQUEST_SIZE = 64_000_000
MAX_NAME_LENGTH = 256  # names, ids and keys are indexed: PostgreSQL caps an index row at 2,704 B
MAX_PAGE_SIZE = 1_000
MAX_PAGE = 2**53  # the largest integer every JSON reader keeps exactly
MIN_JSON_INT, MAX_JSON_INT = -(2**63), 2**64 - 1  # what orjson (and most JSON readers) carry
