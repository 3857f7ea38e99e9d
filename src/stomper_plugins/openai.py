"""Built-in plugin ``openai``: any OpenAI-compatible chat-completions server as an AI agent.

``POST {base_url}/chat/completions`` with ``{"model", "messages": [system, user],
"temperature": 0, "max_tokens", "stream": false}`` — OpenAI itself, vLLM, llama.cpp's server,
ollama's ``/v1``. The contract: the model answers with the whole file in exactly one fenced
code block, which is written to the sandbox with the original's line endings, BOM and
final-newline convention. Replies cut off (``finish_reason: "length"``, a short body, invalid
JSON), without exactly one block, or empty are rejected with the reason.

Options in ``[tool.stomper.plugins.openai]``: ``model`` (required), ``base_url`` (else
``OPENAI_BASE_URL``, else ``https://api.openai.com/v1``), ``api_key_env`` (the variable that
holds the key, default ``OPENAI_API_KEY``; keys never belong in pyproject.toml),
``max_tokens`` (default 16384), ``price_per_1k_input`` / ``price_per_1k_output`` (for a dollar
cost), ``max_concurrent``, ``max_retries``, ``retry_delay``. A key is needed only for the
default OpenAI URL: with an explicit base URL (a local server) a missing key sends no
``Authorization`` header. A key is never sent over plain http to a non-loopback host.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

from stomper import (
    AgentKind,
    ConfigError,
    FixOutcome,
    FixRequest,
    SecretFinding,
    hookimpl,
    redact_secrets,
    restore_secrets,
    system_prompt,
)
from stomper_plugins._agent_support import (
    MIN_ATTEMPT_SECONDS,
    Throttle,
    backoff_delay,
    finish,
    merged_options,
    read_settings,
)
from stomper_plugins._openai_http import (
    Completion,
    ReplyError,
    post_json,
    read_completion,
    single_fenced_block,
)
from stomper_plugins._options import integer_option, number_option, string_option

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from stomper import Agent, Config

NAME = "openai"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MAX_TOKENS = 16384
# ollama's /v1 silently cuts prompts to its context (num_ctx): a count of exactly one of these
# for a longer prompt means the model never saw all of it.
CONTEXT_CAPS = frozenset({2048, 4096, 8192})
OPTIONS = (
    "model",
    "base_url",
    "api_key_env",
    "max_tokens",
    "price_per_1k_input",
    "price_per_1k_output",
    "max_concurrent",
    "max_retries",
    "retry_delay",
)
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


@hookimpl
def stomper_register_agents(register: Callable[[Agent], None], config: Config) -> None:
    """Register the ``openai`` agent."""
    register(OpenAIAgent(config))


class Endpoint(NamedTuple):
    """Where to send the request and with which settings."""

    url: str
    key: str | None
    model: str
    max_tokens: int
    prices: tuple[float | None, float | None]
    max_retries: int
    retry_delay: float


class OpenAIAgent:
    """An OpenAI-compatible ``/chat/completions`` endpoint; replies carry the whole file."""

    name = NAME
    kind: AgentKind = "ai"

    def __init__(self, config: Config) -> None:
        self.options: Mapping[str, object] = dict(config.plugin_options(NAME))
        self.settings = read_settings(NAME, self.options, common=OPTIONS)
        _endpoint_or_reason(self.options)
        self.throttle = Throttle(self.settings.max_concurrent)

    def available(self) -> str | None:
        """None when a model and a base URL (or an OpenAI key) are configured."""
        endpoint = _endpoint_or_reason(self.options)
        return endpoint if isinstance(endpoint, str) else None

    async def fix(self, request: FixRequest) -> FixOutcome:
        """Ask for the whole fixed file and write it into the sandbox."""
        endpoint = _endpoint_or_reason(merged_options(self.options, request))
        if isinstance(endpoint, str):
            return FixOutcome(NAME, False, endpoint)
        target = request.root / request.path
        try:
            original = target.read_bytes()
            text = original.decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            return FixOutcome(NAME, False, f"cannot read {request.path} as UTF-8: {error}")
        _file_redacted, file_findings = redact_secrets(text)
        known = {finding.value: finding.placeholder for finding in file_findings}
        prompt, findings = redact_secrets(request.prompt, known)
        async with self.throttle.semaphore():
            outcome = await self._fix(request, endpoint, prompt, target, file_findings)
        return finish(outcome, len(findings))

    async def _fix(
        self,
        request: FixRequest,
        endpoint: Endpoint,
        prompt: str,
        target: Path,
        file_findings: list[SecretFinding],
    ) -> FixOutcome:
        body = json.dumps(
            {
                "model": endpoint.model,
                "messages": [
                    {"role": "system", "content": system_prompt()},
                    {"role": "user", "content": prompt},
                ],
                "temperature": 0,
                "max_tokens": endpoint.max_tokens,
                "stream": False,
            }
        ).encode()
        try:
            completion = await self._complete(endpoint, body, request.timeout)
        except ReplyError as error:
            return FixOutcome(NAME, False, f"openai: {error}")
        warning = _context_warning(completion, prompt)
        try:
            code = _checked_code(completion, endpoint, file_findings)
        except ReplyError as error:
            failed = FixOutcome(NAME, False, f"openai: {error}{warning}")
            return _usage(completion, endpoint, failed)
        target.write_bytes(_like_original(code, target.read_bytes()))
        wrote = FixOutcome(NAME, True, f"openai: wrote the file from the reply{warning}")
        return _usage(completion, endpoint, wrote)

    async def _complete(self, endpoint: Endpoint, body: bytes, timeout: float) -> Completion:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if endpoint.key:
            headers["Authorization"] = f"Bearer {endpoint.key}"
        deadline = time.monotonic() + timeout
        for retry in range(endpoint.max_retries + 1):
            remaining = deadline - time.monotonic()
            try:
                document = await asyncio.wait_for(
                    asyncio.to_thread(post_json, endpoint.url, body, headers, remaining),
                    remaining,
                )
            except asyncio.TimeoutError as error:
                raise ReplyError(f"no reply within {timeout:.0f} s") from error
            except ReplyError as error:
                delay = error.retry_after or backoff_delay(retry, endpoint.retry_delay)
                late = time.monotonic() + delay + MIN_ATTEMPT_SECONDS > deadline
                if not error.retry or retry == endpoint.max_retries or late:
                    raise
                await asyncio.sleep(delay)
                continue
            return read_completion(document)
        raise AssertionError("unreachable")  # pragma: no cover


def _checked_code(
    completion: Completion, endpoint: Endpoint, file_findings: list[SecretFinding]
) -> str:
    if completion.finish_reason == "length":
        raise ReplyError(
            f"the reply was cut off at max_tokens ({endpoint.max_tokens}); "
            "raise max_tokens or fix a smaller file"
        )
    if not completion.content.strip():
        raise ReplyError("the reply is empty")
    code = single_fenced_block(completion.content)
    if not code.strip():
        raise ReplyError("the reply's code block is empty")
    # The model saw placeholders for the file's secrets; the file must keep the values.
    restored = restore_secrets(code, file_findings)
    if restored is None:
        raise ReplyError("the reply dropped a redacted value of the file")
    return restored


def _like_original(code: str, original: bytes) -> bytes:
    """``code`` with the original's BOM, line endings and final-newline convention."""
    text = original.decode("utf-8")
    code = code.replace("\r\n", "\n").removeprefix("\ufeff")
    code = code.rstrip("\n") + "\n" if text.endswith(("\n", "\r")) else code.rstrip("\n")
    if "\r\n" in text:
        code = code.replace("\n", "\r\n")
    if text.startswith("\ufeff"):
        code = "\ufeff" + code
    return code.encode("utf-8")


