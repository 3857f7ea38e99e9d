"""The per-file chain's steps around the attempts: sandbox, prompt, agent, apply, commit.

Each step is a small async function returning a partial :class:`FileState` update. Blocking
work (git, file reads, agent subprocesses) runs in threads or asyncio subprocesses so the
event loop keeps every other file moving. The attempt's judgement lives in
:mod:`stomper.engine.attempt`.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from stomper.diagnostics import apply_filters
from stomper.engine.context import FixContext
from stomper.engine.events import emit_validated
from stomper.engine.outcome import file_result, fixed_codes, improved, settled_status
from stomper.engine.relint import lint_in_sandbox, unreproduced
from stomper.engine.state import FileState
from stomper.faults import afault
from stomper.prompts import build_prompt
from stomper.secrets import denied_by
from stomper.types import Agent, FixRequest

Update = dict[str, Any]
# Beyond its own timeout, how long an agent gets to stop before stomper cancels it.
AGENT_GRACE_SECONDS = 10.0


async def create_sandbox(state: FileState, context: FixContext) -> Update:
    """Lease a sandbox for the file and read its bytes as the snapshot holds them."""
    from stomper.sandbox import snapshot_bytes

    resources = context.resources
    if resources.sandboxes is None or resources.snapshot is None:
        raise RuntimeError("the run's sandboxes were not opened before fixing files")
    path = state["path"]
    context.stage(path, "sandbox")
    sandbox = await resources.sandboxes.acquire(path)
    resources.leases[path] = sandbox
    await afault("sandbox-created")
    try:
        original = await asyncio.to_thread(snapshot_bytes, resources.snapshot, path)
    except (KeyError, FileNotFoundError, LookupError) as error:
        note = f"not in the snapshot, skipped: {error}"
        return {"current_worktree_id": sandbox.id, "status": "skipped", "notes": [note]}
    first = state.get("in_sandbox")  # the per-file linters' view, from one lint of all files
    linters = context.linters
    if first is not None:
        linters = [linter for linter in linters if linter.project_wide]
    found = await lint_in_sandbox(linters, sandbox.root, path) if linters else []
    in_sandbox = (*(first or ()), *apply_filters(found, context.relint_config))
    missing = unreproduced(state["targeted"], in_sandbox)
    if missing:
        listed = ", ".join(f"{d.code} (line {d.line})" for d in missing)
        note = (
            f"skipped: the sandbox does not reproduce {listed}; the linters see the file "
            "differently there (an ignored config file or generated code?)"
        )
        return {"current_worktree_id": sandbox.id, "status": "skipped", "notes": [note]}
    return {
        "current_worktree_id": sandbox.id,
        # Attempts are judged against what the linters say in the sandbox.
        "baseline": in_sandbox,
        "original": original,
        "accepted": original,
        "remaining": state["targeted"],
        "agent_index": 0,
        "attempt": 1,
        "attempts": 0,
    }


def after_create(state: FileState, context: FixContext) -> Literal["generate_prompt", "give_up"]:
    """Start the agent chain, unless the file could not be set up."""
    return "give_up" if state.get("status") == "skipped" else "generate_prompt"


async def generate_prompt(state: FileState, context: FixContext) -> Update:
    """The prompt for the next agent call: the file, what remains, the last feedback."""
    agent = context.chain[state["agent_index"]]
    if agent.kind == "deterministic":
        return {"current_agent": agent.name, "current_prompt": ""}
    prompt = await asyncio.to_thread(
        build_prompt,
        state["path"],
        state["accepted"].decode("utf-8", "replace"),
        state["remaining"],
        feedback=state.get("feedback"),
        attempt=state["attempt"],
        root=context.root,
        template=context.config.prompt_template,
    )
    return {"current_agent": agent.name, "current_prompt": prompt}


async def call_agent(state: FileState, context: FixContext) -> Update:
    """Ask the current agent to edit the file in the sandbox; its words count for nothing.

    An AI agent call waits for one of the run's ``--jobs`` agent slots first."""
    agent = context.chain[state["agent_index"]]
    slots = context.resources.agent_slots
    if agent.kind != "ai" or slots is None:
        return await _call_agent(state, context, agent)
    async with slots:
        return await _call_agent(state, context, agent)


