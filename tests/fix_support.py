"""Helpers for the tests of ``stomper fix``'s reporting, cache, resume and bundles.

A small project in a real repository, fake AI agents plugged into the real command (by
replacing the plugin factory the command uses), and a check that a run left nothing behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from fake_agents import AgentPlugin, FakeAgent

from stomper.testing import GitRepo, plugins_with

PYPROJECT = """\
[tool.ruff]
line-length = 100

[tool.ruff.lint]
select = ["E", "F", "I"]

[tool.stomper]
linters = ["ruff"]
agents = {agents}
max_attempts = {attempts}
"""
GITIGNORE = "__pycache__/\n.mypy_cache/\n.ruff_cache/\n"
# One F401 (os): ruff-fix or the fake agents fix it.
UNUSED = "import os\n\n\ndef main() -> None:\n    print('hello')\n"
UNUSED_FIXED = "\n\ndef main() -> None:\n    print('hello')\n"
# One E741 (`l`): no deterministic fix; an agent renames it, or silences it (rejected).
AMBIGUOUS = "l = 1\nprint(l)\n"
# A third-party plugin's module that registers an exit function (see run_program).
ATEXIT_PLUGIN = """
import atexit
import os
from pathlib import Path

atexit.register(lambda: Path(os.environ["ATEXIT_MARK"]).write_text("ran"))
"""
BIN = Path(sys.executable).parent


def run_program(repo: GitRepo, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``stomper ARGS`` as the program, its console script (the way it may skip the
    interpreter's tear-down), in ``repo`` with ``env`` added and CI's variables removed."""
    full = {k: v for k, v in os.environ.items() if k not in ("CI", "PRE_COMMIT_CI")} | env
    return subprocess.run(
        [str(BIN / "stomper"), *args],
        cwd=repo.path,
        env=full,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def make_project(
    repo: GitRepo, files: Mapping[str, str], agents: Sequence[str] = ("fake",), attempts: int = 1
) -> None:
    """Write the configuration and ``files`` and commit them."""
    names = "[" + ", ".join(f'"{name}"' for name in agents) + "]"
    repo.write("pyproject.toml", PYPROJECT.format(agents=names, attempts=attempts))
    repo.write(".gitignore", GITIGNORE)
    for path, content in files.items():
        repo.write(path, content)
    repo.commit("project")


def use_agents(monkeypatch: pytest.MonkeyPatch, *agents: FakeAgent) -> None:
    """Make ``stomper`` commands in this process load the built-ins plus ``agents``."""
    plugins = plugins_with(("fake-agents", AgentPlugin(*agents)))
    monkeypatch.setattr("stomper.commands._common.make_plugins", lambda *args, **kw: plugins)


def assert_nothing_left(repo: GitRepo, private: Path) -> None:
    """No sandbox directory, stomper ref or run record remains (the cache may)."""
    assert [item.name for item in private.iterdir() if "stomper" in item.name] == []
    assert repo.git("for-each-ref", "refs/stomper/") == ""
    runs = repo.path / ".git" / "stomper" / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []


def status(repo: GitRepo) -> str:
    """``git status`` without ignored files."""
    return repo.git("status", "--porcelain", "--untracked-files=all")
