"""Issue 7, target 2: do files really run ``--jobs`` at a time, sandboxes and validation included?

Run:  .venv/bin/python benchmarks/concurrency.py  [--files 64] [--jobs 4 8 16] [--agent 0.5]
      [--commit]

Generates a git repository of ``--files`` modules, each with one unused import (ruff F401),
and runs the real engine (:func:`stomper.engine.run_fix`) on all of them with a simulated AI
agent: it waits ``--agent`` seconds (as a model would), then removes the import. Everything
else is real: snapshot, a pooled sandbox per file, ruff re-run in the sandbox, every
validator, compare-and-swap write-back (and one commit per file with ``--commit``). The
repository is reset between runs. The reference is the ideal wall time
``ceil(files / jobs) x agent``; the target is at most 1.10x of it. Prints the load average.

The simulated agent is an AI agent, so its sandboxes are made in the temporary directory, on
disk unless ``TMPDIR`` says otherwise: ``TMPDIR=/dev/shm`` measures them in memory.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from stomper import FixOutcome, FixRequest, hookimpl
from stomper.config import load_config
from stomper.engine import run_fix
from stomper.testing import plugins_with

MODULE = "import os\n\n\ndef value_{index}() -> int:\n    return {index}\n"


class SleepyAgent:
    """A stand-in for an AI agent: thinks for a fixed time, then drops the unused imports."""

    name = "sleepy"
    kind = "ai"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def available(self) -> str | None:
        return None

    async def fix(self, request: FixRequest) -> FixOutcome:
        await asyncio.sleep(self.seconds)
        target = request.root / request.path
        lines = {d.line for d in request.diagnostics if d.code == "F401"}
        kept = [
            line
            for number, line in enumerate(target.read_text().splitlines(keepends=True), 1)
            if number not in lines
        ]
        target.write_text("".join(kept))
        return FixOutcome(self.name, True, "removed the unused imports")


class SleepyPlugin:
    def __init__(self, agent: SleepyAgent) -> None:
        self.agent = agent

    @hookimpl
    def stomper_register_agents(self, register: Callable[[Any], None], config: Any) -> None:
        register(self.agent)


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


def make_project(root: Path, files: int) -> list[str]:
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "bench")
    git(root, "config", "user.email", "bench@example.com")
    (root / "pyproject.toml").write_text(
        "[tool.ruff.lint]\nselect = ['F']\n\n[tool.stomper]\nlinters = ['ruff']\n"
    )
    (root / ".gitignore").write_text(".ruff_cache/\n__pycache__/\n")
    paths = []
    for index in range(files):
        path = f"pkg/mod_{index:03d}.py"
        (root / "pkg").mkdir(exist_ok=True)
        (root / path).write_text(MODULE.format(index=index))
        paths.append(path)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "project")
    return paths


def one_run(root: Path, paths: list[str], jobs: int, agent: float, commit: bool) -> float:
    plugins = plugins_with(("sleepy", SleepyPlugin(SleepyAgent(agent))))
    config = load_config(
        root,
        {"agents": ("sleepy",), "max_parallel_files": jobs, "commit": commit, "cache": False},
    )
    started = time.perf_counter()
    fix_run = asyncio.run(run_fix(root, config, plugins, paths))
    elapsed = time.perf_counter() - started
    fixed = sum(result.status == "fixed" for result in fix_run.results)
    if fixed != len(paths):
        notes = [(r.path, r.status, r.error, r.notes) for r in fix_run.results][:3]
        raise SystemExit(f"only {fixed} of {len(paths)} files fixed: {notes}")
    git(root, "reset", "-q", "--hard", "HEAD" if not commit else f"HEAD~{len(paths)}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=64)
    parser.add_argument("--jobs", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--agent", type=float, default=0.5, help="seconds per agent call")
    parser.add_argument("--commit", action="store_true", help="one commit per fixed file")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stomper-bench-jobs-") as temp:
        root = Path(temp) / "project"
        paths = make_project(root, options.files)
        one_run(root, paths, 4, 0.0, options.commit)  # warm caches and byte code
        print(f"{options.files} files, agent {options.agent:g} s, commit={options.commit}")
        print(f"{'jobs':>5} {'wall s':>8} {'ideal s':>8} {'ratio':>7}  target <= 1.10")
        for jobs in options.jobs:
            elapsed = one_run(root, paths, jobs, options.agent, options.commit)
            ideal = math.ceil(options.files / jobs) * options.agent
            verdict = "met" if elapsed / ideal <= 1.10 else "NOT met"
            print(f"{jobs:>5} {elapsed:>8.2f} {ideal:>8.2f} {elapsed / ideal:>7.3f}  {verdict}")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load average: {load}")


if __name__ == "__main__":
    main()
