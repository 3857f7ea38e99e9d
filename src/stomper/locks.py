"""Exclusive locks shared by threads and processes, that leave no lock file behind.

A lock is an ``fcntl.flock`` on a file plus a per-path :class:`threading.Lock` (so threads of
one process queue cheaply instead of polling). The holder unlinks the file before unlocking it;
a waiter that then wins the ``flock`` notices that its file is no longer the one at ``path`` and
starts again. So a lock file exists only while someone holds or waits for the lock, and a
crashed holder (even ``kill -9``) frees the lock at once: the kernel drops its ``flock``.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from stomper.errors import FatalError

__all__ = ["LockTimeoutError", "async_file_lock", "file_lock"]

_POLL_SECONDS = 0.02
_registry_lock = threading.Lock()
_thread_locks: dict[str, threading.Lock] = {}


class LockTimeoutError(FatalError):
    """The lock stayed taken for longer than the caller was willing to wait."""


def _thread_lock(key: str) -> threading.Lock:
    with _registry_lock:
        return _thread_locks.setdefault(key, threading.Lock())


def _holder(path: Path) -> str:
    """Who holds the lock, as far as its file says (for the timeout message)."""
    try:
        pid = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (held by process {pid})" if pid.isdigit() else ""


def _timed_out(path: Path, what: str, timeout: float | None) -> LockTimeoutError:
    return LockTimeoutError(f"timed out after {timeout:g} s waiting for the {what}{_holder(path)}")


def _flock(fd: int, deadline: float | None) -> bool:
    """Take the flock on ``fd``; False when ``deadline`` passes first."""
    if deadline is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return True
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_SECONDS)
        else:
            return True


def _open(path: Path) -> int:
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:
            continue  # the parent was removed by a cleaner between mkdir and open


def _acquire(path: Path, deadline: float | None, what: str, timeout: float | None) -> int:
    while True:
        fd = _open(path)
        try:
            if not _flock(fd, deadline):
                raise _timed_out(path, what, timeout)
            current = os.stat(path)
        except FileNotFoundError:
            os.close(fd)  # the previous holder unlinked it while we waited: try again
            continue
        except BaseException:
            os.close(fd)
            raise
        mine = os.fstat(fd)
        if (current.st_dev, current.st_ino) == (mine.st_dev, mine.st_ino):
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)


def _release(path: Path, fd: int) -> None:
    # Unlink first, unlock second: a waiter never ends up holding a file nobody can find.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    os.close(fd)


@contextmanager
def file_lock(path: Path, *, timeout: float | None = None, what: str = "lock") -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (threads and processes alike) inside the block.

    ``timeout`` (seconds, None = wait for ever) raises :class:`LockTimeoutError`, naming ``what``
    and the holder's pid. The lock file is created on entry and removed on exit.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    thread_lock = _thread_lock(os.path.abspath(path))
    if not thread_lock.acquire(timeout=-1 if timeout is None else max(timeout, 0.0)):
        raise _timed_out(path, what, timeout)
    try:
        fd = _acquire(path, deadline, what, timeout)
        try:
            yield
        finally:
            _release(path, fd)
    finally:
        thread_lock.release()


@asynccontextmanager
async def async_file_lock(
    path: Path, *, timeout: float | None = None, what: str = "lock"
) -> AsyncIterator[None]:
    """:func:`file_lock` for async code: the wait happens in a thread, never in the loop."""
    manager = file_lock(path, timeout=timeout, what=what)
    waiting = asyncio.ensure_future(asyncio.to_thread(manager.__enter__))
    try:
        await asyncio.shield(waiting)
    except asyncio.CancelledError:
        # The thread may still win the lock after we were cancelled: give it back then.
        waiting.add_done_callback(lambda done: _exit_if_entered(manager, done))
        raise
    try:
        yield
    finally:
        manager.__exit__(None, None, None)  # unlink + close: quick, and safe under cancellation


def _exit_if_entered(
    manager: contextlib.AbstractContextManager[None], done: asyncio.Future[None]
) -> None:
    if not done.cancelled() and done.exception() is None:
        manager.__exit__(None, None, None)
