"""Write-back (compare-and-swap, atomic) and one-file commits, against real git."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from stomper import apply as apply_module
from stomper.apply import CONFLICT, commit_file, make_temporaries, write_back, write_back_many
from stomper.sandbox import Snapshot, release_snapshot, take_snapshot
from stomper.testing import GitRepo


@pytest.fixture
def snap(repo: GitRepo) -> Iterator[Snapshot]:
    """The snapshot of ``repo`` with ``lib.py`` committed and ``tool.sh`` executable."""
    repo.write("lib.py", "import os\nx = 1\n")
    repo.write("other.py", "y = 1\n")
    repo.write("tool.sh", "#!/bin/sh\n")
    (repo.path / "tool.sh").chmod(0o755)
    repo.commit("files")
    snapshot = take_snapshot(repo.path, "apply")
    yield snapshot
    release_snapshot(snapshot)
    assert not (repo.path / ".git" / "stomper").exists()
    assert not (repo.path / ".git" / "index.lock").exists()


def leftovers(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir() if ".stomper" in path.name)


def test_write_back_replaces_the_file_keeping_its_mode(repo: GitRepo, snap: Snapshot) -> None:
    assert write_back(snap, "tool.sh", b"#!/bin/sh\necho fixed\n") == (True, "")
    assert repo.read("tool.sh") == b"#!/bin/sh\necho fixed\n"
    assert os.stat(repo.path / "tool.sh").st_mode & 0o777 == 0o755
    assert leftovers(repo.path) == []


def test_write_back_refuses_when_the_user_edited_meanwhile(repo: GitRepo, snap: Snapshot) -> None:
    repo.write("lib.py", "x = 2  # the user's edit\n")
    assert write_back(snap, "lib.py", b"x = 1\n") == (False, CONFLICT)
    assert repo.read("lib.py") == b"x = 2  # the user's edit\n"


def test_write_back_of_identical_bytes_writes_nothing(repo: GitRepo, snap: Snapshot) -> None:
    inode = os.stat(repo.path / "lib.py").st_ino
    assert write_back(snap, "lib.py", b"import os\nx = 1\n").written
    assert os.stat(repo.path / "lib.py").st_ino == inode


def test_write_back_many_writes_each_file_it_may_and_says_why_not_for_the_rest(
    repo: GitRepo, snap: Snapshot
) -> None:
    repo.write("other.py", "y = 2  # the user's edit\n")
    inode = os.stat(repo.path / "lib.py").st_ino
    outcomes = write_back_many(
        snap,
        {
            "tool.sh": (b"#!/bin/sh\n", b"#!/bin/sh\necho fixed\n"),
            "lib.py": (b"import os\nx = 1\n", b"import os\nx = 1\n"),  # nothing to write
            "other.py": (b"y = 1\n", b"y = 3\n"),  # overtaken by the user
            "missing.py": (b"", b"z = 1\n"),  # not in the snapshot
        },
    )
    assert outcomes == {
        "tool.sh": (True, ""),
        "lib.py": (True, ""),
        "other.py": (False, CONFLICT),
        "missing.py": (False, "refused: missing.py is not a regular file in the snapshot"),
    }
    assert repo.read("tool.sh") == b"#!/bin/sh\necho fixed\n"
    assert os.stat(repo.path / "tool.sh").st_mode & 0o777 == 0o755
    assert os.stat(repo.path / "lib.py").st_ino == inode
    assert repo.read("other.py") == b"y = 2  # the user's edit\n"
    assert not (repo.path / "missing.py").exists()
    assert leftovers(repo.path) == []


def test_write_back_many_fills_temporaries_made_ahead_and_keeps_every_guarantee(
    repo: GitRepo, snap: Snapshot
) -> None:
    made = make_temporaries(snap, 4)
    assert len({path.parent for path in made}) == 1
    assert all(path.stat().st_size == 0 and path.stat().st_mode & 0o777 == 0o600 for path in made)
    assert not any(path.is_relative_to(repo.path) and ".git" not in path.parts for path in made)
    repo.write("other.py", "y = 2  # the user's edit\n")
    made[0].unlink()  # the first one handed out is gone: that write makes its own file
    outcomes = write_back_many(
        snap,
        {
            "tool.sh": (b"#!/bin/sh\n", b"#!/bin/sh\necho fixed\n"),
            "lib.py": (b"import os\nx = 1\n", b"x = 1\n"),
            "other.py": (b"y = 1\n", b"y = 3\n"),  # overtaken by the user
        },
        made,
    )
    assert outcomes == {"tool.sh": (True, ""), "lib.py": (True, ""), "other.py": (False, CONFLICT)}
    assert repo.read("tool.sh") == b"#!/bin/sh\necho fixed\n"
    assert os.stat(repo.path / "tool.sh").st_mode & 0o777 == 0o755, "the target's mode, not 0600"
    assert repo.read("lib.py") == b"x = 1\n"
    assert os.stat(repo.path / "lib.py").st_mode & 0o777 == 0o644
    assert repo.read("other.py") == b"y = 2  # the user's edit\n"
    assert leftovers(repo.path) == []
    # lib.py's was swapped in and holds the replaced file now (a spare for the next run, see
    # test_spares.py), the conflict's was removed; the unused one is left to the run's end
    # (release_snapshot, checked by the fixture).
    assert [path.exists() for path in made] == [False, True, False, True]
    assert made[1].read_bytes() == b"import os\nx = 1\n"


def test_write_back_many_makes_its_own_files_for_another_file_system(
    repo: GitRepo, snap: Snapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = make_temporaries(snap, 1)
    real_device = apply_module._device
    monkeypatch.setattr(
        apply_module,
        "_device",
        lambda directory: -1 if directory == made[0].parent else real_device(directory),
    )
    outcomes = write_back_many(snap, {"lib.py": (b"import os\nx = 1\n", b"x = 1\n")}, made)
    assert outcomes == {"lib.py": (True, "")}
    assert repo.read("lib.py") == b"x = 1\n"
    assert made[0].read_bytes() == b"", "not used across file systems"


def test_write_back_many_takes_no_original_but_the_snapshots(repo: GitRepo, snap: Snapshot) -> None:
    # The caller's idea of the original must be the snapshot's bytes: they are what the
    # compare-and-swap protects, and what the journal names by blob for recovery.
    outcomes = write_back_many(snap, {"lib.py": (b"x = 1\n", b"x = 2\n")})
    assert outcomes == {
        "lib.py": (False, "refused: the original given for lib.py is not the snapshot's")
    }
    assert repo.read("lib.py") == b"import os\nx = 1\n"


def test_write_back_never_follows_a_symlink(repo: GitRepo, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.py").write_text("safe\n")
    os.symlink(outside / "victim.py", repo.path / "link.py")
    os.symlink(outside, repo.path / "linkdir")
    snapshot = take_snapshot(repo.path, "links")
    paths = ("link.py", "linkdir/victim.py", "../outside/victim.py", "/etc/passwd")
    try:
        for path in paths:
            outcome = write_back(snapshot, path, b"owned\n")
            assert not outcome.written
            assert outcome.reason.startswith("refused")
        # Many at once (directories resolved once for all of them): the same refusals.
        outcomes = write_back_many(snapshot, dict.fromkeys(paths, (b"safe\n", b"owned\n")))
        assert [outcomes[path].reason.split(":")[0] for path in paths] == ["refused"] * 4
    finally:
        release_snapshot(snapshot)
    assert (outside / "victim.py").read_text() == "safe\n"
    assert os.readlink(repo.path / "link.py") == str(outside / "victim.py")


def test_write_back_when_the_disk_is_full(
    repo: GitRepo, snap: Snapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    outcome = write_back(snap, "lib.py", b"x = 1\n")
    assert outcome == (False, "write failed: No space left on device")
    assert repo.read("lib.py") == b"import os\nx = 1\n"
    assert leftovers(repo.path) == []


def test_write_back_into_a_read_only_file_system(repo: GitRepo, snap: Snapshot) -> None:
    directory = repo.path
    directory.chmod(0o555)
    try:
        outcome = write_back(snap, "lib.py", b"x = 1\n")
    finally:
        directory.chmod(0o755)
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only directories")
    assert not outcome.written
    assert repo.read("lib.py") == b"import os\nx = 1\n"


def tree_paths(repo: GitRepo, rev: str) -> list[str]:
    return repo.git("diff-tree", "--no-commit-id", "--name-only", "-r", rev).split()


def test_commit_holds_one_path_and_leaves_the_users_staging_alone(
    repo: GitRepo, snap: Snapshot
) -> None:
    repo.write("other.py", "y = 2  # staged by the user\n")
    repo.add("other.py")
    repo.write("other.py", "y = 3  # and then edited\n")
    head = repo.head()
    fixed = b"x = 1\n"
    assert write_back(snap, "lib.py", fixed).written

    outcome = commit_file(snap, "lib.py", fixed, "fix(lint): resolve F401 in lib.py")

    assert outcome.commit == repo.head()
    assert repo.git("rev-parse", "HEAD~1").strip() == head
    assert tree_paths(repo, "HEAD") == ["lib.py"]
    assert repo.git("show", "HEAD:lib.py") == "x = 1\n"
    assert repo.log()[0] == "fix(lint): resolve F401 in lib.py"
    assert repo.git("status", "--porcelain") == "MM other.py\n"
    assert repo.git("show", ":other.py") == "y = 2  # staged by the user\n"
    assert (
        repo.git("ls-files", "-s", "lib.py").split()[1]
        == repo.git("rev-parse", "HEAD:lib.py").strip()
    )


def test_commit_works_under_hostile_config(
    repo: GitRepo, snap: Snapshot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for name in ("pre-commit", "commit-msg", "post-commit", "reference-transaction"):
        (hooks / name).write_text(f"#!/bin/sh\ntouch {tmp_path / 'ran'}\nexit 1\n")
        (hooks / name).chmod(0o755)
    config = tmp_path / "gitconfig"
    config.write_text(f"[core]\n\thooksPath = {hooks}\n[diff]\n\texternal = false\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    repo.git("config", "commit.gpgsign", "true")
    assert write_back(snap, "lib.py", b"x = 1\n").written
    outcome = commit_file(snap, "lib.py", b"x = 1\n", "fix: lib.py")
    assert outcome.commit is not None, outcome.reason
    assert not (tmp_path / "ran").exists()
    assert repo.git("status", "--porcelain") == ""


def test_commit_of_a_crlf_file_under_autocrlf(repo: GitRepo) -> None:
    repo.git("config", "core.autocrlf", "true")
    repo.write("win.py", b"import os\r\nx = 1\r\n")
    repo.commit("windows file")
    snapshot = take_snapshot(repo.path, "crlf")
    try:
        assert write_back(snapshot, "win.py", b"x = 1\r\n").written
        outcome = commit_file(snapshot, "win.py", b"x = 1\r\n", "fix: win.py")
    finally:
        release_snapshot(snapshot)
    assert outcome.commit is not None, outcome.reason
    assert repo.git("status", "--porcelain") == ""
    assert repo.read("win.py") == b"x = 1\r\n"


def test_successive_commits_stack_up(repo: GitRepo, snap: Snapshot) -> None:
    head = repo.head()
    for path in ("lib.py", "other.py"):
        assert write_back(snap, path, b"z = 0\n").written
        assert commit_file(snap, path, b"z = 0\n", f"fix: {path}").commit is not None
    assert repo.git("rev-parse", "HEAD~2").strip() == head
    assert repo.git("status", "--porcelain") == ""


def refused(snapshot: Snapshot, path: str, content: bytes) -> str:
    outcome = commit_file(snapshot, path, content, "fix")
    assert outcome.commit is None
    return outcome.reason


def test_commit_refused_for_a_file_the_user_had_edited(repo: GitRepo) -> None:
    repo.write("lib.py", "x = 1\n")
    repo.commit("lib")
    repo.write("lib.py", "x = 1\ny = 2  # uncommitted\n")
    snapshot = take_snapshot(repo.path, "edited")
    try:
        assert write_back(snapshot, "lib.py", b"x = 1\ny = 3\n").written
        head = repo.head()
        assert "uncommitted edits" in refused(snapshot, "lib.py", b"x = 1\ny = 3\n")
        assert repo.head() == head
        assert repo.git("diff", "--cached") == ""
    finally:
        release_snapshot(snapshot)


def test_commit_refused_for_staged_untracked_and_stale_content(
    repo: GitRepo, snap: Snapshot
) -> None:
    repo.write("new.py", "n = 1\n")
    assert "not tracked" in refused(snap, "new.py", b"n = 1\n")
    assert "no longer holds the fix" in refused(snap, "lib.py", b"x = 1\n")
    assert write_back(snap, "lib.py", b"x = 1\n").written
    repo.git("update-index", "--chmod=+x", "lib.py")
    assert "staged changes" in refused(snap, "lib.py", b"x = 1\n")


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ("detached", "detached HEAD"),
        ("merge", "a merge is in progress"),
        ("index.lock", "index is locked"),
    ],
)
def test_commit_refused_in_states_it_cannot_handle(
    repo: GitRepo, snap: Snapshot, state: str, reason: str
) -> None:
    assert write_back(snap, "lib.py", b"x = 1\n").written
    git_dir = repo.path / ".git"
    if state == "detached":
        repo.git("checkout", "-q", "--detach")
    elif state == "merge":
        (git_dir / "MERGE_HEAD").write_text(repo.head() + "\n")
    else:
        (git_dir / "index.lock").write_bytes(b"foreign")
    head = repo.head()
    assert reason in refused(snap, "lib.py", b"x = 1\n")
    assert repo.head() == head
    if state == "index.lock":
        assert (git_dir / "index.lock").read_bytes() == b"foreign"
        (git_dir / "index.lock").unlink()


def test_commit_refused_on_an_unborn_head(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "fresh")
    repo.write("a.py", "x = 1\n")
    snapshot = take_snapshot(repo.path, "unborn")
    try:
        assert "no commit yet" in refused(snapshot, "a.py", b"x = 1\n")
    finally:
        release_snapshot(snapshot)
    assert repo.git("status", "--porcelain") == "?? a.py\n"


def _target_by_pathlib(root: Path, path: str) -> Path | None:
    """What ``_target`` computed with pathlib before it worked on strings."""
    parts = Path(path).parts
    if not parts or Path(path).is_absolute() or ".." in parts or parts[0] == ".git":
        return None
    target = root.joinpath(*parts)
    if not Path(os.path.realpath(target.parent)).is_relative_to(os.path.realpath(root)):
        return None
    return target


@pytest.mark.parametrize(
    "path",
    [
        "a.py", "pkg/a.py", "pkg//a.py", "./pkg/./a.py", "pkg/", "", ".", "/etc/passwd",
        "//etc/passwd", "../a.py", "pkg/../a.py", ".git/config", "./.git/config", "a/.git/b",
        "out/a.py", "out/../a.py", "inside/a.py", "loop/a.py", "dots..py", "...", "pkg/.hidden",
    ],
)  # fmt: skip
def test_write_targets_are_those_pathlib_gave(tmp_path: Path, path: str) -> None:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (root / "out").symlink_to(tmp_path / "elsewhere")  # leaves the repository
    (root / "inside").symlink_to(root / "pkg")  # stays in it
    (root / "loop").symlink_to(root / "loop")
    assert apply_module._target(root, path) == _target_by_pathlib(root, path)
