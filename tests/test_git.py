"""``stomper.git.common_dir`` against real repositories and linked work trees."""

from __future__ import annotations

from pathlib import Path

import pytest

from stomper import git as stomper_git
from stomper.git import common_dir
from stomper.testing import GitRepo


def counting_git(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    """The git commands stomper.git runs from now on."""
    calls: list[tuple[str, ...]] = []
    real = stomper_git.git

    def counted(root: Path, *args: str, **kwargs: object) -> bytes:
        calls.append(args)
        return real(root, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(stomper_git, "git", counted)
    return calls


def test_main_tree_linked_tree_and_subdirectory(repo: GitRepo, tmp_path: Path) -> None:
    (repo.path / "sub").mkdir()
    linked = tmp_path / "linked"
    repo.git("worktree", "add", "-q", "--detach", str(linked))
    main_git = (repo.path / ".git").resolve()
    assert common_dir(repo.path).resolve() == main_git
    assert common_dir(repo.path / "sub").resolve() == main_git
    assert common_dir(linked).resolve() == main_git
    assert common_dir(linked).resolve() == main_git  # remembered: still right


def test_asked_once_while_the_git_directory_stays(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = counting_git(monkeypatch)
    first = common_dir(repo.path)
    assert common_dir(repo.path) == common_dir(repo.path) == first
    assert len(calls) == 1


def test_a_rewritten_git_file_is_followed(repo: GitRepo, tmp_path: Path) -> None:
    """A linked work tree whose ``.git`` file comes to point into another repository."""
    other = GitRepo.create(tmp_path / "other")
    other.write("a.txt", "a\n")
    other.commit("initial")
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    repo.git("worktree", "add", "-q", "--detach", str(mine))
    other.git("worktree", "add", "-q", "--detach", str(theirs))
    assert common_dir(mine).resolve() == (repo.path / ".git").resolve()

    (mine / ".git").write_bytes((theirs / ".git").read_bytes())
    assert common_dir(mine).resolve() == (other.path / ".git").resolve()


def test_find_root_tells_common_dir_what_git_said(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stomper.discovery import find_root

    linked = tmp_path / "linked"
    repo.git("worktree", "add", "-q", "--detach", str(linked))
    (linked / "sub").mkdir()
    assert find_root(linked / "sub") == (linked.resolve(), True)
    calls = counting_git(monkeypatch)
    assert common_dir(linked.resolve()).resolve() == (repo.path / ".git").resolve()
    assert calls == []
