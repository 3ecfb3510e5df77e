"""Files replaced whole, and files read without trusting what the path names.

Writing: :class:`Staging` writes each file of an export (the export, its lock)
to a temporary beside it, ``.<name>.<16 hex digits>.datasetlog-partial``,
created exclusively (so never through a symlink) with the mode of the file it
will replace. While a temporary is written, its writer holds an ``flock`` on
it: a later export to the same destination removes the temporaries nobody
holds (a killed export's), and leaves a live one's alone. :meth:`Staging.commit`
makes every temporary durable, then renames them into place in the order they
were added, under an ``flock`` of the folder (so two exports to one
destination never interleave their renames) and with Ctrl-C held off until
the last rename is done; the files replaced keep a second name until then,
so the renames only change names. Two renames are never one atomic step: a
process killed between them (SIGKILL, a power cut) leaves the first file new
and the second one old, with the second one's temporary beside them, which
:func:`pending_temporaries` finds.

Reading: :func:`open_regular` opens a path only if it is a regular file (never
a FIFO, device or folder, and with ``follow_symlinks=False`` never through a
symlink), so that reading it ends.
"""

from __future__ import annotations

import errno
import fcntl
import os
import secrets
import signal
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

from datasetlog import DatasetLogError, ErrorDetail, ValidationError

