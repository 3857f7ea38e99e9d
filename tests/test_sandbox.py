"""Snapshots and sandboxes, against real git: byte-exact copies, change detection, cleanup."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from stomper import sandbox as sandbox_module
from stomper.git import git_env
from stomper.locks import file_lock
from stomper.sandbox import (
    Sandbox,
    Sandboxes,
    changed_paths,
    clean_leftovers,
    memory_budget,
    read_file,
    release_snapshot,
    reset_path,
    sandbox_parent,
    snapshot_bytes,
    take_snapshot,
)
from stomper.testing import GitRepo
from stomper.types import ChangedPath

T = TypeVar("T")


@pytest.fixture(autouse=True)
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Sandboxes go to a temporary directory of the test's own, checked empty afterwards."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return temp


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user git config built to change outputs, plus hooks that fail or write files."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for name in ("pre-commit", "post-checkout", "post-commit"):
        hook = hooks / name
        hook.write_text(f"#!/bin/sh\necho {name} >> {tmp_path / 'hooks-ran'}\nexit 1\n")
        hook.chmod(0o755)
    config = tmp_path / "gitconfig"
    config.write_text(
        "[core]\n\tautocrlf = true\n\tquotePath = true\n\thooksPath = " + str(hooks) + "\n"
        "[diff]\n\tnoprefix = true\n\texternal = false\n[color]\n\tui = always\n"
        "[commit]\n\tgpgsign = true\n"
        '[filter "lfs"]\n\tclean = git-lfs-missing clean -- %f\n'
        "\tsmudge = git-lfs-missing smudge -- %f\n\trequired = true\n"
    )
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    return tmp_path / "hooks-ran"


def run(coroutine: Awaitable[T]) -> T:
    async def main() -> T:
        return await coroutine

    return asyncio.run(main())


def user_state(repo: GitRepo) -> tuple[bytes, str, str, str]:
    common = repo.path / ".git"
    return (
        (common / "index").read_bytes(),
        # the snapshot's own ref is checked separately
        "".join(
            line for line in repo.git("for-each-ref").splitlines(True) if "stomper" not in line
        ),
        (common / "HEAD").read_text(),
        # --no-optional-locks: a plain status would write the refreshed index itself
        repo.git("--no-optional-locks", "status", "--porcelain", "--untracked-files=all"),
    )


def assert_no_leftovers(repo: GitRepo, temp: Path) -> None:
    """Invariant 5: no stomper worktree, admin dir, ref, temporary directory or lock file."""
    worktrees = repo.git("worktree", "list", "--porcelain").count("worktree ")
    assert worktrees == 1
    assert repo.git("for-each-ref", "refs/stomper/") == ""
    assert not (repo.path / ".git" / "stomper").exists()
    assert not (repo.path / ".git" / "worktrees").exists()
    assert list(temp.iterdir()) == []


def files_of(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (outside ``.git``) with its bytes, symlinks as their target."""
    found = {}
    for path in root.rglob("*"):
        relative = path.relative_to(root).as_posix()
        if relative.split("/")[0] == ".git" or (path.is_dir() and not path.is_symlink()):
            continue
        found[relative] = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
    return found


def test_snapshot_captures_dirty_and_untracked_and_leaves_user_state_alone(
    repo: GitRepo, private_tmp: Path
) -> None:
    repo.write("staged.py", "a = 1\n")
    repo.write("dirty.py", "b = 1\n")
    repo.write(".gitignore", "*.log\n")
    repo.commit("files")
    repo.write("staged.py", "a = 2\n")
    repo.add("staged.py")
    repo.write("staged.py", "a = 3\n")
    repo.write("dirty.py", "b = 2\n")
    repo.write("new.py", "c = 1\n")
    repo.write("debug.log", "ignored\n")
    before = user_state(repo)

    snapshot = take_snapshot(repo.path, "run1")

    assert user_state(repo) == before
    assert snapshot.head == repo.head()
    assert snapshot_bytes(snapshot, "staged.py") == b"a = 3\n"
    assert snapshot_bytes(snapshot, "dirty.py") == b"b = 2\n"
    assert snapshot_bytes(snapshot, "new.py") == b"c = 1\n"
    with pytest.raises(FileNotFoundError):
        snapshot_bytes(snapshot, "debug.log")
    assert repo.git("for-each-ref", "--format=%(objectname)", "refs/stomper/") == (
        snapshot.commit + "\n"
    )
    release_snapshot(snapshot)
    release_snapshot(snapshot)  # idempotent
    assert user_state(repo) == before
    assert_no_leftovers(repo, private_tmp)


