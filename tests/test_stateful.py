"""The shipped state machines (datasetlog.testing), run on every backend as users would.

Each run opens a DatasetLog on a fresh store, applies random sequences of
every operation (valid and invalid: datapoints, names, tags, restores,
upserts, streamed writes) and, after every step, checks every read path of
every version ever committed against a plain model, and diffs, histories and
references against the projector.

Each test hands hypothesis a factory that builds one machine on a fresh store
(a folder, a schema) and removes that store when the machine's run ends.
hypothesis annotates ``run_state_machine_as_test``'s argument as a class, yet
takes any callable that returns a machine (its docstring): hence the
``type: ignore[arg-type]`` on each call.
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
from datasetlog.testing.upserts import UpsertMachine

_profile = settings()


def on_a_file(tmp_path: Path) -> UpsertMachine:
    """The machine on an SQLite file in a fresh folder, closed and reopened at random."""
    folder = Path(tempfile.mkdtemp(prefix="datasetlog-stateful-", dir=tmp_path))
    return UpsertMachine(
        partial(DatasetLog, folder / "store.db"),
        reopens=True,
        cleanup=partial(shutil.rmtree, folder, ignore_errors=True),
    )


def on_postgres(url: str) -> UpsertMachine:
    """The machine on PostgreSQL, in a fresh schema of the server at ``url``."""
    location = new_schema_location(url)
    return UpsertMachine(
        partial(DatasetLog, location), reopens=True, cleanup=partial(drop_schema_of, location)
    )


def test_on_an_in_memory_store() -> None:
    """The machine holds on an in-memory SQLite store."""
    run_state_machine_as_test(
        lambda: UpsertMachine(partial(DatasetLog, ":memory:")),  # type: ignore[arg-type]
        settings=settings(_profile, deadline=None),
    )


def test_on_an_sqlite_file(tmp_path: Path) -> None:
    """The machine holds on an SQLite file (half the examples: it pays for fsyncs and reopens)."""
    examples = max(1, _profile.max_examples // 2)
    run_state_machine_as_test(
        partial(on_a_file, tmp_path),  # type: ignore[arg-type]
        settings=settings(_profile, deadline=None, max_examples=examples),
    )


def test_on_postgres(postgres_url: str) -> None:
    """The machine holds on PostgreSQL (a quarter of the examples: every call is a round trip)."""
    examples = max(1, _profile.max_examples // 4)
    run_state_machine_as_test(
        partial(on_postgres, postgres_url),  # type: ignore[arg-type]
        settings=settings(_profile, deadline=None, max_examples=examples),
    )
