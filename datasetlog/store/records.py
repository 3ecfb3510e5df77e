"""What an event store keeps: encoded events grouped in commits, as written and as read back.

Stores persist these records as they are given; they never import events,
models or serialization, so a new backend never touches cattrs.
"""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class EncodedEvent:
    """An event as stored: a stable type tag, its schema version and a JSON payload."""

    type: str
    schema_version: int
    payload: str


@attrs.frozen
class NewCommit:
    """A commit to append: events for one stream at an expected place in it.

    ``sequence`` is the place this commit takes in its stream: one more than
    the stream's head when the writer read it (1 for a stream's first commit).
    """

    stream_id: str
    sequence: int
    recorded_at: str
    metadata: str
    events: tuple[EncodedEvent, ...]


@attrs.frozen
class StoredCommit:
    """A commit as read back, with its global position and chained hash.

    Its events hold the global event positions ``first_event`` onwards, in order.
    """

    position: int
    stream_id: str
    sequence: int
    recorded_at: str
    metadata: str
    events: tuple[EncodedEvent, ...]
    hash: str
    first_event: int


@attrs.frozen
class RawCommit:
    """A commit row exactly as a store holds it, unchecked: what ``verify()`` scans.

    Values are whatever the row holds (a damaged store may hold anything), so
    they are typed ``Any``; a sound store holds the types the names suggest.
    """

    position: int
    stream_id: Any
    sequence: Any
    recorded_at: Any
    metadata: Any
    first_event: Any
    event_count: Any
    hash: Any

    def stored(self, events: tuple[EncodedEvent, ...] = ()) -> StoredCommit:
        """The commit as a :class:`StoredCommit`, holding ``events`` (none by default)."""
        return StoredCommit(
            position=self.position,
            stream_id=self.stream_id,
            sequence=self.sequence,
            recorded_at=self.recorded_at,
            metadata=self.metadata,
            events=events,
            hash=self.hash,
            first_event=self.first_event,
        )


@attrs.frozen
class RawEvent:
    """An event row exactly as a store holds it, unchecked: what ``verify()`` scans."""

    position: int
    commit_position: Any
    type: Any
    schema_version: Any
    payload: Any
    digest: Any
