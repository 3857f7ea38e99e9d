"""Regression tests for bugs found in review: each failed before its fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fake_agents import FakeAgent, edit, remove_unused_imports
from fix_support import UNUSED, UNUSED_FIXED, make_project, status, use_agents

from stomper import FixOutcome, FixRequest
from stomper.cli import main
from stomper.testing import GitRepo
from stomper_plugins import _textcheck as text

# A long line the user silenced on purpose (E501), holding an E741 (`l`) for the agent to fix.
SILENCED = (
    "l = 'a very long string that goes well beyond the line length limit of one hundred chars'"
    "  # noqa: E501\nprint(l)\n"
)


@pytest.fixture(autouse=True)
def isolated(private_tmpdir: Path) -> Path:
    return private_tmpdir


@pytest.mark.parametrize("widened", ["# noqa: E501, E741", "# noqa"])
def test_widening_an_existing_noqa_is_a_new_suppression(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, widened: str
) -> None:
    make_project(repo, {"app.py": SILENCED})
    agent = FakeAgent("fake", lambda r: edit(r, lambda t: t.replace("# noqa: E501", widened)))
    use_agents(monkeypatch, agent)
    assert main(["fix", "--no-commit"]) == 1
    assert repo.read("app.py").decode() == SILENCED, "a widened noqa was written back as a fix"


@pytest.mark.parametrize(
    ("before", "after", "added"),
    [
        (b"x = 1  # noqa: E501\n", b"x = 1  # noqa: E501, E741\n", ["# noqa"]),
        (b"x = 1  # noqa: E501\n", b"x = 1  # noqa\n", ["# noqa"]),
        (b"x.y  # type: ignore[attr-defined]\n", b"x.y  # type: ignore\n", ["# type: ignore"]),
        (b"x = 1  # noqa: E501, E741\n", b"x = 1  # noqa: E501\n", []),  # narrowed
        (b"x = 1  # noqa\n", b"x = 1  # noqa: E501\n", []),
        (b"x = 1  # noqa: E501\ny = 2\n", b"y = 2\nx = 1  # noqa: E501\n", []),  # moved
        (b"x = 1\n", b"x = 1  # noqa: E501\n", ["# noqa"]),
    ],
)
def test_suppressions_are_compared_with_the_codes_they_name(
    before: bytes, after: bytes, added: list[str]
) -> None:
    assert text.new_suppressions(before, after) == added


class FlakyAgent(FakeAgent):
    """Reports a failure (as a rate-limited or timed-out agent does) while ``down``."""

    def __init__(self) -> None:
        super().__init__("fake", remove_unused_imports)
        self.down = True

    async def fix(self, request: FixRequest) -> FixOutcome:
        if self.down:
            self.requests.append(request)
            return FixOutcome(self.name, claimed_success=False, message="HTTP 429: rate limited")
        return await super().fix(request)


def test_an_agent_failure_is_not_replayed_from_the_cache(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(repo, {"app.py": UNUSED})
    agent = FlakyAgent()
    use_agents(monkeypatch, agent)
    assert main(["fix", "--no-commit"]) == 1
    assert len(agent.requests) == 1
    agent.down = False  # the network is back: the next run must ask the agent again
    assert main(["fix", "--no-commit"]) == 0
    assert len(agent.requests) == 2
    assert repo.read("app.py").decode() == UNUSED_FIXED


def test_resume_does_again_a_file_the_user_edited_during_the_run(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(repo, {"a.py": UNUSED, "b.py": UNUSED})
    pyproject = (repo.path / "pyproject.toml").read_text()
    repo.write("pyproject.toml", pyproject + "max_agent_calls = 1\n")  # b.py: budget spent
    edited = UNUSED + "print('edited meanwhile')\n"

    def behaviour(request: FixRequest) -> None:
        if request.path == "a.py" and repo.read("a.py").decode() == UNUSED:
            repo.write("a.py", edited)  # the user saves a.py while the agent works on it
        remove_unused_imports(request)

    agent = FakeAgent("fake", behaviour)
    use_agents(monkeypatch, agent)
    assert main(["fix", "-j", "1", "--no-commit", "--no-cache"]) == 1
    assert repo.read("a.py").decode() == edited  # a conflict: nothing written
    repo.write("pyproject.toml", pyproject)
    assert main(["fix", "-j", "1", "--no-commit", "--no-cache", "--resume"]) == 0
    assert sorted(request.path for request in agent.requests) == ["a.py", "a.py", "b.py"]
    assert repo.read("a.py").decode() == UNUSED_FIXED + "print('edited meanwhile')\n"
    assert repo.read("b.py").decode() == UNUSED_FIXED


FIXABLE = "import sys\nimport os\n\n\nprint(sys.argv)\n"
FIXABLE_AFTER = "import sys\n\nprint(sys.argv)\n"


def test_apply_killed_mid_commit_is_settled_by_the_next_start(
    repo: GitRepo, tmp_path: Path
) -> None:
    make_project(repo, {"a.py": FIXABLE}, agents=("ruff-fix",))
    bundle = tmp_path / "fixes.json"
    assert main(["fix", "--patch-out", str(bundle)]) == 0
    env = os.environ | {
        "STOMPER_FAULT": "during-commit:kill9",
        "STOMPER_DISABLE_PLUGIN_AUTOLOAD": "1",
    }
    killed = subprocess.run(
        [sys.executable, "-m", "stomper", "apply", str(bundle)],
        cwd=repo.path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert main(["clean"]) == 0  # the next start settles what the killed run left
    assert not (repo.path / ".git" / "index.lock").exists(), "index.lock left behind"
    assert repo.read("a.py").decode() == FIXABLE_AFTER
    assert status(repo) == "", "the index does not hold the committed fix"
    assert repo.git("log", "-1", "--format=%s").strip() == "fix(lint): resolve F401, I001 in a.py"


def test_select_narrows_what_is_fixed_not_what_a_fix_may_break(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(repo, {"app.py": UNUSED})

    def fix_and_break(request: FixRequest) -> None:
        remove_unused_imports(request)  # F401 gone, but an undefined name (F821) appears
        edit(request, lambda text: text.replace("print('hello')", "print(undefined_name)"))

    use_agents(monkeypatch, FakeAgent("fake", fix_and_break))
    assert main(["fix", "--no-commit", "--select", "F401"]) == 1
    assert repo.read("app.py").decode() == UNUSED, "a fix adding F821 was written back"


@pytest.mark.parametrize("comment", ["# isort: skip_file\n", "# ruff: isort: skip_file\n"])
def test_an_isort_action_comment_is_a_suppression(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, comment: str
) -> None:
    unsorted = "import sys\nimport os\n\nprint(sys.argv, os.sep)\n"  # I001 only
    make_project(repo, {"app.py": unsorted})
    use_agents(monkeypatch, FakeAgent("fake", lambda r: edit(r, lambda t: comment + t)))
    assert main(["fix", "--no-commit"]) == 1
    assert repo.read("app.py").decode() == unsorted, "an isort skip was written back as a fix"


HOLD_RUN_LOCK = """\
import asyncio, sys
from pathlib import Path
from stomper.runlock import hold_run_lock

async def hold() -> None:
    async with hold_run_lock(Path(sys.argv[1]), 0):
        print("held", flush=True)
        sys.stdin.read()

asyncio.run(hold())
"""


def test_a_run_waiting_for_the_lock_keeps_the_running_ones_journal(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stomper.resume import JournalWriter, journal_path, read_journal
    from stomper.types import FileResult

    make_project(repo, {"a.py": UNUSED, "b.py": UNUSED})
    # Run A is under way: it holds the run lock and has finished a.py.
    location = journal_path(repo.path / ".git")
    JournalWriter(location, ["a.py", "b.py"]).record(repo.path, FileResult("a.py", "unchanged"))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_RUN_LOCK, str(repo.path / ".git")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        monkeypatch.setenv("STOMPER_LOCK_WAIT", "0")
        use_agents(monkeypatch, FakeAgent("fake", remove_unused_imports))
        assert main(["fix", "--no-commit", "b.py"]) != 0  # run B gives way to run A
    finally:
        holder.communicate("")
    journal = read_journal(location)
    assert journal is not None, "run B removed run A's journal"
    assert (journal.files, list(journal.done)) == (("a.py", "b.py"), ["a.py"])
