from __future__ import annotations

import tempfile
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


@pytest.fixture
def private_tmpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A TMPDIR of this test's own (sandboxes go there), for this process and subprocesses."""
    private = tmp_path / "tmpdir"
    private.mkdir()
    monkeypatch.setenv("TMPDIR", str(private))
    monkeypatch.setattr(tempfile, "tempdir", None)
    return private
