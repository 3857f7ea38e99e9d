"""Built-in plugin ``codex``: the OpenAI Codex CLI (``codex exec``) as an AI agent.

Command (cwd = the sandbox, stdin closed: codex waits forever on an open stdin)::

    codex exec --json --sandbox workspace-write -C SANDBOX --skip-git-repo-check
        [-m MODEL] --ephemeral [ARGS...] PROMPT

``--json`` prints JSON lines: ``turn.completed`` events carry ``usage`` (summed over turns;
``cached_input_tokens`` is part of ``input_tokens``), ``turn.failed`` and ``error`` events say
what went wrong, ``item.completed`` items of type ``agent_message`` hold its last words. Codex
reports tokens only: no dollar cost, no turn cap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stomper import FixOutcome, FixRequest, ProcessResult, hookimpl
from stomper_plugins._agent_support import AgentSettings
from stomper_plugins._cli_agent import (
    CliAgent,
    Invocation,
    count,
    json_objects,
    prompt_argument,
    tail,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from stomper import Agent, Config

NAME = "codex"


@hookimpl
def stomper_register_agents(register: Callable[[Agent], None], config: Config) -> None:
    """Register the ``codex`` agent."""
    register(CodexAgent(config))


class CodexAgent(CliAgent):
    """OpenAI Codex CLI (``codex exec``)."""

    name = NAME
    executable_name = "codex"
    env_allow = (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_ORG_ID",
        "CODEX_HOME",
        "CODEX_API_KEY",
    )

    def command(
        self, program: str, request: FixRequest, settings: AgentSettings, prompt: str, scratch: Path
    ) -> Invocation:
        """``codex exec --json ... PROMPT`` with stdin closed."""
        argv = [program, "exec", "--json", "--sandbox", "workspace-write", "-C", str(request.root)]
        argv.append("--skip-git-repo-check")
        if settings.model:
            argv += ["-m", settings.model]
        argv += ["--ephemeral", *settings.args, prompt_argument(prompt)]
        return Invocation(argv)

    def parse(self, result: ProcessResult, settings: AgentSettings) -> FixOutcome:
        """Sum the turns' usage; any ``turn.failed`` or ``error`` event is a failure."""
        events = json_objects(result.stdout)
        failures = [_failure_text(event) for event in events if _is_failure(event)]
        usages = [event.get("usage") for event in events if event.get("type") == "turn.completed"]
        completed = bool(usages)
        claimed = completed and not failures and result.returncode == 0
        if failures:
            message = f"codex failed: {failures[-1]}"
        elif not completed:
            detail = tail(result.stderr) or "no completed turn"
            message = f"codex exited {result.returncode}: {detail}"
        else:
            message = f"codex finished: {_last_message(events)}".rstrip(": ")
        return self.outcome(claimed, message, **_usage(usages))


def _is_failure(event: dict[str, Any]) -> bool:
    return event.get("type") in ("turn.failed", "error")


def _failure_text(event: dict[str, Any]) -> str:
    error = event.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(event.get("message") or error or event.get("type"))


def _last_message(events: list[dict[str, Any]]) -> str:
    for event in reversed(events):
        item = event.get("item")
        completed = event.get("type") == "item.completed" and isinstance(item, dict)
        if completed and item.get("type") == "agent_message":
            return tail(str(item.get("text") or ""))
    return ""


def _usage(usages: list[Any]) -> dict[str, int | None]:
    def total(key: str) -> int | None:
        values = [count(usage.get(key)) for usage in usages if isinstance(usage, dict)]
        present = [value for value in values if value is not None]
        return sum(present) if present else None

    return {"input_tokens": total("input_tokens"), "output_tokens": total("output_tokens")}
