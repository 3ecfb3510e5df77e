"""What each commit is fed to as the log scan reads it, a batch of events at a time.

- :class:`Chain` recomputes its hash over its stored content;
- :class:`Folding` folds it into its dataset (:mod:`.fold`);
- :class:`Replaying` applies it to fresh read models, as a write applies a
  commit to the store's;
- :class:`Guarded` keeps the first failure of a fold or a replay, to be
  reported once the commit is checked, and lets a resource running out end
  the run (:func:`~datasetlog.integrity.report.raise_if_resource`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Protocol, TypeVar

from datasetlog.events import Commit, Event
from datasetlog.integrity.fold import LogFold
from datasetlog.integrity.report import raise_if_resource
from datasetlog.readmodels.apply import CommitApplication
from datasetlog.store.base import Connection
from datasetlog.store.chain import begin_hash, hash_events
from datasetlog.store.records import EncodedEvent, StoredCommit

T = TypeVar("T")


class Chain:
    """A commit's hash, recomputed over its stored content as its events come."""

    def __init__(self, parent_hash: str, stored: StoredCommit) -> None:
        self.failure: str | None = None
        try:
            self._digest = begin_hash(parent_hash, stored)
        except Exception as error:  # e.g. metadata that is no longer text
            self._fail(error)

    def feed(self, events: list[EncodedEvent]) -> None:
        if self.failure is None:
            try:
                hash_events(self._digest, events)
            except Exception as error:  # e.g. a payload that is no longer text
                self._fail(error)

    def _fail(self, error: Exception) -> None:
        raise_if_resource(error, "hashing a commit")
        self.failure = f"(cannot hash: {error})"

    def recomputed(self) -> str:
        return self.failure or self._digest.hexdigest()


class Feed(Protocol):
    """What a decoded commit is fed to, a batch of events at a time."""

    def feed(self, events: list[Event], encoded: list[EncodedEvent], first_event: int) -> None:
        """Take the commit's next events (decoded, as stored), the first at ``first_event``."""

    def finish(self, position: int) -> None:
        """End the commit, at global position ``position``."""


class Folding:
    """The fold's side of a commit."""

    def __init__(self, fold: LogFold, commit: Commit) -> None:
        self._commit = fold.begin(commit)

    def feed(self, events: list[Event], encoded: list[EncodedEvent], first_event: int) -> None:
        self._commit.feed(events, [event.payload for event in encoded])

    def finish(self, position: int) -> None:
        self._commit.finish()


class Replaying:
    """The replay's side of a commit: fresh read models, fed as a write feeds the store's."""

    def __init__(self, conn: Connection, commit: Commit) -> None:
        self._application = CommitApplication.replaying(conn, commit)

    def feed(self, events: list[Event], encoded: list[EncodedEvent], first_event: int) -> None:
        self._application.feed(events, first_event)

    def finish(self, position: int) -> None:
        self._application.finish(position)


class Guarded:
    """A feed whose first failure is kept, to be reported once the commit is checked, and
    ends its feeding; a resource running out ends the run instead."""

    def __init__(self, doing: str, start: Callable[[], Feed]) -> None:
        self.doing = doing
        self.error: Exception | None = None
        self._feed = self._attempt(start)

    def _attempt(self, call: Callable[[], T]) -> T | None:
        try:
            return call()
        except Exception as error:  # a tampered log may break a fold or a replay in any way
            raise_if_resource(error, self.doing)
            self.error = error
            return None

    def feed(self, events: list[Event], encoded: list[EncodedEvent], first_event: int) -> None:
        if self._feed is not None and self.error is None:
            self._attempt(partial(self._feed.feed, events, encoded, first_event))

    def finish(self, position: int) -> None:
        if self._feed is not None and self.error is None:
            self._attempt(partial(self._feed.finish, position))
