"""Running the ``datasetlog`` command, in-process or on a terminal, for the command-line tests."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Literal

from click.testing import CliRunner, Result

from datasetlog.cli import cli

UNSET = {"DATASETLOG_URL": None, "DATASETLOG_PROJECT": None}
"""The environment variables the command reads, unset unless a test sets them."""


def invoke(
    *args: str, db: Path | None = None, code: int = 0, env: dict[str, str] | None = None
) -> Result:
    """Run ``datasetlog [--db db] args...``; it must exit with ``code`` and no traceback."""
    where = ["--db", str(db)] if db is not None else []
    result = CliRunner(env={**UNSET, **(env or {})}).invoke(cli, [*where, *args])
    assert result.exit_code == code, (result.exception, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def on_a_terminal(*args: str, db: Path, stream: Literal["stdout", "stderr"]) -> tuple[int, bytes]:
    """Run a ``datasetlog`` process whose ``stream`` is a terminal (the other is discarded);
    return its exit status and what it wrote there."""
    main, side = pty.openpty()
    with subprocess.Popen(
        [sys.executable, "-m", "datasetlog", "--db", str(db), *args],
        stdout=side if stream == "stdout" else subprocess.DEVNULL,
        stderr=side if stream == "stderr" else subprocess.DEVNULL,
    ) as process:
        os.close(side)
        seen = b""
        while True:
            try:
                piece = os.read(main, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not piece:
                break
            seen += piece
    os.close(main)
    return process.returncode, seen
