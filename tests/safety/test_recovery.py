"""The journal's account of a dead run: what the next start can and cannot vouch for."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from projects import BATCH_CHAIN, GRAPH_CHAIN, TARGET, make_project
from safety_support import leftovers, run_stomper, stomper_env


@pytest.mark.parametrize("chain", [GRAPH_CHAIN, BATCH_CHAIN], ids=["graph", "batch"])
def test_a_write_it_cannot_vouch_for_is_reported_with_the_original_saved(
    tmp_path: Path, site: Path, chain: tuple[str, ...]
) -> None:
    # The graph saves a copy of each original; the batched path names its blob instead.
    repo, tmpdir, tag = (
        make_project(tmp_path / "repo", "clean", chain),
        tmp_path / "tmp",
        uuid.uuid4().hex,
    )
    tmpdir.mkdir()
    env = stomper_env(site, tmpdir, SAFETY_TAG=tag, STOMPER_FAULT="during-write:kill9")
    assert run_stomper(repo.path, "fix", "-j", "1", env=env).returncode == -9
    # The user edits both files before anything recovers: neither original nor fix remains.
    edits = {name: f"# the user's own version of {name}\n".encode() for name in ("a.py", "b.py")}
    for name, data in edits.items():
        repo.write(name, data)
    cleaned = run_stomper(repo.path, "clean", env=stomper_env(site, tmpdir))
    assert cleaned.returncode == 0, cleaned.stderr
    lines = [item for item in cleaned.stdout.splitlines() if "cannot vouch for" in item]
    assert lines, cleaned.stdout
    for line in lines:  # one file with -j 1 through the graph, both in one batch
        assert "left as it is, its original is saved at " in line
        saved = Path(line.rsplit("saved at ", 1)[1])
        assert saved.read_bytes() == TARGET.encode()
    assert {name: repo.read(name) for name in edits} == edits  # nothing guessed, nothing written
    recovered = repo.path / ".git" / "stomper" / "recovered"
    assert leftovers(repo, tmpdir, tag) == [str(recovered)]  # kept for the user, on purpose


def test_a_killed_commit_is_completed_by_the_next_start(tmp_path: Path, site: Path) -> None:
    repo, tmpdir, tag = make_project(tmp_path / "repo", "clean"), tmp_path / "tmp", uuid.uuid4().hex
    tmpdir.mkdir()
    env = stomper_env(site, tmpdir, SAFETY_TAG=tag, STOMPER_FAULT="during-commit:kill9")
    assert run_stomper(repo.path, "fix", "-j", "1", env=env).returncode == -9
    assert (repo.path / ".git" / "index.lock").exists()  # HEAD moved, the index waits in it
    cleaned = run_stomper(repo.path, "clean", env=stomper_env(site, tmpdir))
    assert "recovered: completed the commit of" in cleaned.stdout
    assert repo.git("status", "--porcelain", "--untracked-files=no") == ""
    assert leftovers(repo, tmpdir, tag) == []


def test_a_raised_fault_fails_the_file_and_leaves_nothing(tmp_path: Path, site: Path) -> None:
    repo, tmpdir, tag = make_project(tmp_path / "repo", "clean"), tmp_path / "tmp", uuid.uuid4().hex
    tmpdir.mkdir()
    env = stomper_env(site, tmpdir, SAFETY_TAG=tag, STOMPER_FAULT="before-write:raise")
    done = run_stomper(repo.path, "fix", env=env)
    assert done.returncode == 1
    assert "fault injected at before-write" in done.stdout
    assert repo.read("a.py") == TARGET.encode()
    assert leftovers(repo, tmpdir, tag) == []
