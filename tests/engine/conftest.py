"""Engine fixtures, and a check after every test that a run left nothing behind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_support import children_settled

from stomper.testing import GitRepo


@pytest.fixture(autouse=True)
def nothing_left_behind(tmp_path: Path, private_tmpdir: Path) -> Iterator[None]:
    """After the test: no sandbox, worktree, stomper ref or directory, no child process."""
    yield
    leftovers = [item.name for item in private_tmpdir.iterdir() if "stomper" in item.name]
    assert leftovers == [], f"temporary directories left: {leftovers}"
    for git_dir in tmp_path.glob("**/.git"):
        repo = GitRepo(git_dir.parent)
        worktrees = repo.git("worktree", "list", "--porcelain").count("worktree ")
        assert worktrees == 1, repo.git("worktree", "list")
        assert repo.git("for-each-ref", "refs/stomper/") == ""
        # Only the batched write-back's spare files (stomper.spares) stay, kept on purpose.
        own = git_dir / "stomper"
        left = [] if not own.exists() else [p for p in own.iterdir() if p.name != "spare"]
        assert left == [], list(own.rglob("*"))
        spare = list((own / "spare").iterdir()) if (own / "spare").exists() else []
        assert all(path.is_file() and path.stat().st_nlink == 1 for path in spare), spare
    assert children_settled() == [], "child processes left running"
