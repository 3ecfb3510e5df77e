"""The fork machine (datasetlog.testing.forks) on every backend: forks, merges, the reference.

Each test hands hypothesis a factory of machines on fresh stores, as tests/test_stateful.py
does (which says why each call carries a ``type: ignore``).
"""

from __future__ import annotations

import shutil
import tempfile
from functools import partial
from pathlib import Path

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from datasetlog import DatasetLog
from datasetlog.testing import drop_schema_of, new_schema_location
from datasetlog.testing.forks import ForkMachine

_profile = settings()
_steps = max(10, _profile.stateful_step_count // 3)
"""Each step reads every version of every dataset: fewer steps than the other machines."""


def on_a_file(tmp_path: Path) -> ForkMachine:
    """The fork machine on an SQLite file in a fresh folder."""
    folder = Path(tempfile.mkdtemp(prefix="datasetlog-forks-", dir=tmp_path))
    return ForkMachine(
        partial(DatasetLog, folder / "store.db"),
        cleanup=partial(shutil.rmtree, folder, ignore_errors=True),
    )


def on_postgres(url: str) -> ForkMachine:
    """The fork machine on PostgreSQL, in a fresh schema of the server at ``url``."""
    location = new_schema_location(url)
    return ForkMachine(partial(DatasetLog, location), cleanup=partial(drop_schema_of, location))


def test_forks_on_an_in_memory_store() -> None:
    """Forks and merges hold on an in-memory SQLite store."""
    run_state_machine_as_test(
        lambda: ForkMachine(partial(DatasetLog, ":memory:")),  # type: ignore[arg-type]
        settings=settings(_profile, deadline=None, stateful_step_count=_steps),
    )


def test_forks_on_an_sqlite_file(tmp_path: Path) -> None:
    """Forks and merges hold on an SQLite file (half the examples)."""
    examples = max(1, _profile.max_examples // 2)
    run_state_machine_as_test(
        partial(on_a_file, tmp_path),  # type: ignore[arg-type]
        settings=settings(
            _profile, deadline=None, max_examples=examples, stateful_step_count=_steps
        ),
    )


def test_forks_on_postgres(postgres_url: str) -> None:
    """Forks and merges hold on PostgreSQL (a quarter of the examples)."""
    examples = max(1, _profile.max_examples // 4)
    run_state_machine_as_test(
        partial(on_postgres, postgres_url),  # type: ignore[arg-type]
        settings=settings(
            _profile, deadline=None, max_examples=examples, stateful_step_count=_steps
        ),
    )
