"""Checks of single fields: names, ids, keys, descriptions, paging and batch arguments."""

from __future__ import annotations

from collections.abc import Sequence

from datasetlog.errors import ErrorDetail, Loc, ValidationError
from datasetlog.validation.characters import (
    description_character_problems,
    name_character_problems,
)
from datasetlog.validation.limits import MAX_NAME_LENGTH, MAX_PAGE, MAX_PAGE_SIZE, MAX_STRING_LENGTH
from datasetlog.validation.values import InvalidValueError, require_string


def _stored_text_problems(
    value: object, loc: Loc, *, optional: bool, max_length: int
) -> list[ErrorDetail]:
    """The problems of a text column's value: a non-empty string (or ``None`` when optional).

    Names, descriptions, ids and keys are stored as text columns, which
    PostgreSQL cannot hold a NUL character in: they may not contain one on
    any backend. (Datapoint content is stored as JSON, where NUL is escaped.)
    """
    if value is None and optional:
        return []
    try:
        text = require_string(value)
    except InvalidValueError as error:
        return [ErrorDetail(loc, error.msg, error.type)]
    if not text.strip() and not optional:
        return [ErrorDetail(loc, "must not be empty", "string_too_short")]
    if len(text) > max_length:
        return [ErrorDetail(loc, f"longer than {max_length} characters", "too_long")]
    if "\x00" in text:
        return [ErrorDetail(loc, "must not contain a NUL character", "string_nul")]
    return []


def text_problems(value: object, loc: Loc) -> list[ErrorDetail]:
    """The problems of a new name, project id or idempotency key.

    A non-empty storable string of at most ``MAX_NAME_LENGTH`` characters,
    each printable and in Unicode normal form NFKC (see
    :mod:`datasetlog.validation.characters`), so that it prints as it is stored.

    Changed in 0.2: control, bidi, invisible, unassigned and look-alike forms are refused.
    """
    problems = _stored_text_problems(value, loc, optional=False, max_length=MAX_NAME_LENGTH)
    return problems or name_character_problems(value, loc)  # type: ignore[arg-type]


def id_problems(value: object, loc: Loc) -> list[ErrorDetail]:
    """The problems of a reference to something stored (an id, or an existing tag or name).

    Any non-empty storable string: what an older release stored stays
    addressable, even where :func:`text_problems` now refuses it.
    """
    return _stored_text_problems(value, loc, optional=False, max_length=MAX_NAME_LENGTH)


RESERVED_LABELS = frozenset({"latest"})
"""Strings no version name or tag may take: they already name a version."""


def label_problems(value: object, loc: Loc) -> list[ErrorDetail]:
    """The problems of a version name or tag: a name that cannot be read as another reference.

    It may not be ``"latest"``, look like a version id (``dsv_…``) or a
    number, or begin or end with whitespace.
    """
    problems = text_problems(value, loc)
    if problems:
        return problems
    text: str = value  # type: ignore[assignment]
    if text in RESERVED_LABELS:
        return [ErrorDetail(loc, f"{text!r} is reserved", "label_reserved")]
    if text.startswith("dsv_") or (text.isascii() and text.isdigit()):
        return [ErrorDetail(loc, "must not look like a version id or number", "label_ambiguous")]
    if text != text.strip():
        return [ErrorDetail(loc, "must not begin or end with whitespace", "label_whitespace")]
    return []


def description_problems(value: object, loc: Loc) -> list[ErrorDetail]:
    """The problems of a description: ``None``, or prose without NUL or a control character
    other than tabs and line breaks.

    Changed in 0.2: control characters but tabs and line breaks are refused.
    """
    problems = _stored_text_problems(value, loc, optional=True, max_length=MAX_STRING_LENGTH)
    if problems or value is None:
        return problems
    return description_character_problems(value, loc)  # type: ignore[arg-type]


DATASET_ID: Loc = ("path", "dataset_id")
"""Where a request names its dataset, as v4 places it."""


def require_ids(values: object, loc: Loc) -> list[str]:
    """Return a non-empty list of distinct ids (each as :func:`require_id` checks it).

    Raises:
        ValidationError: Every problem: not a list, empty, a bad or repeated id.
    """
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise ValidationError([ErrorDetail(loc, "expected a list of ids", "list_type")])
    problems: list[ErrorDetail] = []
    seen: set[str] = set()
    for i, value in enumerate(values):
        found = id_problems(value, (*loc, i))
        if found:
            problems.extend(found)
        elif value in seen:
            problems.append(ErrorDetail((*loc, i), f"{value!r} given twice", "duplicate"))
        else:
            seen.add(value)
    if not values:
        problems.append(ErrorDetail(loc, "give at least one id", "empty_list"))
    if problems:
        raise ValidationError(problems)
    return list(values)


def require_id(value: object, loc: Loc) -> str:
    """Return ``value`` if it can refer to something stored (see :func:`id_problems`).

    Raises:
        ValidationError: It is not.
    """
    problems = id_problems(value, loc)
    if problems:
        raise ValidationError(problems)
    return value  # type: ignore[return-value]


def require_batch(batch: object) -> int:
    """Return a streaming batch size if it is an integer of at least 1.

    Raises:
        ValidationError: It is not.
    """
    if type(batch) is not int or batch < 1:
        raise ValidationError(
            [ErrorDetail(("query", "batch"), "batch must be an integer >= 1", "batch")]
        )
    return batch


def require_page(page: object, size: object) -> None:
    """Check pagination arguments: ``page`` from 1, ``size`` from 1 to ``MAX_PAGE_SIZE``.

    Raises:
        ValidationError: Naming each argument out of range.
    """
    problems = []
    if type(page) is not int or not 1 <= page <= MAX_PAGE:
        problems.append(
            ErrorDetail(("query", "page"), f"page must be an integer from 1 to {MAX_PAGE}", "page")
        )
    if type(size) is not int or not 1 <= size <= MAX_PAGE_SIZE:
        problems.append(
            ErrorDetail(
                ("query", "size"), f"size must be an integer from 1 to {MAX_PAGE_SIZE}", "size"
            )
        )
    if problems:
        raise ValidationError(problems)
