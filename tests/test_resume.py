"""``stomper fix --resume``: a run killed midway finishes without redoing the files it did."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fix_support import (
    AMBIGUOUS,
    UNUSED,
    UNUSED_FIXED,
    assert_nothing_left,
    make_project,
)

from stomper.config import load_config
from stomper.engine import run_fix
from stomper.resume import JournalWriter, finished, read_journal, still_done
from stomper.testing import GitRepo, plugins_with
from stomper.types import FileResult, FileStatus

TESTS = Path(__file__).resolve().parent
# A stomper whose only AI agent logs each call, fixes F401, silences anything else (which is
# rejected), and SIGKILLs the whole process on its KILL_AT-th call, once the resume journal
# holds a finished file (files are set up and judged while other files' agents run).
RUNNER = """\
import os, signal, sys, time
sys.path.insert(0, {tests!r})
from fake_agents import AgentPlugin, FakeAgent, add_noqa, remove_unused_imports
import stomper.commands._common as common
from stomper.cli import main
from stomper.testing import plugins_with

def behaviour(request):
    with open({log!r}, "a") as log:
        log.write(request.path + "\\n")
    calls = len(open({log!r}).read().splitlines())
    if calls == int(os.environ.get("KILL_AT", "0")):
        journal = os.path.join(".git", "stomper", "resume.jsonl")
        deadline = time.monotonic() + 10
        def recorded():
            return os.path.exists(journal) and len(open(journal).readlines()) >= 2
        while time.monotonic() < deadline and not recorded():
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGKILL)
    if any(d.code == "F401" for d in request.diagnostics):
        remove_unused_imports(request)
    else:
        add_noqa(request)

plugins = plugins_with(("fake-agents", AgentPlugin(FakeAgent("fake", behaviour))))
common.make_plugins = lambda *args, **kwargs: plugins
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(autouse=True)
def isolated(private_tmpdir: Path) -> Path:
    return private_tmpdir


def run_stomper(
    repo: GitRepo, script: Path, *args: str, kill_at: int = 0
) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"KILL_AT": str(kill_at), "STOMPER_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(
        [sys.executable, str(script), "fix", "-j", "1", *args],
        cwd=repo.path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_a_killed_run_resumes_without_redoing_finished_files(
    repo: GitRepo, tmp_path: Path, isolated: Path
) -> None:
    files = {"a.py": UNUSED, "b.py": AMBIGUOUS, "c.py": UNUSED, "d.py": UNUSED, "e.py": UNUSED}
    make_project(repo, files)
    log = tmp_path / "calls.log"
    script = tmp_path / "runner.py"
    script.write_text(RUNNER.format(tests=str(TESTS), log=str(log)))
    # --no-cache: only the journal may keep the resumed run from redoing a file.
    killed = run_stomper(repo, script, "--no-cache", kill_at=3)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    before_kill = log.read_text().splitlines()
    journal = read_journal(repo.path / ".git" / "stomper" / "resume.jsonl")
    assert journal is not None
    assert sorted(journal.files) == sorted(files)
    # Recorded only once finished, so only files whose agent ran before the third call
    # (the kill); the others are done again.
    assert journal.done
    assert set(journal.done) <= set(before_kill[:2])
    report = tmp_path / "report.json"
    resumed = run_stomper(repo, script, "--no-cache", "--resume", "--report", str(report))
    assert resumed.returncode == 1, resumed.stdout + resumed.stderr  # b.py's E741 remains
    after_kill = log.read_text().splitlines()[len(before_kill) :]
    assert not set(after_kill) & set(journal.done), (before_kill, after_kill)
    assert before_kill[2] in after_kill
    for path in ("a.py", "c.py", "d.py", "e.py"):
        assert repo.read(path).decode() == UNUSED_FIXED
    assert repo.read("b.py").decode() == AMBIGUOUS
    document = json.loads(report.read_text())
    assert sorted(document["resumed"]) == sorted(journal.done)
    assert not (repo.path / ".git" / "stomper" / "resume.jsonl").exists()
    assert_nothing_left(repo, isolated)


