"""Judging one attempt: what changed, what the linters say now, what the validators decide.

An accepted candidate becomes the base of the next attempt; a rejected one is undone in the
sandbox (the target back to the last accepted bytes, every other touched path back to the
snapshot) and the validators' messages become the next attempt's feedback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Literal

from stomper.diagnostics import apply_filters
from stomper.engine.context import FixContext
from stomper.engine.file_nodes import finish
from stomper.engine.outcome import still_targeted, unified_diff
from stomper.engine.relint import lint_in_sandbox, run_validators
from stomper.engine.state import FileState
from stomper.sandbox import Sandbox, changed_paths, read_file, reset_path, write_file
from stomper.types import Diagnostic, ValidationContext, Verdict

Update = dict[str, Any]
ENGINE = "engine"


async def extract_diff(state: FileState, context: FixContext) -> Update:
    """Record every path the attempt touched, the candidate bytes and its diff."""
    context.stage(state["path"], "validating")
    sandbox = context.resources.sandbox_for(state["path"])
    changed = await changed_paths(sandbox)
    candidate = await asyncio.to_thread(read_file, sandbox.root / state["path"])
    diff = unified_diff(state["path"], state["accepted"], candidate or b"")
    return {"changed": tuple(changed), "candidate": candidate, "current_diff": diff}


async def validate(state: FileState, context: FixContext) -> Update:
    """Keep the candidate if every validator accepts it, otherwise undo it; plan the next call."""
    sandbox = context.resources.sandbox_for(state["path"])
    verdicts, after = await _judge(state, context, sandbox)
    rejections = [verdict for verdict in verdicts if not verdict.ok]
    agent, attempt = state["current_agent"], state["attempt"]
    if rejections:
        await _undo(sandbox, state)
        feedback = "\n".join(f"{v.validator or ENGINE}: {v.message}" for v in rejections)
        note = "no change" if _no_change(state) else f"rejected: {feedback}"
        update: Update = {"feedback": feedback, "notes": [f"{agent} attempt {attempt} {note}"]}
        remaining = state["remaining"]
    else:
        remaining = still_targeted(state["remaining"], after)
        update = {
            "accepted": state["candidate"],
            # The next attempt is judged against these bytes' diagnostics, not the file's
            # first ones: an AI agent must not bring back what ruff-fix already removed.
            "baseline": after,
            "remaining": remaining,
            "agents_used": [agent],
            "feedback": _left_over(remaining),
        }
    return update | _next_call(state, context, remaining)


def after_validate(
    state: FileState, context: FixContext
) -> Literal["generate_prompt", "apply_to_main", "give_up"]:
    """Another agent call while something targeted remains and the chain allows it."""
    if not state["remaining"] or state["agent_index"] >= len(context.chain):
        return finish(state)
    return "generate_prompt"


def _next_call(state: FileState, context: FixContext, remaining: Sequence[Diagnostic]) -> Update:
    """The same AI agent again while it has attempts left, else the next agent of the chain."""
    agent = context.chain[state["agent_index"]]
    if agent.kind == "ai" and remaining and state["attempt"] < context.config.max_attempts:
        return {"attempt": state["attempt"] + 1}
    return {"agent_index": state["agent_index"] + 1, "attempt": 1, "feedback": None}


def _left_over(remaining: Sequence[Diagnostic]) -> str | None:
    if not remaining:
        return None
    listed = "; ".join(f"line {d.line}: {d.code} {d.message}" for d in remaining)
    return f"the previous change was kept, but these remain: {listed}"


def _no_change(state: FileState) -> bool:
    """The attempt left the target's bytes as they were and touched no other path."""
    path = state["path"]
    only_target = all(c.path == path and c.change == "modified" for c in state["changed"])
    return state.get("candidate") == state["accepted"] and only_target


async def _judge(
    state: FileState, context: FixContext, sandbox: Sandbox
) -> tuple[list[Verdict], tuple[Diagnostic, ...]]:
    """The validators' verdicts on the candidate, and the linters' diagnostics for it."""
    candidate, path = state.get("candidate"), state["path"]
    if candidate is None:
        return [Verdict(False, f"{path} was deleted or is no longer a file", ENGINE)], ()
    if _no_change(state):
        return [Verdict(False, f"the attempt changed nothing in {path}", ENGINE)], ()
    found = await lint_in_sandbox(context.linters, sandbox.root, path)
    after = tuple(apply_filters(found, context.relint_config))
    validation = ValidationContext(
        root=sandbox.root,
        path=path,
        original=state["accepted"],
        candidate=candidate,
        baseline=state["baseline"],
        targeted=state["remaining"],
        after=after,
        changed=state["changed"],
        linters=context.linters,
    )
    verdicts = await asyncio.to_thread(run_validators, context.validators, validation)
    return verdicts, after


async def _undo(sandbox: Sandbox, state: FileState) -> None:
    """Put the sandbox back as it was after the last accepted attempt."""
    path = state["path"]
    for changed in state["changed"]:
        # The target's own mode, type or name change goes back to the snapshot as well.
        if changed.path != path or changed.change != "modified":
            await reset_path(sandbox, changed.path)
    await asyncio.to_thread(write_file, sandbox.root / path, state["accepted"])