def _usage(completion: Completion, endpoint: Endpoint, outcome: FixOutcome) -> FixOutcome:
    """``outcome`` with the reply's tokens, and a cost when prices are configured."""
    price_in, price_out = endpoint.prices
    cost = None
    if price_in is not None or price_out is not None:
        sent = (completion.prompt_tokens or 0) / 1000 * (price_in or 0.0)
        cost = sent + (completion.completion_tokens or 0) / 1000 * (price_out or 0.0)
    return outcome._replace(
        cost_usd=cost,
        input_tokens=completion.prompt_tokens,
        output_tokens=completion.completion_tokens,
    )


def _context_warning(completion: Completion, prompt: str) -> str:
    counted = completion.prompt_tokens
    # About four characters per token: a prompt far longer than the count was cut.
    if counted in CONTEXT_CAPS and len(prompt) // 4 > counted:
        return (
            f"; warning: the server counted exactly {counted} prompt tokens for a prompt of "
            f"about {len(prompt) // 4}: it was probably truncated (for ollama raise num_ctx)"
        )
    return ""


def _endpoint_or_reason(options: Mapping[str, object]) -> Endpoint | str:
    """The endpoint the options describe, or why there is none (bad values raise)."""
    settings = read_settings(NAME, options, common=OPTIONS)
    configured_url = string_option(NAME, options, "base_url") or os.environ.get("OPENAI_BASE_URL")
    key_env = string_option(NAME, options, "api_key_env") or "OPENAI_API_KEY"
    key = os.environ.get(key_env) or None
    url = (configured_url or DEFAULT_BASE_URL).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"[tool.stomper.plugins.{NAME}] base_url: not an http(s) URL: {url!r}")
    if not settings.model:
        return f"set [tool.stomper.plugins.{NAME}] model"
    if configured_url is None and key is None:
        return f"set {key_env} (or base_url for a local server)"
    if key and parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        return f"refusing to send {key_env} over plain http to {parts.hostname}"
    return Endpoint(
        url=f"{url}/chat/completions",
        key=key,
        model=settings.model,
        max_tokens=integer_option(NAME, options, "max_tokens", DEFAULT_MAX_TOKENS, minimum=1),
        prices=(_price(options, "price_per_1k_input"), _price(options, "price_per_1k_output")),
        max_retries=settings.max_retries,
        retry_delay=settings.retry_delay,
    )


def _price(options: Mapping[str, object], key: str) -> float | None:
    return None if options.get(key) is None else number_option(NAME, options, key, 0.0)
