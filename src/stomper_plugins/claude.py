"""Built-in plugin ``claude``: Claude Code in print mode as an AI agent.

Command (cwd = the sandbox)::

    claude -p PROMPT --output-format json --permission-mode acceptEdits
        --allowedTools "Read,Edit,Write,Glob,Grep" --max-turns N
        [--max-budget-usd X] [--model M] [ARGS...]

``acceptEdits`` plus an explicit tool list is what lets ``-p`` mode edit (``dontAsk`` denies
writes even when allowed); no shell tool, so the agent cannot run git or anything else. A
prompt too long for one argument goes on stdin instead. Output: one ``result`` object, or a
JSON array of messages whose last ``result`` element counts. Options in
``[tool.stomper.plugins.claude]``: the common ones plus ``max_turns`` (default 10) and
``max_budget_usd``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stomper import FixOutcome, FixRequest, ProcessResult, ToolError, hookimpl
from stomper_plugins._agent_support import AgentSettings
from stomper_plugins._cli_agent import (
    CliAgent,
    Invocation,
    count,
    json_objects,
    last_of_type,
    number,
    prompt_argument,
    tail,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from stomper import Agent, Config

NAME = "claude"
DEFAULT_MAX_TURNS = 10
ALLOWED_TOOLS = "Read,Edit,Write,Glob,Grep"
_INPUT_KEYS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


@hookimpl
def stomper_register_agents(register: Callable[[Agent], None], config: Config) -> None:
    """Register the ``claude`` agent."""
    register(ClaudeAgent(config))


class ClaudeAgent(CliAgent):
    """Claude Code (``claude -p``)."""

    name = NAME
    executable_name = "claude"
    env_allow = (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_MODEL",
        "CLAUDE_CODE_*",
        "CLAUDE_CONFIG_DIR",
    )
    extra_options = ("max_turns", "max_budget_usd")

    def command(
        self, program: str, request: FixRequest, settings: AgentSettings, prompt: str, scratch: Path
    ) -> Invocation:
        """``claude -p PROMPT ...``, or the prompt on stdin when it is too long for argv."""
        turns = settings.max_turns or DEFAULT_MAX_TURNS
        flags = [
            "--output-format",
            "json",
            "--permission-mode",
            "acceptEdits",
            "--allowedTools",
            ALLOWED_TOOLS,
            "--max-turns",
            str(turns),
        ]
        if settings.max_budget_usd is not None:
            flags += ["--max-budget-usd", f"{settings.max_budget_usd:g}"]
        if settings.model:
            flags += ["--model", settings.model]
        flags += settings.args
        try:
            return Invocation([program, "-p", prompt_argument(prompt), *flags])
        except ToolError:
            return Invocation([program, "-p", *flags], stdin=prompt.encode())

    def parse(self, result: ProcessResult, settings: AgentSettings) -> FixOutcome:
        """Read the ``result`` object: subtype, ``is_error``, cost and token usage."""
        final = last_of_type(json_objects(result.stdout), "result")
        if final is None:
            detail = tail(result.stderr) or tail(result.stdout) or "no output"
            return self.outcome(False, f"claude exited {result.returncode}: {detail}")
        subtype = final.get("subtype")
        is_error = final.get("is_error") is True
        claimed = subtype == "success" and not is_error and result.returncode == 0
        return self.outcome(
            claimed,
            _message(final, settings, claimed),
            cost_usd=number(final.get("total_cost_usd")),
            **_tokens(final.get("usage")),
        )


def _message(final: dict[str, Any], settings: AgentSettings, claimed: bool) -> str:
    subtype = final.get("subtype")
    turns = final.get("num_turns")
    text = tail(str(final.get("result") or ""))
    if subtype == "error_max_turns":
        limit = settings.max_turns or DEFAULT_MAX_TURNS
        return f"claude stopped at the turn limit (--max-turns {limit}) after {turns} turns"
    if subtype == "error_max_budget_usd":
        return f"claude stopped at the budget limit (--max-budget-usd {settings.max_budget_usd})"
    if not claimed:
        return f"claude reported an error ({subtype}): {text or 'no details'}"
    return f"claude finished in {turns} turns: {text}" if text else "claude finished"


def _tokens(usage: object) -> dict[str, Any]:
    if not isinstance(usage, dict):
        return {}
    inputs = [count(usage.get(key)) for key in _INPUT_KEYS]
    present = [value for value in inputs if value is not None]
    return {
        "input_tokens": sum(present) if present else None,
        "output_tokens": count(usage.get("output_tokens")),
    }
