"""The shipped test kit imports without its optional tools, and says what to install."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Makes `import hypothesis` and `import pytest` fail, as where they are not installed.
WITHOUT_TOOLS = "import sys; sys.modules['hypothesis'] = None; sys.modules['pytest'] = None; "


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_TOOLS + code], capture_output=True, text=True, check=False
    )


def test_the_package_and_the_kit_import_without_hypothesis_or_pytest() -> None:
    """datasetlog and datasetlog.testing import where neither tool is installed."""
    result = _run(
        "import datasetlog, datasetlog.testing; print(datasetlog.testing.postgres_server)"
    )
    assert result.returncode == 0, result.stderr
    assert "postgres_server" in result.stdout


@pytest.mark.parametrize(
    "module", ["contract", "strategies", "machine", "stateful", "navigation", "upserts", "forks"]
)
def test_the_kit_modules_name_the_extra_to_install(module: str) -> None:
    """Importing a kit module without its tools fails with the command that installs them."""
    result = _run(f"import datasetlog.testing.{module}")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].endswith("pip install 'datasetlog[testing]'")


def test_import_star_works_without_psycopg() -> None:
    """``from datasetlog import *`` needs no optional dependency; PostgresEventStore says why."""
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from datasetlog import *\n"
        "import datasetlog\n"
        "try:\n    datasetlog.PostgresEventStore\n"
        "except ImportError as error:\n    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'datasetlog[postgres]'" in result.stdout
