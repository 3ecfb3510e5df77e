"""check_lock trusts neither the lock nor the file system: it reads regular files only (never
a FIFO, a device or a symlink out of the lock's folder), reads at most so much, refuses a lock
whose fields are not what a lock holds, and says plainly when a lock is stale because an
export to it was killed between its two renames.

Each hostile case runs check_lock in a child process bounded in memory and time, so that a
regression fails the test instead of hanging it or exhausting the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from datasetlog import DatasetLog, ValidationError
from datasetlog.transfer import check_lock, export_dataset, lock_path
from datasetlog.transfer.locks import read_lock

CHECK = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from datasetlog import DatasetLogError
from datasetlog.transfer import check_lock
try:
    result = check_lock(sys.argv[1])
except DatasetLogError as error:
    print(json.dumps({"error": str(error)}))
else:
    print(json.dumps({"problems": result.problems}))
"""


def _checked_in_a_child(lock: Path) -> dict[str, Any]:
    """check_lock(lock) in a child process of at most 1 GiB, given 60 s to answer."""
    done = subprocess.run(
        [sys.executable, "-c", CHECK, str(lock)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


@pytest.fixture
def locked(tmp_path: Path) -> tuple[Path, Path]:
    """An export with its lock, in ``tmp_path/out``, of a store in ``tmp_path``."""
    folder = tmp_path / "out"
    folder.mkdir()
    dest = folder / "qa.jsonl"
    with DatasetLog(tmp_path / "store.db") as db:
        dataset = db.create_dataset(project_id="pr", name="qa").id
        db.create_datapoint(dataset, [{"inputs": {"q": str(n)}} for n in range(3)])
        export_dataset(db, dataset, dest, lock=True)
    return dest, lock_path(dest)


def _fifo(dest: Path) -> None:
    dest.unlink()
    os.mkfifo(dest)


def _endless(dest: Path) -> None:
    dest.unlink()
    dest.symlink_to("/dev/zero")


def _secret_elsewhere(dest: Path) -> None:
    dest.unlink()
    secret = dest.parent.parent / "secret"
    secret.write_text("root:$6$hash:19000:0:99999:7:::\n")
    dest.symlink_to(secret)


def _link_beside(dest: Path) -> None:
    dest.rename(dest.parent / "copy.jsonl")
    dest.symlink_to(dest.parent / "copy.jsonl")


@pytest.mark.parametrize(
    "replace", [_fifo, _endless, _secret_elsewhere, _link_beside], ids=lambda f: f.__name__
)
def test_an_export_that_is_not_a_regular_file_is_a_problem_never_read(
    locked: tuple[Path, Path], replace: Callable[[Path], None]
) -> None:
    """A FIFO (which would block), a symlink to /dev/zero (endless) or to a file elsewhere
    (whose digest would leak), or even a symlink beside the lock: reported, never read."""
    dest, lock = locked
    replace(dest)
    answer = _checked_in_a_child(lock)
    [problem] = answer["problems"]
    assert "not a regular file" in problem
    assert "SHA-256" not in problem


def test_a_lock_that_is_endless_or_a_fifo_is_refused(locked: tuple[Path, Path]) -> None:
    """A lock path that is a symlink to /dev/zero, or a FIFO, is not a lock file."""
    _, lock = locked

    def endless() -> None:
        lock.symlink_to("/dev/zero")

    def fifo() -> None:
        os.mkfifo(lock)

    for make in (endless, fifo):
        lock.unlink()
        make()
        answer = _checked_in_a_child(lock)
        assert "not a regular file" in str(answer["error"])


def test_a_huge_lock_is_refused_unread(locked: tuple[Path, Path]) -> None:
    """A lock file is small: one of several megabytes is refused without parsing it."""
    _, lock = locked
    data = orjson.loads(lock.read_bytes())
    data["dataset_name"] = "n" * (4 << 20)
    lock.write_bytes(orjson.dumps(data))
    with pytest.raises(ValidationError, match="over 1048576 bytes") as refused:
        check_lock(lock)
    assert refused.value.details[0].loc == ("lock",)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("file", ""),
        ("file", "a\0b"),
        ("file", "."),
        ("file", ".."),
        ("file", "sub/qa.jsonl"),
        ("sha256", "\x1b]0;owned\x07"),
        ("sha256", "A" * 64),
        ("chain_head", "0" * 63),
    ],
)
def test_a_lock_field_that_no_lock_holds_is_refused_naming_it(
    locked: tuple[Path, Path], field: str, value: str
) -> None:
    """An empty, NUL-holding or folder-naming ``file``, or a digest that is not 64 hex digits
    (escape sequences included): a ValidationError at the field, never a traceback."""
    _, lock = locked
    data = orjson.loads(lock.read_bytes())
    data[field] = value
    lock.write_bytes(orjson.dumps(data))
    with pytest.raises(ValidationError) as refused:
        check_lock(lock)
    assert refused.value.details[0].loc == ("lock", field)


def test_values_from_a_lock_are_quoted_in_problems(
    tmp_path: Path, locked: tuple[Path, Path]
) -> None:
    """A version id in a lock carrying a terminal escape comes back escaped, not raw."""
    _, lock = locked
    data = orjson.loads(lock.read_bytes())
    data["version_id"] = "dsv_\x1b[2J"
    lock.write_bytes(orjson.dumps(data))
    with DatasetLog(tmp_path / "store.db") as db:
        problems = check_lock(lock, db).problems
    assert problems
    assert not any("\x1b" in problem for problem in problems)


def test_a_csv_export_with_cells_over_the_csv_modules_limit_checks(tmp_path: Path) -> None:
    """A CSV export holding a 300 KB cell is counted right in a fresh process (Python's csv
    module refuses fields over 128 KiB unless something raised its limit first)."""
    dest = tmp_path / "qa.csv"
    with DatasetLog(tmp_path / "store.db") as db:
        dataset = db.create_dataset(project_id="pr", name="qa").id
        db.create_datapoint(dataset, [{"inputs": {"big": "x" * 300_000}}, {"target": {"a": 1}}])
        export_dataset(db, dataset, dest, lock=True)
    assert _checked_in_a_child(lock_path(dest)) == {"problems": []}


def test_a_lock_left_stale_by_a_killed_export_says_so(locked: tuple[Path, Path]) -> None:
    """Killed between its renames, an export leaves the new file beside the old lock, and the
    new lock's temporary: check_lock reports the mismatch and says to export again."""
    dest, lock = locked
    dest.write_bytes(dest.read_bytes() + b'{"inputs":{"q":"new"}}\n')
    (dest.parent / ".qa.jsonl.lock.json.0123456789abcdef.datasetlog-partial").write_bytes(b"{}")
    problems = check_lock(lock).problems
    assert "SHA-256" in problems[0]
    assert "export again" in problems[-1]
    assert "interrupted" in problems[-1]


def test_a_lock_holding_a_key_twice_is_refused(tmp_path: Path) -> None:
    """A lock file whose JSON names a field twice is refused, not read as its last value."""
    manifest = tmp_path / "qa.jsonl.lock.json"
    manifest.write_text('{"kind": "datasetlog-lock/1", "file": "qa.jsonl", "file": "x.jsonl"}')
    with pytest.raises(ValidationError, match="appears twice"):
        read_lock(manifest)
