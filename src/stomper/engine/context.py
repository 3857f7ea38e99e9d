"""What travels beside the graph's state: configuration, plugin objects, run resources.

LangGraph state holds only plain data; everything else a node needs (the agent chain, the
linters, the validators, the sandbox pool, the commit lock) reaches it through the runtime
context, a :class:`FixContext` built once per run.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from stomper.engine.events import RunEvents, emit_stage
from stomper.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from stomper.config import Config
    from stomper.plugins import Plugins
    from stomper.sandbox import Sandbox, Sandboxes, Snapshot
    from stomper.types import Agent, FileResult, Linter, Validator

FileDone = Callable[["FileResult"], None]
log = logging.getLogger(__name__)


@dataclasses.dataclass
class RunResources:
    """The run's mutable resources, opened lazily and closed by :func:`stomper.engine.run_fix`.

    The snapshot and the sandbox pool exist only once a file needs fixing, so a clean
    repository costs no git objects.
    """

    stack: AsyncExitStack
    snapshot: Snapshot | None = None
    sandboxes: Sandboxes | None = None
    leases: dict[str, Sandbox] = dataclasses.field(default_factory=dict)
    commit_lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    # AI agent calls in flight; None means no limit (set by the run to ``--jobs``).
    agent_slots: asyncio.Semaphore | None = None
    stopped: str | None = None
    agent_calls: int = 0
    cost_usd: float = 0.0
    # A dry run's validated fixes by path (what a real run would write), for the final check.
    proposed: dict[str, bytes] = dataclasses.field(default_factory=dict)
    started: float = dataclasses.field(default_factory=time.monotonic)

    async def open(
        self,
        root: Path,
        run_id: str,
        size: int,
        seed: Sequence[str],
        deny: Sequence[str] = (),
        *,
        memory: bool = False,
    ) -> None:
        """Take the snapshot and open the sandbox pool; both close with :attr:`stack`.

        ``seed`` names cache directories of the user's tree copied into each new sandbox;
        files matching ``deny`` are kept out of the snapshot, so no agent can read them.
        ``memory``: the sandboxes may live in memory (see :func:`stomper.sandbox.sandbox_parent`).
        """
        from stomper.sandbox import Sandboxes, release_snapshot, take_snapshot

        snapshot = await asyncio.to_thread(take_snapshot, root, run_id, exclude=deny)
        self.stack.push_async_callback(asyncio.to_thread, release_snapshot, snapshot)
        self.snapshot = snapshot
        pool = Sandboxes(snapshot, size=size, seed=seed, memory=memory)
        self.sandboxes = await self.stack.enter_async_context(pool)

    def sandbox_for(self, path: str) -> Sandbox:
        """The sandbox leased to ``path`` by ``create_sandbox``."""
        return self.leases[path]

    async def release(self, path: str) -> None:
        """Give back ``path``'s sandbox, if it still holds one (safe to call twice)."""
        sandbox = self.leases.pop(path, None)
        if sandbox is not None and self.sandboxes is not None:
            # Shielded: a cancelled file must still hand its worktree back.
            await asyncio.shield(self.sandboxes.release(sandbox))


@dataclasses.dataclass(frozen=True)
class FixContext:
    """Everything a node may need besides the state; one per run."""

    root: Path
    config: Config
    plugins: Plugins
    linters: Sequence[Linter]
    chain: Sequence[Agent]
    validators: Sequence[Validator]
    resources: RunResources
    run_id: str
    relint_config: Config
    dry_run: bool = False
    notes: Sequence[str] = ()
    on_file_done: FileDone | None = None
    diffs: bool = True  # results carry their diffs (500 cost 40 ms: only when read)
    events: RunEvents = dataclasses.field(default_factory=RunEvents)

    def stage(self, path: str, stage: str, detail: str = "") -> None:
        """Tell the caller (a live display) that ``path`` reached ``stage``."""
        emit_stage(self.events, path, stage, detail)

    @property
    def jobs(self) -> int:
        """How many AI agent calls run at once (``--jobs``)."""
        return self.config.max_parallel_files

    @property
    def in_flight(self) -> int:
        """How many files are under way at once, each in its own sandbox: twice ``jobs``, so
        while ``jobs`` files wait on their agents the others are set up or judged, and no
        agent slot waits for a file's sandbox, linting or write-back."""
        return 2 * self.config.max_parallel_files

    def budget_spent(self) -> str | None:
        """Why no further AI call may start, or None while the run's budgets allow it."""
        config, resources = self.config, self.resources
        if config.max_agent_calls is not None and resources.agent_calls >= config.max_agent_calls:
            return f"budget spent: {resources.agent_calls} AI agent calls"
        if config.max_cost_usd is not None and resources.cost_usd >= config.max_cost_usd:
            return f"budget spent: ${resources.cost_usd:.2f}"
        elapsed = time.monotonic() - resources.started
        if config.max_run_seconds is not None and elapsed >= config.max_run_seconds:
            return f"budget spent: {elapsed:.0f} s"
        return None

    def file_done(self, result: FileResult) -> None:
        """Tell the plugins and the caller that one file finished."""
        self.plugins.file_done(result)
        if self.on_file_done is None:
            return
        try:
            self.on_file_done(result)
        except Exception:
            # Raising here would cancel every other file (e.g. a closed stdout): log it only.
            log.warning("reporting %s failed", result.path, exc_info=True)


def resolve_chain(
    names: Sequence[str], registered: Mapping[str, Agent], disabled: Sequence[str]
) -> tuple[list[Agent], list[str]]:
    """The agents of ``names`` that can work now, deterministic ones first, and notes on the rest.

    Unknown names are a :class:`ConfigError` (unless their plugin is blocked); unavailable
    agents are left out with one note each, once per run.
    """
    chain: list[Agent] = []
    notes: list[str] = []
    for name in dict.fromkeys(names):
        agent = registered.get(name)
        if agent is None:
            if name in disabled:
                continue
            known = ", ".join(sorted(registered)) or "none"
            raise ConfigError(f"unknown agent {name!r} in `agents` (registered: {known})")
        reason = agent.available()
        if reason is None:
            chain.append(agent)
        else:
            notes.append(f"agent {name} is unavailable, skipped: {reason}")
    chain.sort(key=lambda agent: agent.kind != "deterministic")
    return chain, notes


def with_agent(names: Sequence[str], registered: Mapping[str, Agent], agent: str) -> list[str]:
    """The chain ``names`` with its AI part replaced by ``agent`` (``--agent NAME``)."""
    if agent not in registered:
        known = ", ".join(sorted(registered)) or "none"
        raise UsageError(f"--agent {agent}: no such agent (registered: {known})")
    kept = [
        name
        for name in names
        if name in registered and registered[name].kind == "deterministic" and name != agent
    ]
    return [*kept, agent]


def select_validators(
    names: Sequence[str], registered: Mapping[str, Validator]
) -> tuple[list[Validator], list[str]]:
    """The validators of ``names`` that are registered, and a note for each missing one."""
    found = [registered[name] for name in names if name in registered]
    notes = [
        f"validator {name} is not registered, skipped" for name in names if name not in registered
    ]
    return found, notes
