"""Helpers for the engine tests: a small project in a real repository, and run_fix on it."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from pathlib import Path

from fake_agents import AgentPlugin, Behaviour, FakeAgent

from stomper.config import Config, load_config
from stomper.engine import FixRun, run_fix
from stomper.plugins import Plugins
from stomper.testing import GitRepo, plugins_with

PYPROJECT = """\
[tool.ruff]
line-length = 100

[tool.ruff.lint]
select = ["E", "F", "I"]

[tool.mypy]
check_untyped_defs = true

[tool.stomper]
linters = {linters}
"""
GITIGNORE = "__pycache__/\n.mypy_cache/\n.ruff_cache/\n"
# One F401 (os), for the fake agents to fix.
UNUSED = "import os\n\n\ndef main() -> None:\n    print('hello')\n"
UNUSED_FIXED = "\n\ndef main() -> None:\n    print('hello')\n"
# One F401 (os) and one I001 (the block is unsorted); ruff fixes both.
FIXABLE = "import sys\nimport os\n\n\nprint(sys.argv)\n"
FIXABLE_AFTER = "import sys\n\nprint(sys.argv)\n"


def make_project(repo: GitRepo, files: dict[str, str], linters: Sequence[str] = ("ruff",)) -> None:
    """Write the test project's configuration and ``files``, and commit them all."""
    quoted = "[" + ", ".join(f'"{name}"' for name in linters) + "]"
    repo.write("pyproject.toml", PYPROJECT.format(linters=quoted))
    repo.write(".gitignore", GITIGNORE)
    for path, content in files.items():
        repo.write(path, content)
    repo.commit("project")


def fake(behaviour: Behaviour, name: str = "fake") -> tuple[FakeAgent, Plugins]:
    """An AI agent doing ``behaviour``, and plugins (the built-ins plus it) to run it with."""
    agent = FakeAgent(name, behaviour)
    return agent, plugins_with(("fake-agents", AgentPlugin(agent)))


def status(repo: GitRepo) -> str:
    """``git status`` without ignored files (the linters' caches come and go)."""
    return repo.git("status", "--porcelain", "--untracked-files=all")


def fix(
    repo: GitRepo,
    plugins: Plugins,
    files: Sequence[str],
    *,
    dry_run: bool = False,
    diffs: bool = True,
    **overrides: object,
) -> FixRun:
    """``run_fix`` on ``repo`` with its configuration plus ``overrides``."""
    config: Config = load_config(repo.path, overrides)
    run = run_fix(repo.path, config, plugins, list(files), dry_run=dry_run, diffs=diffs)
    return asyncio.run(run)


def children_settled(timeout: float = 3.0) -> list[int]:
    """Our child processes, after giving exiting ones a moment to be reaped."""
    deadline = time.monotonic() + timeout
    while True:
        children = child_processes()
        if not children or time.monotonic() > deadline:
            return children
        time.sleep(0.05)


def child_processes() -> list[int]:
    """The live (not zombie) child processes of this process."""
    pid = os.getpid()
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        state, parent = fields[0], int(fields[1])
        if parent == pid and state != "Z":
            found.append(int(stat.parent.name))
    return found
