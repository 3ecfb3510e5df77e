"""Shared test set-up: Hypothesis profiles (registered here only) and the backend fixtures.

Choose a profile with ``HYPOTHESIS_PROFILE``: ``dev`` (the default), ``ci``
(derandomized, no deadline; ``.ci/run`` sets it) or ``nightly`` (many more
examples and longer stateful runs).

The contract suite runs once per backend: ``db`` is a fresh DatasetLog on an
in-memory SQLite store, an SQLite file and a PostgreSQL schema in turn, and
``location`` the place to open one (a file path or a PostgreSQL URL). The
PostgreSQL server is started once per session (see postgres_server.py). ``ds``
is an empty dataset in ``db``, and ``ticking`` a DatasetLog whose clock moves
one second per reading (the helpers beside them are in helpers.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from helpers import LOGS, Ticker
from hypothesis import settings

from datasetlog import Dataset, DatasetLog, DictLogSource
from datasetlog.testing import PostgresUnavailableError, new_schema_location, postgres_server

settings.register_profile("dev", max_examples=50, stateful_step_count=50)
settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    print_blob=True,
    max_examples=100,
    stateful_step_count=80,
)
settings.register_profile(
    "nightly", deadline=None, print_blob=True, max_examples=2000, stateful_step_count=200
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of the session's PostgreSQL server (skips, or fails when it is required)."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(postgres_server())
        except PostgresUnavailableError as error:
            if os.environ.get("DATASETLOG_REQUIRE_POSTGRES") == "1":
                pytest.fail(f"PostgreSQL is required here: {error}")
            pytest.skip(f"no PostgreSQL: {error}")
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where to open a fresh store: an SQLite file path, or a PostgreSQL URL and schema."""
    if request.param == "postgres":
        return new_schema_location(request.getfixturevalue("postgres_url"))
    return str(tmp_path / "store.db")


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DatasetLog]:
    """A fresh DatasetLog on each backend in turn, closed after the test."""
    where = {"memory": ":memory:", "sqlite": str(tmp_path / "store.db")}.get(request.param)
    if where is None:
        where = new_schema_location(request.getfixturevalue("postgres_url"))
    with DatasetLog(where) as fresh:
        yield fresh


@pytest.fixture
def file_db(tmp_path: Path) -> Iterator[DatasetLog]:
    """A fresh DatasetLog on an SQLite file in the test's temporary folder."""
    with DatasetLog(tmp_path / "store.db") as fresh:
        yield fresh


@pytest.fixture
def ds(db: DatasetLog) -> Dataset:
    """An empty dataset in the ``db`` fixture."""
    return db.create_dataset(project_id="pr_1", name="qa", description="Sums")


@pytest.fixture
def ticking() -> Iterator[DatasetLog]:
    """A DatasetLog whose clock moves one second per write, making datapoints from LOGS."""
    with DatasetLog(":memory:", clock=Ticker(), logs=DictLogSource(LOGS)) as fresh:
        yield fresh
