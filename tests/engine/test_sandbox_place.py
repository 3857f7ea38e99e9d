"""Where a run's sandboxes live: in memory only for fixers that write just the files they are
given (an AI agent may fill its sandbox with anything, a virtual environment say)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from engine_support import UNUSED, fix, make_project
from fake_agents import AgentPlugin, FakeAgent, FakeBatchAgent, remove_unused_imports

from stomper.sandbox import memory_budget
from stomper.testing import GitRepo, plugins_with

MEMORY = Path("/dev/shm")


pytestmark = pytest.mark.skipif(
    memory_budget(MEMORY) < 64 * 2**20, reason="no tmpfs at /dev/shm with room"
)


@pytest.fixture(autouse=True)
def system_temporary_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine where TMPDIR is not set."""
    monkeypatch.delenv("TMPDIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", "/tmp")


@pytest.mark.parametrize(
    ("agent", "in_memory"),
    [
        (FakeAgent("fake", remove_unused_imports), False),
        (FakeAgent("fake", remove_unused_imports, kind="deterministic"), True),
        (FakeBatchAgent("fake", remove_unused_imports), True),
    ],
    ids=["ai", "deterministic", "batch"],
)
def test_only_deterministic_fixers_get_sandboxes_in_memory(
    repo: GitRepo, agent: FakeAgent, *, in_memory: bool
) -> None:
    make_project(repo, {"app.py": UNUSED})
    plugins = plugins_with(("fake-agents", AgentPlugin(agent)))
    run = fix(repo, plugins, ["app.py"], agents=("fake",))
    assert [result.status for result in run.results] == ["fixed"]
    (request,) = agent.requests
    assert request.root.is_relative_to(MEMORY) is in_memory
    assert not request.root.exists(), "removed with the run"
