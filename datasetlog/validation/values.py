"""Checks of single values (strings, JSON), raising InvalidValueError with a path to the fault.

They run inside cattrs structuring hooks and the fast path; the request
parsers turn an :class:`InvalidValueError` into a ``ValidationError`` detail.
"""

from __future__ import annotations

import math
from typing import Any, NoReturn

from datasetlog.errors import Loc
from datasetlog.validation.limits import (
    MAX_JSON_DEPTH,
    MAX_JSON_INT,
    MAX_STRING_LENGTH,
    MIN_JSON_INT,
)


class InvalidValueError(ValueError):
    """A value failed a check; ``path`` leads from the checked value to the bad part."""

    def __init__(self, msg: str, type: str, path: Loc = ()) -> None:
        super().__init__(msg)
        self.msg = msg
        self.type = type
        self.path = path


def fail(msg: str, type: str, path: Loc = ()) -> NoReturn:
    """Raise an :class:`InvalidValueError`."""
    raise InvalidValueError(msg, type, path)


def require_string(value: object, path: Loc = ()) -> str:
    """Return ``value`` if it is a storable string (within the length limit, valid Unicode).

    Raises:
        InvalidValueError: It is not.
    """
    if type(value) is not str:
        fail(f"expected a string, got {type(value).__name__}", "string_type", path)
    if len(value) > MAX_STRING_LENGTH:
        fail(f"string longer than {MAX_STRING_LENGTH} characters", "too_long", path)
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            fail("string is not valid Unicode (lone surrogate)", "string_unicode", path)
    return value


def require_json(value: object, path: Loc = (), depth: int = 0) -> Any:
    """Return ``value`` if it is plain, finite JSON within the nesting limit.

    Raises:
        InvalidValueError: It is not, at ``path`` below the value.
    """
    if depth > MAX_JSON_DEPTH:
        fail(f"nested deeper than {MAX_JSON_DEPTH} levels", "too_deep", path)
    kind = type(value)
    if value is None or kind is bool:
        return value
    if isinstance(value, int) and kind is int:
        if not MIN_JSON_INT <= value <= MAX_JSON_INT:
            fail("integer out of the 64-bit range JSON readers keep", "int_range", path)
        return value
    if isinstance(value, str) and kind is str:
        return require_string(value, path)
    if isinstance(value, float) and kind is float:
        if not math.isfinite(value):
            fail("NaN and infinite numbers are not JSON", "finite_number", path)
        return value
    if isinstance(value, list) and kind is list:
        for index, item in enumerate(value):
            require_json(item, (*path, index), depth + 1)
        return value
    if isinstance(value, dict) and kind is dict:
        for key, item in value.items():
            require_string(key, (*path, key) if type(key) is str else path)
            require_json(item, (*path, key), depth + 1)
        return value
    fail(f"{kind.__name__} is not a JSON value", "json_type", path)
