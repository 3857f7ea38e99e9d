"""Putting the result cache between the engine and each AI agent.

:class:`CacheSession` is the ``wrap_agent`` of :class:`stomper.engine.RunEvents`: every AI
agent of the chain becomes a :class:`CachingAgent` with the same name and kind, which looks
each request up before calling the real agent and stores what the agent left afterwards.
Deterministic fixers are cheap and stay unwrapped.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stomper import __version__
from stomper.cache import Entry, ResultCache, fingerprint, judging_config
from stomper.prompts import PROMPT_VERSION
from stomper.types import Agent, AgentKind, FixOutcome, FixRequest

if TYPE_CHECKING:
    from stomper.config import Config
    from stomper.plugins import Plugins
    from stomper.types import Linter

log = logging.getLogger(__name__)
Notify = Callable[[str, str, str], None]
REPLAY_MESSAGE = "replayed from the result cache"


def linter_versions(linters: Sequence[Linter], plugins: Plugins) -> dict[str, str]:
    """Each linter's tool version (``<tool> --version``) or, failing that, its package's."""
    from stomper.tools import run_tool

    versions = {}
    for linter in linters:
        info = plugins.owner(linter)
        version = f"{info.package} {info.version}" if info else "unknown"
        options = getattr(linter, "options", None)
        try:
            program = options.program() if options is not None else None
            if program:
                output = run_tool([program, "--version"], Path.cwd(), timeout=60)
                version = output.stdout.decode("utf-8", "replace").strip() or version
        except Exception:
            log.debug("no version for linter %s", linter.name, exc_info=True)
        versions[linter.name] = version
    return versions


class CacheSession:
    """One run's use of the cache: the parts of every key that do not change per call."""

    def __init__(
        self, cache: ResultCache, config: Config, plugins: Plugins, notify: Notify | None = None
    ) -> None:
        self.cache = cache
        self.config = config
        self.plugins = plugins
        self.notify = notify
        self._base: dict[str, Any] | None = None
        self._base_lock = asyncio.Lock()

    def wrap(self, agent: Agent) -> Agent:
        """``agent`` behind the cache when it is an AI agent; itself otherwise."""
        return CachingAgent(agent, self) if agent.kind == "ai" else agent

    async def base(self) -> dict[str, Any]:
        """The run-wide key parts; tool versions are asked for once, on the first call."""
        async with self._base_lock:
            if self._base is None:
                self._base = await asyncio.to_thread(self._compute_base)
            return self._base

    def _compute_base(self) -> dict[str, Any]:
        from stomper.diagnostics import select_linters

        linters = select_linters(self.plugins.linters(self.config), self.config)
        return {
            "stomper": __version__,
            "prompt_version": PROMPT_VERSION,
            "tools": linter_versions(linters, self.plugins),
            "config": judging_config(self.config),
        }

    def agent_identity(self, agent: Agent) -> dict[str, Any]:
        """The agent's name, package version and options (its ``model`` among them)."""
        info = self.plugins.owner(agent)
        options: Mapping[str, Any] = self.config.plugin_options(agent.name)
        return {
            "name": agent.name,
            "package": f"{info.package} {info.version}" if info else None,
            "options": dict(options),
        }


def request_key(
    base: Mapping[str, Any], agent: Mapping[str, Any], request: FixRequest, before: bytes | None
) -> str:
    """The key of one agent call: the run-wide parts, the agent, and this exact request."""
    return fingerprint(
        {
            "base": base,
            "agent": agent,
            "path": request.path,
            "file": hashlib.sha256(before).hexdigest() if before is not None else None,
            "diagnostics": [
                (d.linter, d.code, d.message, d.line, d.column, d.end_line, d.end_column)
                for d in request.diagnostics
            ],
            "attempt": request.attempt,
            "feedback": request.feedback,
            "prompt": hashlib.sha256(request.prompt.encode()).hexdigest(),
        }
    )


class CachingAgent:
    """An AI agent behind the result cache; same name and kind as the agent it wraps."""

    def __init__(self, agent: Agent, session: CacheSession) -> None:
        self.agent = agent
        self.session = session

    @property
    def name(self) -> str:
        """The wrapped agent's name."""
        return self.agent.name

    @property
    def kind(self) -> AgentKind:
        """The wrapped agent's kind (always ``ai``: deterministic fixers are not wrapped)."""
        return self.agent.kind

    def available(self) -> str | None:
        """Whether the wrapped agent can work."""
        return self.agent.available()

    async def fix(self, request: FixRequest) -> FixOutcome:
        """Replay the stored outcome of this exact request, or ask the agent and store it."""
        target = request.root / request.path
        before = await asyncio.to_thread(_read, target)
        identity = self.session.agent_identity(self.agent)
        key = request_key(await self.session.base(), identity, request, before)
        cache = self.session.cache
        entry = await asyncio.to_thread(cache.load, key)
        if entry is not None:
            if self.session.notify is not None:
                self.session.notify(request.path, "fixing", f"{self.name}, replayed from cache")
            await asyncio.to_thread(_replay, target, entry.candidate)
            return FixOutcome(self.name, claimed_success=True, message=REPLAY_MESSAGE)
        outcome = await self.agent.fix(request)
        if not outcome.claimed_success:
            # A failure to run (rate limit, timeout, network, crash) says nothing about this
            # input: replaying it would block every later run from asking again.
            return outcome
        after = await asyncio.to_thread(_read, target)
        await asyncio.to_thread(cache.store, key, request.path, Entry(after, outcome.cost_usd))
        return outcome


def _read(location: Path) -> bytes | None:
    if location.is_symlink() or not location.is_file():
        return None
    return location.read_bytes()


def _replay(location: Path, content: bytes | None) -> None:
    """Leave the target as the agent once left it (written, or deleted)."""
    if content is None:
        location.unlink(missing_ok=True)
        return
    if location.is_symlink():
        location.unlink()
    location.write_bytes(content)
