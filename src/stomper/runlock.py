"""The run lock: one stomper run that writes per repository at a time.

``<git common dir>/stomper/run.lock`` is a :func:`stomper.locks.async_file_lock`: an ``flock``
the kernel drops when its holder dies (even by ``kill -9``), so a dead owner never blocks
anyone, and a file that exists only while someone holds or waits for it. The holder writes its
pid, start time and command line into it, so a second run that gives up can name the first.
A second run waits up to ``STOMPER_LOCK_WAIT`` seconds (default 10), then exits with that
message (:class:`RunLockedError`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from stomper.errors import FatalError, UsageError
from stomper.locks import LockTimeoutError, async_file_lock

__all__ = ["LOCK_WAIT_ENV", "RunLockedError", "hold_run_lock", "lock_wait", "run_lock_path"]

LOCK_WAIT_ENV = "STOMPER_LOCK_WAIT"
DEFAULT_WAIT_SECONDS = 10.0
log = logging.getLogger(__name__)


class RunLockedError(FatalError):
    """Another stomper run holds the repository for longer than this one would wait."""


def run_lock_path(common: Path) -> Path:
    """The run lock of the repository whose git common dir is ``common``."""
    return common / "stomper" / "run.lock"


def lock_wait() -> float:
    """How long to wait for a running stomper, from ``STOMPER_LOCK_WAIT``."""
    value = os.environ.get(LOCK_WAIT_ENV, "")
    if not value:
        return DEFAULT_WAIT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        raise UsageError(f"{LOCK_WAIT_ENV}={value!r}: expected a number of seconds") from None
    return max(seconds, 0.0)


def _holder(path: Path) -> str:
    """The holder as its lock file describes it: pid, start time, command."""
    try:
        pid, started, command = path.read_text(encoding="utf-8").split("\n", 2)
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(started)))
    except (OSError, ValueError):
        return "a process that did not say who it is"
    return f"pid {pid}, started {when}: {command.strip()}"


def _describe_self(path: Path) -> None:
    """Write who holds the lock into its file (the same inode the lock is on)."""
    text = f"{os.getpid()}\n{time.time():.3f}\n{shlex.join(['stomper', *sys.argv[1:]])}\n"
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode("utf-8", "surrogateescape"))
    finally:
        os.close(fd)


@asynccontextmanager
async def hold_run_lock(common: Path, wait: float) -> AsyncIterator[None]:
    """Hold the repository's run lock inside the block; :class:`RunLockedError` after ``wait``."""
    path = run_lock_path(common)
    async with contextlib.AsyncExitStack() as stack:
        try:
            await stack.enter_async_context(
                async_file_lock(path, timeout=wait, what="stomper run lock")
            )
        except LockTimeoutError:
            raise RunLockedError(
                f"another stomper run is working on this repository ({_holder(path)}); "
                f"waited {wait:g} s. Let it finish, or set {LOCK_WAIT_ENV}=SECONDS to wait longer."
            ) from None
        _describe_self(path)
        yield
