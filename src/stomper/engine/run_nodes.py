"""The run graph's nodes: initialize, collect, the per-file wrapper, aggregate, finalize."""

# No `from __future__ import annotations`: LangGraph reads the nodes' type hints at run time
# (to inject the Runtime and to infer input schemas), so they must be real objects.

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol

from langgraph.runtime import Runtime
from langgraph.types import Send

from stomper.diagnostics import apply_filters, by_file, collect
from stomper.engine.context import FixContext
from stomper.engine.outcome import deny_note, plain_result
from stomper.engine.state import FileState, FileTask, RunState
from stomper.types import FileResult

Update = dict[str, Any]
log = logging.getLogger(__name__)
RunFile = Callable[[FileTask, FixContext], Awaitable[FileResult]]


async def initialize(state: RunState, runtime: Runtime[FixContext]) -> Update:
    """Remove what dead runs left behind, and pass on the notes made while resolving plugins."""
    from stomper.sandbox import clean_leftovers

    removed = await asyncio.to_thread(clean_leftovers, runtime.context.root)
    return {"removed": removed, "notes": list(runtime.context.notes)}


async def collect_diagnostics(state: RunState, runtime: Runtime[FixContext]) -> Update:
    """Lint every target once in the user's tree; one task per file with something to fix.

    The snapshot and the sandbox pool are opened here, and only when some file needs them.
    """
    context = runtime.context
    files = state.get("files", [])
    found = state.get("collected")  # the hook lints first, to know whether to start at all
    if found is None:
        context.stage("", "collecting", f"{len(files)} files")
        found = await asyncio.to_thread(collect, context.linters, context.root, files)
    baseline = by_file(apply_filters(found, context.relint_config))
    targeted = apply_filters(found, context.config)
    tasks: list[FileTask] = [
        {
            "path": path,
            "baseline": tuple(baseline[path]),
            "targeted": tuple(diagnostics),
            "in_sandbox": None,
        }
        for path, diagnostics in by_file(targeted).items()
    ]
    for task in tasks:
        context.stage(task["path"], "queued")
    if tasks and context.chain:
        # A warm mypy cache turns a sandbox's first check from seconds into a fraction of one.
        seed = [".mypy_cache"] if any(linter.name == "mypy" for linter in context.linters) else []
        # In memory only without AI agents: one may write anything there (a virtualenv...).
        deterministic = all(agent.kind == "deterministic" for agent in context.chain)
        await context.resources.open(
            context.root,
            context.run_id,
            context.in_flight,
            seed,
            context.config.deny,
            memory=deterministic,
        )
        tasks = await _lint_pristine(context, tasks)
        # One sandbox per file, and one for the final check when it will run.
        final_check = any(linter.project_wide for linter in context.linters)
        assert context.resources.sandboxes is not None
        context.resources.sandboxes.expect(len(tasks) + final_check)
    return {"tasks": tasks, "baseline": tuple(targeted), "files_checked": len(files)}


async def _lint_pristine(context: FixContext, tasks: list[FileTask]) -> list[FileTask]:
    """The tasks, each with what the per-file linters (not ``project_wide``) say about its file
    in a pristine sandbox: one run of each for all files, instead of one per file once its
    sandbox is leased (every sandbox is a copy of the same snapshot). A project-wide linter
    still checks each file in its own sandbox, the way its relint will (mypy's view of a file
    can depend on which other files it is given). When this fails, each file lints its own
    sandbox as before, and fails alone if it must."""
    sandboxes = context.resources.sandboxes
    assert sandboxes is not None
    linters = [linter for linter in context.linters if not linter.project_wide]
    # A file on the deny list is not in the sandbox; it is skipped (see _fix_or_skip).
    paths = [task["path"] for task in tasks if deny_note(task["path"], context.config.deny) is None]
    if not linters or not paths:
        return tasks
    try:
        async with sandboxes.open("the targets' first lint") as sandbox:
            found = await asyncio.to_thread(collect, linters, sandbox.root, paths)
    except Exception:
        log.warning("linting the targets in one sandbox failed", exc_info=True)
        return tasks
    in_sandbox = by_file(apply_filters(found, context.relint_config))
    return [task | {"in_sandbox": tuple(in_sandbox.get(task["path"], ()))} for task in tasks]


def fan_out(state: RunState) -> list[Send] | Literal["aggregate"]:
    """One ``Send`` per file; straight to the fan-in when nothing needs fixing."""
    sends = [Send("fix_file", task) for task in state.get("tasks", [])]
    return sends or "aggregate"


class FileNode(Protocol):
    """The shape LangGraph expects of a node that takes a ``Send`` payload and the runtime."""

    async def __call__(self, state: FileTask, *, runtime: Runtime[FixContext]) -> Update: ...


def make_fix_file(run_file: RunFile) -> FileNode:
    """The per-file node: walks the file's chain and turns every outcome into a result.

    An exception escaping a ``Send`` branch would cancel all its siblings, so none escapes:
    it becomes a ``failed`` result naming the error. The ``finally`` hands the sandbox back on
    every path, cancellation included, even when the chain never reached destroy_sandbox.
    """

    async def fix_file(state: FileTask, runtime: Runtime[FixContext]) -> Update:
        task, context = state, runtime.context
        started = time.monotonic()
        try:
            result = await _fix_or_skip(task, context, run_file)
        except Exception as error:
            result = plain_result(task, "failed", error=f"{type(error).__name__}: {error}")
        finally:
            await context.resources.release(task["path"])
        result = result._replace(duration=time.monotonic() - started)
        if result.status == "failed" and not context.config.continue_on_error:
            context.resources.stopped = f"stopped after {task['path']} failed (--fail-fast)"
        context.file_done(result)
        update: Update = {"results": [result]}
        if result.status in ("fixed", "partially-fixed"):
            update["successful_fixes"] = [task["path"]]
        elif result.status in ("failed", "conflict"):
            update["failed_fixes"] = [task["path"]]
        return update

    return fix_file


async def _fix_or_skip(task: FileTask, context: FixContext, run_file: RunFile) -> FileResult:
    if context.resources.stopped:
        return plain_result(task, "skipped", note=context.resources.stopped)
    denied = deny_note(task["path"], context.config.deny)
    if denied is not None:
        return plain_result(task, "skipped", note=denied)
    if not context.chain:
        return plain_result(task, "unchanged", note="no agent is available")
    return await run_file(task, context)


def file_input(task: FileTask) -> FileState:
    """The per-file chain's starting state."""
    return {
        "path": task["path"],
        "baseline": task["baseline"],
        "targeted": task["targeted"],
        "in_sandbox": task.get("in_sandbox"),
    }


async def aggregate(state: RunState) -> Update:
    """The fan-in, once every file is done: the run's exit code."""
    remaining = [d for result in state.get("results", []) for d in result.remaining]
    return {"exit_code": 1 if remaining else 0}


async def finalize(state: RunState, runtime: Runtime[FixContext]) -> Update:
    """Tell the plugins the session is over."""
    results = sorted(state.get("results", []), key=lambda result: result.path)
    await asyncio.to_thread(runtime.context.plugins.session_finish, results, state["exit_code"])
    return {}
