"""The two LangGraph graphs, built inside functions (never at import time).

Run graph::

    initialize -> collect -> Send per file -> fix_file -> aggregate (defer) -> final_check
        -> finalize   (final_check: :mod:`stomper.crosscheck`, all written fixes together)

Per-file subgraph (one compiled graph, invoked by ``fix_file`` for each file, so a file's many
steps never become ``Send`` hops of the run graph)::

    create_sandbox -> generate_prompt -> call_agent -> extract_diff -> validate
        validate -> generate_prompt (retry or next agent) | apply_to_main | give_up
        apply_to_main -> commit -> destroy_sandbox;  give_up -> destroy_sandbox
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langgraph.graph import END, START, StateGraph

from stomper import crosscheck
from stomper.engine import attempt, file_nodes, run_nodes
from stomper.engine.context import FixContext
from stomper.engine.state import FileState, FileTask, RunState

if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph

    from stomper.types import FileResult

# Steps of one agent call in the subgraph, and the fixed ones around them.
STEPS_PER_CALL = 4
FIXED_STEPS = 8


def build_file_graph() -> CompiledStateGraph[FileState, FixContext, FileState, FileState]:
    """The per-file subgraph."""
    graph = StateGraph(FileState, context_schema=FixContext)
    graph.add_node("create_sandbox", file_nodes.create_sandbox)
    graph.add_node("generate_prompt", file_nodes.generate_prompt)
    graph.add_node("call_agent", file_nodes.call_agent)
    graph.add_node("extract_diff", attempt.extract_diff)
    graph.add_node("validate", attempt.validate)
    graph.add_node("apply_to_main", file_nodes.apply_to_main)
    graph.add_node("commit", file_nodes.commit)
    graph.add_node("give_up", file_nodes.give_up)
    graph.add_node("destroy_sandbox", file_nodes.destroy_sandbox)
    graph.add_edge(START, "create_sandbox")
    graph.add_conditional_edges("create_sandbox", file_nodes.after_create)
    graph.add_edge("generate_prompt", "call_agent")
    graph.add_conditional_edges("call_agent", file_nodes.after_call)
    graph.add_edge("extract_diff", "validate")
    graph.add_conditional_edges("validate", attempt.after_validate)
    graph.add_edge("apply_to_main", "commit")
    graph.add_edge("commit", "destroy_sandbox")
    graph.add_edge("give_up", "destroy_sandbox")
    graph.add_edge("destroy_sandbox", END)
    return graph.compile(name="fix_one_file")


def build_run_graph() -> CompiledStateGraph[RunState, FixContext, RunState, RunState]:
    """The run graph; its per-file node runs a :func:`build_file_graph` subgraph."""
    file_graph = build_file_graph()

    async def run_file(task: FileTask, context: FixContext) -> FileResult:
        max_attempts = context.config.max_attempts
        calls = sum(max_attempts if agent.kind == "ai" else 1 for agent in context.chain)
        limit = FIXED_STEPS + STEPS_PER_CALL * calls
        final = await file_graph.ainvoke(
            run_nodes.file_input(task), {"recursion_limit": limit}, context=context
        )
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
