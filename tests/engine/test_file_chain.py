"""The per-file chain's driver: LangGraph's state semantics, its routing, its step limit."""

from __future__ import annotations

import asyncio
from typing import Any, cast, get_args, get_type_hints

import pytest

from stomper.engine import graph
from stomper.engine.context import FixContext
from stomper.engine.state import FileState

CONTEXT = cast("FixContext", object())


def steps(monkeypatch: pytest.MonkeyPatch, table: dict[str, Any]) -> None:
    monkeypatch.setattr(graph, "FILE_CHAIN", table)
    monkeypatch.setattr(graph, "FIRST_STEP", next(iter(table)))


def run(limit: int = 20) -> FileState:
    start: FileState = {"path": "a.py", "attempt": 1}
    return asyncio.run(graph.run_file_chain(start, CONTEXT, limit))


def test_updates_replace_except_notes_and_agents_which_accumulate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[str, object]] = []

    async def first(state: FileState, context: FixContext) -> dict[str, Any]:
        seen.append(("first", context))
        return {"attempt": 2, "notes": ["one"], "agents_used": ["ruff-fix"]}

    async def second(state: FileState, context: FixContext) -> dict[str, Any]:
        seen.append(("second", dict(state)))
        return {"attempt": state["attempt"] + 1, "notes": ["two"], "agents_used": ["fake"]}

    def route(state: FileState, context: FixContext) -> str:
        return "second" if state["attempt"] < 3 else graph.END

    steps(monkeypatch, {"first": (first, route), "second": (second, route)})
    final = run()
    assert final["attempt"] == 3
    assert final["notes"] == ["one", "two"]
    assert final["agents_used"] == ["ruff-fix", "fake"]
    assert final["path"] == "a.py"
    assert seen[0] == ("first", CONTEXT)
    assert seen[1][1] == {
        "path": "a.py",
        "attempt": 2,
        "notes": ["one"],
        "agents_used": ["ruff-fix"],
    }


def test_the_lists_start_empty_as_langgraph_channels_do(monkeypatch: pytest.MonkeyPatch) -> None:
    async def only(state: FileState, context: FixContext) -> dict[str, Any]:
        return {"status": "fixed" if state["notes"] == [] else "failed"}

    steps(monkeypatch, {"only": (only, graph.END)})
    final = run()
    assert final["status"] == "fixed"
    assert final["agents_used"] == []


def test_a_routing_loop_stops_at_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    async def again(state: FileState, context: FixContext) -> dict[str, Any]:
        calls.append(1)
        return {}

    steps(monkeypatch, {"again": (again, "again")})
    with pytest.raises(RuntimeError, match="more than 5 steps"):
        run(limit=5)
    assert len(calls) == 5


def test_the_real_chain_leads_only_to_its_own_steps() -> None:
    names = (*graph.FILE_CHAIN, graph.END)
    for _node, then in graph.FILE_CHAIN.values():
        # A router says where it may lead in its return type (a Literal of step names).
        targets = [then] if isinstance(then, str) else get_args(get_type_hints(then)["return"])
        assert targets
        assert set(targets) <= set(names), then
    assert graph.FIRST_STEP == "create_sandbox"
    assert graph.FILE_CHAIN["destroy_sandbox"][1] == graph.END
