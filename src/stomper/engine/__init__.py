"""The fixing engine: a LangGraph run over the files, each fixed and proven in its own sandbox.

:func:`run_fix` is the entry point; it returns a :class:`FixRun` and prints nothing (the
command decides what the user sees, through ``on_file_done`` and the returned results).
A run whose chain is only batch fixers (``ruff-fix``) takes :mod:`stomper.engine.batch`
instead, and never imports langgraph (about 1.5 s of start-up); the graph is imported when a
run needs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from stomper.diagnostics import select_linters
from stomper.engine.context import (
    FileDone,
    FixContext,
    RunResources,
    resolve_chain,
    select_validators,
    with_agent,
)
from stomper.engine.events import RunEvents
from stomper.prompts import load_template
from stomper.runguard import run_guard
from stomper.threadpool import widen_default_executor

if TYPE_CHECKING:
    from stomper.config import Config
    from stomper.plugins import Plugins
    from stomper.types import Diagnostic, FileResult

__all__ = ["FixRun", "RunEvents", "run_fix", "with_agent"]


class FixRun(NamedTuple):
    """What a run did: one result per file that had diagnostics, and the run's account."""

    results: tuple[FileResult, ...]
    baseline: tuple[Diagnostic, ...]
    files_checked: int
    notes: tuple[str, ...]
    removed: tuple[str, ...]
    exit_code: int
    dry_run: bool

    @property
    def remaining(self) -> tuple[Diagnostic, ...]:
        """Every diagnostic still present after the run (or after the fixes, in a dry run)."""
        return tuple(diagnostic for result in self.results for diagnostic in result.remaining)


async def run_fix(
    root: Path,
    config: Config,
    plugins: Plugins,
    files: Sequence[str],
    *,
    dry_run: bool = False,
    on_file_done: FileDone | None = None,
    collected: Sequence[Diagnostic] | None = None,
    events: RunEvents | None = None,
    diffs: bool = True,
) -> FixRun:
    """Fix ``files`` (relative POSIX paths) under ``root``, at most ``max_parallel_files`` AI
    agent calls at once (and twice as many files under way, see ``FixContext.in_flight``).

    Fixes are written back and committed as ``config`` says, unless ``dry_run``. The snapshot
    and every sandbox are released before this returns, whatever happened. ``collected``
    holds what the linters already reported on ``files`` in the user's tree, unfiltered, so
    a caller that linted first does not pay for it twice. ``events`` lets the caller follow
    the run and wrap its agents (a result cache). ``diffs=False``: the results' ``diff`` is
    left empty, for a caller that shows no diff and hands the results to no plugin.
    """
    widen_default_executor(2 * config.max_parallel_files)  # else 6 threads serve all files
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(run_guard(root, writes=not dry_run))
        context = await asyncio.to_thread(
            _build_context, root, config, plugins, stack, dry_run=dry_run, on_file_done=on_file_done
        )
        if not diffs:
            context = dataclasses.replace(context, diffs=False)
        if events is not None:
            context = _with_events(context, events)
        final = await _run(context, files, collected)
    return FixRun(
        results=tuple(sorted(final.get("results", []), key=lambda result: result.path)),
        baseline=tuple(final.get("baseline", ())),
        files_checked=final.get("files_checked", 0),
        notes=tuple(final.get("notes", [])),
        removed=tuple(final.get("removed", [])),
        exit_code=final.get("exit_code", 0),
        dry_run=dry_run,
    )


async def _run(
    context: FixContext, files: Sequence[str], collected: Sequence[Diagnostic] | None
) -> Mapping[str, Any]:
    """The run's final state: from the batched path when it can take the run, else the graph."""
    from stomper.engine.batch import batchable, run_batch

    if batchable(context):
        with _older_objects_frozen():
            return await run_batch(context, files, collected)
    from stomper.engine.graph import build_run_graph

    graph = build_run_graph()
    with _older_objects_frozen():
        return await graph.ainvoke(
            {"files": list(files), "collected": None if collected is None else list(collected)},
            {"max_concurrency": context.in_flight},
            context=context,
        )


@contextlib.contextmanager
def _older_objects_frozen() -> Iterator[None]:
    """The objects that exist before the run (modules, LangGraph, the caller's) left out of
    the garbage collector's scans until it ends: a full collection of them, in a process that
    imported LangGraph, paused the event loop 50-70 ms, at any point of a run. Thawed after,
    so what they hold is collected as ever."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _build_context(
    root: Path,
    config: Config,
    plugins: Plugins,
    stack: AsyncExitStack,
    *,
    dry_run: bool,
    on_file_done: FileDone | None,
) -> FixContext:
    """Resolve the plugin objects once (agents' availability checks may block: a thread)."""
    if config.prompt_template is not None:  # a bad path fails now, not per file
        load_template(root=root, override=config.prompt_template)
    linters = select_linters(plugins.linters(config), config)
    chain, chain_notes = resolve_chain(config.agents, plugins.agents(config), config.disable)
    validators, validator_notes = select_validators(config.validators, plugins.validators(config))
    return FixContext(
        root=root,
        config=config,
        plugins=plugins,
        linters=linters,
        chain=chain,
        validators=validators,
        resources=RunResources(stack, agent_slots=asyncio.Semaphore(config.max_parallel_files)),
        run_id=uuid.uuid4().hex[:12],
        # `select` chooses what to fix, not what a fix may break: judge by every code.
        relint_config=config.replace(max_errors=None, select=()),
        dry_run=dry_run,
        notes=(*chain_notes, *validator_notes),
        on_file_done=on_file_done,
    )


def _with_events(context: FixContext, events: RunEvents) -> FixContext:
    """``context`` telling ``events``, its agents wrapped by ``events.wrap_agent`` if set."""
    wrap = events.wrap_agent
    chain = [wrap(agent) for agent in context.chain] if wrap is not None else context.chain
    return dataclasses.replace(context, events=events, chain=chain)
