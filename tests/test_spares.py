"""Temporary files of batched write-backs, reused from run to run (stomper.spares)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stomper import spares
from stomper.apply import keep_temporaries, make_temporaries, write_back_many
from stomper.sandbox import release_snapshot, take_snapshot
from stomper.testing import GitRepo

needs_exchange = pytest.mark.skipif(
    spares._exchange() is None, reason="renameat2(RENAME_EXCHANGE) is Linux-only"
)


def common(repo: GitRepo) -> Path:
    return repo.path / ".git"


def test_claim_makes_new_files_when_there_are_no_spares(repo: GitRepo, tmp_path: Path) -> None:
    directory = tmp_path / "run" / "temporaries"
    directory.parent.mkdir()
    made = spares.claim(common(repo), directory, 3)
    assert len(set(made)) == 3
    assert all(path.parent == directory and path.stat().st_size == 0 for path in made)
    assert all(path.stat().st_mode & 0o777 == 0o600 for path in made)
    assert directory.stat().st_mode & 0o777 == 0o700


def test_claim_takes_the_spares_and_replaces_those_that_are_not_plainly_ours(
    repo: GitRepo, tmp_path: Path
) -> None:
    spare = spares.spare_dir(common(repo))
    spare.mkdir(parents=True)
    spare.chmod(0o755)
    (spare / "good").write_bytes(b"an earlier version\n")
    (spare / "linked").write_bytes(b"someone else's\n")
    os.link(spare / "linked", tmp_path / "their-link")
    (spare / "symlink").symlink_to(tmp_path / "their-link")
    (spare / "directory").mkdir()
    directory = tmp_path / "temporaries"

    made = spares.claim(common(repo), directory, 3)

    assert not spare.exists(), "moved, so no other run takes the same files"
    assert directory.stat().st_mode & 0o777 == 0o700
    assert directory / "good" in made
    assert len(made) == 3
    assert all(path.is_file() and not path.is_symlink() for path in made)
    assert sorted(path.name for path in directory.iterdir()) == sorted(p.name for p in made)
    assert (tmp_path / "their-link").read_bytes() == b"someone else's\n"
    assert os.stat(tmp_path / "their-link").st_nlink == 1, "our link to it is gone"


def test_claim_leaves_extra_spares_unused(repo: GitRepo, tmp_path: Path) -> None:
    spare = spares.spare_dir(common(repo))
    spare.mkdir(parents=True)
    for name in "abcd":
        (spare / name).write_bytes(b"x")
    made = spares.claim(common(repo), tmp_path / "temporaries", 2)
    assert len(made) == 2
    assert len(list((tmp_path / "temporaries").iterdir())) == 4


def test_fill_writes_exactly_the_content_with_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "spare"
    path.write_bytes(b"a much longer earlier version of some file\n" * 10)
    spares.fill(path, b"short\n", 0o755)
    assert path.read_bytes() == b"short\n"
    assert path.stat().st_mode & 0o7777 == 0o755
    spares.fill(path, b"", 0o644)
    assert path.read_bytes() == b""


def test_fill_refuses_a_file_with_another_link_or_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "theirs").write_bytes(b"their content\n")
    os.link(tmp_path / "theirs", tmp_path / "linked")
    (tmp_path / "symlink").symlink_to(tmp_path / "theirs")
    with pytest.raises(OSError, match="not a temporary file of ours"):
        spares.fill(tmp_path / "linked", b"fix\n", 0o644)
    with pytest.raises(OSError, match="symbolic links"):
        spares.fill(tmp_path / "symlink", b"fix\n", 0o644)
    with pytest.raises(FileNotFoundError):
        spares.fill(tmp_path / "missing", b"fix\n", 0o644)
    assert (tmp_path / "theirs").read_bytes() == b"their content\n"


@needs_exchange
def test_swap_in_exchanges_the_files(tmp_path: Path) -> None:
    target, temporary = tmp_path / "target.py", tmp_path / "temporary"
    target.write_bytes(b"old\n")
    temporary.write_bytes(b"new\n")
    replaced_inode = target.stat().st_ino
    assert spares.swap_in(str(temporary), target) is True
    assert target.read_bytes() == b"new\n"
    assert temporary.read_bytes() == b"old\n"
    assert temporary.stat().st_ino == replaced_inode


@needs_exchange
def test_swap_in_does_not_keep_large_or_shared_replaced_files(tmp_path: Path) -> None:
    large, shared = tmp_path / "large.py", tmp_path / "shared.py"
    large.write_bytes(b"#" * (spares.KEEP_AT_MOST_BYTES + 1))
    shared.write_bytes(b"old\n")
    os.link(shared, tmp_path / "their-link")
    for target in (large, shared):
        temporary = tmp_path / "temporary"
        temporary.write_bytes(b"new\n")
        assert spares.swap_in(str(temporary), target) is True
        assert target.read_bytes() == b"new\n"
        assert not temporary.exists()
    assert (tmp_path / "their-link").read_bytes() == b"old\n"


def test_swap_in_renames_where_there_is_no_exchange(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spares, "_exchange", lambda: None)
    target, temporary = tmp_path / "target.py", tmp_path / "temporary"
    target.write_bytes(b"old\n")
    temporary.write_bytes(b"new\n")
    assert spares.swap_in(str(temporary), target) is False
    assert target.read_bytes() == b"new\n"
    assert not temporary.exists()


@needs_exchange
def test_swap_in_never_makes_a_target_that_is_gone(tmp_path: Path) -> None:
    temporary = tmp_path / "temporary"
    temporary.write_bytes(b"new\n")
    with pytest.raises(FileNotFoundError):
        spares.swap_in(str(temporary), tmp_path / "deleted.py")
    assert not (tmp_path / "deleted.py").exists()


def test_keep_moves_the_files_unless_spares_are_there(repo: GitRepo, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for directory in (first, second):
        directory.mkdir()
        (directory / "file").write_bytes(b"")
    spares.keep(first, common(repo))
    spares.keep(second, common(repo))
    assert (spares.spare_dir(common(repo)) / "file").is_file()
    assert not first.exists()
    assert (second / "file").is_file(), "left for its run's clean-up"


@needs_exchange
def test_the_next_write_back_reuses_the_replaced_files(repo: GitRepo) -> None:
    """Two runs: the second makes no new file, writes the right bytes and modes, and a user's
    hard link to a fixed file keeps its content and never becomes a spare."""
    for name in ("a.py", "b.py", "c.py"):
        repo.write(name, f"import os\n{name[0]} = 1\n")
    (repo.path / "c.py").chmod(0o755)
    repo.commit("files")
    os.link(repo.path / "b.py", repo.path.parent / "b-hard-link.py")
    first = {name: (repo.path / name).stat().st_ino for name in ("a.py", "b.py", "c.py")}
    inodes = []
    for run in ("one", "two"):
        originals = {name: repo.read(name) for name in ("a.py", "b.py", "c.py")}
        fixes = {name: (data, data + f"# {run}\n".encode()) for name, data in originals.items()}
        snapshot = take_snapshot(repo.path, run)
        try:
            made = make_temporaries(snapshot, 3)
            inodes.append({path.stat().st_ino for path in made})
            outcomes = write_back_many(snapshot, fixes, made)
            keep_temporaries(snapshot)
        finally:
            release_snapshot(snapshot)
        assert all(outcome.written for outcome in outcomes.values())
        for name, (_, fixed) in fixes.items():
            assert repo.read(name) == fixed
        assert (repo.path / "c.py").stat().st_mode & 0o777 == 0o755
        assert (repo.path / "a.py").stat().st_mode & 0o777 == 0o644
    spare = spares.spare_dir(common(repo))
    # Run one's files became a.py, b.py and c.py; the files they replaced (but b.py's, which
    # has another link) were run two's temporary files.
    assert inodes[1] & {first["a.py"], first["c.py"]} == {first["a.py"], first["c.py"]}
    assert first["b.py"] not in inodes[1]
    assert not inodes[0] & inodes[1]
    assert (repo.path.parent / "b-hard-link.py").read_bytes() == b"import os\nb = 1\n"
    assert os.stat(repo.path.parent / "b-hard-link.py").st_nlink == 1
    assert all(os.stat(path).st_nlink == 1 for path in spare.iterdir())
    assert repo.git("status", "--porcelain", "--ignored").count("\n") == 3  # a, b, c only


@needs_exchange
def test_a_replaced_file_someone_still_has_open_is_never_reused(repo: GitRepo) -> None:
    """An editor holding the user's file open keeps writing into the replaced file: that file
    must never become another file's fix (a write lease tells whether anyone has it open)."""
    repo.write("a.py", "import os\na = 1\n")
    repo.write("b.py", "import os\nb = 1\n")
    repo.commit("files")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; f = open('a.py', 'r+b'); "
         "print('open', flush=True); sys.stdin.readline(); f.write(b'EDITOR'); f.flush()"],
        cwd=repo.path, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"open\n"
        for run, name in (("one", "a.py"), ("two", "b.py")):
            original = repo.read(name)
            snapshot = take_snapshot(repo.path, run)
            try:
                made = make_temporaries(snapshot, 1)
                fixes = {name: (original, original + b"# fixed\n")}
                assert write_back_many(snapshot, fixes, made)[name].written
                keep_temporaries(snapshot)
            finally:
                release_snapshot(snapshot)
    finally:
        holder.communicate(b"write now\n", timeout=10)
    assert repo.read("a.py") == b"import os\na = 1\n# fixed\n"
    assert repo.read("b.py") == b"import os\nb = 1\n# fixed\n"