def test_resume_without_a_journal_fixes_the_selection(
    repo: GitRepo, tmp_path: Path, isolated: Path
) -> None:
    make_project(repo, {"a.py": UNUSED})
    script = tmp_path / "runner.py"
    script.write_text(RUNNER.format(tests=str(TESTS), log=str(tmp_path / "calls.log")))
    completed = run_stomper(repo, script, "--resume", "--no-commit")
    assert completed.returncode == 0, completed.stderr
    assert "no interrupted run to resume" in completed.stderr
    assert repo.read("a.py").decode() == UNUSED_FIXED


def test_a_file_edited_since_is_done_again(tmp_path: Path) -> None:
    root = tmp_path
    (root / "a.py").write_text("x = 1\n")
    writer = JournalWriter(tmp_path / "journal.jsonl", ["a.py"])
    writer.record(root, FileResult("a.py", "fixed"))
    journal = read_journal(tmp_path / "journal.jsonl")
    assert journal is not None
    assert list(journal.done) == ["a.py"]
    assert still_done(journal, root) == {"a.py"}
    (root / "a.py").write_text("x = 2\n")
    assert still_done(journal, root) == set()


def test_the_hash_the_run_knows_is_recorded_not_what_is_on_disk(tmp_path: Path) -> None:
    """The batch knows what it left in a file; an edit made since, before the record, must
    not pass for done on resume."""
    left = b"x = 1\n"
    (tmp_path / "a.py").write_bytes(b"x = 2  # the user's edit meanwhile\n")
    writer = JournalWriter(tmp_path / "journal.jsonl", ["a.py"])
    writer.record(tmp_path, FileResult("a.py", "fixed", sha256=hashlib.sha256(left).hexdigest()))
    writer.close(complete=False)
    journal = read_journal(tmp_path / "journal.jsonl")
    assert journal is not None
    assert still_done(journal, tmp_path) == set()
    (tmp_path / "a.py").write_bytes(left)
    assert still_done(journal, tmp_path) == {"a.py"}


def test_a_batch_run_reports_the_hash_of_what_it_left(repo: GitRepo) -> None:
    make_project(repo, {"a.py": UNUSED, "clean.py": "X = 1\n", "b.py": AMBIGUOUS})
    config = load_config(repo.path, {"agents": ("ruff-fix",), "commit": False})
    run = asyncio.run(run_fix(repo.path, config, plugins_with(), ["a.py", "b.py", "clean.py"]))
    hashes = {result.path: result.sha256 for result in run.results}
    assert set(hashes) == {"a.py", "b.py"}  # clean.py had nothing to fix
    for path in ("a.py", "b.py"):  # fixed, and unchanged (E741 has no fix)
        assert hashes[path] == hashlib.sha256(repo.read(path)).hexdigest()
    assert {result.path: result.status for result in run.results}["b.py"] == "unchanged"


@pytest.mark.parametrize(
    ("status", "note", "done"),
    [
        ("fixed", "", True),
        ("unchanged", "fake attempt 1 rejected: ...", True),
        ("skipped", "fake not called: a.py matches the deny list", True),
        ("skipped", "fake not called: budget spent: $1.00", False),
        ("skipped", "stopped after b.py failed (--fail-fast)", False),
        ("partially-fixed", "fake not called: budget spent: 3 AI agent calls", False),
    ],
)
def test_what_counts_as_finished(status: FileStatus, note: str, done: bool) -> None:
    assert finished(FileResult("a.py", status, notes=(note,) if note else ())) is done


def test_a_journal_with_budget_left_overs_is_kept(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path / "stomper" / "journal.jsonl", ["a.py", "b.py"])
    budget = FileResult("a.py", "skipped", notes=("budget spent: 1 AI agent calls",))
    writer.record(tmp_path, budget)
    assert writer.close(complete=True) is False
    assert (tmp_path / "stomper" / "journal.jsonl").exists()
    fresh = JournalWriter(tmp_path / "stomper" / "journal.jsonl", ["a.py"])
    assert fresh.close(complete=True) is True
    assert not (tmp_path / "stomper").exists()
