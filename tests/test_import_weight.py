"""Importing datasetlog, opening a store and the CLI's help load no table library.

sqlite-utils imports pandas and numpy whenever they are installed; datasetlog
imports it only to run a migration, and pyarrow only for tables and Parquet.
The test environment has all three installed, so these checks can fail.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from datasetlog import DatasetLog
from datasetlog.store.sqlite_schema import CURRENT_OBJECTS, MIGRATIONS, migrated_objects

HEAVY = ("pandas", "pyarrow", "numpy")


def _loaded(code: str, cwd: Path) -> list[str]:
    """The heavy modules a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, check=True
    )
    return done.stdout.split()


def test_the_heavy_libraries_are_installed_here() -> None:
    """The checks below mean something: pandas, pyarrow and numpy are importable."""
    assert all(importlib.util.find_spec(name) is not None for name in HEAVY)


def test_import_datasetlog_loads_no_table_library(tmp_path: Path) -> None:
    """``import datasetlog`` (and its transfer and testing kits) load none of them."""
    assert _loaded("import datasetlog, datasetlog.transfer", tmp_path) == []


def test_opening_and_reading_a_store_loads_no_table_library(tmp_path: Path) -> None:
    """Opening an existing store, writing and reading it load none of them."""
    with DatasetLog(tmp_path / "store.db") as db:
        db.create_dataset(project_id="pr", name="qa")
    code = (
        "from datasetlog import DatasetLog\n"
        "with DatasetLog('store.db') as db:\n"
        "    [ds] = db.list_datasets('pr')\n"
        "    db.create_datapoint(ds.id, {'inputs': {'q': 'x'}})\n"
        "    assert len(list(db.iter_datapoints(ds.id))) == 1 and db.verify()"
    )
    assert _loaded(code, tmp_path) == []


def test_the_command_lines_help_loads_no_table_library(tmp_path: Path) -> None:
    """``datasetlog --help`` imports none of them (as ``-X importtime`` lists every import)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "datasetlog", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Usage" in done.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "click" in imported
    assert imported.isdisjoint(HEAVY)


@pytest.mark.parametrize("applied", range(len(MIGRATIONS) + 1))
def test_the_current_schema_is_what_the_migrations_make(applied: int) -> None:
    """CURRENT_OBJECTS, checked on every open without running sqlite-utils, is exactly
    what the migrations make; earlier formats are made in a scratch database."""
    made = migrated_objects(applied)
    assert (made == CURRENT_OBJECTS) == (applied == len(MIGRATIONS))
