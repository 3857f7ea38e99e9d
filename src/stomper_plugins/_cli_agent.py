"""The shared body of the built-in command-line agents (claude, codex, cursor, gemini, aider).

A subclass says how to build its command line and how to read its output; this base class
does the rest the same way for all of them: options, availability, the concurrency cap,
redaction of the prompt and of the file the agent will read, the safe process runner, back-off
on rate limits, and the final message.
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from stomper import (
    AgentKind,
    FixOutcome,
    FixRequest,
    ProcessResult,
    ToolError,
    agent_env,
    run_agent_process,
)
from stomper_plugins._agent_support import (
    MIN_ATTEMPT_SECONDS,
    AgentSettings,
    Throttle,
    add_note,
    backoff_delay,
    combine,
    finish,
    merged_options,
    rate_limited,
    read_settings,
    redacted_prompt,
    redacted_target,
    resolve_program,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from stomper import Config

# Linux refuses a single argument longer than 128 KiB (MAX_ARG_STRLEN); stay below it.
ARGV_PROMPT_LIMIT = 120_000
_RESULT_START = re.compile(r'\{\s*"type"\s*:\s*"result"')


class Invocation(NamedTuple):
    """A command line to run, and what goes on its stdin (None: stdin closed)."""

    argv: list[str]
    stdin: bytes | None = None


class CliAgent:
    """An AI agent that is a command-line program; subclasses set the class variables."""

    name: ClassVar[str]
    executable_name: ClassVar[str]
    env_allow: ClassVar[tuple[str, ...]] = ()
    extra_options: ClassVar[tuple[str, ...]] = ()
    kind: AgentKind = "ai"

    def __init__(self, config: Config) -> None:
        self.options: Mapping[str, object] = dict(config.plugin_options(self.name))
        self.settings = read_settings(self.name, self.options, self.extra_options)
        self.throttle = Throttle(self.settings.max_concurrent)

    def available(self) -> str | None:
        """None when the CLI can be found, otherwise where it was looked for."""
        if resolve_program(self.settings.executable, self.executable_name):
            return None
        wanted = self.settings.executable or self.executable_name
        return (
            f"{wanted} not found (looked beside the running Python and on PATH; "
            f"set [tool.stomper.plugins.{self.name}] executable)"
        )

    async def fix(self, request: FixRequest) -> FixOutcome:
        """Run the CLI in the sandbox on ``request``; its claim is reported, never trusted."""
        settings = self.settings
        if request.options:
            settings = read_settings(
                self.name, merged_options(self.options, request), self.extra_options
            )
        program = resolve_program(settings.executable, self.executable_name)
        if program is None:
            return FixOutcome(self.name, False, self.available() or "not available")
        async with self.throttle.semaphore():
            with redacted_target(request.root / request.path) as file_findings:
                prompt, redactions = redacted_prompt(request, file_findings)
                outcome = await self._with_retries(program, request, settings, prompt)
        return finish(outcome, redactions)

    def command(
        self, program: str, request: FixRequest, settings: AgentSettings, prompt: str, scratch: Path
    ) -> Invocation:
        """The command line; ``scratch`` is a private directory outside the sandbox."""
        raise NotImplementedError

    def parse(self, result: ProcessResult, settings: AgentSettings) -> FixOutcome:
        """What the agent's output says it did."""
        raise NotImplementedError

    def done_line(self, line: str) -> bool:
        """Whether this stdout line means the agent finished (for CLIs that never exit)."""
        return False

    def outcome(self, claimed: bool, message: str, **usage: Any) -> FixOutcome:
        """A :class:`FixOutcome` from this agent."""
        return FixOutcome(self.name, claimed, message, **usage)

    async def _with_retries(
        self, program: str, request: FixRequest, settings: AgentSettings, prompt: str
    ) -> FixOutcome:
        deadline = time.monotonic() + request.timeout
        spent: FixOutcome | None = None
        for retry in range(settings.max_retries + 1):
            result, outcome = await self._attempt(program, request, settings, prompt, deadline)
            outcome = combine(spent, outcome) if spent else outcome
            spent = outcome
            if outcome.claimed_success or result is None or result.timed_out:
                return outcome
            if not rate_limited(result.stderr, result.stdout[-4096:], outcome.message):
                return outcome
            delay = backoff_delay(retry, settings.retry_delay)
            if retry == settings.max_retries:
                return add_note(outcome, f"rate limited; gave up after {retry} retries")
            if time.monotonic() + delay + MIN_ATTEMPT_SECONDS > deadline:
                return add_note(outcome, "rate limited; no time left to retry")
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(
        self,
        program: str,
        request: FixRequest,
        settings: AgentSettings,
        prompt: str,
        deadline: float,
    ) -> tuple[ProcessResult | None, FixOutcome]:
        timeout = max(deadline - time.monotonic(), 0.1)
        done: Callable[[str], bool] | None = self.done_line if self._watches_output() else None
        try:
            with tempfile.TemporaryDirectory(prefix=f"stomper-{self.name}-") as scratch:
                invocation = self.command(program, request, settings, prompt, Path(scratch))
                result = await run_agent_process(
                    [*invocation.argv],
                    request.root,
                    env=agent_env((*self.env_allow, *settings.env)),
                    timeout=timeout,
                    stdin=invocation.stdin,
                    done=done,
                )
        except ToolError as error:
            return None, self.outcome(False, str(error))
        if result.timed_out and not result.finished_early:
            message = f"{self.name} did not finish within {timeout:.0f} s and was killed"
            return result, self.outcome(False, message)
        return result, self.parse(result, settings)

    def _watches_output(self) -> bool:
        return type(self).done_line is not CliAgent.done_line


