"""Which files a command works on: real git repositories in tmp_path, no mocks of git."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stomper import discovery
from stomper import git as git_module
from stomper.config import Config, default_config
from stomper.discovery import find_root, select_files
from stomper.errors import UsageError
from stomper.globs import compile_globs, glob_to_regex
from stomper.testing import GitRepo

needs_posix = pytest.mark.skipif(os.name != "posix", reason="POSIX file names and fifos")


def select(
    root: Path,
    *paths: str,
    config: Config | None = None,
    cwd: Path | None = None,
    in_git: bool = True,
    staged: bool = False,
    changed: bool = False,
    since: str | None = None,
    **changes: Any,
) -> list[str]:
    """select_files with the defaults a plain `stomper check` would use."""
    base = config or default_config(root)
    return select_files(
        root,
        base.replace(**changes) if changes else base,
        paths=paths,
        staged=staged,
        changed=changed,
        since=since,
        in_git=in_git,
        cwd=cwd or root,
    )


@pytest.fixture
def outside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A plain directory, not in any git repository, as the current directory."""
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.chdir(plain)
    return plain.resolve()


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("**/*.py", "a.py", True),
        ("**/*.py", "x/y/a.py", True),
        ("**/*.py", "a.pyc", False),
        ("src/**/*.py", "src/a.py", True),
        ("src/**/*.py", "src/x/y/a.py", True),
        ("src/**/*.py", "srcx/a.py", False),
        ("demo/**", "demo/a.py", True),
        ("demo/**", "demo/x/b.py", True),
        ("demo/**", "demos/a.py", False),
        ("src/*.py", "src/a.py", True),
        ("src/*.py", "src/x/a.py", False),
        ("a?.py", "ab.py", True),
        ("a?.py", "a/.py", False),
        ("[ab].py", "b.py", True),
        ("[!ab].py", "c.py", True),
        ("[!ab].py", "a.py", False),
        ("[z-a].py", "[z-a].py", True),
        ("[oops.py", "[oops.py", True),
        ("[]a].py", "].py", True),
        ("[!]].py", "].py", False),
        ("a**b.py", "aXb.py", True),
        ("a**b.py", "a/b.py", False),
        ("*.py", "with\nnewline.py", True),
    ],
)
def test_glob_to_regex(pattern: str, path: str, expected: bool) -> None:
    import re

    assert (re.fullmatch(glob_to_regex(pattern), path, re.DOTALL) is not None) is expected


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*.py", "deep/down/a.py", True),
        ("/*.py", "deep/a.py", False),
        ("/*.py", "a.py", True),
        ("demo", "demo/x/a.py", True),
        ("build/", "pkg/build/a.py", True),
        ("./tests/data/**", "tests/data/a.py", True),
        ("tests/data/**", "x/tests/data/a.py", False),
    ],
)
def test_compile_globs_rules(pattern: str, path: str, expected: bool) -> None:
    assert compile_globs([pattern])(path) is expected


def test_compile_globs_empty_matches_nothing() -> None:
    assert not compile_globs([])("a.py")


def test_find_root_inside_and_outside(repo: GitRepo, outside: Path) -> None:
    (repo.path / "sub").mkdir()
    assert find_root(repo.path / "sub") == (repo.path.resolve(), True)
    assert find_root(outside) == (outside, False)


def test_default_is_tracked_and_untracked_not_ignored(repo: GitRepo) -> None:
    repo.write(".gitignore", "ignored/\nskip.py\n")
    repo.write("tracked.py", "x = 1\n")
    repo.commit("add")
    repo.write("untracked.py", "y = 2\n")
    repo.write("skip.py", "z = 3\n")
    repo.write("ignored/deep.py", "z = 3\n")
    repo.write("notes.txt", "text\n")
    repo.write("pkg/types.pyi", "x: int\n")
    assert select(repo.path) == ["pkg/types.pyi", "tracked.py", "untracked.py"]


def test_aliases_count_once(repo: GitRepo) -> None:
    target = repo.write("a.py", "x = 1\n")
    (repo.path / "sub").mkdir()
    (repo.path / "link.py").symlink_to("a.py")
    (repo.path / "sub" / "up").symlink_to("..", target_is_directory=True)
    paths = ("./a.py", "a.py", "sub/../a.py", str(target), "link.py", "sub/up/a.py", "sub/up")
    assert select(repo.path, *paths) == ["a.py"]
    assert select(repo.path) == ["a.py"]


