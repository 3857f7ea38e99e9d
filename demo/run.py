"""Try stomper on the bundled demo project, offline, without touching this checkout.

Copies ``demo/project`` to a new temporary git repository, then runs there:
``stomper check`` (what the linters find), ``stomper fix`` (ruff's own fixes, each proven in a
sandbox and committed on its own), ``git log`` (the commits it made) and ``stomper check``
again (what is left for an AI agent or a person). The copy is kept so you can look around;
its path is printed at the end.

Usage: ``python demo/run.py`` with the Python of the environment stomper is installed in.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent / "project"
IDENTITY = {
    "GIT_AUTHOR_NAME": "stomper demo",
    "GIT_AUTHOR_EMAIL": "demo@example.com",
    "GIT_COMMITTER_NAME": "stomper demo",
    "GIT_COMMITTER_EMAIL": "demo@example.com",
}


def stomper() -> str:
    """The ``stomper`` command installed beside this Python, else the one on PATH."""
    beside = Path(sys.executable).parent / "stomper"
    return str(beside) if beside.is_file() else "stomper"


def step(title: str, argv: list[str], cwd: Path) -> int:
    """Show and run one command; return its exit code."""
    print(f"\n$ {title}", flush=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env.update(IDENTITY, STOMPER_DISABLE_PLUGIN_AUTOLOAD="1")
    return subprocess.run(argv, cwd=cwd, env=env, check=False).returncode


def make_repository() -> Path:
    """A fresh git repository holding one commit of the demo project."""
    copy = Path(tempfile.mkdtemp(prefix="inventory-demo-")) / "inventory-demo"
    shutil.copytree(PROJECT, copy, ignore=shutil.ignore_patterns("*cache*", "__pycache__"))
    for argv in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "inventory demo"],
    ):
        env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
        subprocess.run(argv, cwd=copy, env={**env, **IDENTITY}, check=True)
    return copy


def main() -> int:
    """Run the demo; exit 0 when every step behaved as expected."""
    copy = make_repository()
    command = stomper()
    print(f"demo project copied to {copy}")
    checked = step("stomper check", [command, "check"], copy)
    fixed = step("stomper fix", [command, "fix"], copy)
    step("git log --oneline", ["git", "log", "--oneline"], copy)
    left = step("stomper check", [command, "check"], copy)
    print(
        f"\nThe demo repository is at {copy}. What is left needs an AI agent, e.g.\n"
        f"  cd {copy} && {command} fix --agent claude"
    )
    # check finds problems (1), fix leaves the ones ruff cannot fix (1), and so does check.
    return 0 if (checked, fixed, left) == (1, 1, 1) else 1


if __name__ == "__main__":
    sys.exit(main())
