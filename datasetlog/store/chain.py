"""The hash chain: each commit's SHA-256 covers its content and its stream parent's hash.

The chain runs per stream (per dataset). The hash is unkeyed: it catches
corruption and edits, not a forger who rewrites the hashes too.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable

from datasetlog.store.records import EncodedEvent, NewCommit, StoredCommit

GENESIS_HASH = "0" * 64
"""The parent hash of a stream's first commit."""


def commit_hash(parent_hash: str, commit: NewCommit | StoredCommit) -> str:
    """Hash a commit's content together with its stream parent's hash.

    Covers the stream id and sequence, time, metadata and every event's type,
    schema version and payload, plus the previous commit's hash in the stream.
    """
    digest = begin_hash(parent_hash, commit)
    hash_events(digest, commit.events)
    return digest.hexdigest()


def begin_hash(parent_hash: str, commit: NewCommit | StoredCommit) -> hashlib._Hash:
    """A commit's hash before its events: its parent's hash, stream, sequence, time and metadata.

    Feed it the events in order with :func:`hash_events` (in one call or many).
    """
    digest = hashlib.sha256()
    for part in (
        parent_hash,
        commit.stream_id,
        str(commit.sequence),
        commit.recorded_at,
        commit.metadata,
    ):
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest


def hash_events(digest: hashlib._Hash, events: Iterable[EncodedEvent]) -> None:
    """Feed events, in order, to a commit's hash begun by :func:`begin_hash`."""
    for event in events:
        digest.update(_event_header(event.type, event.schema_version))
        digest.update(event.payload.encode())
        digest.update(b"\x00")


def event_digest(event: EncodedEvent) -> str:
    """A short digest of one stored event, kept beside it to name an edited event.

    The commit hash is what protects the log; these 64-bit digests only let
    ``verify()`` say which event of a commit changed.
    """
    digest = _header_digest(event.type, event.schema_version).copy()
    digest.update(event.payload.encode())
    return digest.hexdigest()[:16]


@functools.cache
def _event_header(type_: str, schema_version: int) -> bytes:
    return f"{type_}\x00{schema_version}\x00".encode()


@functools.cache
def _header_digest(type_: str, schema_version: int) -> hashlib._Hash:
    """A SHA-256 that has taken an event header in, to copy for each event of that kind."""
    return hashlib.sha256(_event_header(type_, schema_version))
