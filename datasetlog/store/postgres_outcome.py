"""What a PostgreSQL write did when its connection was lost: committed, not, or unknown.

A connection can drop after COMMIT reached the server but before its answer
came back: the commit then exists although the client saw an error. Before
such a write is reported, its outcome is settled on a fresh connection:
first the old server session must be gone (while it lives, a COMMIT it
received may still be running), then the commit is looked up by its stream
and sequence, and recognised by its hash, which the client computed before
sending it (it covers the commit's content, time and random version id).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

import psycopg

from datasetlog.store.postgres_streams import RawConnection
from datasetlog.store.records import StoredCommit

_SESSION_ALIVE = "SELECT 1 FROM pg_stat_activity WHERE pid = %s"
_STORED_HASH = "SELECT hash FROM dl_commits WHERE stream_id = %s AND sequence = %s"


class CommitOutcome(enum.Enum):
    """Whether a write whose connection was lost committed."""

    COMMITTED = "committed"
    NOT_COMMITTED = "not committed"
    UNKNOWN = "unknown"


def settle(
    connect: Callable[[], RawConnection],
    forget: Callable[[RawConnection], None],
    first: StoredCommit,
    session: int,
    *,
    wait: float,
) -> CommitOutcome:
    """Find out whether the transaction that appended ``first`` committed.

    Args:
        connect: Opens a fresh connection to the store's database and schema.
        forget: Closes a connection the store opened.
        first: The first commit the transaction appended (all land or none).
        session: The server process id of the lost connection.
        wait: Seconds to wait for that session to end before giving up.

    Returns:
        COMMITTED or NOT_COMMITTED once certain, UNKNOWN if the old session
        outlived ``wait`` or the server could not be reached.
    """
    try:
        raw = connect()
    except Exception:  # the server is unreachable: nothing can be known now
        return CommitOutcome.UNKNOWN
    try:
        deadline = time.monotonic() + wait
        while raw.execute(_SESSION_ALIVE, (session,)).fetchone() is not None:
            if time.monotonic() > deadline:
                return CommitOutcome.UNKNOWN
            time.sleep(0.02)
        row = raw.execute(_STORED_HASH, (first.stream_id, first.sequence)).fetchone()
    except psycopg.Error:
        return CommitOutcome.UNKNOWN
    finally:
        forget(raw)
    landed = row is not None and row[0] == first.hash
    return CommitOutcome.COMMITTED if landed else CommitOutcome.NOT_COMMITTED
