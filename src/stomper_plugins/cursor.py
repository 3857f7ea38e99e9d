"""Built-in plugin ``cursor``: ``cursor-agent`` in print mode as an AI agent.

Command (cwd = the sandbox)::

    cursor-agent -p --force --output-format json [--model M] --workspace SANDBOX [ARGS...] PROMPT

Without ``--force`` it only proposes changes. Output: ``{"type": "result", "subtype",
"is_error", "result", "duration_ms", "session_id"}``, no token usage. cursor-agent sometimes
never exits after printing its result: the ``result`` line counts as done, and the process
group is killed after a short grace.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from stomper import FixOutcome, FixRequest, ProcessResult, hookimpl
from stomper_plugins._agent_support import AgentSettings
from stomper_plugins._cli_agent import (
    CliAgent,
    Invocation,
    json_objects,
    last_of_type,
    prompt_argument,
    tail,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from stomper import Agent, Config

NAME = "cursor"


@hookimpl
def stomper_register_agents(register: Callable[[Agent], None], config: Config) -> None:
    """Register the ``cursor`` agent."""
    register(CursorAgent(config))


class CursorAgent(CliAgent):
    """cursor-agent (``cursor-agent -p --force``)."""

    name = NAME
    executable_name = "cursor-agent"
    env_allow = ("CURSOR_API_KEY",)

    def command(
        self, program: str, request: FixRequest, settings: AgentSettings, prompt: str, scratch: Path
    ) -> Invocation:
        """``cursor-agent -p --force --output-format json ... PROMPT``."""
        argv = [program, "-p", "--force", "--output-format", "json"]
        if settings.model:
            argv += ["--model", settings.model]
        argv += ["--workspace", str(request.root), *settings.args, prompt_argument(prompt)]
        return Invocation(argv)

    def done_line(self, line: str) -> bool:
        """The ``result`` event is the last thing cursor-agent prints."""
        stripped = line.strip()
        if not stripped.startswith("{"):
            return False
        try:
            event = json.loads(stripped)
        except ValueError:
            return False
        return isinstance(event, dict) and event.get("type") == "result"

    def parse(self, result: ProcessResult, settings: AgentSettings) -> FixOutcome:
        """Read the ``result`` object; after it, a kill is not a failure."""
        final = last_of_type(json_objects(result.stdout), "result")
        if final is None:
            detail = tail(result.stderr) or tail(result.stdout) or "no output"
            return self.outcome(False, f"cursor-agent exited {result.returncode}: {detail}")
        text = tail(str(final.get("result") or ""))
        exited_ok = result.returncode == 0 or result.finished_early
        claimed = final.get("subtype") == "success" and final.get("is_error") is not True
        claimed = claimed and exited_ok
        if not claimed:
            message = f"cursor-agent reported an error ({final.get('subtype')}): {text}"
        else:
            message = f"cursor-agent finished: {text}" if text else "cursor-agent finished"
        if result.finished_early and result.returncode != 0:
            message += " (it did not exit after its result and was stopped)"
        return self.outcome(claimed, message)
