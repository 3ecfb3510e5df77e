"""An export to a path and its lock are replaced whole, as a pair: they keep the permissions
of what they replace, a failing disk is one DatasetLogError that changes nothing, Ctrl-C at
the renames never splits the pair, and temporaries a killed export left are cleaned up by
the next one (only ours, and never a live export's)."""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import signal
import stat
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import datasetlog.transfer.export
from datasetlog import DatasetLog, DatasetLogError, ValidationError
from datasetlog.transfer import check_lock, export_dataset, lock_path

PARTIAL = ".datasetlog-partial"
MOUNT, UMOUNT = shutil.which("mount") or "mount", shutil.which("umount") or "umount"


def _dataset(db: DatasetLog, count: int = 50) -> str:
    """A dataset of ``count`` datapoints at version 1, updated in place at version 2 (so the
    two versions' exports differ but have the same size)."""
    dataset = db.create_dataset(project_id="pr", name="qa").id
    db.create_datapoint(
        dataset, [{"inputs": {"q": f"{n:04}", "pad": "p" * 100}} for n in range(count)]
    )
    first = next(iter(db.iter_datapoints(dataset))).id
    db.update_datapoint(first, inputs={"q": "9999", "pad": "p" * 100})
    return dataset


@pytest.fixture
def exported(file_db: DatasetLog, tmp_path: Path) -> tuple[DatasetLog, str, Path]:
    """A store, its dataset, and an export of version 1 with its lock in ``tmp_path/out``."""
    dataset = _dataset(file_db)
    folder = tmp_path / "out"
    folder.mkdir()
    dest = folder / "qa.jsonl"
    export_dataset(file_db, dataset, dest, version=1, lock=True)
    return file_db, dataset, dest


def _pair(dest: Path) -> tuple[list[str], bytes, bytes]:
    """The folder's names and the export's and lock's bytes."""
    names = sorted(p.name for p in dest.parent.iterdir())
    return names, dest.read_bytes(), lock_path(dest).read_bytes()


def test_an_export_keeps_the_permissions_of_the_files_it_replaces(
    file_db: DatasetLog, tmp_path: Path
) -> None:
    """A 0600 export comes back 0600 and its new lock is as private; an existing lock keeps
    its own mode; new files get what ``open()`` gives under the umask."""
    dataset = _dataset(file_db)
    private, shared = tmp_path / "private.jsonl", tmp_path / "shared.jsonl"
    private.write_bytes(b"")
    private.chmod(0o600)
    export_dataset(file_db, dataset, private, lock=True)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(lock_path(private).stat().st_mode) == 0o600
    lock_path(private).chmod(0o640)
    export_dataset(file_db, dataset, private, version=1, lock=True)
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(lock_path(private).stat().st_mode) == 0o640
    previous = os.umask(0o027)
    try:
        export_dataset(file_db, dataset, shared, lock=True)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o640
    assert stat.S_IMODE(lock_path(shared).stat().st_mode) == 0o640


@pytest.mark.parametrize(("failing", "named"), [(1, "qa.jsonl'"), (2, "qa.jsonl.lock.json'")])
def test_a_full_disk_at_the_export_or_its_lock_is_one_error_that_changes_nothing(
    exported: tuple[DatasetLog, str, Path],
    monkeypatch: pytest.MonkeyPatch,
    failing: int,
    named: str,
) -> None:
    """ENOSPC when the export (or its lock) is written back: a DatasetLogError naming that
    file, and the old export and lock stand, with no temporary beside them."""
    db, dataset, dest = exported
    before = _pair(dest)
    calls = []
    real = os.fsync

    def fsync(descriptor: int) -> None:
        calls.append(descriptor)
        if len(calls) == failing:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(DatasetLogError) as failed:
        export_dataset(db, dataset, dest, lock=True)
    assert not isinstance(failed.value, ValidationError)
    assert "No space left on device" in str(failed.value)
    assert named in str(failed.value)
    assert _pair(dest) == before


