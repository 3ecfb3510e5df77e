"""The exceptions datasetlog raises; all inherit :class:`DatasetLogError`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any, ClassVar

import attrs

Loc = tuple[str | int, ...]


@attrs.frozen
class ErrorDetail:
    """One problem in a request, as a v4 422 ``detail`` entry.

    Attributes:
        loc: Path to the bad value, e.g. ``("body", 2, "inputs", "q")``.
        msg: Human-readable description.
        type: Stable machine-readable code, e.g. ``"string_type"``.
    """

    loc: Loc
    msg: str
    type: str


class DatasetLogError(Exception):
    """Root of every error datasetlog raises.

    Attributes:
        status_code: The v4 HTTP status a service answers this error with.
    """

    status_code: ClassVar[int] = 500


class ValidationError(DatasetLogError):
    """A request was malformed (v4 status 422); nothing was written.

    Carries every problem found, not just the first, in :attr:`details`, up
    to :attr:`MAX_DETAILS` of them: past that, ``details`` ends with one more
    entry, of type ``"too_many_errors"``, saying how many were not listed
    (:attr:`omitted`), so that a million bad lines make a short error.

    Args:
        details: The problems, in the order found.
        omitted: How many more problems were found but not given (a caller
            that stopped collecting them); they are counted as not listed.

    Changed in 0.2: at most ``MAX_DETAILS`` details are kept.
    """

    status_code: ClassVar[int] = 422
    MAX_DETAILS: ClassVar[int] = 100

    def __init__(self, details: Iterable[ErrorDetail], *, omitted: int = 0) -> None:
        found = iter(details)
        listed = list(islice(found, self.MAX_DETAILS))
        self.omitted: int = omitted + sum(1 for _ in found)
        total = len(listed) + self.omitted
        shown = "; ".join(f"{'.'.join(map(str, d.loc))}: {d.msg} [{d.type}]" for d in listed[:5])
        if self.omitted:
            listed.append(_not_listed(listed, self.omitted))
        self.details: tuple[ErrorDetail, ...] = tuple(listed)
        more = f" (+{total - 5} more)" if total > 5 else ""
        super().__init__(f"{total} validation error(s): {shown}{more}")

    @property
    def listed(self) -> tuple[ErrorDetail, ...]:
        """The problems listed in :attr:`details`, without the entry counting the others."""
        return self.details[:-1] if self.omitted else self.details


def _not_listed(listed: Sequence[ErrorDetail], omitted: int) -> ErrorDetail:
    """The last detail of a capped error: where the listed ones are, and how many more."""
    where = listed[0].loc[:1] if listed else ()
    message = (
        f"and {omitted:,} more problem(s), not listed "
        f"(an error lists the first {ValidationError.MAX_DETAILS})"
    )
    return ErrorDetail(where, message, "too_many_errors")


class NotFoundError(DatasetLogError, LookupError):
    """An id names no live dataset, datapoint or version (v4 status 404)."""

    status_code: ClassVar[int] = 404


class ConflictError(DatasetLogError):
    """A write conflicted with another (v4 status 409); nothing was written.

    Raised for a duplicate dataset name, an idempotency key reused with a
    different body, and an optimistic-concurrency race that was still lost
    after the bounded retries: that last case is safe to retry.
    """

    status_code: ClassVar[int] = 409


class MergeConflictError(ConflictError):
    """A merge found conflicts and was told to fail on them (409); nothing was written.

    ``conflicts`` holds each one, a :class:`~datasetlog.models.MergeConflict`
    with the datapoint's base, source and target content.
    """

    def __init__(self, message: str, conflicts: Sequence[Any]) -> None:
        super().__init__(message)
        self.conflicts: list[Any] = list(conflicts)


class StoreError(DatasetLogError):
    """The backing store failed or holds something datasetlog cannot read.

    Raised for a file that is not a datasetlog store, a store written by a
    newer format, a read-only file opened for writing, a corrupt row, or a
    driver failure.
    """

    status_code: ClassVar[int] = 500


class InterruptedAfterCommit(KeyboardInterrupt):
    """Ctrl-C arrived after a write had committed: the write landed, whole.

    A :class:`KeyboardInterrupt` (so it stops a program as Ctrl-C does, and
    ``except Exception`` does not swallow it), raised instead of the plain
    one when the interrupt came between the store's COMMIT and the call's
    return. ``result`` is what the call would have returned.
    """

    def __init__(self, result: Any) -> None:
        super().__init__("interrupted after the commit: the write landed")
        self.result: Any = result
