"""The journal's account of a dead run: what the next start can and cannot vouch for."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from projects import BATCH_CHAIN, GRAPH_CHAIN, TARGET, make_project
from safety_support import leftovers, run_stomper, stomper_env

from stomper.testing import GitRepo


def a_project(tmp_path: Path, chain: tuple[str, ...] = GRAPH_CHAIN) -> tuple[GitRepo, Path, str]:
    """A clean project, the temporary directory its runs use, and the tag of their agents."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    return make_project(tmp_path / "repo", "clean", chain), tmpdir, uuid.uuid4().hex


def killed_at(
    point: str, tmp_path: Path, site: Path, chain: tuple[str, ...] = GRAPH_CHAIN
) -> tuple[GitRepo, Path, str]:
    """:func:`a_project` after a ``stomper fix -j 1`` killed (-9) at fault ``point``."""
    repo, tmpdir, tag = a_project(tmp_path, chain)
    env = stomper_env(site, tmpdir, SAFETY_TAG=tag, STOMPER_FAULT=f"{point}:kill9")
    assert run_stomper(repo.path, "fix", "-j", "1", env=env).returncode == -9
    return repo, tmpdir, tag


@pytest.mark.parametrize("chain", [GRAPH_CHAIN, BATCH_CHAIN], ids=["graph", "batch"])
def test_a_write_it_cannot_vouch_for_is_reported_with_the_original_saved(
    tmp_path: Path, site: Path, chain: tuple[str, ...]
) -> None:
    # The graph saves a copy of each original; the batched path names its blob instead.
    repo, tmpdir, tag = killed_at("during-write", tmp_path, site, chain)
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
    repo, tmpdir, tag = killed_at("during-commit", tmp_path, site)
    assert (repo.path / ".git" / "index.lock").exists()  # HEAD moved, the index waits in it
    cleaned = run_stomper(repo.path, "clean", env=stomper_env(site, tmpdir))
    assert "recovered: completed the commit of" in cleaned.stdout
    assert repo.git("status", "--porcelain", "--untracked-files=no") == ""
    assert leftovers(repo, tmpdir, tag) == []


def test_a_raised_fault_fails_the_file_and_leaves_nothing(tmp_path: Path, site: Path) -> None:
    repo, tmpdir, tag = a_project(tmp_path)
    env = stomper_env(site, tmpdir, SAFETY_TAG=tag, STOMPER_FAULT="before-write:raise")
    done = run_stomper(repo.path, "fix", env=env)
    assert done.returncode == 1
    assert "fault injected at before-write" in done.stdout
    assert repo.read("a.py") == TARGET.encode()
    assert leftovers(repo, tmpdir, tag) == []


@pytest.mark.parametrize("chain", [GRAPH_CHAIN, BATCH_CHAIN], ids=["graph", "batch"])
def test_an_index_lock_is_journaled_before_it_exists(
    tmp_path: Path, site: Path, chain: tuple[str, ...]
) -> None:
    # Killed after the journal names the index.lock to come and before it is linked into
    # place: no index.lock, and the file waiting in the run's record goes with the run.
    repo, tmpdir, tag = killed_at("commit-recorded", tmp_path, site, chain)
    assert not (repo.path / ".git" / "index.lock").exists()
    staged = list((repo.path / ".git" / "stomper").rglob("commit.lock"))
    assert staged  # in the dead run's record, for the next start to remove
    cleaned = run_stomper(repo.path, "clean", env=stomper_env(site, tmpdir))
    assert cleaned.returncode == 0, cleaned.stderr
    assert not any(path.exists() for path in staged)
    assert leftovers(repo, tmpdir, tag) == []
    repo.git("commit", "-q", "--allow-empty", "-m", "the user's git still works")


def test_an_index_lock_held_at_a_kill_is_removed_by_the_next_start(
    tmp_path: Path, site: Path
) -> None:
    repo, tmpdir, tag = killed_at("before-commit", tmp_path, site)
    head = repo.head()  # the project's commit: the fix's was never made
    assert (repo.path / ".git" / "index.lock").exists()
    cleaned = run_stomper(repo.path, "clean", env=stomper_env(site, tmpdir))
    assert "(its commit of a.py never happened)" in cleaned.stdout, cleaned.stdout
    assert not (repo.path / ".git" / "index.lock").exists()
    assert repo.head() == head
    assert leftovers(repo, tmpdir, tag) == []


def test_a_fault_before_the_index_lock_leaves_the_fix_uncommitted_and_no_lock(
    tmp_path: Path, site: Path
) -> None:
    repo, tmpdir, tag = a_project(tmp_path)
    head = repo.head()
    env = stomper_env(site, tmpdir, SAFETY_TAG=tag, STOMPER_FAULT="commit-recorded:raise")
    report = tmp_path / "report.json"
    done = run_stomper(repo.path, "fix", "-j", "1", "--report", str(report), env=env)
    assert done.returncode == 0, done.stderr
    notes = [note for file in json.loads(report.read_text())["results"] for note in file["notes"]]
    assert any("not committed" in note and "commit-recorded" in note for note in notes), notes
    assert repo.head() == head
    assert not (repo.path / ".git" / "index.lock").exists()
    assert repo.read("a.py") != TARGET.encode()  # the fix itself is written
    assert leftovers(repo, tmpdir, tag) == []
