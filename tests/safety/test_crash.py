"""kill -9 at every fault point of a real ``stomper fix``, in each of four repository states.

After the kill the invariants must hold already (every path byte-identical or holding exactly
the validated fix, the index and HEAD moved only by stomper's commits); then the next run must
clean up and complete: the same end state as a run never killed, and nothing left behind.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from projects import STATES, make_project, targets
from safety_support import capture, leftovers, record, run_stomper, stomper_env, violations

from stomper.faults import POINTS

# Independent subprocess cases; three at a time keep two cores busy while git and ruff wait.
WORKERS = 3


def reference(tmp_path: Path, site: Path, state: str) -> dict[str, bytes]:
    """What a run that nobody kills leaves in each target file."""
    repo = make_project(tmp_path / "reference", state)
    tmpdir = tmp_path / "reference-tmp"
    tmpdir.mkdir()
    done = run_stomper(repo.path, "fix", env=stomper_env(site, tmpdir, SAFETY_TAG=uuid.uuid4().hex))
    assert done.returncode == 0, done.stdout + done.stderr
    return {path: repo.read(path) for path in targets(repo)}


def crash_case(
    base: Path, site: Path, state: str, point: str, expected: dict[str, bytes]
) -> list[str]:
    """Kill a run at ``point``; the problems found after the kill and after the next run."""
    repo = make_project(base / "repo", state)
    tmpdir, tag = base / "tmp", uuid.uuid4().hex
    tmpdir.mkdir()
    applied = {path: {data} for path, data in expected.items()}
    before = capture(repo, tag)
    killed = run_stomper(
        repo.path,
        "fix",
        env=stomper_env(site, tmpdir, SAFETY_TAG=tag, STOMPER_FAULT=f"{point}:kill9"),
    )
    problems = (
        [] if killed.returncode == -9 else [f"not killed: {killed.returncode} {killed.stderr}"]
    )
    problems += [
        f"after the kill: {v}" for v in violations(repo, before, capture(repo, tag), applied)
    ]
    again = run_stomper(repo.path, "fix", env=stomper_env(site, tmpdir, SAFETY_TAG=tag))
    if again.returncode != 0:
        problems.append(f"the next run failed: {again.returncode} {again.stdout} {again.stderr}")
    problems += [
        f"after the next run: {v}" for v in violations(repo, before, capture(repo, tag), applied)
    ]
    problems += [
        f"{path} is not fixed" for path, data in expected.items() if repo.read(path) != data
    ]
    problems += [f"left behind: {item}" for item in leftovers(repo, tmpdir, tag, children=False)]
    return problems


@pytest.mark.parametrize("state", STATES)
def test_kill9_at_every_fault_point(tmp_path: Path, site: Path, state: str) -> None:
    expected = reference(tmp_path, site, state)

    def one(point: str) -> tuple[str, list[str]]:
        base = tmp_path / point
        base.mkdir()
        problems = crash_case(base, site, state, point, expected)
        record("crash", not problems, f"{point} x {state}")
        return point, problems

    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = dict(pool.map(one, POINTS))
    assert {point: problems for point, problems in outcomes.items() if problems} == {}
