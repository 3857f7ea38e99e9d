"""Fake agents whose behaviour each test chooses, registered as an ordinary plugin.

>>> plugin = AgentPlugin(FakeAgent("fake", remove_unused_imports))
>>> plugins = plugins_with(("fake-agents", plugin))
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from stomper import Agent, AgentKind, FixOutcome, FixRequest, hookimpl

Behaviour = Callable[[FixRequest], Awaitable[None] | None]


class FakeAgent:
    """An agent that runs ``behaviour`` on each request and records every request it got."""

    def __init__(self, name: str, behaviour: Behaviour, kind: AgentKind = "ai") -> None:
        self.name = name
        self.kind = kind
        self.behaviour = behaviour
        self.requests: list[FixRequest] = []

    def available(self) -> str | None:
        """Always ready."""
        return None

    async def fix(self, request: FixRequest) -> FixOutcome:
        """Apply the behaviour to the sandbox, then claim success whatever happened."""
        self.requests.append(request)
        done = self.behaviour(request)
        if done is not None:
            await done
        return FixOutcome(self.name, claimed_success=True, message="done", cost_usd=0.01)


class FakeBatchAgent(FakeAgent):
    """A deterministic batch fixer (:class:`stomper.types.BatchAgent`): ``behaviour`` on each
    request of a batch; every batch it got is recorded."""

    def __init__(self, name: str, behaviour: Behaviour) -> None:
        super().__init__(name, behaviour, kind="deterministic")
        self.batches: list[list[FixRequest]] = []

    async def fix_batch(self, requests: Sequence[FixRequest]) -> list[FixOutcome]:
        """Apply the behaviour to every requested file, in order."""
        self.batches.append(list(requests))
        return [await self.fix(request) for request in requests]


class AgentPlugin:
    """A plugin registering the given agents."""

    def __init__(self, *agents: Agent) -> None:
        self.agents = agents

    @hookimpl
    def stomper_register_agents(self, register: Callable[[Agent], None], config: Any) -> None:
        """Register every agent this plugin was built with."""
        for agent in self.agents:
            register(agent)


def target(request: FixRequest) -> Path:
    """The file the request is about, inside the sandbox."""
    return request.root / request.path


def edit(request: FixRequest, change: Callable[[str], str]) -> None:
    """Rewrite the target file's text with ``change``."""
    location = target(request)
    location.write_text(change(location.read_text()))


def remove_unused_imports(request: FixRequest) -> None:
    """A correct fix for F401: drop the import lines ruff named."""
    lines = {d.line for d in request.diagnostics if d.code == "F401"}
    edit(
        request,
        lambda text: "".join(
            line
            for number, line in enumerate(text.splitlines(keepends=True), 1)
            if number not in lines
        ),
    )


def add_noqa(request: FixRequest) -> None:
    """Silence instead of fixing: ``# noqa`` on every reported line."""
    lines = {d.line for d in request.diagnostics}
    edit(
        request,
        lambda text: "".join(
            line.rstrip("\n") + "  # noqa\n" if number in lines else line
            for number, line in enumerate(text.splitlines(keepends=True), 1)
        ),
    )


def edit_other_file(request: FixRequest) -> None:
    """Fix the target correctly, but also touch another file."""
    remove_unused_imports(request)
    (request.root / "other.py").write_text("VALUE = 2\n")


def break_syntax(request: FixRequest) -> None:
    """Fix the target, then leave it unparsable."""
    remove_unused_imports(request)
    edit(request, lambda text: text + "def broken(:\n")


def add_type_error(request: FixRequest) -> None:
    """Fix the unused import, but introduce a new mypy error."""
    remove_unused_imports(request)
    edit(request, lambda text: text + 'count: int = "three"\n')


def raise_error(request: FixRequest) -> None:
    """Crash."""
    raise RuntimeError("the fake agent crashed")


def do_nothing(request: FixRequest) -> None:
    """Change nothing and claim success."""


class ConcurrencyProbe:
    """Counts agent calls in flight; the behaviour sleeps ``seconds`` and then fixes F401."""

    def __init__(self, seconds: float = 0.5) -> None:
        self.seconds = seconds
        self.in_flight = 0
        self.max_in_flight = 0
        self.calls = 0

    async def __call__(self, request: FixRequest) -> None:
        """Sleep as an agent waiting for its model would, without blocking the loop."""
        self.in_flight += 1
        self.calls += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.seconds)
            remove_unused_imports(request)
        finally:
            self.in_flight -= 1


def rename_variable(old: str, new: str) -> Behaviour:
    """A behaviour renaming a word everywhere in the target (fixes E741 ``l``)."""

    def behaviour(request: FixRequest) -> None:
        edit(request, lambda text: re.sub(rf"\b{re.escape(old)}\b", new, text))

    return behaviour


class ValidatorPlugin:
    """A plugin registering the given validators."""

    def __init__(self, *validators: object) -> None:
        self.validators = validators

    @hookimpl
    def stomper_register_validators(self, register: Callable[[Any], None], config: Any) -> None:
        """Register every validator this plugin was built with."""
        for validator in self.validators:
            register(validator)


class CrashingValidator:
    """A validator that raises on every candidate."""

    name = "crashing"

    def validate(self, context: Any) -> Any:
        """Crash."""
        raise ValueError("the fake validator crashed")


async def run_sleeping_process(request: FixRequest) -> None:
    """An agent whose CLI (here ``sleep``) runs until stomper stops it."""
    from stomper.agent_process import agent_env, run_agent_process

    await run_agent_process(["sleep", "37.25"], request.root, env=agent_env(), timeout=60)