def test_paths_relative_to_cwd(repo: GitRepo) -> None:
    repo.write("sub/a.py", "x = 1\n")
    repo.write("b.py", "x = 1\n")
    assert select(repo.path, "a.py", "../b.py", cwd=repo.path / "sub") == ["b.py", "sub/a.py"]


def test_symlink_out_of_repo_is_skipped(repo: GitRepo, tmp_path: Path) -> None:
    secret = tmp_path / "secret.py"
    secret.write_text("password = 1\n")
    (repo.path / "out.py").symlink_to(secret)
    (repo.path / "outdir").symlink_to(tmp_path, target_is_directory=True)
    repo.write("in.py", "x = 1\n")
    assert select(repo.path) == ["in.py"]
    assert select(repo.path, "out.py", "outdir", "in.py") == ["in.py"]


def test_directory_replaced_by_symlink_out_is_skipped(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("d/a.py", "x = 1\n")
    repo.write("b.py", "x = 1\n")
    repo.commit("add")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "a.py").write_text("x = 1\n")
    (repo.path / "d" / "a.py").unlink()
    (repo.path / "d").rmdir()
    (repo.path / "d").symlink_to(elsewhere, target_is_directory=True)
    assert "d/a.py" in repo.git("ls-files")
    assert select(repo.path) == ["b.py"]
    assert select(repo.path, changed=True) == []
    for named in ("d/*.py", "d/a.py"):
        with pytest.raises(UsageError, match="outside the repository"):
            select(repo.path, named)


def test_symlink_alias_filtered_by_its_target(repo: GitRepo) -> None:
    repo.write("data.txt", "x = 1\n")
    (repo.path / "alias.py").symlink_to("data.txt")
    assert select(repo.path) == []
    assert select(repo.path, "alias.py") == []


def test_path_outside_repo_is_an_error(repo: GitRepo, tmp_path: Path) -> None:
    stray = tmp_path / "stray.py"
    stray.write_text("x = 1\n")
    with pytest.raises(UsageError, match=r"stray\.py"):
        select(repo.path, str(stray))
    with pytest.raises(UsageError, match=r"\.\./stray\.py"):
        select(repo.path, "../stray.py")
    with pytest.raises(UsageError, match="outside"):
        select(repo.path, str(tmp_path / "*.py"))


def test_missing_path_is_an_error_but_empty_glob_is_not(repo: GitRepo) -> None:
    with pytest.raises(UsageError, match=r"nope\.py"):
        select(repo.path, "nope.py")
    assert select(repo.path, "nothing/**/*.py", "*.nothing") == []


def test_directory_respects_gitignore_but_named_file_is_taken(repo: GitRepo) -> None:
    repo.write(".gitignore", "gen_*.py\n")
    repo.write("pkg/a.py", "x = 1\n")
    repo.write("pkg/gen_b.py", "x = 1\n")
    repo.write("other.py", "x = 1\n")
    assert select(repo.path, "pkg") == ["pkg/a.py"]
    assert select(repo.path, "pkg/*.py") == ["pkg/a.py"]
    assert select(repo.path, "pkg/gen_b.py") == ["pkg/gen_b.py"]
    repo.write("build/out.py", "x = 1\n")
    repo.write(".gitignore", "gen_*.py\nbuild/\n")
    assert select(repo.path, "build") == []
    assert select(repo.path, ".") == ["other.py", "pkg/a.py"]


def test_globs_with_double_star(repo: GitRepo) -> None:
    repo.write("src/app/main.py", "x = 1\n")
    repo.write("src/app/test_main.py", "x = 1\n")
    repo.write("src/top.py", "x = 1\n")
    repo.write("tests/test_top.py", "x = 1\n")
    assert select(repo.path, "src/**/*.py") == [
        "src/app/main.py",
        "src/app/test_main.py",
        "src/top.py",
    ]
    assert select(repo.path, "**/test_*.py") == ["src/app/test_main.py", "tests/test_top.py"]
    assert select(repo.path, "*/app", "t*") == [
        "src/app/main.py",
        "src/app/test_main.py",
        "tests/test_top.py",
    ]
    assert select(repo.path, "*.py", cwd=repo.path / "src") == ["src/top.py"]
    assert select(repo.path, str(repo.path / "src" / "*" / "m*.py")) == ["src/app/main.py"]