def test_snapshot_ignores_git_variables_of_a_hook(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, private_tmp: Path
) -> None:
    repo.write("a.py", "x = 1\n")
    monkeypatch.setenv("GIT_DIR", "/nonexistent/.git")
    monkeypatch.setenv("GIT_INDEX_FILE", "/nonexistent/index")
    monkeypatch.setenv("GIT_WORK_TREE", "/nonexistent")
    snapshot = take_snapshot(repo.path, "hooked")
    assert snapshot_bytes(snapshot, "a.py") == b"x = 1\n"
    release_snapshot(snapshot)
    assert_no_leftovers(repo, private_tmp)


def test_snapshot_of_an_unborn_head(tmp_path: Path, private_tmp: Path) -> None:
    repo = GitRepo.create(tmp_path / "fresh")
    repo.write("a.py", "x = 1\n")
    snapshot = take_snapshot(repo.path, "unborn")
    assert snapshot.head is None
    assert snapshot_bytes(snapshot, "a.py") == b"x = 1\n"
    assert repo.git("status", "--porcelain") == "?? a.py\n"
    release_snapshot(snapshot)
    assert_no_leftovers(repo, private_tmp)


def test_a_run_id_in_use_is_refused(repo: GitRepo) -> None:
    snapshot = take_snapshot(repo.path, "same")
    try:
        with pytest.raises(Exception, match="already in use"):
            take_snapshot(repo.path, "same")
    finally:
        release_snapshot(snapshot)


ODD_FILES = {
    "crlf.py": b"a = 1\r\nb = 2\r\n",
    "mixed.py": b"a = 1\r\nb = 2\n",
    "bom.py": b"\xef\xbb\xbfx = 1\n",
    "latin1.py": "# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n".encode("latin-1"),
    "nonl.py": b"x = 1",
    "eol.txt": b"lf only\n",
    "big.bin": b"version https://git-lfs.github.com/spec/v1\nnot really\n",
    "ident.c": b"/* $Id$ */\n",
}


def test_sandbox_bytes_equal_the_users_under_hostile_config(
    repo: GitRepo, hostile: Path, private_tmp: Path
) -> None:
    repo.write(".gitattributes", "*.txt text eol=crlf\n*.bin filter=lfs\n*.c ident\n")
    for name, content in ODD_FILES.items():
        repo.write(name, content)
    repo.git("-c", "filter.lfs.required=false", "add", "-A")
    repo.git("-c", "filter.lfs.required=false", "commit", "-q", "--no-verify", "-m", "odd")
    repo.write("dirty.py", b"y = 2\r\n")
    os.symlink("crlf.py", repo.path / "link.py")
    (repo.path / "tool.sh").write_bytes(b"#!/bin/sh\n")
    (repo.path / "tool.sh").chmod(0o755)
    expected = files_of(repo.path)
    hostile.unlink(missing_ok=True)  # post-commit ran for the set-up commit above

    snapshot = take_snapshot(repo.path, "odd")

    async def check() -> None:
        async with Sandboxes(snapshot, size=1) as sandboxes, sandboxes.open("odd") as sandbox:
            assert files_of(sandbox.root) == expected
            assert os.access(sandbox.root / "tool.sh", os.X_OK)
            assert await changed_paths(sandbox) == ()

    run(check())
    release_snapshot(snapshot)
    assert not hostile.exists(), "a hook ran"
    assert_no_leftovers(repo, private_tmp)


def test_24_sandboxes_at_once(repo: GitRepo, private_tmp: Path) -> None:
    for number in range(50):
        repo.write(f"pkg/m{number}.py", f"value = {number}\n")
    repo.commit("many")
    snapshot = take_snapshot(repo.path, "wide")

    async def many() -> None:
        async with Sandboxes(snapshot, size=24) as sandboxes:
            boxes = await asyncio.gather(*(sandboxes.acquire(f"f{n}") for n in range(24)))
            assert len({box.root for box in boxes}) == 24
            for box in boxes:
                assert (box.root / "pkg" / "m7.py").read_bytes() == b"value = 7\n"
                (box.root / "pkg" / "m7.py").write_bytes(box.id.encode())
            await asyncio.gather(*(sandboxes.release(box) for box in boxes))
            again = await asyncio.gather(*(sandboxes.acquire(f"g{n}") for n in range(24)))
            for box in again:
                assert await changed_paths(box) == ()

    run(many())
    release_snapshot(snapshot)
    assert_no_leftovers(repo, private_tmp)


