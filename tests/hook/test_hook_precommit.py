"""stomper as a real pre-commit hook under real `git commit`, in temporary repositories."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hook_support import BIN, HookRepo, make_hook_repo

UNUSED_IMPORT = b"import os\nimport sys\n\nprint(sys.argv)\n"
FIXED = b"import sys\n\nprint(sys.argv)\n"
MODIFIED = "files were modified by this hook"


def assert_no_leftovers(repo: HookRepo) -> None:
    worktrees = repo.git("worktree", "list", "--porcelain").count("worktree ")
    assert worktrees == 1
    assert repo.git("for-each-ref", "refs/stomper") == ""
    assert not (repo.path / ".git" / "stomper" / "sandboxes").exists() or not any(
        (repo.path / ".git" / "stomper" / "sandboxes").iterdir()
    )


def commit(repo: HookRepo, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return repo.run("git", "commit", "-m", "change", *args, **env)


def test_fully_staged_file_is_fixed_in_the_work_tree_not_the_index(hook_repo: HookRepo) -> None:
    hook_repo.write("app.py", UNUSED_IMPORT)
    hook_repo.add("app.py")
    head = hook_repo.head()
    blocked = commit(hook_repo)
    assert blocked.returncode != 0
    assert MODIFIED in blocked.stderr
    assert "fixed            app.py  F401" in blocked.stderr
    assert hook_repo.read("app.py") == FIXED
    assert hook_repo.staged("app.py") == UNUSED_IMPORT
    assert hook_repo.head() == head

    hook_repo.add("app.py")
    passed = commit(hook_repo)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert hook_repo.committed("app.py") == FIXED
    assert_no_leftovers(hook_repo)


def test_partially_staged_file_keeps_unstaged_hunks_byte_exact(hook_repo: HookRepo) -> None:
    base = b"import sys\n\n\ndef main():\n    print(sys.argv)\n\n\nmain()\n"
    hook_repo.write("app.py", base)
    hook_repo.commit("app")
    staged = b"import os\n" + base
    hook_repo.write("app.py", staged)
    hook_repo.add("app.py")
    work = staged + b"# an unstaged note\n"
    hook_repo.write("app.py", work)

    blocked = commit(hook_repo)
    assert blocked.returncode != 0
    assert hook_repo.staged("app.py") == staged
    # pre-commit restores the unstaged hunk; its own rule drops the hook's fix on conflict,
    # so the work tree holds either the user's bytes or the fix plus the user's hunk.
    assert hook_repo.read("app.py") in (work, base + b"# an unstaged note\n")


def test_partially_staged_clean_part_commits_exactly_what_was_staged(hook_repo: HookRepo) -> None:
    hook_repo.write("app.py", b"import sys\n\nprint(sys.argv)\n")
    hook_repo.commit("app")
    staged = b"import sys\n\nprint(sys.argv, 1)\n"
    hook_repo.write("app.py", staged)
    hook_repo.add("app.py")
    work = b"import os\nimport sys\n\nprint(sys.argv, 1)\n"  # the unstaged part has the error
    hook_repo.write("app.py", work)

    passed = commit(hook_repo)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert hook_repo.committed("app.py") == staged
    assert hook_repo.read("app.py") == work


def test_a_new_file(hook_repo: HookRepo) -> None:
    hook_repo.write("pkg/new.py", UNUSED_IMPORT)
    hook_repo.add("pkg/new.py")
    blocked = commit(hook_repo)
    assert blocked.returncode != 0
    assert hook_repo.read("pkg/new.py") == FIXED
    assert hook_repo.staged("pkg/new.py") == UNUSED_IMPORT


def test_clean_files_pass_without_a_sandbox(hook_repo: HookRepo) -> None:
    hook_repo.write("ok.py", b"VALUE = 1\n")
    hook_repo.add("ok.py")
    objects_before = hook_repo.git("count-objects", "-v")
    ran = hook_repo.run(str(BIN / "pre-commit"), "run", "stomper", "--files", "ok.py")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    # A snapshot would have written a tree and a commit object: none was taken.
    assert hook_repo.git("count-objects", "-v") == objects_before
    passed = commit(hook_repo)
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_commit_all(hook_repo: HookRepo) -> None:
    hook_repo.write("app.py", FIXED)
    hook_repo.commit("app")
    hook_repo.write("app.py", UNUSED_IMPORT)
    blocked = commit(hook_repo, "-a")
    assert blocked.returncode != 0
    assert hook_repo.read("app.py") == FIXED
    assert hook_repo.committed("app.py") == FIXED
    assert hook_repo.staged("app.py") == FIXED  # -a's temporary index was not ours to write
    hook_repo.write("other.py", UNUSED_IMPORT)
    hook_repo.add("other.py")
    hook_repo.write("other.py", FIXED)
    passed = commit(hook_repo, "-a")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert hook_repo.committed("other.py") == FIXED


def test_commit_with_a_pathspec(hook_repo: HookRepo) -> None:
    hook_repo.write("app.py", FIXED)
    hook_repo.write("staged.py", b"X = 1\n")
    hook_repo.commit("two files")
    hook_repo.write("app.py", UNUSED_IMPORT)
    hook_repo.write("staged.py", b"X = 2\n")
    hook_repo.add("staged.py")
    blocked = commit(hook_repo, "--", "app.py")
    assert blocked.returncode != 0
    assert hook_repo.read("app.py") == FIXED
    assert hook_repo.staged("staged.py") == b"X = 2\n"


def test_amend(hook_repo: HookRepo) -> None:
    hook_repo.write("app.py", FIXED)
    hook_repo.commit("app")
    head = hook_repo.head()
    hook_repo.write("app.py", UNUSED_IMPORT)
    hook_repo.add("app.py")
    blocked = hook_repo.run("git", "commit", "--amend", "--no-edit")
    assert blocked.returncode != 0
    assert hook_repo.head() == head
    assert hook_repo.read("app.py") == FIXED
    hook_repo.add("app.py")
    # A new message: with the same tree, an amend in the same second would be the same commit.
    amended = hook_repo.run("git", "commit", "--amend", "-m", "app, amended")
    assert amended.returncode == 0, amended.stdout + amended.stderr
    assert hook_repo.head() != head
    assert hook_repo.git("log", "-1", "--format=%s").strip() == "app, amended"


def test_initial_commit(tmp_path: Path, pre_commit_home: Path) -> None:
    repo = make_hook_repo(tmp_path / "fresh", pre_commit_home, initial_commit=False)
    repo.write("app.py", UNUSED_IMPORT)
    repo.add()
    blocked = commit(repo)
    assert blocked.returncode != 0
    assert repo.git("rev-parse", "--verify", "-q", "HEAD", check=False) == ""
    assert repo.read("app.py") == FIXED
    repo.add()
    passed = commit(repo)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert_no_leftovers(repo)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("crlf.py", UNUSED_IMPORT.replace(b"\n", b"\r\n"), FIXED.replace(b"\n", b"\r\n")),
        ("with space $(touch pwned).py", UNUSED_IMPORT, FIXED),
    ],
)
def test_awkward_files(hook_repo: HookRepo, name: str, content: bytes, expected: bytes) -> None:
    hook_repo.write(name, content)
    hook_repo.add(name)
    blocked = commit(hook_repo)
    assert blocked.returncode != 0, blocked.stdout
    assert hook_repo.read(name) == expected
    assert hook_repo.staged(name) == content
    assert not (hook_repo.path / "pwned").exists()
    hook_repo.add(name)
    passed = commit(hook_repo)
    assert passed.returncode == 0, passed.stdout + passed.stderr


def test_remaining_diagnostics_block_the_commit_and_are_listed(hook_repo: HookRepo) -> None:
    hook_repo.write("app.py", b"print(undefined_name)\n")
    hook_repo.add("app.py")
    blocked = commit(hook_repo)
    assert blocked.returncode != 0
    assert "F821" in blocked.stderr
    assert hook_repo.read("app.py") == b"print(undefined_name)\n"


def test_a_non_utf8_file_is_reported_and_left_byte_exact(hook_repo: HookRepo) -> None:
    content = b"# -*- coding: latin-1 -*-\nimport os\n\nNAME = '\xe9t\xe9'\n"
    hook_repo.write("latin.py", content)
    hook_repo.add("latin.py")
    blocked = commit(hook_repo)
    assert blocked.returncode != 0
    assert "E902" in blocked.stderr  # ruff reads UTF-8 only, and says so
    assert "Traceback" not in blocked.stderr
    assert hook_repo.read("latin.py") == content
    assert hook_repo.staged("latin.py") == content