PARTIAL_SUFFIX = ".datasetlog-partial"
_NOISE_DIGITS = 16
_HEX = frozenset("0123456789abcdef")
_KINDS = {
    stat.S_IFLNK: "a symlink",
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def temporary_name(name: str) -> str:
    """A fresh name for a temporary of the file ``name``, recognisable as one."""
    return f".{name}.{secrets.token_hex(_NOISE_DIGITS // 2)}{PARTIAL_SUFFIX}"


def is_temporary_of(candidate: str, name: str) -> bool:
    """Whether ``candidate`` is named as :func:`temporary_name` names a temporary of ``name``."""
    prefix = f".{name}."
    noise = candidate[len(prefix) : -len(PARTIAL_SUFFIX)]
    return (
        candidate.startswith(prefix)
        and candidate.endswith(PARTIAL_SUFFIX)
        and len(noise) == _NOISE_DIGITS
        and set(noise) <= _HEX
    )


def kind_of(mode: int) -> str:
    """What a file that is not a regular one is, from its ``st_mode``: ``"a FIFO"``..."""
    return _KINDS.get(stat.S_IFMT(mode), "a special file")


def require_replaceable(path: Path, loc: tuple[str, ...], what: str) -> None:
    """Refuse a destination that exists and is not a regular file (a symlink, a folder, a
    FIFO...): an export replaces only regular files, and never writes through a link.

    Raises:
        ValidationError: It is something else, at ``loc``, naming it as ``what``.
    """
    try:
        mode = os.lstat(path).st_mode
    except OSError:  # absent, or in a folder that cannot be searched: writing will say so
        return
    if not stat.S_ISREG(mode):
        message = f"{what} {str(path)!r} is {kind_of(mode)}; an export replaces only regular files"
        raise ValidationError([ErrorDetail(loc, message, "path")])


def open_regular(path: Path, *, follow_symlinks: bool) -> IO[bytes]:
    """Open a file for reading only if it is a regular file; a FIFO does not block the open.

    Raises:
        OSError: It cannot be opened, or it is not a regular file (or, with
            ``follow_symlinks=False``, it is a symlink); ``strerror`` says which.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            raise OSError(errno.ELOOP, "it is a symlink, not a regular file")
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        if error.errno == errno.ELOOP and not follow_symlinks:  # made a symlink since
            raise OSError(errno.ELOOP, "it is a symlink, not a regular file") from error
        raise
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        raise OSError(errno.EINVAL, f"it is {kind_of(mode)}, not a regular file")
    os.set_blocking(descriptor, True)
    return os.fdopen(descriptor, "rb")


def pending_temporaries(folder: Path, name: str) -> list[str]:
    """The temporaries of ``name`` in ``folder`` (regular files only): an export to it that is
    under way, or that was killed."""
    try:
        entries = os.listdir(folder)
    except OSError:
        return []
    found = []
    for entry in entries:
        if is_temporary_of(entry, name):
            try:
                if stat.S_ISREG(os.lstat(folder / entry).st_mode):
                    found.append(entry)
            except OSError:  # gone since
                continue
    return sorted(found)


class Staged:
    """One file being written through a temporary: write to :attr:`handle`."""

    def __init__(self, name: str, temporary: str, descriptor: int) -> None:
        self.name = name
        self.temporary = temporary
        self.handle = os.fdopen(descriptor, "wb")
        self.mode = stat.S_IMODE(os.fstat(descriptor).st_mode)
        self.durable = False

    def finish(self) -> None:
        """Write back everything written so far, to the disk (a full disk fails here at the
        latest).

        Raises:
            OSError: The disk failed.
        """
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.durable = True


class Staging:
    """Files of one folder written through temporaries, then renamed into place together.

    Use as a context manager: leaving it without :meth:`commit` (an error, a
    Ctrl-C) removes every temporary, so the files it stages stay as they were.

    Raises:
        OSError: The folder cannot be opened.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._folder = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self._files: list[Staged] = []

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *failed: object) -> None:
        try:
            for staged in self._files:
                try:  # unlinked while still held, so no clean-up elsewhere races this one
                    os.unlink(staged.temporary, dir_fd=self._folder)
                except FileNotFoundError:  # renamed into place
                    pass
                finally:
                    with suppress(OSError):  # what a full disk kept buffered is dropped
                        staged.handle.close()
        finally:
            os.close(self._folder)

    def remove_stale(self, name: str) -> None:
        """Remove the temporaries of ``name`` that no live export holds: a killed one's.

        Only regular files named as ours are removed, never through a symlink.
        """
        for entry in os.listdir(self._folder):
            if is_temporary_of(entry, name):
                self._remove_if_abandoned(entry)

    def _remove_if_abandoned(self, entry: str) -> None:
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            if not stat.S_ISREG(self._lstat(entry).st_mode):
                return
            descriptor = os.open(entry, flags, dir_fd=self._folder)
        except OSError:
            return
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while its writer lives
            if self._names(entry, os.fstat(descriptor)):
                os.unlink(entry, dir_fd=self._folder)
        except OSError:
            pass  # held by a live export, or gone: not ours to remove now
        finally:
            os.close(descriptor)

    def add(self, name: str, *, new_mode: int | None = None) -> Staged:
        """Start writing the file ``name``: a temporary beside it, held, with the permissions
        of the regular file it will replace, else ``new_mode``, else those ``open()`` gives.

        Raises:
            OSError: The temporary cannot be made.
        """
        try:
            replaced = self._lstat(name).st_mode
        except FileNotFoundError:
            replaced = 0
        kept = stat.S_IMODE(replaced) if stat.S_ISREG(replaced) else new_mode
        with _ctrl_c_held():  # made and recorded at once, so that leaving always removes it
            staged = self._create(name, kept)
            self._files.append(staged)
        return staged

    def _create(self, name: str, kept: int | None) -> Staged:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        while True:
            temporary = temporary_name(name)
            # Created at most as open as it ends up: a new file gets 0o666 less the umask.
            descriptor = os.open(
                temporary, flags, 0o666 if kept is None else kept, dir_fd=self._folder
            )
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if self._names(temporary, os.fstat(descriptor)):
                    if kept is not None:
                        os.fchmod(descriptor, kept)  # exactly the kept mode, whatever the umask
                    return Staged(name, temporary, descriptor)
            except BlockingIOError:
                pass  # another export's clean-up took it between the open and the flock
            except BaseException:
                self._discard(temporary, descriptor)
                raise
            os.close(descriptor)

    def commit(self) -> None:
        """Make every staged file durable (see :meth:`Staged.finish`), then rename each into
        place, in the order added.

        Raises:
            OSError: A file could not be written back, or the first one not
                renamed; every file keeps its old content.
            DatasetLogError: A rename failed after an earlier one was done: the
                files in place do not belong together.
        """
        for staged in self._files:
            if not staged.durable:
                staged.finish()
        fcntl.flock(self._folder, fcntl.LOCK_EX)  # two exports to one place: one pair at a time
        try:
            with _ctrl_c_held():
                old = [self._link_old(staged.name) for staged in self._files]
                try:
                    self._rename_all()
                finally:
                    for link in old:
                        self._unlink(link)
        finally:
            fcntl.flock(self._folder, fcntl.LOCK_UN)
        _sync_folder(self._folder)

    def _link_old(self, name: str) -> str | None:
        """A second name for the regular file ``name`` replaces, so that the renames over it
        free nothing: freeing a large file's blocks (with a discard, on some disks) can take
        longer than the renames, and would widen the moment between them. Where hard links
        are not to be had, there is none."""
        link = temporary_name(name)
        try:
            if stat.S_ISREG(self._lstat(name).st_mode):
                folder = self._folder
                os.link(name, link, src_dir_fd=folder, dst_dir_fd=folder, follow_symlinks=False)
                return link
        except OSError:
            pass
        return None

    def _unlink(self, name: str | None) -> None:
        if name is not None:
            with suppress(FileNotFoundError):  # another export's clean-up took it
                os.unlink(name, dir_fd=self._folder)

    def _rename_all(self) -> None:
        for done, staged in enumerate(self._files):
            try:
                os.replace(
                    staged.temporary, staged.name, src_dir_fd=self._folder, dst_dir_fd=self._folder
                )
            except OSError as error:
                if not done:
                    raise
                first = self._files[0].name
                raise DatasetLogError(
                    f"{first!r} was replaced but {staged.name!r} could not be "
                    f"({error.strerror}): they do not belong together; export again"
                ) from error

    def _lstat(self, name: str) -> os.stat_result:
        return os.stat(name, dir_fd=self._folder, follow_symlinks=False)

    def _names(self, name: str, opened: os.stat_result) -> bool:
        """Whether ``name`` still is the file open as ``opened``."""
        try:
            now = self._lstat(name)
        except FileNotFoundError:
            return False
        return (now.st_dev, now.st_ino) == (opened.st_dev, opened.st_ino)

    def _discard(self, temporary: str, descriptor: int) -> None:
        try:
            os.unlink(temporary, dir_fd=self._folder)
        finally:
            os.close(descriptor)


def _sync_folder(folder: int) -> None:
    """Make the renames durable. Some file systems cannot fsync a folder (EINVAL): there the
    renames are as durable as the file system makes them."""
    try:
        os.fsync(folder)
    except OSError as error:
        if error.errno != errno.EINVAL:
            raise DatasetLogError(
                f"the export is in place, but its folder could not be written back "
                f"({error.strerror}): it may not survive a power loss"
            ) from error


@contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """Hold a Ctrl-C (SIGINT) that arrives in the block until the block is done.

    Python runs signal handlers in the main thread only, so elsewhere there is
    nothing to hold, nor where the handler was not set from Python. The signal
    is raised again once the previous handler is back, so it acts as it would
    have (a KeyboardInterrupt, by default).
    """
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous is None:
        yield
        return
    caught: list[int] = []

    def hold(number: int, frame: Any) -> None:
        caught.append(number)

    signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            signal.raise_signal(signal.SIGINT)