def test_a_sandbox_is_released_when_the_block_raises(repo: GitRepo, private_tmp: Path) -> None:
    snapshot = take_snapshot(repo.path, "boom")

    async def failing() -> tuple[Sandbox, Sandbox]:
        async with Sandboxes(snapshot, size=1) as sandboxes:
            first = await sandboxes.acquire("a")
            await sandboxes.release(first)  # first a clean round, to learn the root

            async def crash() -> None:
                async with sandboxes.open("a") as sandbox:
                    (sandbox.root / "README.md").write_text("changed\n")
                    raise RuntimeError("agent crashed")

            with pytest.raises(RuntimeError):
                await crash()
            # size=1: this would wait for ever had the first one not been released
            second = await asyncio.wait_for(sandboxes.acquire("b"), 10)
            assert (second.root / "README.md").read_text() == "demo\n"
            await sandboxes.release(second)
            await sandboxes.release(second)  # idempotent
            return first, second

    first, second = run(failing())
    assert first.root == second.root
    assert not first.root.exists()
    release_snapshot(snapshot)
    assert_no_leftovers(repo, private_tmp)


def test_cancelled_at_any_point_leaves_nothing(repo: GitRepo, private_tmp: Path) -> None:
    for number in range(300):
        repo.write(f"pkg/m{number}.py", f"value = {number}\n")
    repo.commit("many")
    snapshot = take_snapshot(repo.path, "cancel")

    async def cancel(delay: float) -> None:
        sandboxes = Sandboxes(snapshot, size=2)
        task = asyncio.ensure_future(sandboxes.acquire("a"))
        await asyncio.sleep(delay)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await sandboxes.close()

    for delay in (0, 0.001, 0.003, 0.01, 0.03, 0.1):
        run(cancel(delay))
        assert list(private_tmp.iterdir()) == []
    release_snapshot(snapshot)
    assert_no_leftovers(repo, private_tmp)


def _edit(path: str, content: bytes = b"changed\n") -> Callable[[Path], None]:
    def act(root: Path) -> None:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(content)

    return act


def _replace_by_symlink(path: Path, target: str) -> None:
    path.unlink()
    path.symlink_to(target)


def _sandbox_git(*args: str) -> Callable[[Path], None]:
    def act(root: Path) -> None:
        env = git_env(None, GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@b")
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)

    return act


CHANGES: dict[str, tuple[Callable[[Path], object], set[ChangedPath]]] = {
    "edit": (_edit("lib.py"), {ChangedPath("lib.py", "modified")}),
    "new file": (_edit("extra.py"), {ChangedPath("extra.py", "added")}),
    "new ignored file": (_edit(".env", b"SECRET=1\n"), {ChangedPath(".env", "added")}),
    "new directory": (_edit("newpkg/a.py"), {ChangedPath("newpkg", "added")}),
    "delete": (lambda root: (root / "lib.py").unlink(), {ChangedPath("lib.py", "deleted")}),
    "rename": (
        lambda root: (root / "lib.py").rename(root / "lib2.py"),
        {ChangedPath("lib.py", "deleted"), ChangedPath("lib2.py", "added")},
    ),
    "chmod": (lambda root: (root / "lib.py").chmod(0o755), {ChangedPath("lib.py", "mode")}),
    "symlink": (
        lambda root: _replace_by_symlink(root / "lib.py", "/etc/passwd"),
        {ChangedPath("lib.py", "type")},
    ),
    "git link": (_edit(".git", b"gitdir: /elsewhere\n"), {ChangedPath(".git", "modified")}),
    "git commit": (
        lambda root: (_edit("lib.py")(root), _sandbox_git("commit", "-qam", "x")(root)),
        {ChangedPath("lib.py", "modified")},
    ),
    "git rm --cached": (
        _sandbox_git("rm", "-q", "--cached", "lib.py"),
        {ChangedPath("lib.py", "deleted"), ChangedPath("lib.py", "added")},
    ),
    "caches": (
        lambda root: (
            _edit("__pycache__/lib.cpython-311.pyc")(root),
            _edit("pkg/__pycache__/x.pyc")(root),
            _edit(".pytest_cache/v/x")(root),
            _edit(".mypy_cache/3.11/lib.meta.json")(root),
        ),
        set(),
    ),
}