def test_literal_name_with_glob_characters(repo: GitRepo) -> None:
    repo.write("a[1].py", "x = 1\n")
    repo.write("a1.py", "x = 1\n")
    assert select(repo.path, "a[1].py") == ["a[1].py"]


def test_exclude_include_and_max_files(repo: GitRepo) -> None:
    for name in ("a.py", "b.py", "c.py", "demo/d.py", "demo/deep/e.py", "f.txt"):
        repo.write(name, "x = 1\n")
    repo.write("b.py", b"\0binary")
    assert select(repo.path, exclude=("demo/**",)) == ["a.py", "c.py"]
    assert select(repo.path, exclude=("demo/**",), max_files=2) == ["a.py", "c.py"]
    assert select(repo.path, max_files=1) == ["a.py"]
    assert select(repo.path, include=("**/*.txt",)) == ["f.txt"]
    assert select(repo.path, "demo", exclude=("e.py",)) == ["demo/d.py"]


@needs_posix
def test_binary_deleted_fifo_skipped(repo: GitRepo) -> None:
    repo.write("gone.py", "x = 1\n")
    repo.write("binary.py", b"x = 1\n\0\1\2")
    repo.write("late_nul.py", b"x" * 9000 + b"\0")
    repo.commit("add")
    (repo.path / "gone.py").unlink()
    os.mkfifo(repo.path / "pipe.py")
    (repo.path / "dir.py").mkdir()
    assert select(repo.path) == ["late_nul.py"]
    assert select(repo.path, "pipe.py", "binary.py") == []
    assert select(repo.path, changed=True) == []


@needs_posix
def test_weird_file_names(repo: GitRepo) -> None:
    names = ["with space.py", "quo'te\".py", "$(touch pwned).py", "new\nline.py", "semi;colon.py"]
    for name in names:
        repo.write(name, "x = 1\n")
    latin1 = os.fsdecode(b"caf\xe9.py")  # not UTF-8: kept as a surrogate escape
    (repo.path / latin1).write_bytes(b"x = 1\n")
    expected = sorted([*names, latin1])
    assert select(repo.path) == expected
    assert select(repo.path, *names, latin1) == expected
    repo.commit("weird")
    for name in expected:
        (repo.path / name).write_bytes(b"x = 2\n")
    assert select(repo.path, changed=True) == expected
    assert not list(repo.path.rglob("pwned*"))
    assert not (Path.cwd() / "pwned").exists()


def test_staged_on_unborn_head(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "fresh")
    repo.write("a.py", "x = 1\n")
    repo.write("b.py", "x = 1\n")
    repo.add("a.py")
    assert select(repo.path, staged=True) == ["a.py"]
    assert select(repo.path, changed=True) == ["a.py", "b.py"]


def test_staged_after_commit(repo: GitRepo) -> None:
    repo.write("a.py", "x = 1\n")
    repo.write("b.py", "x = 1\n")
    repo.write("gone.py", "x = 1\n")
    repo.commit("add")
    repo.write("a.py", "x = 2\n")
    repo.write("b.py", "x = 2\n")
    repo.write("new.py", "x = 1\n")
    repo.git("rm", "-q", "gone.py")
    repo.add("a.py", "new.py")
    assert select(repo.path, staged=True) == ["a.py", "new.py"]


def test_changed_includes_untracked(repo: GitRepo) -> None:
    repo.write(".gitignore", "ignored.py\n")
    for name in ("same.py", "edited.py", "staged.py", "reverted.py"):
        repo.write(name, "x = 1\n")
    repo.commit("add")
    repo.write("edited.py", "x = 2\n")
    repo.write("staged.py", "x = 2\n")
    repo.write("reverted.py", "x = 2\n")
    repo.add("staged.py", "reverted.py")
    repo.write("reverted.py", "x = 1\n")
    repo.write("untracked.py", "x = 1\n")
    repo.write("ignored.py", "x = 1\n")
    expected = ["edited.py", "reverted.py", "staged.py", "untracked.py"]
    assert select(repo.path, changed=True) == expected