def test_a_failed_background_write_back_is_not_lost(
    exported: tuple[DatasetLog, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An fsync that fails in the thread that writes back a large export as it is made fails
    the export (the kernel reports such an error once: a later fsync would succeed)."""
    db, dataset, dest = exported
    before = _pair(dest)
    monkeypatch.setattr(datasetlog.transfer.export._Flusher, "FLUSH_EVERY", 1024)
    real = os.fsync

    def fsync(descriptor: int) -> None:
        if threading.current_thread() is not threading.main_thread():
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real(descriptor)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(DatasetLogError, match="Input/output error"):
        export_dataset(db, dataset, dest, lock=True)
    assert _pair(dest) == before


@contextmanager
def _tmpfs(folder: Path, size: str) -> Iterator[None]:
    """A tmpfs of ``size`` on ``folder`` (root only)."""
    mount = [MOUNT, "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)]
    if os.geteuid() != 0 or subprocess.run(mount, check=False).returncode:
        pytest.skip("needs root, to mount a small file system")
    try:
        yield
    finally:
        subprocess.run([UMOUNT, str(folder)], check=True)


def _fill(folder: Path, leave: int) -> None:
    """Fill ``folder``'s file system but ``leave`` pages of 4 KiB."""
    free = os.statvfs(folder)
    pages = free.f_bavail * free.f_frsize // 4096 - leave
    with (folder / "ballast").open("wb") as ballast:
        for _ in range(pages):
            ballast.write(b"\0" * 4096)


@pytest.mark.parametrize("at", ["export", "lock"])
def test_a_really_full_disk_at_the_export_or_its_lock_changes_nothing(
    file_db: DatasetLog, tmp_path: Path, at: str
) -> None:
    """On a tmpfs filled up, an export that does not fit, or whose lock does not, is one
    DatasetLogError; the old pair stands, no temporary is left, and once there is room the
    export goes through."""
    dataset = _dataset(file_db)
    probe = tmp_path / "probe.jsonl"
    export_dataset(file_db, dataset, probe)
    pages = -(-probe.stat().st_size // 4096)
    folder = tmp_path / "small"
    folder.mkdir()
    with _tmpfs(folder, "1m"):
        dest = folder / "qa.jsonl"
        export_dataset(file_db, dataset, dest, version=1, lock=True)
        _fill(folder, pages if at == "lock" else 0)
        before = _pair(dest)
        with pytest.raises(DatasetLogError, match="No space left on device") as failed:
            export_dataset(file_db, dataset, dest, lock=True)
        assert ("lock.json" in str(failed.value)) == (at == "lock")
        assert _pair(dest) == before
        (folder / "ballast").unlink()
        assert export_dataset(file_db, dataset, dest, lock=True).version.number == 2
        assert check_lock(lock_path(dest)).ok
        assert sorted(p.name for p in folder.iterdir()) == ["qa.jsonl", "qa.jsonl.lock.json"]


@pytest.fixture
def ctrl_c_raises() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt here, even where the shell started the run ignoring it."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("ctrl_c_raises")
def test_ctrl_c_at_the_renames_never_splits_the_pair(
    exported: tuple[DatasetLog, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C that lands right after the export is renamed into place is held until its lock
    is too: the KeyboardInterrupt comes, and the new pair stands."""
    db, dataset, dest = exported
    real = os.replace

    def replace(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        export_dataset(db, dataset, dest, lock=True)
    checked = check_lock(lock_path(dest), db)
    assert checked.ok, checked.problems
    assert checked.lock.version == 2


def _ours(name: str, noise: str = "0123456789abcdef") -> str:
    """The name an export gives a temporary of the file ``name``."""
    return f".{name}.{noise}{PARTIAL}"


def test_the_next_export_removes_a_killed_exports_temporaries_and_nothing_else(
    exported: tuple[DatasetLog, str, Path],
) -> None:
    """Temporaries of the destination and of its lock that no live export holds go; files
    that only look like ours, a symlink or a folder so named, another destination's
    temporaries, and the files a symlink named so points to, stay."""
    db, dataset, dest = exported
    folder = dest.parent
    stale = [_ours("qa.jsonl"), _ours("qa.jsonl.lock.json", "fedcba9876543210")]
    for name in stale:
        (folder / name).write_bytes(b"half an export")
    victim = folder.parent / "victim.txt"
    victim.write_text("precious")
    kept = [
        _ours("other.jsonl"),
        _ours("qa.jsonl", "0123456789ABCDEF"),
        _ours("qa.jsonl", "0123"),
        ".qa.jsonl.abcd_123",
        "qa.jsonl" + PARTIAL,
    ]
    for name in kept:
        (folder / name).write_bytes(b"not ours to remove")
    (folder / _ours("qa.jsonl", "1111111111111111")).symlink_to(victim)
    (folder / _ours("qa.jsonl", "2222222222222222")).mkdir()
    kept += [_ours("qa.jsonl", "1111111111111111"), _ours("qa.jsonl", "2222222222222222")]
    export_dataset(db, dataset, dest, lock=True)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*kept, "qa.jsonl", "qa.jsonl.lock.json"]
    )
    assert victim.read_text() == "precious"
    assert check_lock(lock_path(dest)).ok


def test_a_live_exports_temporary_is_left_alone(exported: tuple[DatasetLog, str, Path]) -> None:
    """A temporary its writer still holds (an export under way elsewhere) is not removed."""
    db, dataset, dest = exported
    live = dest.parent / _ours("qa.jsonl")
    with live.open("wb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        export_dataset(db, dataset, dest, lock=True)
        assert live.exists()
    export_dataset(db, dataset, dest, lock=True)  # its writer is gone now
    assert not live.exists()


def _in_thread(name: str, run: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


def test_two_exports_to_one_place_never_interleave_their_renames(
    exported: tuple[DatasetLog, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Export A stops between its two renames; export B to the same path waits for A's pair
    to be in place before renaming its own, so the last pair stands whole."""
    db, dataset, dest = exported
    path = db.store.path  # type: ignore[attr-defined]
    a_renamed_its_export, b_is_ready = threading.Event(), threading.Event()
    real_replace, real_flock = os.replace, fcntl.flock

    def replace(source: Any, target: Any, **kwargs: Any) -> None:
        real_replace(source, target, **kwargs)
        if threading.current_thread().name == "A" and Path(target).name == "qa.jsonl":
            a_renamed_its_export.set()
            b_is_ready.wait()

    def flock(descriptor: int, operation: int) -> None:
        if threading.current_thread().name == "B" and stat.S_ISDIR(os.fstat(descriptor).st_mode):
            b_is_ready.set()  # B is about to wait for the folder
        real_flock(descriptor, operation)

    def export(version: int) -> None:
        try:
            with DatasetLog(path) as log:
                export_dataset(log, dataset, dest, version=version, lock=True)
        finally:  # done, or failed: nobody waits on
            a_renamed_its_export.set()
            b_is_ready.set()

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(fcntl, "flock", flock)
    a = _in_thread("A", lambda: export(2))
    a_renamed_its_export.wait()
    b = _in_thread("B", lambda: export(1))
    a.join()
    b.join()
    checked = check_lock(lock_path(dest), db)
    assert checked.ok, checked.problems


def test_the_renames_free_nothing_so_the_moment_between_them_stays_short(
    exported: tuple[DatasetLog, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the export and the lock are renamed over the old ones, those still have a second
    name (freeing a large file's blocks can take longer than a rename), which goes after."""
    db, dataset, dest = exported
    links: list[int] = []
    real = os.replace

    def replace(source: Any, target: Any, **kwargs: Any) -> None:
        links.append(os.stat(target, dir_fd=kwargs.get("dst_dir_fd")).st_nlink)
        real(source, target, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    export_dataset(db, dataset, dest, lock=True)
    assert links == [2, 2]
    assert sorted(p.name for p in dest.parent.iterdir()) == ["qa.jsonl", "qa.jsonl.lock.json"]


def test_without_hard_links_an_export_still_replaces_its_pair(
    exported: tuple[DatasetLog, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a file system without hard links the pair is renamed over the old one all the same."""
    db, dataset, dest = exported

    def no_link(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.EPERM, os.strerror(errno.EPERM))

    monkeypatch.setattr(os, "link", no_link)
    assert export_dataset(db, dataset, dest, lock=True).version.number == 2
    assert check_lock(lock_path(dest)).ok
    assert sorted(p.name for p in dest.parent.iterdir()) == ["qa.jsonl", "qa.jsonl.lock.json"]
