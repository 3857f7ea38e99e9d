"""Built-in plugin ``aider``: aider in one-shot mode as an AI agent.

Command (cwd = the sandbox)::

    aider --model M --edit-format diff --yes-always --no-auto-commits --no-dirty-commits
        --no-pretty --no-stream --no-check-update --no-analytics --map-tokens 0
        --message-file PROMPT_FILE --no-auto-lint --no-gitignore
        --chat-history-file SCRATCH/chat.md --input-history-file SCRATCH/input [ARGS...] FILE

The documented command, plus four flags that keep aider's side effects out of the sandbox
(its lint loop: stomper validates; ``.aider*`` lines it would add to ``.gitignore``; the two
history files it would create in the repository root): any of those is a second changed file
and the scope check would reject every fix. The prompt file and histories live in a private
directory outside the sandbox, removed afterwards. Output is for people only: the result is
read from the sandbox, ``claimed_success`` is the exit code, and the "Tokens: ... Cost: ..."
lines are summed when present. ``model`` is required.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from stomper import FixOutcome, FixRequest, ProcessResult, ToolError, hookimpl
from stomper_plugins._agent_support import AgentSettings
from stomper_plugins._cli_agent import CliAgent, Invocation, path_argument, tail

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from stomper import Agent, Config

NAME = "aider"
FLAGS = (
    "--edit-format",
    "diff",
    "--yes-always",
    "--no-auto-commits",
    "--no-dirty-commits",
    "--no-pretty",
    "--no-stream",
    "--no-check-update",
    "--no-analytics",
    "--map-tokens",
    "0",
)
_USAGE = re.compile(
    r"Tokens: ([\d.]+)([kM]?) sent, ([\d.]+)([kM]?) received\.(?: Cost: \$([\d.]+) message)?"
)
_SCALE = {"": 1, "k": 1_000, "M": 1_000_000}


@hookimpl
def stomper_register_agents(register: Callable[[Agent], None], config: Config) -> None:
    """Register the ``aider`` agent."""
    register(AiderAgent(config))


class AiderAgent(CliAgent):
    """aider (``aider --message-file ... FILE``)."""

    name = NAME
    executable_name = "aider"
    # aider talks to many providers through litellm; these are the keys it reads.
    env_allow = (
        "OPENAI_API_KEY",
        "OPENAI_API_BASE",
        "ANTHROPIC_API_KEY",
        "GEMINI_API_KEY",
        "DEEPSEEK_API_KEY",
        "OPENROUTER_API_KEY",
        "GROQ_API_KEY",
        "MISTRAL_API_KEY",
        "XAI_API_KEY",
        "OLLAMA_API_BASE",
    )

    def available(self) -> str | None:
        """aider picks a model by itself when told none; stomper wants the user's choice."""
        if not self.settings.model:
            return f'[tool.stomper.plugins.{NAME}] model is not set (e.g. "sonnet")'
        return super().available()

    def command(
        self, program: str, request: FixRequest, settings: AgentSettings, prompt: str, scratch: Path
    ) -> Invocation:
        """aider with the prompt in a file outside the sandbox; the target file last."""
        if not settings.model:
            raise ToolError(f"set [tool.stomper.plugins.{NAME}] model")
        message_file = scratch / "prompt.md"
        message_file.write_text(prompt, encoding="utf-8", errors="surrogateescape")
        argv = [program, "--model", settings.model, *FLAGS, "--message-file", str(message_file)]
        argv += ["--no-auto-lint", "--no-gitignore"]
        argv += ["--chat-history-file", str(scratch / "chat.md")]
        argv += ["--input-history-file", str(scratch / "input")]
        return Invocation([*argv, *settings.args, path_argument(request.path)])

    def parse(self, result: ProcessResult, settings: AgentSettings) -> FixOutcome:
        """The exit code is the claim; the last line and the usage lines are the report."""
        usage = list(_USAGE.finditer(result.stdout))
        sent = sum(_tokens(match.group(1), match.group(2)) for match in usage)
        received = sum(_tokens(match.group(3), match.group(4)) for match in usage)
        costs = [float(match.group(5)) for match in usage if match.group(5)]
        claimed = result.returncode == 0
        detail = tail(result.stdout) or tail(result.stderr)
        verdict = "finished" if claimed else f"exited {result.returncode}"
        message = f"aider {verdict}" + (f": {detail}" if detail else "")
        if not usage:
            return self.outcome(claimed, message)
        return self.outcome(
            claimed,
            message,
            cost_usd=sum(costs) if costs else None,
            input_tokens=sent,
            output_tokens=received,
        )


def _tokens(figure: str, unit: str) -> int:
    return round(float(figure) * _SCALE[unit])