async def _call_agent(state: FileState, context: FixContext, agent: Agent) -> Update:
    stopped = context.resources.stopped
    if stopped is not None and not state.get("attempts"):
        # --fail-fast: another file failed while this one waited for an agent slot.
        return {"stop": True, "status": "skipped", "notes": [stopped]}
    refusal = _refusal(agent, state["path"], context)
    if refusal is not None:
        update: Update = {"stop": True, "notes": [f"{agent.name} not called: {refusal}"]}
        if not state.get("attempts"):
            update["status"] = "skipped"  # no agent ever saw this file
        return update
    if agent.kind == "ai":
        context.resources.agent_calls += 1
    request = _request(agent, state, context)
    context.stage(state["path"], "fixing", f"{agent.name}, attempt {state['attempt']}")
    attempts = state.get("attempts", 0) + 1
    try:
        outcome = await asyncio.wait_for(
            agent.fix(request), timeout=context.config.agent_timeout + AGENT_GRACE_SECONDS
        )
    except asyncio.TimeoutError:
        # Whatever it left in the sandbox is still judged (and most likely rejected).
        note = f"{agent.name} attempt {state['attempt']}: cancelled after its timeout"
        return {"attempts": attempts, "notes": [note]}
    except Exception as error:
        message = f"agent {agent.name!r} raised {type(error).__name__}: {error}"
        if not context.config.continue_on_error:
            # Said now, before the slot goes to a file that is waiting for it.
            context.resources.stopped = f"stopped after {state['path']} failed (--fail-fast)"
        return {"attempts": attempts, "stop": True, "error": message}
    update = {"attempts": attempts}
    if outcome.cost_usd is not None:
        context.resources.cost_usd += outcome.cost_usd
        update["cost"] = (state.get("cost") or 0.0) + outcome.cost_usd
    return update


def _refusal(agent: Agent, path: str, context: FixContext) -> str | None:
    """Why an AI agent must not see this file now (deny list, budget); None when it may."""
    if agent.kind != "ai":
        return None
    pattern = denied_by(path, context.config.deny)  # the snapshot's meaning of the list
    if pattern is not None:
        return f"{path} matches the deny list ({pattern})"
    return context.budget_spent()


def _request(agent: Agent, state: FileState, context: FixContext) -> FixRequest:
    sandbox = context.resources.sandbox_for(state["path"])
    return FixRequest(
        root=sandbox.root,
        path=state["path"],
        diagnostics=state["remaining"],
        attempt=state["attempt"],
        feedback=state.get("feedback"),
        prompt=state.get("current_prompt", ""),
        timeout=context.config.agent_timeout,
        options=context.config.plugin_options(agent.name),
    )


def finish(state: FileState) -> Literal["apply_to_main", "give_up"]:
    """Apply what was gained, or give up when nothing was."""
    return "apply_to_main" if improved(state) else "give_up"


def after_call(
    state: FileState, context: FixContext
) -> Literal["extract_diff", "apply_to_main", "give_up"]:
    """Judge the attempt, unless the agent failed or was not called."""
    return finish(state) if state.get("stop") else "extract_diff"


async def apply_to_main(state: FileState, context: FixContext) -> Update:
    """Write the validated bytes into the user's tree (compare-and-swap), unless dry-running."""
    from stomper.apply import write_back

    status = settled_status(state)
    context.stage(state["path"], "writing")
    emit_validated(context.events, state["path"], state["original"], state["accepted"])
    if context.dry_run:
        context.resources.proposed[state["path"]] = state["accepted"]
        return {"status": status, "notes": ["dry run: nothing written"]}
    snapshot = context.resources.snapshot
    assert snapshot is not None  # opened before any file starts
    outcome = await asyncio.to_thread(write_back, snapshot, state["path"], state["accepted"])
    if not outcome.written:
        return {"status": "conflict", "notes": [f"not written: {outcome.reason}"]}
    return {"status": status}


async def commit(state: FileState, context: FixContext) -> Update:
    """Commit the written file on its own, one commit at a time (they all move HEAD)."""
    from stomper.apply import commit_file

    if context.dry_run or not context.config.commit:
        return {}
    if state.get("status") not in ("fixed", "partially-fixed"):
        return {}
    snapshot = context.resources.snapshot
    assert snapshot is not None
    context.stage(state["path"], "committing")
    message = context.config.commit_style.format(codes=fixed_codes(state), path=state["path"])
    try:
        async with context.resources.commit_lock:
            outcome = await asyncio.to_thread(
                commit_file, snapshot, state["path"], state["accepted"], message
            )
    except Exception as error:
        # The fix is already in the user's tree; a failed commit must not hide that.
        return {"notes": [f"not committed: {type(error).__name__}: {error}"]}
    if outcome.commit is None:
        return {"notes": [f"not committed: {outcome.reason}"]}
    return {"commit": outcome.commit}


async def give_up(state: FileState, context: FixContext) -> Update:
    """Nothing is applied: the file ends failed, skipped or unchanged."""
    if state.get("error"):
        return {"status": "failed"}
    return {"status": state.get("status", "unchanged")}


async def destroy_sandbox(state: FileState, context: FixContext) -> Update:
    """Hand the sandbox back and record the file's result."""
    await context.resources.release(state["path"])
    return {"result": file_result(state, diff=context.diffs)}
