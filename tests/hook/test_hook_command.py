"""`stomper hook` run directly: the guard, CI, the time limit and the fast path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fix_support import run_program

from stomper.testing import GitRepo, install_distribution

BIN = Path(sys.executable).parent
UNUSED_IMPORT = b"import os\nimport sys\n\nprint(sys.argv)\n"
FIXED = b"import sys\n\nprint(sys.argv)\n"

# An AI agent that leaves a mark when called, then sleeps for as long as it is told.
MARKING_AGENT = """
import asyncio
import os
from pathlib import Path

from stomper import FixOutcome, hookimpl


class Marking:
    name = "marking"
    kind = "ai"

    def available(self):
        return None

    async def fix(self, request):
        Path(os.environ["MARK_FILE"]).write_text("called")
        await asyncio.sleep(float(os.environ.get("MARK_SLEEP", "0")))
        return FixOutcome(self.name, False, "did nothing")


@hookimpl
def stomper_register_agents(register, config):
    register(Marking())
"""


@pytest.fixture
def project(repo: GitRepo, tmp_path: Path) -> GitRepo:
    repo.write(
        "pyproject.toml",
        '[tool.stomper]\nlinters = ["ruff"]\nagents = ["ruff-fix", "marking"]\n\n'
        '[tool.ruff.lint]\nselect = ["E", "F"]\n',
    )
    repo.write("app.py", UNUSED_IMPORT + b"print(undefined_name)\n")
    repo.write("ok.py", b"VALUE = 1\n")
    repo.commit("project")
    site = tmp_path / "site"
    site.mkdir()
    install_distribution(site, "stomper-marking", "stomper_marking", MARKING_AGENT)
    return repo


def hook(repo: GitRepo, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    site = {
        "PYTHONPATH": str(repo.path.parent / "site"),
        "MARK_FILE": str(repo.path.parent / "mark"),
    }
    return run_program(repo, "hook", *args, **(site | env))


def marked(repo: GitRepo) -> bool:
    return (repo.path.parent / "mark").exists()


def test_deterministic_fixers_then_the_ai_agent(project: GitRepo) -> None:
    result = hook(project, "app.py")
    assert result.returncode == 1
    assert marked(project)
    assert project.read("app.py") == FIXED + b"print(undefined_name)\n"
    assert "F821" in result.stdout
    assert project.git("diff", "--cached", "--name-only") == ""


@pytest.mark.parametrize("variable", ["CI", "PRE_COMMIT_CI"])
def test_under_ci_the_ai_agents_are_skipped_once(project: GitRepo, variable: str) -> None:
    project.write("second.py", UNUSED_IMPORT + b"print(also_undefined)\n")
    result = hook(project, "app.py", "second.py", **{variable: "true"})
    assert result.returncode == 1
    assert not marked(project)
    assert result.stdout.count("AI agents skipped") == 1
    assert project.read("app.py").startswith(b"import sys\n")
    assert project.read("second.py").startswith(b"import sys\n")


def test_no_ai_flag(project: GitRepo) -> None:
    result = hook(project, "--no-ai", "app.py")
    assert result.returncode == 1
    assert not marked(project)
    assert "AI agents skipped (--no-ai)" in result.stdout


def test_the_guard_stops_re_entry(project: GitRepo) -> None:
    result = hook(project, "app.py", STOMPER_HOOK_ACTIVE="1")
    assert result.returncode == 0
    assert result.stdout == ""
    assert project.read("app.py") == UNUSED_IMPORT + b"print(undefined_name)\n"


def test_clean_files_exit_zero(project: GitRepo) -> None:
    result = hook(project, "ok.py")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_the_time_limit_stops_a_hanging_agent(project: GitRepo) -> None:
    result = hook(project, "--timeout", "3", "app.py", MARK_SLEEP="600")
    assert result.returncode == 1
    assert marked(project)
    assert "hook_timeout (3 s)" in result.stderr
    # Nothing half-done: the file is as the user left it (the ruff fix was not yet written).
    assert project.read("app.py") == UNUSED_IMPORT + b"print(undefined_name)\n"
    assert project.git("worktree", "list", "--porcelain").count("worktree ") == 1
    assert project.git("for-each-ref", "refs/stomper") == ""


def test_the_fast_path_imports_nothing_heavy(project: GitRepo) -> None:
    code = (
        "import sys\n"
        "from stomper.cli import main\n"
        "code = main(['hook', 'ok.py'])\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'langgraph', 'rich', 'git'})\n"
        "print(code, heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=project.path, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "0 []"


def test_the_fast_argument_path_matches_the_parser() -> None:
    from stomper.cli import build_parser
    from stomper.commands.hook import plain_arguments

    argv = ["a.py", "dir/b c.py", "$(x).py"]
    parsed = vars(build_parser().parse_args(["hook", *argv]))
    fast = vars(plain_arguments(argv))
    fast.pop("defer_logging")
    assert fast == parsed
