"""A throwaway PostgreSQL server, for this project's tests and benchmarks and for yours.

``DATASETLOG_TEST_POSTGRES_URL`` names a server to use instead. Otherwise the
binaries of Debian's ``postgresql`` package (or any ``initdb`` on the PATH)
start a private server on a free loopback port in a temporary folder, as the
``postgres`` user when running as root, since PostgreSQL refuses to run as
root. The test suite's fixtures skip the PostgreSQL tests when no server can be
had, or fail with ``DATASETLOG_REQUIRE_POSTGRES=1`` (set by ``.ci/run``).

Added in 0.1.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, unquote


class PostgresUnavailableError(RuntimeError):
    """No PostgreSQL server could be found or started."""


def _bindir() -> Path:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        raise PostgresUnavailableError("no initdb: install PostgreSQL (Debian: postgresql)")
    return Path(candidates[-1]).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield the URL of a PostgreSQL database that lives as long as the context."""
    url = os.environ.get("DATASETLOG_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    bindir = _bindir()
    folder = Path(tempfile.mkdtemp(prefix="datasetlog-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", _free_port()
    try:
        subprocess.run(
            _as_server_user(
                [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
            ),
            check=True,
            capture_output=True,
        )
        options = (
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            _as_server_user(
                [
                    *(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-t", "60"),
                    *("-l", str(folder / "log"), "start"),
                ]
            ),
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", b"") or b""
        shutil.rmtree(folder, ignore_errors=True)
        raise PostgresUnavailableError(f"cannot start PostgreSQL: {error} {detail!r}") from error
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


def new_schema_location(url: str) -> str:
    """A URL whose connections live in a fresh, empty schema of the server at ``url``."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={schema}')}"


def drop_schema_of(location: str) -> None:
    """Drop the schema a :func:`new_schema_location` URL names."""
    import psycopg

    url, _, options = location.rpartition("options=")
    url = url.rstrip("?&")
    schema = unquote(options).removeprefix("-csearch_path=")
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
