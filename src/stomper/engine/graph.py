"""The run graph (LangGraph) and the per-file chain it runs in each ``Send`` branch.

Run graph::

    initialize -> collect -> Send per file -> fix_file -> aggregate (defer) -> final_check
        -> finalize   (final_check: :mod:`stomper.crosscheck`, all written fixes together)

Per-file chain (the ``fix_file`` node walks it; see :data:`FILE_CHAIN`)::

    create_sandbox -> generate_prompt -> call_agent -> extract_diff -> validate
        validate -> generate_prompt (retry or next agent) | apply_to_main | give_up
        apply_to_main -> commit -> destroy_sandbox;  give_up -> destroy_sandbox

The chain's steps are the seed design's nodes, each a small async function returning a partial
:class:`FileState` update, and its routers are plain functions of the state. It is walked by
:func:`run_file_chain`, not compiled as a LangGraph subgraph: a subgraph step costs event-loop
time in LangGraph's own machinery (callbacks, task ids, channel bookkeeping) that nothing here
uses (no checkpoints, no streaming), and the steps are plain functions of the state and the
run's context. (``benchmarks/concurrency.py`` at ``-j16``: 1.15x -> 1.13x of the ideal.) The
state merges the way LangGraph's would: the ``operator.add`` keys of :class:`FileState`
accumulate, the others are replaced.
"""

from __future__ import annotations

import operator
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from langgraph.graph import END, START, StateGraph

from stomper import crosscheck
from stomper.engine import attempt, file_nodes, run_nodes
from stomper.engine.context import FixContext
from stomper.engine.state import FileState, FileTask, RunState

if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph

    from stomper.types import FileResult

Step = Callable[[FileState, FixContext], Awaitable[dict[str, Any]]]
Router = Callable[[FileState, FixContext], str]

# Each step of the per-file chain: its node, and where the chain goes next (a step's name,
# or a router choosing one from the state).
FILE_CHAIN: Mapping[str, tuple[Step, str | Router]] = {
    "create_sandbox": (file_nodes.create_sandbox, file_nodes.after_create),
    "generate_prompt": (file_nodes.generate_prompt, "call_agent"),
    "call_agent": (file_nodes.call_agent, file_nodes.after_call),
    "extract_diff": (attempt.extract_diff, "validate"),
    "validate": (attempt.validate, attempt.after_validate),
    "apply_to_main": (file_nodes.apply_to_main, "commit"),
    "commit": (file_nodes.commit, "destroy_sandbox"),
    "give_up": (file_nodes.give_up, "destroy_sandbox"),
    "destroy_sandbox": (file_nodes.destroy_sandbox, END),
}
FIRST_STEP = "create_sandbox"
# The keys whose updates accumulate (``Annotated[list[...], operator.add]`` in FileState).
ACCUMULATED = ("agents_used", "notes")
# Steps of one agent call in the chain, and the fixed ones around them.
STEPS_PER_CALL = 4
FIXED_STEPS = 8


async def run_file_chain(state: FileState, context: FixContext, limit: int) -> FileState:
    """Walk the per-file chain from :data:`FIRST_STEP` to its end; the final state.

    More than ``limit`` steps means a routing bug: a RuntimeError, never an endless loop.
    """
    current: dict[str, Any] = {key: [] for key in ACCUMULATED}
    current.update(state)
    step, steps = FIRST_STEP, 0
    while step != END:
        steps += 1
        if steps > limit:
            raise RuntimeError(f"the per-file chain took more than {limit} steps (at {step})")
        node, then = FILE_CHAIN[step]
        update = await node(cast("FileState", current), context)
        for key, value in update.items():
            current[key] = operator.add(current[key], value) if key in ACCUMULATED else value
        step = then if isinstance(then, str) else then(cast("FileState", current), context)
    return cast("FileState", current)


def build_run_graph() -> CompiledStateGraph[RunState, FixContext, RunState, RunState]:
    """The run graph; its per-file node walks :data:`FILE_CHAIN` for each file."""

    async def run_file(task: FileTask, context: FixContext) -> FileResult:
        max_attempts = context.config.max_attempts
        calls = sum(max_attempts if agent.kind == "ai" else 1 for agent in context.chain)
        limit = FIXED_STEPS + STEPS_PER_CALL * calls
        final = await run_file_chain(run_nodes.file_input(task), context, limit)
        result: FileResult = final["result"]
        return result

    graph = StateGraph(RunState, context_schema=FixContext)
    graph.add_node("initialize", run_nodes.initialize)
    graph.add_node("collect", run_nodes.collect_diagnostics)
    graph.add_node("fix_file", run_nodes.make_fix_file(run_file), input_schema=FileTask)
    graph.add_node("aggregate", run_nodes.aggregate, defer=True)
    graph.add_node("final_check", crosscheck.final_check)
    graph.add_node("finalize", run_nodes.finalize)
    graph.add_edge(START, "initialize")
    graph.add_edge("initialize", "collect")
    graph.add_conditional_edges("collect", run_nodes.fan_out, ["fix_file", "aggregate"])
    graph.add_edge("fix_file", "aggregate")
    graph.add_edge("aggregate", "final_check")
    graph.add_edge("final_check", "finalize")
    graph.add_edge("finalize", END)
    return graph.compile(name="stomper_fix")