def prompt_argument(prompt: str) -> str:
    """The prompt as one argv element: never mistaken for a flag, never too long for exec."""
    if len(prompt.encode("utf-8", "surrogateescape")) > ARGV_PROMPT_LIMIT:
        raise ToolError(
            f"the prompt is {len(prompt)} characters, too long for a command-line argument"
        )
    # A template that starts with "---" (front matter) would otherwise parse as an option.
    return "\n" + prompt if prompt.startswith("-") else prompt


def path_argument(path: str) -> str:
    """A relative path as an argument that cannot be taken for an option."""
    return "./" + path if path.startswith("-") else path


def json_objects(text: str) -> list[dict[str, Any]]:
    """The JSON objects in an agent's stdout: one document, an array, or JSON lines.

    When capped output cut a long document in the middle, the last complete
    ``{"type": "result", ...}`` object is still found.
    """
    stripped = text.strip()
    try:
        document = json.loads(stripped)
    except ValueError:
        document = None
    if isinstance(document, dict):
        return [document]
    if isinstance(document, list):
        return [item for item in document if isinstance(item, dict)]
    found = [
        item
        for line in stripped.splitlines()
        if line.lstrip().startswith("{")
        for item in [_loads(line)]
        if isinstance(item, dict)
    ]
    if found:
        return found
    decoder = json.JSONDecoder()
    for match in reversed(list(_RESULT_START.finditer(text))):
        try:
            item, _end = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(item, dict):
            return [item]
    return []


def last_of_type(objects: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    """The last object whose ``type`` is ``kind``."""
    return next((item for item in reversed(objects) if item.get("type") == kind), None)


def number(value: object) -> float | None:
    """``value`` if it is a JSON number (not a bool), else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def count(value: object) -> int | None:
    """``value`` as a token count, or None."""
    found = number(value)
    return None if found is None else int(found)


def tail(text: str, limit: int = 300) -> str:
    """The last non-empty line(s) of ``text``, at most ``limit`` characters, for messages."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    return last if len(last) <= limit else "..." + last[-limit:]


def _loads(line: str) -> object:
    try:
        return json.loads(line)
    except ValueError:
        return None
