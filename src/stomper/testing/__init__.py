"""Helpers for testing stomper plugins the way stomper tests itself: real git, real tools.

>>> repo = GitRepo.create(tmp_path)
>>> repo.write("a.py", "import os\\n")
>>> repo.commit("initial")
>>> plugins = plugins_with(("myplugin", my_plugin_module))
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from stomper.git import git_env
from stomper.plugins import Plugins, make_plugins

__all__ = ["GitRepo", "install_distribution", "plugins_with"]

_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
}


class GitRepo:
    """A real git repository in a temporary directory, with small helpers."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, path: Path, *, initial_branch: str = "main") -> GitRepo:
        """``git init`` at ``path`` with a local identity, so commits work anywhere."""
        path.mkdir(parents=True, exist_ok=True)
        repo = cls(path)
        repo.git("init", "-q", "-b", initial_branch)
        repo.git("config", "user.name", "Test Author")
        repo.git("config", "user.email", "author@example.com")
        repo.git("config", "commit.gpgsign", "false")
        return repo

    def git(self, *args: str, check: bool = True) -> str:
        """Run git in the repository (scrubbed environment) and return stdout as text."""
        completed = subprocess.run(
            ["git", *args],
            cwd=self.path,
            env=git_env(None, **_IDENTITY),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
        if check and completed.returncode != 0:
            stderr = completed.stderr.decode(errors="replace")
            raise AssertionError(f"git {' '.join(args)} failed: {stderr}")
        return os.fsdecode(completed.stdout)

    def write(self, relative: str, content: str | bytes) -> Path:
        """Write a file (parents created); text is written as UTF-8 bytes, unchanged."""
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        target.write_bytes(data)
        return target

    def read(self, relative: str) -> bytes:
        """The bytes of a file in the work tree."""
        return (self.path / relative).read_bytes()

    def add(self, *paths: str) -> None:
        """``git add`` the given paths (all when none are given)."""
        self.git("add", *(paths or ("-A",)))

    def commit(self, message: str = "commit", *, add_all: bool = True) -> str:
        """Commit (everything, by default) and return the new HEAD."""
        if add_all:
            self.add()
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        """The commit HEAD points at."""
        return self.git("rev-parse", "HEAD").strip()

    def status(self) -> str:
        """``git status --porcelain`` output, for before/after comparisons."""
        return self.git("status", "--porcelain", "--untracked-files=all", "--ignored")

    def log(self) -> list[str]:
        """Commit subjects, newest first."""
        out = self.git("log", "--format=%s")
        return [line for line in out.splitlines() if line]


def plugins_with(*extra: tuple[str, object], builtins_disabled: Sequence[str] = ()) -> Plugins:
    """A plugin manager with the built-ins, no entry points, and ``extra`` plugins."""
    return make_plugins(builtins_disabled, autoload=False, extra=extra)


def install_distribution(site: Path, dist: str, module: str, source: str) -> None:
    """Make ``site`` hold an installed distribution as importlib.metadata sees it.

    ``module`` (written from ``source``) is exposed as a plugin named ``module`` through an
    entry point in the group ``stomper``; put ``site`` on ``PYTHONPATH`` (or ``sys.path``) to
    test entry-point discovery without installing anything.
    """
    (site / f"{module}.py").write_text(source, encoding="utf-8")
    info = site / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(f"[stomper]\n{module} = {module}\n", encoding="utf-8")
