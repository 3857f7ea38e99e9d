"""What a run tells its caller while it works: stages, validated fixes, and agent wrapping.

The engine prints nothing; a command that wants a live display, a patch bundle or a result
cache passes :class:`RunEvents` to :func:`stomper.engine.run_fix`. Every callback runs on the
event loop's thread, so it must be quick and must not block.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from stomper.types import Agent

log = logging.getLogger(__name__)

# (path, stage, detail). path "" is the run itself (stage "collecting").
StageCallback = Callable[[str, str, str], None]
# (path, original bytes, validated bytes): a fix every validator accepted, before write-back.
ValidatedCallback = Callable[[str, bytes, bytes], None]
AgentWrapper = Callable[["Agent"], "Agent"]

STAGES = ("collecting", "queued", "sandbox", "fixing", "validating", "writing", "committing")


class RunEvents(NamedTuple):
    """Optional callbacks a run calls; all default to None (nothing is told)."""

    on_stage: StageCallback | None = None
    on_validated: ValidatedCallback | None = None
    wrap_agent: AgentWrapper | None = None


def emit_stage(events: RunEvents, path: str, stage: str, detail: str = "") -> None:
    """Tell the caller ``path`` reached ``stage``; a failing callback is logged, never raised
    (raising inside a file's branch would cancel every other file)."""
    if events.on_stage is None:
        return
    try:
        events.on_stage(path, stage, detail)
    except Exception:
        log.warning("stage callback failed for %s", path or "the run", exc_info=True)


def emit_validated(events: RunEvents, path: str, original: bytes, fixed: bytes) -> None:
    """Tell the caller a validated fix of ``path`` is about to be applied (or bundled)."""
    if events.on_validated is None:
        return
    try:
        events.on_validated(path, original, fixed)
    except Exception:
        log.warning("validated callback failed for %s", path, exc_info=True)