@pytest.mark.parametrize("name", CHANGES)
def test_changed_paths_sees_each_kind_of_change_and_reset_undoes_it(
    repo: GitRepo, name: str, private_tmp: Path
) -> None:
    repo.write("lib.py", "x = 1\n")
    repo.write("pkg/mod.py", "y = 1\n")
    repo.write(".gitignore", ".env\n__pycache__/\n")
    repo.commit("lib")
    act, expected = CHANGES[name]
    snapshot = take_snapshot(repo.path, "kinds")

    async def check() -> None:
        async with Sandboxes(snapshot, size=1) as sandboxes:
            async with sandboxes.open("a") as sandbox:
                pristine = files_of(sandbox.root)
                act(sandbox.root)
                assert set(await changed_paths(sandbox)) == expected
            async with sandboxes.open("b") as again:
                assert again.root == sandbox.root, "reset, not rebuilt"
                assert await changed_paths(again) == ()
                assert files_of(again.root) == {
                    path: content
                    for path, content in pristine.items()
                    if not path.startswith(".mypy_cache/")
                } | ({".mypy_cache/3.11/lib.meta.json": b"changed\n"} if name == "caches" else {})

    run(check())
    release_snapshot(snapshot)
    assert_no_leftovers(repo, private_tmp)


def test_reset_path_restores_one_path(repo: GitRepo, private_tmp: Path) -> None:
    repo.write("lib.py", "x = 1\n")
    repo.commit("lib")
    snapshot = take_snapshot(repo.path, "one")

    async def check() -> None:
        async with Sandboxes(snapshot, size=1) as sandboxes, sandboxes.open("a") as sandbox:
            (sandbox.root / "lib.py").chmod(0o755)
            (sandbox.root / "lib.py").write_text("broken\n")
            (sandbox.root / "extra.py").write_text("new\n")
            (sandbox.root / ".git").write_text("gitdir: /elsewhere\n")
            for change in await changed_paths(sandbox):
                await reset_path(sandbox, change.path)
            assert await changed_paths(sandbox) == ()
            assert (sandbox.root / "lib.py").read_text() == "x = 1\n"

    run(check())
    release_snapshot(snapshot)
    assert_no_leftovers(repo, private_tmp)


DEAD_RUN = """
import asyncio, os, sys
from pathlib import Path
from stomper.sandbox import Sandboxes, take_snapshot
snapshot = take_snapshot(Path(sys.argv[1]), "dead")
async def main():
    sandboxes = Sandboxes(snapshot, size=2)
    await asyncio.gather(sandboxes.acquire("a"), sandboxes.acquire("b"))
    print("ready", flush=True)
    await asyncio.sleep(60)
asyncio.run(main())
"""


def test_clean_leftovers_removes_a_killed_run_only(
    repo: GitRepo, tmp_path: Path, private_tmp: Path
) -> None:
    repo.git("worktree", "add", "-q", "--detach", str(tmp_path / "users-own"))
    env = {**os.environ, "TMPDIR": str(private_tmp)}
    child = subprocess.Popen(
        [sys.executable, "-c", DEAD_RUN, str(repo.path)], env=env, stdout=subprocess.PIPE
    )
    assert child.stdout is not None
    assert child.stdout.readline() == b"ready\n"
    live = take_snapshot(repo.path, "live")

    async def use_live() -> list[str]:
        async with Sandboxes(live, size=1) as sandboxes, sandboxes.open("x") as sandbox:
            assert clean_leftovers(repo.path) == [], "the child still runs"
            child.send_signal(signal.SIGKILL)
            child.wait()
            removed = clean_leftovers(repo.path)
            assert (sandbox.root / "README.md").exists(), "a live run's sandbox was touched"
            assert repo.git("for-each-ref", "refs/stomper/live/") != ""
            return removed

    removed = run(use_live())
    assert any(item.startswith("ref refs/stomper/dead/") for item in removed)
    assert sum(item.startswith("directory ") for item in removed) == 1
    assert clean_leftovers(repo.path) == []
    release_snapshot(live)
    assert (tmp_path / "users-own" / "README.md").exists()
    assert repo.git("worktree", "list").count("\n") == 2
    repo.git("worktree", "remove", str(tmp_path / "users-own"))
    assert_no_leftovers(repo, private_tmp)


