"""Fault injection: named points of a run where ``STOMPER_FAULT=<point>:<action>`` acts.

The safety suite kills, breaks or stalls a real ``stomper fix`` at each point and then checks
that the user's repository is intact and that the next start cleans up. Without the variable
a point costs one dictionary lookup.

Actions: ``kill9`` (the process SIGKILLs itself: no ``finally``, no ``atexit``), ``raise``
(:class:`InjectedFaultError`, an ordinary exception), ``sleep`` or ``sleep=SECONDS`` (default an
hour; the async form sleeps without blocking the event loop). Several faults may be given,
comma-separated; ``<point>:<action>@N`` acts on the N-th time the point is reached only.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections import Counter
from typing import NamedTuple

__all__ = ["ENV", "POINTS", "InjectedFaultError", "afault", "fault"]

ENV = "STOMPER_FAULT"
POINTS = (
    "sandbox-created",  # a sandbox was leased to a file, before its agent chain starts
    "agent-running",  # an agent's process group was just started
    "before-write",  # the compare with the expected bytes passed, nothing written yet
    "during-write",  # the temporary file holds the fix, not yet renamed over the target
    "commit-recorded",  # the journal names the index.lock to come, which is not there yet
    "before-commit",  # index.lock is held, nothing committed
    "during-commit",  # HEAD moved to the fix commit, the index not yet replaced
    "cleanup",  # the sandboxes are being removed at the end of the run
)
_DEFAULT_SLEEP = 3600.0
_reached: Counter[str] = Counter()
_reached_lock = threading.Lock()


class InjectedFaultError(RuntimeError):
    """Raised at a fault point whose action is ``raise``."""


class _Action(NamedTuple):
    name: str
    seconds: float


def _action(point: str) -> _Action | None:
    spec = os.environ.get(ENV)
    if not spec:
        return None
    with _reached_lock:
        _reached[point] += 1
        count = _reached[point]
    for item in spec.split(","):
        where, _, what = item.strip().partition(":")
        what, _, nth = what.partition("@")
        if where != point or (nth and int(nth) != count):
            continue
        name, _, seconds = what.partition("=")
        return _Action(name, float(seconds) if seconds else _DEFAULT_SLEEP)
    return None


def _act(point: str, action: _Action) -> None:
    if action.name == "kill9":
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(60)  # the signal is delivered before this returns
    if action.name == "raise":
        raise InjectedFaultError(f"fault injected at {point}")
    if action.name != "sleep":
        raise ValueError(f"{ENV}: unknown action {action.name!r} (kill9, raise, sleep)")


def fault(point: str) -> None:
    """Act on ``point`` if ``STOMPER_FAULT`` names it (blocking sleep: for threads)."""
    action = _action(point)
    if action is None:
        return
    _act(point, action)
    if action.name == "sleep":
        time.sleep(action.seconds)


async def afault(point: str) -> None:
    """:func:`fault` for async code: a ``sleep`` leaves the event loop running."""
    action = _action(point)
    if action is None:
        return
    _act(point, action)
    if action.name == "sleep":
        await asyncio.sleep(action.seconds)
