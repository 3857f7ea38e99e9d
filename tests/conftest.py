from __future__ import annotations

from pathlib import Path

import pytest

from stomper.testing import GitRepo


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    """A fresh git repository with one commit, as the current directory."""
    git_repo = GitRepo.create(tmp_path / "repo")
    git_repo.write("README.md", "demo\n")
    git_repo.commit("initial")
    monkeypatch.chdir(git_repo.path)
    return git_repo
