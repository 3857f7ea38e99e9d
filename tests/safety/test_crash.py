"""kill -9 at every fault point of a real ``stomper fix``, in each of four repository states,
on both paths: one sandbox per file through the graph, and the batched deterministic path.

After the kill the invariants must hold already (every path byte-identical or holding exactly
the validated fix, the index and HEAD moved only by stomper's commits); then the next run must
clean up and complete: the same end state as a run never killed, and nothing left behind.
"""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from projects import BATCH_CHAIN, GRAPH_CHAIN, STATES, make_project, targets
from safety_support import capture, leftovers, record, run_stomper, stomper_env, violations

from stomper.faults import POINTS
from stomper.sandbox import memory_budget

# Independent subprocess cases; three at a time keep two cores busy while git and ruff wait.
WORKERS = 3
CHAINS = {"graph": GRAPH_CHAIN, "batch": BATCH_CHAIN}
# ruff's fixes alone leave E741 (`l = 1`) for the AI agent the batched chain lacks: exit 1.
EXIT = {"graph": 0, "batch": 1}
# The batched path starts no agent process.
BATCH_POINTS = tuple(point for point in POINTS if point != "agent-running")


def reference(tmp_path: Path, site: Path, state: str, chain: str) -> dict[str, bytes]:
    """What a run that nobody kills leaves in each target file."""
    repo = make_project(tmp_path / "reference", state, CHAINS[chain])
    tmpdir = tmp_path / "reference-tmp"
    tmpdir.mkdir()
    done = run_stomper(repo.path, "fix", env=stomper_env(site, tmpdir, SAFETY_TAG=uuid.uuid4().hex))
    assert done.returncode == EXIT[chain], done.stdout + done.stderr
    return {path: repo.read(path) for path in targets(repo)}


def crash_case(
    base: Path, site: Path, state: str, point: str, expected: dict[str, bytes], *, chain: str
) -> list[str]:
    """Kill a run at ``point``; the problems found after the kill and after the next run."""
    repo = make_project(base / "repo", state, CHAINS[chain])
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
    if again.returncode != EXIT[chain]:
        problems.append(f"the next run failed: {again.returncode} {again.stdout} {again.stderr}")
    problems += [
        f"after the next run: {v}" for v in violations(repo, before, capture(repo, tag), applied)
    ]
    problems += [
        f"{path} is not fixed" for path, data in expected.items() if repo.read(path) != data
    ]
    problems += [f"left behind: {item}" for item in leftovers(repo, tmpdir, tag, children=False)]
    return problems


@pytest.mark.parametrize("chain", sorted(CHAINS))
@pytest.mark.parametrize("state", STATES)
def test_kill9_at_every_fault_point(tmp_path: Path, site: Path, state: str, chain: str) -> None:
    expected = reference(tmp_path, site, state, chain)

    def one(point: str) -> tuple[str, list[str]]:
        base = tmp_path / point
        base.mkdir()
        problems = crash_case(base, site, state, point, expected, chain=chain)
        record("crash", not problems, f"{point} x {state} ({chain})")
        return point, problems

    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = dict(pool.map(one, BATCH_POINTS if chain == "batch" else POINTS))
    assert {point: problems for point, problems in outcomes.items() if problems} == {}


MEMORY = Path("/dev/shm")


def in_memory() -> set[str]:
    return {entry.name for entry in MEMORY.iterdir() if entry.name.startswith("stomper-")}


@pytest.mark.skipif(
    not (MEMORY.is_dir() and os.access(MEMORY, os.W_OK)), reason="no /dev/shm to write to"
)
@pytest.mark.parametrize("point", ["sandbox-created", "during-write"])
def test_kill9_with_the_sandbox_in_memory(tmp_path: Path, site: Path, point: str) -> None:
    """Without TMPDIR the batched path's sandbox is in /dev/shm: a killed run's is removed by
    the next run there too, and its temporary files for the write-back with it."""
    repo = make_project(tmp_path / "repo", STATES[0], BATCH_CHAIN)
    env = stomper_env(site, tmp_path, SAFETY_TAG=uuid.uuid4().hex)
    del env["TMPDIR"]
    before = in_memory()
    killed = run_stomper(repo.path, "fix", env=env | {"STOMPER_FAULT": f"{point}:kill9"})
    assert killed.returncode == -9, killed.stdout + killed.stderr
    left = in_memory() - before
    if point == "sandbox-created" and memory_budget(MEMORY) > 0:
        assert left, "the sandbox was made in memory, and the kill left it there"
    again = run_stomper(repo.path, "fix", env=env)
    assert again.returncode == EXIT["batch"], again.stdout + again.stderr
    assert in_memory() & left == set()
    assert leftovers(repo, tmp_path, children=False) == []
