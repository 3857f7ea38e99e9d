"""mypy in a sandbox seeded with the main tree's warm cache reports what a cold run reports.

The engine copies the user's ``.mypy_cache`` into each new sandbox (a check there then takes
a fraction of a second instead of a whole-project run, benchmarks/mypy_recheck.py). The
cache must never hide a change: paths and mtimes differ in the sandbox, and mypy must fall
back to the files' hashes. Each case runs the real mypy through the same code path as the
engine (``Sandboxes`` with ``seed`` + the mypy linter's ``lint(sandbox.root, [path])``) and
compares with the same linter run cold (an empty ``--cache-dir``).
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from stomper import Diagnostic, find_executable
from stomper.config import default_config
from stomper.sandbox import Sandbox, Sandboxes, release_snapshot, take_snapshot
from stomper.testing import GitRepo
from stomper_plugins.mypy import MypyLinter

pytestmark = pytest.mark.skipif(find_executable("mypy") is None, reason="needs mypy")

BASE = 'def size(text: str) -> int:\n    """Its length."""\n    return len(text)\n'
USER = "from pkg.base import size\n\n\ndef total(words: list[str]) -> int:\n" + (
    "    return sum(size(word) for word in words)\n"
)
BROKEN_USER = USER + '\n\nwrong: str = total(["a"])\n'
Edit = Callable[[Path], None]


@pytest.fixture
def project(tmp_path: Path) -> GitRepo:
    """A strict project whose main tree holds a warm ``.mypy_cache``."""
    repo = GitRepo.create(tmp_path / "repo")
    repo.write("pyproject.toml", "[tool.mypy]\nstrict = true\n")
    repo.write(".gitignore", ".mypy_cache/\n")
    repo.write("pkg/__init__.py", "")
    repo.write("pkg/base.py", BASE)
    repo.write("pkg/user.py", USER)
    for index in range(20):  # enough modules that a stale cache would show
        repo.write(
            f"pkg/mod{index}.py", f"from pkg.user import total\n\nvalue = total([{index!r}])\n"
        )
    repo.commit("project")
    warm(repo.path)
    return repo


def warm(root: Path) -> None:
    mypy = find_executable("mypy")
    assert mypy is not None
    subprocess.run([mypy, "pkg"], cwd=root, capture_output=True, check=False)
    assert (root / ".mypy_cache").is_dir()


def check_in_sandbox(
    root: Path, path: str, edit: Edit
) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """What mypy reports for ``path`` after ``edit`` in a seeded sandbox: warm, then cold."""
    linter = MypyLinter(default_config(root))
    snapshot = take_snapshot(root, "recheck")

    async def run() -> tuple[list[Diagnostic], list[Diagnostic]]:
        pool = Sandboxes(snapshot, size=1, seed=[".mypy_cache"])
        async with pool as sandboxes, sandboxes.open(path) as sandbox:
            assert (sandbox.root / ".mypy_cache").is_dir()
            edit(sandbox.root)
            found = await asyncio.to_thread(linter.lint, sandbox.root, [path])
            return found, cold(sandbox, path)

    try:
        return asyncio.run(run())
    finally:
        release_snapshot(snapshot)


def cold(sandbox: Sandbox, path: str) -> list[Diagnostic]:
    cache = sandbox.root.parent / f"{sandbox.root.name}-cold-cache"
    options = {"args": ["--cache-dir", str(cache)]}
    config = default_config(sandbox.root).replace(plugins={"mypy": options})
    return MypyLinter(config).lint(sandbox.root, [path])


def write(path: str, text: str) -> Edit:
    def edit(root: Path) -> None:
        (root / path).write_text(text)

    return edit


def test_an_introduced_type_error_is_caught(project: GitRepo) -> None:
    found, expected = check_in_sandbox(
        project.path, "pkg/user.py", write("pkg/user.py", BROKEN_USER)
    )
    assert [(d.path, d.line, d.code) for d in found] == [("pkg/user.py", 8, "assignment")]
    assert found == expected


def test_an_error_in_an_unchanged_file_caused_by_a_changed_import_is_caught(
    project: GitRepo,
) -> None:
    changed = write("pkg/base.py", BASE.replace("-> int", "-> str").replace("len(text)", "text"))
    found, expected = check_in_sandbox(project.path, "pkg/user.py", changed)
    assert [d.path for d in found] == ["pkg/user.py"]  # sum() of strings
    assert found == expected


def test_a_fix_of_an_error_in_the_warm_cache_is_seen_as_clean(project: GitRepo) -> None:
    project.write("pkg/user.py", BROKEN_USER)
    project.commit("broken")
    warm(project.path)  # the main tree's cache now records the error
    found, expected = check_in_sandbox(project.path, "pkg/user.py", write("pkg/user.py", USER))
    assert found == expected == []


def test_an_unchanged_file_reports_what_the_main_tree_reports(project: GitRepo) -> None:
    project.write("pkg/user.py", BROKEN_USER)
    project.commit("broken")
    warm(project.path)
    found, expected = check_in_sandbox(project.path, "pkg/user.py", lambda root: None)
    assert [(d.path, d.code) for d in found] == [("pkg/user.py", "assignment")]
    assert found == expected
