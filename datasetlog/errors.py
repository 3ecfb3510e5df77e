"""The exceptions datasetlog raises; all inherit :class:`DatasetLogError`."""

from __future__ import annotations

from collections.abc import Sequence
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

    Carries every problem found, not just the first, in :attr:`details`.
    """

    status_code: ClassVar[int] = 422

    def __init__(self, details: Sequence[ErrorDetail]) -> None:
        self.details: tuple[ErrorDetail, ...] = tuple(details)
        shown = "; ".join(
            f"{'.'.join(map(str, d.loc))}: {d.msg} [{d.type}]" for d in self.details[:5]
        )
        more = f" (+{len(self.details) - 5} more)" if len(self.details) > 5 else ""
        super().__init__(f"{len(self.details)} validation error(s): {shown}{more}")


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
