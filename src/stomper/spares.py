"""Temporary files for batched write-backs, made ahead and reused from run to run.

A write-back replaces each file atomically by a temporary file holding the fix. Making that
file and freeing the replaced one each cost an inode; on some file systems that is most of a
write-back: ext4 without a journal, common on cloud VMs, skips every inode freed in the last
seconds (minutes, while not yet written back) each time it looks for a free one, reading each
one's record, so a new file costs up to 0.6 ms there after many were freed. So the batched
write-back (:func:`stomper.apply.write_back_many`):

- takes its temporary files from ``<git common dir>/stomper/spare``, where the last batched
  write-back left them, and makes the missing ones, while the fixes are proven (:func:`claim`);
- writes each fix over one of them from its start and cuts it to length (:func:`fill`);
- swaps it with the target in one atomic ``renameat2(RENAME_EXCHANGE)`` where the kernel and
  the file system have it (Linux), so the replaced file is not freed but takes the temporary
  file's place (:func:`swap_in`); elsewhere a plain rename replaces the target;
- hands the directory back as the next run's spares (:func:`keep`).

A file is reused only while it is a regular file of ours with one link, no extended attribute
(an ACL, a security label) and no open file anywhere referring to it (a process that had the
replaced file open, an editor say, could write into it; a write lease is granted only when no
other open file does, so claiming probes with one); any other is removed and a new one made,
so a fix never lands in someone's hard link or open file, and never carries another file's
attributes. Replaced files
larger than :data:`KEEP_AT_MOST_BYTES` are not kept. The spare directory (mode 0700, in the git
directory, like the snapshot's objects it holds earlier versions of fixed files) can always be
deleted; a run that dies loses its spares with its run directory.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import secrets
import stat
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "KEEP_AT_MOST",
    "KEEP_AT_MOST_BYTES",
    "claim",
    "discard",
    "fill",
    "keep",
    "spare_dir",
    "swap_in",
]

KEEP_AT_MOST = 4096  # spare files kept for the next run
KEEP_AT_MOST_BYTES = 64 * 1024  # a replaced file larger than this is not kept
_SUFFIX = ".stomper"
_FLAGS = os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
# renameat2 errors meaning "not here": no such call, or not on this file system.
_UNSUPPORTED = {errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP}


def spare_dir(common: Path) -> Path:
    """Where the last batched write-back left its temporary files."""
    return common / "stomper" / "spare"


def claim(common: Path, directory: Path, count: int) -> list[Path]:
    """``count`` temporary files in ``directory`` (made here, mode 0700): the spares, moved
    there in one rename (one run at a time gets them), checked, and new ones for the rest.
    Once there, only the user's own processes could open them by name (mode 0700)."""
    try:
        os.rename(spare_dir(common), directory)
        os.chmod(directory, 0o700)
    except OSError:
        directory.mkdir(mode=0o700, exist_ok=True)
    found: list[Path] = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if len(found) == count:
                break  # the others stay spares
            path = Path(entry.path)
            if _reusable(path) and not _open_elsewhere(path):
                found.append(path)
            else:
                _remove(path)
    prefix = secrets.token_hex(4)
    for number in range(count - len(found)):
        path = directory / f"{prefix}-{number}{_SUFFIX}"
        os.close(os.open(path, _FLAGS | os.O_CREAT | os.O_EXCL, 0o600))
        found.append(path)
    return found


def fill(path: Path, content: bytes, mode: int) -> None:
    """Make the temporary file ``path`` hold exactly ``content``, with ``mode``; OSError when
    it is not a file of ours with one link (the caller then makes its own)."""
    fd = os.open(path, _FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            raise OSError(errno.EEXIST, "not a temporary file of ours", str(path))
        view, offset = memoryview(content), 0
        while offset < len(view):
            offset += os.pwrite(fd, view[offset:], offset)
        os.ftruncate(fd, len(content))
        if stat.S_IMODE(info.st_mode) != mode:
            os.fchmod(fd, mode)
    finally:
        os.close(fd)


def swap_in(temporary: str, target: Path) -> bool:
    """Put ``temporary`` at ``target`` atomically. True: they were exchanged and the replaced
    file is now at ``temporary`` (removed there unless it can be a spare); False: renamed over
    the target, ``temporary`` is gone. FileNotFoundError when the target is missing."""
    exchange = _exchange()
    if exchange is not None:
        if exchange(os.fsencode(temporary), os.fsencode(target)) == 0:
            if not _reusable(Path(temporary), KEEP_AT_MOST_BYTES):
                _remove(Path(temporary))
            return True
        code = ctypes.get_errno()
        if code not in _UNSUPPORTED:
            raise OSError(code, os.strerror(code), str(target))
    os.replace(temporary, target)
    return False


def keep(directory: Path, common: Path) -> None:
    """Leave the files in ``directory`` (the run's, after its write-back) for the next run;
    when another run already left spares, ``directory`` stays for its run's clean-up."""
    with os.scandir(directory) as entries:
        extra = [entry.path for number, entry in enumerate(entries) if number >= KEEP_AT_MOST]
    for path in extra:
        _remove(Path(path))
    spare = spare_dir(common)
    with contextlib.suppress(OSError):
        spare.parent.mkdir(parents=True, exist_ok=True)
        os.rename(directory, spare)


def discard(common: Path) -> int:
    """Remove the spares (``stomper clean``); how many files there were."""
    import shutil

    spare = spare_dir(common)
    try:
        count = len(os.listdir(spare))
    except OSError:
        return 0
    shutil.rmtree(spare, ignore_errors=True)
    return count


def _reusable(path: Path, largest: int | None = None) -> bool:
    """A regular file of ours with one link and no extended attribute (no larger than
    ``largest`` bytes, when given)."""
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            return False
        if info.st_uid != os.geteuid() or (largest is not None and info.st_size > largest):
            return False
        listxattr = getattr(os, "listxattr", None)
        return listxattr is None or not listxattr(path, follow_symlinks=False)
    except OSError:
        return False


def _open_elsewhere(path: Path) -> bool:
    """Whether an open file other than ours (a descriptor or a mapping, in any process) may
    refer to the file at ``path``: the kernel grants a write lease only when none does. Without
    leases (off Linux) there is no exchange either, and spares are only files stomper made."""
    setlease = getattr(fcntl, "F_SETLEASE", None)
    if setlease is None:
        return _exchange() is not None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return True
    try:
        fcntl.fcntl(fd, setlease, fcntl.F_WRLCK)
        fcntl.fcntl(fd, setlease, fcntl.F_UNLCK)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _remove(path: Path) -> None:
    import shutil

    with contextlib.suppress(OSError):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()


_exchange_function: list[Callable[[bytes, bytes], int] | None] = []


def _exchange() -> Callable[[bytes, bytes], int] | None:
    """``renameat2(..., RENAME_EXCHANGE)`` as a function of two paths; None off Linux or
    without it in the C library."""
    if not _exchange_function:
        _exchange_function.append(_load_exchange() if sys.platform == "linux" else None)
    return _exchange_function[0]


def _load_exchange() -> Callable[[bytes, bytes], int] | None:
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    renameat2.argtypes += [ctypes.c_uint]
    renameat2.restype = ctypes.c_int

    def exchange(first: bytes, second: bytes) -> int:
        result: int = renameat2(_AT_FDCWD, first, _AT_FDCWD, second, _RENAME_EXCHANGE)
        return result

    return exchange
