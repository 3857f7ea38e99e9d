"""What every built-in AI agent shares: options, concurrency caps, back-off, redaction.

Options come from ``[tool.stomper.plugins.<name>]`` (checked when the plugin registers, so a
typo fails the run at start-up with a ConfigError naming the key) and may be overridden per
request by ``FixRequest.options``.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from stomper import (
    ConfigError,
    FixOutcome,
    FixRequest,
    SecretFinding,
    find_executable,
    redact_secrets,
    restore_secrets,
)
from stomper_plugins._options import integer_option, number_option, reject_unknown, string_option

COMMON_OPTIONS = (
    "executable",
    "model",
    "args",
    "env",
    "max_concurrent",
    "max_retries",
    "retry_delay",
)
DEFAULT_MAX_CONCURRENT = 4
DEFAULT_MAX_RETRIES = 3
DEFAULT_RETRY_DELAY = 2.0
MAX_RETRY_DELAY = 60.0
# A retry that would start with less time than this left is not worth starting.
MIN_ATTEMPT_SECONDS = 5.0
RATE_LIMITED = re.compile(
    r"\b(?:429|529)\b|overloaded|rate[ _-]?limit|too many requests|resource[ _]exhausted",
    re.IGNORECASE,
)


class AgentSettings(NamedTuple):
    """An AI agent's checked options."""

    executable: str | None = None
    model: str | None = None
    args: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    max_concurrent: int = DEFAULT_MAX_CONCURRENT
    max_retries: int = DEFAULT_MAX_RETRIES
    retry_delay: float = DEFAULT_RETRY_DELAY
    max_turns: int | None = None
    max_budget_usd: float | None = None


def read_settings(
    plugin: str,
    options: Mapping[str, object],
    extra: Iterable[str] = (),
    *,
    common: Iterable[str] = COMMON_OPTIONS,
) -> AgentSettings:
    """Check ``options`` (the ``common`` keys plus ``extra``) and return them as settings."""
    reject_unknown(plugin, options, (*common, *extra))
    turns = options.get("max_turns")
    budget = options.get("max_budget_usd")
    return AgentSettings(
        executable=string_option(plugin, options, "executable"),
        model=string_option(plugin, options, "model"),
        args=string_list(plugin, options, "args"),
        env=string_list(plugin, options, "env"),
        max_concurrent=integer_option(
            plugin, options, "max_concurrent", DEFAULT_MAX_CONCURRENT, minimum=1
        ),
        max_retries=integer_option(plugin, options, "max_retries", DEFAULT_MAX_RETRIES),
        retry_delay=number_option(
            plugin, options, "retry_delay", DEFAULT_RETRY_DELAY, maximum=MAX_RETRY_DELAY
        ),
        max_turns=None
        if turns is None
        else integer_option(plugin, options, "max_turns", 0, minimum=1),
        max_budget_usd=None
        if budget is None
        else number_option(plugin, options, "max_budget_usd", 0.0),
    )


def string_list(plugin: str, options: Mapping[str, object], key: str) -> tuple[str, ...]:
    """``options[key]`` as a list of strings (empty when absent)."""
    value = options.get(key, ())
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise ConfigError(
            f"[tool.stomper.plugins.{plugin}] {key}: expected a list of strings, got {value!r}"
        )
    return tuple(value)


def merged_options(configured: Mapping[str, object], request: FixRequest) -> Mapping[str, object]:
    """The configured options with the request's on top (the engine may pass either)."""
    return {**configured, **request.options} if request.options else configured


def resolve_program(executable: str | None, default: str) -> str | None:
    """The agent CLI to run: an explicit path, or a name looked up beside Python and on PATH."""
    wanted = executable or default
    if os.sep in wanted or "/" in wanted:
        path = Path(wanted).expanduser()
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None
    return find_executable(wanted)


