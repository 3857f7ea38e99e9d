"""The final whole-run check: two fixes valid alone that break each other are caught."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from fake_agents import AgentPlugin, FakeAgent
from safety_support import capture, leftovers, violations

from stomper import FixRequest
from stomper.bundle import BundleCollector
from stomper.config import load_config
from stomper.engine import FixRun, run_fix
from stomper.engine.events import RunEvents
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


def fix_only(request: FixRequest) -> None:
    """Fixes F401 in lib.py and nothing else."""
    target = request.root / request.path
    target.write_text(target.read_text().replace("import os\n", ""))


def run(
    repo: GitRepo,
    fix: Callable[[FixRequest], None] = fix_and_grow_signature,
    *,
    dry_run: bool = False,
    events: RunEvents | None = None,
    **overrides: object,
) -> FixRun:
    agent = FakeAgent("fake", fix)
    plugins = plugins_with(("fake-agents", AgentPlugin(agent)))
    config = load_config(repo.path, {"agents": ("fake",), "max_attempts": 1, **overrides})
    files = ["lib.py", "user.py"]
    return asyncio.run(run_fix(repo.path, config, plugins, files, dry_run=dry_run, events=events))


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


def test_a_dry_run_drops_a_fix_that_breaks_an_importer_from_its_fixes_and_bundle(
    tmp_path: Path, private_tmpdir: Path
) -> None:
    # --dry-run and --patch-out write nothing, so there is nothing to revert: the final check
    # runs on the fixes they would have written, and drops the one that breaks user.py.
    repo = make_repo(tmp_path / "repo")
    before, start = capture(repo), repo.head()
    collector = BundleCollector()
    fix_run = run(repo, dry_run=True, events=RunEvents(on_validated=collector))
    (lib,) = [result for result in fix_run.results if result.path == "lib.py"]
    assert lib.status == "failed"
    assert "dropped by the final whole-run check: the fix broke user.py (mypy call-arg" in (
        lib.error or ""
    )
    assert lib.diff == ""
    assert lib.fixed == ()
    assert any(
        note.startswith("final check: the fix of lib.py broke user.py")
        and note.endswith("dropped from the dry run's fixes")
        for note in fix_run.notes
    )
    assert fix_run.exit_code == 1
    assert "lib.py" in collector.validated  # validated alone, as before
    assert collector.fixes(fix_run.results) == []  # but not bundled
    assert repo.head() == start
    assert violations(repo, before, capture(repo), {}) == []
    assert leftovers(repo, private_tmpdir) == []


def test_a_dry_run_keeps_fixes_that_hold_together(tmp_path: Path, private_tmpdir: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    before = capture(repo)
    collector = BundleCollector()
    fix_run = run(repo, fix_only, dry_run=True, events=RunEvents(on_validated=collector))
    (lib,) = [result for result in fix_run.results if result.path == "lib.py"]
    assert lib.status == "fixed"
    assert not any(note.startswith("final check") for note in fix_run.notes)
    assert [fix.path for fix in collector.fixes(fix_run.results)] == ["lib.py"]
    assert repo.read("lib.py") == LIB.encode()
    assert violations(repo, before, capture(repo), {}) == []
    assert leftovers(repo, private_tmpdir) == []
