"""An AI agent plugin for real ``stomper`` subprocesses, installed through an entry point.

Its behaviour comes from ``SAFETY_AGENT`` in stomper's environment:

- ``fix`` (default): start an agent process (so the ``agent-running`` fault point is reached),
  then rename the variable ``l`` (E741) to ``length`` in the target;
- ``slow-fix``: the same, the process sleeping ``SAFETY_SECONDS`` (default 3) first;
- ``hang``: a process that sleeps for ever, until stomper kills its group;
- ``hang-trap``: a process that ignores SIGTERM and touches ``$SAFETY_TERMED`` when it gets it
  (and ``$SAFETY_TERMED.ready`` once it is ready to);
- ``grow-signature``: give ``def f(x)`` in the target a second parameter (breaks its callers).

With ``SAFETY_ONLY`` set to a path, every other file gets the default ``fix``.

Every process it starts carries ``stomper-safety-agent-$SAFETY_TAG`` in its command line, so
the tests can find any that outlive their run.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

from stomper import FixOutcome, FixRequest, hookimpl

MARKER = "stomper-safety-agent"
_SLEEP = "import sys, time; time.sleep(float(sys.argv[1]))"
# It says when the trap is set (``$SAFETY_TERMED.ready``): a SIGTERM sent before that, as soon
# as the process shows, would end the shell instead of being trapped.
_TRAP = 'trap "touch \\"$1\\"" TERM; touch "$1.ready"; while :; do sleep 0.1; done'


def _argv(behaviour: str) -> list[str]:
    marker = f"{MARKER}-{os.environ.get('SAFETY_TAG', '')}"
    if behaviour == "hang":
        return [sys.executable, "-c", _SLEEP, "417", marker]
    if behaviour == "hang-trap":
        termed = os.environ.get("SAFETY_TERMED", "/dev/null")
        return ["sh", "-c", _TRAP, marker, termed]
    seconds = os.environ.get("SAFETY_SECONDS", "3") if behaviour == "slow-fix" else "0.2"
    return [sys.executable, "-c", _SLEEP, seconds, marker]


def _edit(request: FixRequest, behaviour: str) -> None:
    target = request.root / request.path
    text = target.read_bytes()
    if behaviour == "grow-signature":
        text = text.replace(b"def f(x: int) -> int:", b"def f(x: int, y: int) -> int:")
    else:
        text = re.sub(rb"\bl\b", b"length", text)
    target.write_bytes(text)


class SafetyAgent:
    """The agent: its process first, then its edit."""

    name = "safety"
    kind = "ai"

    def available(self) -> str | None:
        """Always ready."""
        return None

    async def fix(self, request: FixRequest) -> FixOutcome:
        """Run the behaviour's process, then edit the target as the behaviour says."""
        from stomper.agent_process import agent_env, run_agent_process

        behaviour = os.environ.get("SAFETY_AGENT", "fix")
        if os.environ.get("SAFETY_ONLY", request.path) != request.path:
            behaviour = "fix"
        await run_agent_process(
            _argv(behaviour), request.root, env=agent_env(), timeout=request.timeout
        )
        _edit(request, behaviour)
        return FixOutcome(self.name, claimed_success=True, message="done")


@hookimpl
def stomper_register_agents(register: Any, config: Any) -> None:
    """Register the safety agent."""
    register(SafetyAgent())
