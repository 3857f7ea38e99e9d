"""Ctrl-C and a second stomper on the same repository, with real ``stomper fix`` processes.

(tests/engine covers a cancelled ``run_fix`` in-process; these go through the CLI.)
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from projects import make_project
from safety_support import (
    capture,
    leftovers,
    marker_processes,
    run_stomper,
    stomper_env,
    violations,
)

from stomper.resume import journal_path
from stomper.testing import GitRepo

START_TIMEOUT = 60.0


def wait_for(condition: Callable[[], object], what: str) -> None:
    """Poll until ``condition`` holds; fails (never passes) when it does not in time."""
    deadline = time.monotonic() + START_TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def start_fix(repo: GitRepo, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "stomper", "fix", *args],
        cwd=repo.path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    return process.returncode, out, err


def test_ctrl_c_stops_kills_agents_cleans_up_and_exits_130(tmp_path: Path, site: Path) -> None:
    repo, tmpdir, tag = make_project(tmp_path / "repo", "dirty"), tmp_path / "tmp", uuid.uuid4().hex
    tmpdir.mkdir()
    before = capture(repo, tag)
    env = stomper_env(site, tmpdir, SAFETY_TAG=tag, SAFETY_AGENT="hang")
    process = start_fix(repo, env, "-j", "2")
    wait_for(lambda: len(marker_processes(tag)) == 2, "both agents to run")
    process.send_signal(signal.SIGINT)
    code, _out, err = finish(process)
    assert code == 130
    # One line, the account (a `--resume` hint would end it: no file finished, none here).
    (line,) = err.strip().splitlines()
    assert line.startswith("stomper: interrupted: no new file started, agents stopped"), err
    assert "--resume" not in line, err
    assert violations(repo, before, capture(repo, tag), {}) == []
    assert leftovers(repo, tmpdir, tag) == []


def test_ctrl_c_after_a_finished_file_says_resume_in_the_same_line(
    tmp_path: Path, site: Path
) -> None:
    repo, tmpdir, tag = make_project(tmp_path / "repo", "clean"), tmp_path / "tmp", uuid.uuid4().hex
    tmpdir.mkdir()
    env = stomper_env(site, tmpdir, SAFETY_TAG=tag, SAFETY_AGENT="hang", SAFETY_ONLY="b.py")
    process = start_fix(repo, env, "-j", "2")  # a.py's agent is not kept waiting by b.py's
    journal = journal_path(repo.path / ".git")
    wait_for(lambda: len(marker_processes(tag)) == 1 and journal.exists(),
             "a.py finished and b.py's agent running")  # fmt: skip
    process.send_signal(signal.SIGINT)
    code, _out, err = finish(process)
    assert code == 130
    (line,) = err.strip().splitlines()
    assert line.startswith("stomper: interrupted: no new file started, agents stopped"), err
    assert line.endswith("; `stomper fix --resume` continues this run"), err
    resumed = run_stomper(
        repo.path, "fix", "--resume", env=stomper_env(site, tmpdir, SAFETY_TAG=tag)
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert b"length" in repo.read("b.py")


def test_a_second_ctrl_c_exits_at_once_and_stays_recoverable(tmp_path: Path, site: Path) -> None:
    repo, tmpdir, tag = make_project(tmp_path / "repo", "clean"), tmp_path / "tmp", uuid.uuid4().hex
    tmpdir.mkdir()
    termed = tmp_path / "termed"
    before = capture(repo, tag)
    # The agent ignores SIGTERM, so the first Ctrl-C's cleanup waits for its kill grace.
    env = stomper_env(
        site, tmpdir, SAFETY_TAG=tag, SAFETY_AGENT="hang-trap", SAFETY_TERMED=str(termed)
    )
    process = start_fix(repo, env, "-j", "1")
    wait_for(lambda: len(marker_processes(tag)) == 1, "the agent to run")
    wait_for(termed.with_name("termed.ready").exists, "the agent to trap SIGTERM")
    process.send_signal(signal.SIGINT)
    wait_for(termed.exists, "the agent to get SIGTERM")
    process.send_signal(signal.SIGINT)
    code, _out, err = finish(process)
    assert code == 130
    assert "interrupted twice: stopped at once" in err
    assert marker_processes(tag) == ()
    cleaned = run_stomper(repo.path, "clean", env=stomper_env(site, tmpdir))
    assert cleaned.returncode == 0, cleaned.stderr
    assert leftovers(repo, tmpdir, tag) == []
    assert violations(repo, before, capture(repo, tag), {}) == []
    assert (
        run_stomper(repo.path, "fix", env=stomper_env(site, tmpdir, SAFETY_TAG=tag)).returncode == 0
    )


def test_a_second_run_waits_or_names_the_running_one(tmp_path: Path, site: Path) -> None:
    repo, tmpdir, tag = make_project(tmp_path / "repo", "clean"), tmp_path / "tmp", uuid.uuid4().hex
    tmpdir.mkdir()
    first = start_fix(repo, stomper_env(site, tmpdir, SAFETY_TAG=tag, SAFETY_AGENT="hang"))
    wait_for(lambda: marker_processes(tag), "the first run's agent")
    refused = run_stomper(repo.path, "fix", env=stomper_env(site, tmpdir, STOMPER_LOCK_WAIT="0"))
    assert refused.returncode == 2
    assert f"another stomper run is working on this repository (pid {first.pid}, started " in (
        refused.stderr
    )
    assert "stomper fix" in refused.stderr
    first.send_signal(signal.SIGINT)
    assert finish(first)[0] == 130
    # The lock is free again: a run that waits gets it as soon as the first one ends.
    slow = stomper_env(site, tmpdir, SAFETY_TAG=tag, SAFETY_AGENT="slow-fix", SAFETY_SECONDS="2")
    holder = start_fix(repo, slow)
    wait_for(lambda: marker_processes(tag), "the slow run's agent")
    waiter = run_stomper(repo.path, "fix", env=stomper_env(site, tmpdir, SAFETY_TAG=tag))
    assert finish(holder)[0] == 0
    assert waiter.returncode == 0, waiter.stderr
    assert "Nothing to fix" in waiter.stdout  # it linted only after the first run had finished
    assert leftovers(repo, tmpdir, tag) == []


def test_a_dead_owners_run_lock_does_not_block(tmp_path: Path, site: Path) -> None:
    repo, tmpdir, tag = make_project(tmp_path / "repo", "clean"), tmp_path / "tmp", uuid.uuid4().hex
    tmpdir.mkdir()
    env = stomper_env(site, tmpdir, SAFETY_TAG=tag, SAFETY_AGENT="hang")
    killed = run_stomper(repo.path, "fix", env=env | {"STOMPER_FAULT": "agent-running:kill9"})
    assert killed.returncode == -9
    assert (repo.path / ".git" / "stomper" / "run.lock").exists()  # the dead owner's
    assert marker_processes(tag)  # its agents, orphaned
    cleaned = run_stomper(repo.path, "clean", env=stomper_env(site, tmpdir, STOMPER_LOCK_WAIT="0"))
    assert "recovered: agent process group" in cleaned.stdout
    assert marker_processes(tag) == ()
    fixed = run_stomper(
        repo.path, "fix", env=stomper_env(site, tmpdir, SAFETY_TAG=tag, STOMPER_LOCK_WAIT="0")
    )
    assert fixed.returncode == 0, fixed.stderr
    assert leftovers(repo, tmpdir, tag) == []