class Throttle:
    """At most ``limit`` concurrent calls per agent object.

    A semaphore belongs to one event loop, and one agent object may outlive a loop (tests,
    embedders calling ``asyncio.run`` twice), so a new loop gets a fresh semaphore.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._loop: asyncio.AbstractEventLoop | None = None
        self._semaphore = asyncio.Semaphore(limit)

    def semaphore(self) -> asyncio.Semaphore:
        """The semaphore for the running loop."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._semaphore = loop, asyncio.Semaphore(self.limit)
        return self._semaphore


def backoff_delay(retry: int, first: float) -> float:
    """Exponential back-off with jitter: about ``first * 2**retry`` seconds, capped."""
    return min(MAX_RETRY_DELAY, first * 2.0**retry) * random.uniform(0.5, 1.0)


def rate_limited(*texts: str) -> bool:
    """Whether an agent's output says it hit a rate limit or an overloaded backend."""
    return any(RATE_LIMITED.search(text) for text in texts)


def add_note(outcome: FixOutcome, note: str) -> FixOutcome:
    """``outcome`` with ``note`` appended to its message."""
    message = f"{outcome.message}; {note}" if outcome.message else note
    return outcome._replace(message=message)


def combine(first: FixOutcome, second: FixOutcome) -> FixOutcome:
    """``second``, with the cost and tokens of both (a retry's spending adds up)."""

    def total(a: float | None, b: float | None) -> float | None:
        return None if a is None and b is None else (a or 0) + (b or 0)

    input_tokens = total(first.input_tokens, second.input_tokens)
    output_tokens = total(first.output_tokens, second.output_tokens)
    return second._replace(
        cost_usd=total(first.cost_usd, second.cost_usd),
        input_tokens=None if input_tokens is None else int(input_tokens),
        output_tokens=None if output_tokens is None else int(output_tokens),
    )


def finish(outcome: FixOutcome, redactions: int) -> FixOutcome:
    """The outcome as reported: its message scrubbed of secrets, the redaction count noted."""
    message, _found = redact_secrets(outcome.message)
    outcome = outcome._replace(message=message)
    if redactions:
        outcome = add_note(
            outcome, f"{redactions} secret-looking string(s) redacted from the prompt"
        )
    return outcome


def redacted_prompt(request: FixRequest, file_findings: list[SecretFinding]) -> tuple[str, int]:
    """The prompt with secrets replaced (consistently with the file), and how many were."""
    known = {finding.value: finding.placeholder for finding in file_findings}
    prompt, findings = redact_secrets(request.prompt, known)
    return prompt, len(findings)


@contextmanager
def redacted_target(target: Path) -> Iterator[list[SecretFinding]]:
    """Redact secrets in the sandbox copy of the file while a CLI agent may read it.

    A CLI agent reads the file itself, so redacting only the prompt would not keep a secret
    on the machine. Afterwards the placeholders are replaced by the values again; if the
    agent dropped one, its edit is undone (keeping it would delete the user's value).
    """
    try:
        # A symlink would make the write below land outside the sandbox; the engine refuses
        # symlinked targets anyway.
        original = b"" if target.is_symlink() else target.read_bytes()
    except OSError:
        original = b""
    if not original:
        yield []
        return
    text = original.decode("utf-8", "surrogateescape")
    redacted_text, findings = redact_secrets(text)
    if not findings:
        yield []
        return
    target.write_bytes(redacted_text.encode("utf-8", "surrogateescape"))
    try:
        yield findings
    finally:
        _restore_target(target, original, findings)


def _restore_target(target: Path, original: bytes, findings: list[SecretFinding]) -> None:
    try:
        edited = target.read_bytes().decode("utf-8", "surrogateescape")
    except OSError:
        target.write_bytes(original)
        return
    restored = restore_secrets(edited, findings)
    if restored is None:
        target.write_bytes(original)
        return
    target.write_bytes(restored.encode("utf-8", "surrogateescape"))
