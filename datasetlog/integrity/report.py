"""What ``verify()`` reports: each problem with where it is, and whether all was well."""

from __future__ import annotations

import errno
from typing import Any

import attrs

from datasetlog.errors import DatasetLogError

MAX_PROBLEMS = 20
"""Verification stops after collecting this many problems."""


@attrs.frozen(kw_only=True)
class Problem:
    """One thing in a store that is not as its event log says it must be.

    Attributes:
        what: A short code: ``commit_missing``, ``stream_gap``, ``content_version``,
            ``genesis``, ``event_range``, ``event_missing``, ``event_commit``,
            ``event_orphan``, ``event_changed``, ``event_decode``, ``metadata``,
            ``hash``, ``projection``, ``replay``, ``read_model``,
            ``read_model_position``, ``engine`` (the database's own integrity
            check) or ``unreadable``.
        dataset_id: The dataset concerned, when known.
        version: The content version concerned, when known.
        commit_position: The global position of the commit concerned, when known.
        event_index: The index of the event concerned within its commit, when known.
        detail: What differs, as expected against found.
    """

    what: str
    dataset_id: str | None = None
    version: int | None = None
    commit_position: int | None = None
    event_index: int | None = None
    detail: str

    def __str__(self) -> str:
        labels = ("dataset", "version", "commit", "event")
        values = (self.dataset_id, self.version, self.commit_position, self.event_index)
        where = ", ".join(f"{k} {v}" for k, v in zip(labels, values, strict=True) if v is not None)
        return f"{self.what} ({where}): {self.detail}" if where else f"{self.what}: {self.detail}"


@attrs.frozen
class VerifyReport:
    """What ``verify()`` found; true when every check passed.

    Attributes:
        ok: Whether every check passed.
        problems: The problems in the order found, at most ``MAX_PROBLEMS``.
        commits: How many commits were read.
        events: How many events were read.
        not_checked: What this backend could not check, and why.
    """

    ok: bool
    problems: list[Problem]
    commits: int = 0
    events: int = 0
    not_checked: list[str] = attrs.Factory(list)

    def __bool__(self) -> bool:
        return self.ok

    @property
    def first(self) -> Problem | None:
        """The first problem found, or None."""
        return self.problems[0] if self.problems else None

    def __str__(self) -> str:
        if self.ok:
            unchecked = "".join(f"; not checked: {what}" for what in self.not_checked)
            return f"ok: {self.commits} commits and {self.events} events verified{unchecked}"
        more = ", stopped there" if len(self.problems) >= MAX_PROBLEMS else ""
        return "\n".join(
            [f"{len(self.problems)} problem(s){more}:", *(f"- {p}" for p in self.problems)]
        )


class VerifyIncompleteError(DatasetLogError):
    """``verify()`` ran out of memory or temporary disk space before it could finish.

    It then reports nothing, as it cannot say whether the store is sound: a
    resource running out is never reported as a problem in the store. Free
    memory, or disk space in the temporary folder (``TMPDIR``), and run it again.

    Added in 0.2.
    """


_SQLITE_RESOURCES = {7: "out of memory (SQLITE_NOMEM)", 13: "the disk is full (SQLITE_FULL)"}
"""SQLite's result codes for a resource running out (https://sqlite.org/rescode.html)."""
_POSTGRES_RESOURCES = "53"
"""PostgreSQL's SQLSTATE class "insufficient resources" (disk full, out of memory, ...)."""
_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.ENOMEM}


def raise_if_resource(error: BaseException, doing: str) -> None:
    """Raise :class:`VerifyIncompleteError` if an error, or one behind it, is a resource
    running out: memory, or disk space (verify's scratch database is a temporary file).

    Driver errors are recognized by the codes they carry (``sqlite_errorcode``,
    ``sqlstate``), so that no driver is imported here.

    Args:
        error: An error caught while checking.
        doing: What verify was doing, for the message.
    """
    seen: BaseException | None = error
    walked: set[int] = set()
    while seen is not None and id(seen) not in walked:
        walked.add(id(seen))
        why = None
        sqlstate = getattr(seen, "sqlstate", None)
        if isinstance(seen, MemoryError):
            why = "out of memory"
        elif isinstance(seen, OSError) and seen.errno in _DISK_ERRNOS:
            why = f"no space or memory left ({seen})"
        elif isinstance(getattr(seen, "sqlite_errorcode", None), int):
            why = _SQLITE_RESOURCES.get(seen.sqlite_errorcode & 0xFF)  # type: ignore[attr-defined]
        elif isinstance(sqlstate, str) and sqlstate.startswith(_POSTGRES_RESOURCES):
            why = f"the database server ran out of resources ({seen})"
        if why is not None:
            raise VerifyIncompleteError(
                f"verify() could not finish {doing}: {why}; this says nothing about the "
                "store: free memory or temporary disk space (TMPDIR) and run it again"
            ) from error
        seen = seen.__cause__ or seen.__context__


class EnoughProblemsError(Exception):
    """Stops verifying once ``MAX_PROBLEMS`` were collected."""


class Problems:
    """The problems a run has found so far."""

    def __init__(self) -> None:
        self.found: list[Problem] = []

    def add(self, what: str, **where: Any) -> None:
        """Record a problem; raise :class:`EnoughProblemsError` once there are enough."""
        self.found.append(Problem(what=what, **where))
        if len(self.found) >= MAX_PROBLEMS:
            raise EnoughProblemsError


def clip(value: object, limit: int = 160) -> str:
    """A value's repr, shortened for a report."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def differences(fields: list[tuple[str, object, object]]) -> str:
    """Name each (name, expected, found) that differs, for a report."""
    return "; ".join(
        f"{name}: expected {clip(want)}, found {clip(have)}"
        for name, want, have in fields
        if want != have
    )
