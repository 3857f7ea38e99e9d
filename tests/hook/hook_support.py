"""Helpers for the pre-commit tests: a repository with stomper installed as its hook."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from stomper.git import git_env
from stomper.testing import GitRepo

BIN = Path(sys.executable).parent
LOCAL_HOOK = f"""\
repos:
- repo: local
  hooks:
  - id: stomper
    name: stomper
    entry: {BIN / "stomper"} hook
    language: system
    types_or: [python, pyi]
    require_serial: true
"""


class HookRepo(GitRepo):
    """A repository with stomper installed as its pre-commit hook through real pre-commit."""

    def __init__(self, path: Path, home: Path) -> None:
        super().__init__(path)
        self.home = home

    def env(self, **extra: str) -> dict[str, str]:
        env = git_env(
            None,
            PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}",
            PRE_COMMIT_HOME=str(self.home),
            GIT_AUTHOR_NAME="Test Author",
            GIT_AUTHOR_EMAIL="author@example.com",
            GIT_COMMITTER_NAME="Test Author",
            GIT_COMMITTER_EMAIL="author@example.com",
        )
        env.pop("CI", None)
        env.update(extra)
        return env

    def run(self, *argv: str, **extra: str) -> subprocess.CompletedProcess[str]:
        """Run a command (git commit, pre-commit ...) the way a user's shell would."""
        return subprocess.run(
            list(argv),
            cwd=self.path,
            env=self.env(**extra),
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )

    def staged(self, relative: str) -> bytes:
        """The bytes the index holds for a path."""
        return subprocess.run(
            ["git", "show", f":{relative}"], cwd=self.path, env=self.env(), capture_output=True,
            check=True,
        ).stdout  # fmt: skip

    def committed(self, relative: str, rev: str = "HEAD") -> bytes:
        """The bytes a commit holds for a path."""
        return subprocess.run(
            ["git", "show", f"{rev}:{relative}"], cwd=self.path, env=self.env(),
            capture_output=True, check=True,
        ).stdout  # fmt: skip


def make_hook_repo(path: Path, home: Path, *, initial_commit: bool = True) -> HookRepo:
    """A repository with ruff-only stomper config and the hook installed."""
    base = GitRepo.create(path)
    repo = HookRepo(base.path, home)
    repo.write("pyproject.toml", '[tool.stomper]\nlinters = ["ruff"]\n\n[tool.ruff.lint]\n'
               'select = ["E", "F", "I"]\n')  # fmt: skip
    repo.write(".pre-commit-config.yaml", LOCAL_HOOK)
    if initial_commit:
        repo.commit("initial")
    installed = repo.run(str(BIN / "pre-commit"), "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return repo
