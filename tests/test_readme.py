"""README.md's Python examples run, in order, as a test."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_blocks_run_twice_in_one_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's ```python blocks run without error, twice in a row, saying what they did."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert blocks, "the README has no python examples"
    monkeypatch.chdir(tmp_path)
    for run in (1, 2):
        namespace: dict[str, object] = {}
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)  # noqa: S102
        assert f"qa-{run}: 6 versions, 3 datapoints in the latest" in capsys.readouterr().out


def test_readme_opens_with_the_two_commands() -> None:
    """The README's first code block installs and runs the demo, then the tests."""
    first = re.search(r"```sh\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert first is not None
    commands = [line for line in first.group(1).splitlines() if line and not line.startswith("#")]
    assert commands == [
        "pip install . && python -m datasetlog demo",
        'pip install -e ".[test]" && python -m pytest',
    ]


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run calls the README's test command verbatim."""
    script = (README.parent / ".ci" / "run").read_text()
    assert 'pip install -e ".[test]" && python -m pytest' in script


def test_readme_command_line_session_runs(tmp_path: Path) -> None:
    """The README's ```shell session runs as written in an empty folder, every command
    succeeding, with ``datasetlog`` the one installed beside this Python."""
    [session] = re.findall(r"```shell\n(.*?)```", README.read_text(), flags=re.DOTALL)
    scripts = str(Path(sys.executable).parent)
    done = subprocess.run(
        ["/bin/bash", "-euo", "pipefail", "-c", session],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": f"{scripts}{os.pathsep}{os.environ['PATH']}"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "version 1 -> 2: 0 added, 1 removed, 0 changed" in done.stdout  # the diff
    assert "ok:" in done.stdout
