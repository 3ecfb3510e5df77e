"""The shipped state machines (datasetlog.testing), run on every backend as users would.

Each run opens a DatasetLog on a fresh store, applies random sequences of
every operation (valid and invalid: datapoints, names, tags, restores,
upserts) and,
after every step, checks every read path of every version ever committed
against a plain model, and diffs, histories and references against the
projector.
"""

from __future__ import annotations

import shutil
import tempfile
from functools import partial
from pathlib import Path
from typing import ClassVar

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from datasetlog import DatasetLog
from datasetlog.testing import drop_schema_of, new_schema_location
from datasetlog.testing.upserts import UpsertMachine

_profile = settings()


class MemoryMachine(UpsertMachine):
    """The machine on an in-memory SQLite store."""

    def __init__(self) -> None:
        super().__init__(partial(DatasetLog, ":memory:"))


class FileMachine(UpsertMachine):
    """The machine on an SQLite file in a fresh folder, closed and reopened at random."""

    def __init__(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="datasetlog-stateful-"))
        super().__init__(
            partial(DatasetLog, folder / "store.db"),
            reopens=True,
            cleanup=partial(shutil.rmtree, folder, ignore_errors=True),
        )


class PostgresMachine(UpsertMachine):
    """The machine on PostgreSQL, in a fresh schema of the session's server."""

    url: ClassVar[str] = ""

    def __init__(self) -> None:
        location = new_schema_location(self.url)
        super().__init__(
            partial(DatasetLog, location), reopens=True, cleanup=partial(drop_schema_of, location)
        )


def test_on_an_in_memory_store() -> None:
    """The machine holds on an in-memory SQLite store."""
    run_state_machine_as_test(MemoryMachine, settings=settings(_profile, deadline=None))


def test_on_an_sqlite_file() -> None:
    """The machine holds on an SQLite file (half the examples: it pays for fsyncs and reopens)."""
    examples = max(1, _profile.max_examples // 2)
    run_state_machine_as_test(
        FileMachine, settings=settings(_profile, deadline=None, max_examples=examples)
    )


def test_on_postgres(postgres_url: str) -> None:
    """The machine holds on PostgreSQL (a quarter of the examples: every call is a round trip)."""
    PostgresMachine.url = postgres_url
    examples = max(1, _profile.max_examples // 4)
    run_state_machine_as_test(
        PostgresMachine, settings=settings(_profile, deadline=None, max_examples=examples)
    )
