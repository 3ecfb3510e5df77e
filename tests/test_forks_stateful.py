"""The fork machine (datasetlog.testing.forks) on every backend: forks, merges, the reference."""

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
from datasetlog.testing.forks import ForkMachine

_profile = settings()
_steps = max(10, _profile.stateful_step_count // 3)
"""Each step reads every version of every dataset: fewer steps than the other machines."""


class MemoryForkMachine(ForkMachine):
    """On an in-memory SQLite store."""

    def __init__(self) -> None:
        super().__init__(partial(DatasetLog, ":memory:"))


class FileForkMachine(ForkMachine):
    """On an SQLite file in a fresh folder."""

    def __init__(self) -> None:
        folder = Path(tempfile.mkdtemp(prefix="datasetlog-forks-"))
        super().__init__(
            partial(DatasetLog, folder / "store.db"),
            cleanup=partial(shutil.rmtree, folder, ignore_errors=True),
        )


class PostgresForkMachine(ForkMachine):
    """On PostgreSQL, in a fresh schema of the session's server."""

    url: ClassVar[str] = ""

    def __init__(self) -> None:
        location = new_schema_location(self.url)
        super().__init__(partial(DatasetLog, location), cleanup=partial(drop_schema_of, location))


def test_forks_on_an_in_memory_store() -> None:
    """Forks and merges hold on an in-memory SQLite store."""
    run_state_machine_as_test(
        MemoryForkMachine,
        settings=settings(_profile, deadline=None, stateful_step_count=_steps),
    )


def test_forks_on_an_sqlite_file() -> None:
    """Forks and merges hold on an SQLite file (half the examples)."""
    examples = max(1, _profile.max_examples // 2)
    run_state_machine_as_test(
        FileForkMachine,
        settings=settings(
            _profile, deadline=None, max_examples=examples, stateful_step_count=_steps
        ),
    )


def test_forks_on_postgres(postgres_url: str) -> None:
    """Forks and merges hold on PostgreSQL (a quarter of the examples)."""
    PostgresForkMachine.url = postgres_url
    examples = max(1, _profile.max_examples // 4)
    run_state_machine_as_test(
        PostgresForkMachine,
        settings=settings(
            _profile, deadline=None, max_examples=examples, stateful_step_count=_steps
        ),
    )
