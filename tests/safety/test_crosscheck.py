"""The final whole-run check: two fixes valid alone that break each other are caught."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fake_agents import AgentPlugin, FakeAgent
from safety_support import capture, leftovers, violations

from stomper import FixRequest
from stomper.config import load_config
from stomper.engine import FixRun, run_fix
from stomper.testing import GitRepo, plugins_with

PYPROJECT = """\
[tool.ruff.lint]
select = ["E", "F", "I"]

[tool.mypy]
check_untyped_defs = true

[tool.stomper]
linters = ["ruff", "mypy"]
"""
LIB = "import os\n\n\ndef f(x: int) -> int:\n    return x\n"
USER = "from lib import f\n\nprint(f(1))\n"


def fix_and_grow_signature(request: FixRequest) -> None:
    """Fixes F401 in lib.py and (valid in lib.py alone) gives ``f`` a second parameter."""
    target = request.root / request.path
    text = target.read_text().replace("import os\n", "")
    target.write_text(text.replace("def f(x: int) -> int:", "def f(x: int, y: int) -> int:"))


def make_repo(path: Path) -> GitRepo:
    repo = GitRepo.create(path)
    repo.write("pyproject.toml", PYPROJECT)
    repo.write(".gitignore", "__pycache__/\n.mypy_cache/\n.ruff_cache/\n")
    repo.write("lib.py", LIB)
    repo.write("user.py", USER)
    repo.commit("project")
    return repo


def run(repo: GitRepo, **overrides: object) -> FixRun:
    agent = FakeAgent("fake", fix_and_grow_signature)
    plugins = plugins_with(("fake-agents", AgentPlugin(agent)))
    config = load_config(repo.path, {"agents": ("fake",), "max_attempts": 1, **overrides})
    return asyncio.run(run_fix(repo.path, config, plugins, ["lib.py", "user.py"]))


def test_a_fix_that_breaks_an_importer_is_named_and_reverted(
    tmp_path: Path, private_tmpdir: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    before, start = capture(repo), repo.head()
    fix_run = run(repo)
    (lib,) = [result for result in fix_run.results if result.path == "lib.py"]
    assert lib.status == "failed"
    assert "reverted by the final whole-run check: the fix broke user.py (mypy call-arg" in (
        lib.error or ""
    )
    assert any(
        note.startswith("final check: the fix of lib.py broke user.py") for note in fix_run.notes
    )
    assert fix_run.exit_code == 1
    assert repo.read("lib.py") == LIB.encode()
    assert repo.read("user.py") == USER.encode()
    # History keeps the fix and its revert, both stomper's, fast-forward; the tree is as before.
    subjects = repo.git("log", "--format=%s", f"{start}..HEAD").splitlines()
    assert subjects == [
        "revert(lint): undo stomper's fix of lib.py, it broke user.py",
        "fix(lint): resolve F401 in lib.py",
    ]
    assert repo.git("diff", start, "HEAD") == ""
    assert violations(repo, before, capture(repo), {"lib.py": set()}) == []
    assert leftovers(repo, private_tmpdir) == []


def test_without_commits_the_fix_is_reverted_in_the_work_tree(
    tmp_path: Path, private_tmpdir: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    before = capture(repo)
    fix_run = run(repo, commit=False)
    assert [r.status for r in fix_run.results if r.path == "lib.py"] == ["failed"]
    assert "reverted in the work tree" in " ".join(fix_run.notes)
    assert violations(repo, before, capture(repo), {}) == []
    assert leftovers(repo, private_tmpdir) == []
