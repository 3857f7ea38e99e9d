"""Built-in plugin ``gemini``: the Gemini CLI in non-interactive mode as an AI agent.

Command (cwd = the sandbox)::

    gemini -p PROMPT --output-format json --approval-mode auto_edit [-m MODEL] [ARGS...]

Edit tools are off in non-interactive mode unless approved; ``auto_edit`` approves edits only
(no shell). Output: ``{"session_id", "response", "stats", "error"?}``; ``stats.models``
holds token counts per model, summed here. Exit codes are mapped to messages in
:data:`EXIT_CODES`.
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

NAME = "gemini"
EXIT_CODES = {
    1: "general error",
    41: "authentication failed (check GEMINI_API_KEY or the Google credentials)",
    42: "bad input (the prompt or arguments were rejected)",
    52: "configuration error (check the Gemini CLI settings)",
    53: "stopped at the turn limit",
    54: "a tool failed fatally",
    130: "interrupted",
}
# Older and newer releases name the counters differently.
_INPUT_KEYS = ("prompt", "input")
_OUTPUT_KEYS = ("candidates", "output")


@hookimpl
def stomper_register_agents(register: Callable[[Agent], None], config: Config) -> None:
    """Register the ``gemini`` agent."""
    register(GeminiAgent(config))


class GeminiAgent(CliAgent):
    """Gemini CLI (``gemini -p``)."""

    name = NAME
    executable_name = "gemini"
    env_allow = ("GEMINI_*", "GOOGLE_*")

    def command(
        self, program: str, request: FixRequest, settings: AgentSettings, prompt: str, scratch: Path
    ) -> Invocation:
        """``gemini -p PROMPT --output-format json --approval-mode auto_edit ...``."""
        argv = [program, "-p", prompt_argument(prompt), "--output-format", "json"]
        argv += ["--approval-mode", "auto_edit"]
        if settings.model:
            argv += ["-m", settings.model]
        return Invocation([*argv, *settings.args])

    def parse(self, result: ProcessResult, settings: AgentSettings) -> FixOutcome:
        """Read ``response``, ``error`` and the per-model token stats; explain the exit code."""
        objects = json_objects(result.stdout)
        document = objects[-1] if objects else {}
        error = _error_text(document.get("error"))
        claimed = result.returncode == 0 and not error and bool(objects)
        if claimed:
            response = tail(str(document.get("response") or ""))
            message = f"gemini finished: {response}" if response else "gemini finished"
        else:
            meaning = EXIT_CODES.get(result.returncode, f"exit code {result.returncode}")
            if result.returncode == 0:
                meaning = "no result" if not objects else "reported an error"
            detail = error or tail(result.stderr) or tail(result.stdout)
            message = f"gemini {meaning}" + (f": {detail}" if detail else "")
        return self.outcome(claimed, message, **_tokens(document.get("stats")))


def _error_text(error: object) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error.get("type") or error)
    return str(error) if error else ""


def _tokens(stats: object) -> dict[str, Any]:
    models = stats.get("models") if isinstance(stats, dict) else None
    if not isinstance(models, dict):
        return {}
    totals: dict[str, int | None] = {"input_tokens": None, "output_tokens": None}
    for model in models.values():
        tokens = model.get("tokens") if isinstance(model, dict) else None
        if not isinstance(tokens, dict):
            continue
        for field, keys in (("input_tokens", _INPUT_KEYS), ("output_tokens", _OUTPUT_KEYS)):
            value = next((count(tokens[key]) for key in keys if key in tokens), None)
            if value is not None:
                totals[field] = (totals[field] or 0) + value
    return totals