def test_since_ref(repo: GitRepo) -> None:
    repo.write("old.py", "x = 1\n")
    repo.write("later.py", "x = 1\n")
    base = repo.commit("base")
    repo.write("later.py", "x = 2\n")
    repo.commit("later")
    repo.write("old.py", "x = 2\n")
    repo.write("untracked.py", "x = 1\n")
    assert select(repo.path, since=base) == ["later.py", "old.py", "untracked.py"]
    assert select(repo.path, since="HEAD") == ["old.py", "untracked.py"]
    assert select(repo.path, "later.py", "untracked.py", since="HEAD~1") == [
        "later.py",
        "untracked.py",
    ]


@pytest.mark.parametrize("ref", ["no-such-branch", "--output=/tmp/stomper-pwned", "HEAD~99", ""])
def test_since_unknown_ref(repo: GitRepo, ref: str) -> None:
    with pytest.raises(UsageError, match="--since"):
        select(repo.path, since=ref)
    assert not Path("/tmp/stomper-pwned").exists()


def test_selectors_intersect_with_paths(repo: GitRepo) -> None:
    repo.write("pkg/a.py", "x = 1\n")
    repo.write("pkg/b.py", "x = 1\n")
    repo.write("c.py", "x = 1\n")
    repo.commit("add")
    for name in ("pkg/a.py", "c.py"):
        repo.write(name, "x = 2\n")
    assert select(repo.path, "pkg", changed=True) == ["pkg/a.py"]
    assert select(repo.path, "pkg/b.py", changed=True) == []


@pytest.mark.parametrize("everything", [False, True])
def test_git_hook_environment_is_ignored(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, everything: bool
) -> None:
    repo.write("a.py", "x = 1\n")
    repo.write("b.py", "x = 1\n")
    repo.add("a.py")
    monkeypatch.setenv("GIT_INDEX_FILE", str(repo.path / "bogus-index"))
    if everything:
        monkeypatch.setenv("GIT_DIR", str(repo.path / "bogus-git-dir"))
        monkeypatch.setenv("GIT_WORK_TREE", "/nonexistent")
    assert find_root(repo.path) == (repo.path.resolve(), True)
    assert select(repo.path, staged=True) == ["a.py"]
    assert select(repo.path) == ["a.py", "b.py"]
    assert not (repo.path / "bogus-index").exists()


def test_git_calls_do_not_grow_with_files(repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, ...]] = []
    real_git = git_module.git

    def counting_git(cwd: Path, *args: str, **kwargs: Any) -> bytes:
        calls.append(args)
        return real_git(cwd, *args, **kwargs)

    monkeypatch.setattr(discovery, "git", counting_git)
    counts = []
    for batch in range(2):
        for index in range(3 if batch == 0 else 60):
            repo.write(f"pkg{batch}/m{index}.py", "x = 1\n")
        calls.clear()
        assert select(repo.path, changed=True)
        select(repo.path, f"pkg{batch}")
        counts.append(len(calls))
    assert counts[0] == counts[1] <= 6
    calls.clear()
    select(repo.path, "pkg0/m0.py", "pkg1/m1.py")
    assert calls == []


def test_outside_git_walks_and_skips(outside: Path) -> None:
    for name in ("a.py", "pkg/b.py", ".venv/lib/c.py", "node_modules/d.py", "env/e.py"):
        path = outside / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n")
    (outside / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    (outside / "pkg" / "__pycache__").mkdir()
    (outside / "pkg" / "__pycache__" / "b.py").write_text("x = 1\n")
    assert select(outside, in_git=False) == ["a.py", "pkg/b.py"]
    assert select(outside, "pkg", "**/*.py", in_git=False) == ["a.py", "pkg/b.py"]
    assert select(outside, ".venv/lib/c.py", in_git=False) == [".venv/lib/c.py"]
    assert select(outside, ".venv", in_git=False) == []


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"staged": True}, "--staged needs a git repository"),
        ({"changed": True}, "--changed needs a git repository"),
        ({"since": "HEAD"}, "--since needs a git repository"),
    ],
)
def test_git_selectors_outside_git(outside: Path, flags: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        select(outside, in_git=False, **flags)


def test_never_lists_inside_dot_git(repo: GitRepo) -> None:
    repo.write(".git/hooks/evil.py", "x = 1\n")
    assert select(repo.path, ".git/hooks/evil.py") == []
    assert select(repo.path, ".git") == []


def test_import_stays_light() -> None:
    code = (
        "import sys, stomper.discovery;"
        "heavy = {'langgraph', 'rich', 'git'} & set(sys.modules);"
        "sys.exit(sorted(heavy) or 0)"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
    assert completed.returncode == 0, completed.stderr
