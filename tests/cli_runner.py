"""Running the ``datasetlog`` command in-process, for the command-line tests."""

from __future__ import annotations

from pathlib import Path

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