def test_clean_leftovers_never_deletes_a_foreign_index_lock(repo: GitRepo) -> None:
    lock = repo.path / ".git" / "index.lock"
    lock.write_bytes(b"")
    assert clean_leftovers(repo.path) == []
    assert lock.exists()


KILLED_HOLDER = """
import os, sys
from pathlib import Path
from stomper.locks import file_lock
with file_lock(Path(sys.argv[1])):
    os._exit(9)  # like kill -9: no unlock, no unlink
"""


def test_clean_leftovers_removes_a_dead_holders_lock_file_only(repo: GitRepo) -> None:
    stomper_dir = repo.path / ".git" / "stomper"
    lock = stomper_dir / "apply.lock"
    subprocess.run([sys.executable, "-c", KILLED_HOLDER, str(lock)], check=False)
    assert lock.exists()

    with file_lock(stomper_dir / "held.lock"):
        assert clean_leftovers(repo.path) == ["lock file apply.lock"]
        assert (stomper_dir / "held.lock").exists()
    assert clean_leftovers(repo.path) == []
    assert not stomper_dir.exists()


MEMORY = Path("/dev/shm")


ONE_SMALL_SANDBOX = 10_000 + sandbox_module.SANDBOX_OVERHEAD
needs_memory = pytest.mark.skipif(
    memory_budget() < 2 * ONE_SMALL_SANDBOX, reason="no tmpfs at /dev/shm with room to spare"
)


@needs_memory
def test_small_sandboxes_go_to_memory_unless_the_user_chose_a_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", "/tmp")
    fits = memory_budget() // ONE_SMALL_SANDBOX  # this many small sandboxes fit, at least 2
    assert sandbox_parent(10_000, fits - 1, seeded=False) == MEMORY  # one to spare
    assert sandbox_parent(10_000, fits, seeded=True) == Path("/tmp"), "a mypy cache stays on disk"
    assert sandbox_parent(10_000, fits + 1, seeded=False) == Path("/tmp"), "too many for memory"
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert sandbox_parent(10_000, 1, seeded=False) == tmp_path.resolve()
    monkeypatch.setattr(tempfile, "tempdir", "/tmp")
    assert sandbox_parent(10_000, 1, seeded=False, memory_ok=False) == Path("/tmp")


def test_sandboxes_stay_on_disk_without_a_memory_file_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", "/tmp")
    assert sandbox_parent(1, 1, seeded=False, memory=tmp_path) == Path("/tmp")


@needs_memory
def test_a_sandbox_in_memory_is_a_faithful_copy_and_is_removed(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", "/tmp")
    repo.write("pkg/data.bin", b"\x00\xffbytes\r\n")
    snapshot = take_snapshot(repo.path, "memory")

    async def use() -> Path:
        pool = Sandboxes(snapshot, size=1, memory=True)
        async with pool as sandboxes, sandboxes.open("x") as sandbox:
            assert sandbox.root.is_relative_to(MEMORY)
            assert (sandbox.root / "pkg" / "data.bin").read_bytes() == b"\x00\xffbytes\r\n"
            (sandbox.root / "README.md").write_text("changed\n")
            assert await changed_paths(sandbox) == (ChangedPath("README.md", "modified"),)
            return sandbox.root.parent

    base = run(use())
    release_snapshot(snapshot)
    assert not base.exists()


def test_read_file_reads_regular_files_only_and_never_waits(tmp_path: Path) -> None:
    (tmp_path / "plain.py").write_bytes(b"x = 1\n")
    (tmp_path / "empty.py").write_bytes(b"")
    big = os.urandom(3 * 2**20 + 7)  # more than one read's worth past the first
    (tmp_path / "big.bin").write_bytes(big)
    (tmp_path / "link.py").symlink_to("plain.py")
    (tmp_path / "dangling.py").symlink_to("nowhere.py")
    (tmp_path / "directory").mkdir()
    os.mkfifo(tmp_path / "fifo")  # opening it to read would wait for a writer
    assert read_file(tmp_path / "plain.py") == b"x = 1\n"
    assert read_file(tmp_path / "empty.py") == b""
    assert read_file(tmp_path / "big.bin") == big
    for name in ("link.py", "dangling.py", "directory", "fifo", "missing.py", "plain.py/under"):
        assert read_file(tmp_path / name) is None, name
