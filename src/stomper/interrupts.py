"""Ctrl-C during a run: the first one stops it cleanly, a second one stops it at once.

First SIGINT: the run's task is cancelled (no new file starts, every agent's process group is
terminated by its runner, a write-back or commit already in a thread finishes), the sandboxes
and the snapshot are cleaned up as on any exit, and the run ends with :class:`KeyboardInterrupt`
(exit 130; :func:`account` is the one line the CLI prints). Second SIGINT: every agent group is
killed and the process exits 130 at once; its journal then lets the next start (or ``stomper
clean``) finish the cleanup. A Python-level handler runs even while the event loop is blocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

from stomper.journal import Journal

__all__ = ["INTERRUPTED_EXIT", "account", "add_to_account", "handle_interrupts"]

INTERRUPTED_EXIT = 130


class _Last:
    """What the last interrupted run of this process did."""

    account = "interrupted"


def account() -> str:
    """One line saying what the last interrupted run did before it stopped."""
    return _Last.account


def add_to_account(text: str) -> None:
    """Append ``text`` to the account (the one line an interrupted run ends with)."""
    _Last.account = f"{_Last.account}; {text}"


def _signal_groups(journal: Journal, signum: int) -> None:
    for pid in list(journal.processes):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signum)


def _hard_exit(journal: Journal) -> None:
    _signal_groups(journal, signal.SIGKILL)
    message = (
        "stomper: interrupted twice: stopped at once; the next `stomper fix` or "
        "`stomper clean` removes what this run left\n"
    )
    with contextlib.suppress(OSError):
        os.write(2, message.encode())
    os._exit(INTERRUPTED_EXIT)


def _summary(journal: Journal) -> str:
    written, committed = len(journal.written), journal.committed
    done = f"{written} fix{'es' if written != 1 else ''} written ({committed} committed)"
    return f"interrupted: no new file started, agents stopped, cleaned up; {done}"


@contextlib.contextmanager
def handle_interrupts(journal: Journal) -> Iterator[None]:
    """Handle SIGINT as above for the current task, inside the block (main thread only)."""
    task = asyncio.current_task()
    if task is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    count = 0

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        nonlocal count
        count += 1
        if count > 1:
            _hard_exit(journal)
        _signal_groups(journal, signal.SIGTERM)
        loop.call_soon_threadsafe(task.cancel)

    previous: Any = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    except asyncio.CancelledError:
        if not count:
            raise
        _Last.account = _summary(journal)
        raise KeyboardInterrupt from None
    finally:
        signal.signal(signal.SIGINT, previous)
    if count:  # the run finished before the cancellation reached it
        _Last.account = _summary(journal)
        raise KeyboardInterrupt
