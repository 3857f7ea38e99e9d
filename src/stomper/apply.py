"""Writing proven fixes back to the user's work tree, and committing them one file at a time.

Both run under one lock in the git common dir (``stomper/apply.lock``), shared by threads and
processes, so two stomper runs never interleave their writes or commits.

Writing back is a compare-and-swap: the file is replaced only while its bytes still equal the
snapshot's, atomically (temporary file beside it, fsync, rename, mode kept). A batched write
(:func:`write_back_many`) fills temporary files made ahead of time instead
(:func:`make_temporaries`, in the run's record directory on the same file system) and swaps
them in; the files they replace are the next batched write's temporary files
(:mod:`stomper.spares`): on some disks making and freeing files is most of a write's cost.

A commit holds exactly the one path, on top of the current HEAD, made with a temporary index and
``commit-tree`` (no hooks run, the user's staged changes stay out), and HEAD moves by a
compare-and-swap ``update-ref``. The user's index then changes in that one entry only, written
the way git writes it (under ``index.lock``). Refused, with the reason, when: HEAD is unborn
(stomper does not make a repository's first commit) or detached (the commit would be easy to
lose); a merge, rebase, cherry-pick, revert or bisect is in progress; the path is untracked, has
staged changes, or had uncommitted edits at the snapshot (the commit would carry them); the work
tree no longer holds the fix; the index is locked; HEAD moved meanwhile.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from stomper import journal, runs
from stomper.errors import ToolError
from stomper.faults import fault
from stomper.git import git, git_env
from stomper.locks import file_lock
from stomper.snapshot import Snapshot, snapshot_bytes, snapshot_entry

__all__ = [
    "CommitOutcome",
    "WriteOutcome",
    "commit_file",
    "compare_and_swap",
    "make_temporaries",
    "write_back",
    "write_back_many",
]

CONFLICT = "conflict: file changed since the snapshot"
_NO_HOOKS = ("-c", "core.hooksPath=/dev/null")
_IN_PROGRESS = {
    "MERGE_HEAD": "a merge",
    "rebase-merge": "a rebase",
    "rebase-apply": "a rebase or am",
    "CHERRY_PICK_HEAD": "a cherry-pick",
    "REVERT_HEAD": "a revert",
    "BISECT_LOG": "a bisect",
}


class WriteOutcome(NamedTuple):
    """Whether the fix reached the work tree; ``reason`` says why not."""

    written: bool
    reason: str = ""


class CommitOutcome(NamedTuple):
    """The commit made for one fixed file, or None and why not."""

    commit: str | None
    reason: str = ""


def _apply_lock(snapshot: Snapshot) -> Path:
    return snapshot.common_dir / "stomper" / "apply.lock"


def _target(root: Path, path: str, real: Callable[[str], str] = os.path.realpath) -> Path | None:
    """``root/path`` when it stays inside the repository without following a symlink.
    ``real`` resolves a directory (a cached :func:`os.path.realpath` for many paths).

    On strings, as :class:`~pathlib.PurePosixPath` would split them (empty and ``.`` parts
    dropped): pathlib cost 20 us a path, 10 ms of a 500-file write-back."""
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if not parts or path.startswith("/") or ".." in parts or parts[0] == ".git":
        return None
    base = os.fspath(root)
    target = os.path.join(base, *parts)
    real_root, real_parent = real(base), real(os.path.dirname(target))
    inside = real_root.rstrip("/") + "/"
    if real_parent != real_root and not real_parent.startswith(inside):
        return None
    return Path(target)


def _read_no_follow(target: Path) -> tuple[bytes, int] | None:
    """The file's bytes and permission bits; None when missing or not a regular file."""
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        chunks = [os.read(fd, max(info.st_size, 1) + 1)]
        while chunks[-1]:  # the file grew meanwhile: read to its end
            chunks.append(os.read(fd, 1 << 16))
        return b"".join(chunks), stat.S_IMODE(info.st_mode)
    finally:
        os.close(fd)


def write_back(snapshot: Snapshot, path: str, new: bytes) -> WriteOutcome:
    """Replace ``path`` in the user's work tree by ``new`` if it still holds the snapshot's
    bytes. Never follows a symlink; never leaves a half-written file."""
    if _target(snapshot.root, path) is None:
        return WriteOutcome(False, f"refused: {path} is outside the repository")
    try:
        original = snapshot_bytes(snapshot, path)
    except FileNotFoundError:
        return WriteOutcome(False, f"refused: {path} is not a regular file in the snapshot")
    entry = snapshot_entry(snapshot, path)
    return _swap(snapshot, path, original, new, CONFLICT, blob=entry[1] if entry else None)


def compare_and_swap(snapshot: Snapshot, path: str, expected: bytes, new: bytes) -> WriteOutcome:
    """Replace ``path`` by ``new`` if it holds exactly ``expected`` (to undo a written fix)."""
    return _swap(snapshot, path, expected, new, "conflict: file changed since the fix was written")


def _swap(
    snapshot: Snapshot,
    path: str,
    expected: bytes,
    new: bytes,
    conflict: str,
    *,
    blob: str | None = None,
) -> WriteOutcome:
    """``new`` in place of ``expected``, atomically and journaled.

    The slow part (the temporary file and its fsync) happens before the write-back lock is
    taken; under the lock only the compare and the rename, so concurrent files do not queue
    behind each other's fsyncs."""
    target = _target(snapshot.root, path)
    if target is None:
        return WriteOutcome(False, f"refused: {path} is outside the repository")
    current = _read_no_follow(target)
    refusal = _compare(path, current, expected, conflict)
    if refusal is not None or new == expected:
        return refusal or WriteOutcome(True)
    assert current is not None  # _compare refused otherwise
    fault("before-write")
    # ``blob``: the object id of ``expected`` in the snapshot, so no copy need be saved.
    token, written = journal.write_began(target, expected, new, blob), False
    try:
        temp = _temp_copy(target, new, current[1], sync=True)
        try:
            with file_lock(_apply_lock(snapshot), what="stomper write-back lock"):
                current = _read_no_follow(target)
                refusal = _compare(path, current, expected, conflict)
                if refusal is not None:
                    return refusal
                assert current is not None
                fault("during-write")
                if stat.S_IMODE(os.lstat(temp).st_mode) != current[1]:
                    os.chmod(temp, current[1])  # the user changed the mode meanwhile
                os.replace(temp, target)
                written = True
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        with contextlib.suppress(OSError):  # the rename happened; durability is best effort
            _fsync_directory(target.parent)
    except OSError as error:
        return WriteOutcome(False, f"write failed: {error.strerror or error}")
    finally:
        journal.write_ended(token, target, new, written=written)
    return WriteOutcome(True)


def _compare(
    path: str, current: tuple[bytes, int] | None, expected: bytes, conflict: str
) -> WriteOutcome | None:
    """Why a file holding ``current`` must not be replaced, or None when it holds ``expected``."""
    if current is None:
        return WriteOutcome(False, f"refused: {path} is missing or not a regular file")
    if current[0] != expected:
        return WriteOutcome(False, conflict)
    return None


class _Planned(NamedTuple):
    """One write of :func:`write_back_many`: the target, its original and its fix."""

    path: str
    target: Path
    original: bytes
    new: bytes
    blob: str


def make_temporaries(snapshot: Snapshot, count: int) -> list[Path]:
    """``count`` temporary files for :func:`write_back_many` to fill, in the run's record
    directory (it goes with the run, or with a dead run's leftovers, see :mod:`stomper.runs`):
    the last batched write-back's spares, and new ones for the rest (:mod:`stomper.spares`).
    Made while the fixes are still being proven, they take the file creations off the write."""
    from stomper import spares

    return spares.claim(snapshot.common_dir, _temporaries_dir(snapshot), count)


def keep_temporaries(snapshot: Snapshot) -> None:
    """After the write-back: leave the run's temporary files for the next one (see
    :func:`stomper.spares.keep`); nothing when none were made."""
    from stomper import spares

    directory = _temporaries_dir(snapshot)
    if directory.is_dir():
        spares.keep(directory, snapshot.common_dir)


def _temporaries_dir(snapshot: Snapshot) -> Path:
    return runs.run_dir(snapshot.common_dir, snapshot.run_id) / "temporaries"


def write_back_many(
    snapshot: Snapshot,
    fixes: Mapping[str, tuple[bytes, bytes]],
    temporaries: Sequence[Path] = (),
) -> dict[str, WriteOutcome]:
    """:func:`write_back` for many files at once; ``fixes`` maps each path to its bytes in the
    snapshot and its fix. The same guarantees at a fraction of the cost: the lock is taken
    once, the journal records all the writes in one durable line (each original named by its
    blob in the snapshot, no copy saved), and one ``syncfs`` makes every temporary file
    durable before any rename. Each file is compared with the snapshot's bytes right before
    its own rename, and never half written. ``temporaries`` (from :func:`make_temporaries`)
    are filled and renamed instead of new files beside the targets, for the targets on their
    file system; those left over are the caller's to remove."""
    outcomes: dict[str, WriteOutcome] = {}
    planned = []
    if len(fixes) > 1:  # one listing of the snapshot's tree, not a git call per path
        from stomper.sandbox_compare import snapshot_tree

        snapshot_tree(snapshot.root, snapshot.commit)
    real = functools.lru_cache(maxsize=None)(os.path.realpath)  # most fixes share directories
    for path, (original, new) in fixes.items():
        refusal = _refuse_many(snapshot, path, original, real)
        if isinstance(refusal, WriteOutcome):
            outcomes[path] = refusal
        elif new == original:
            outcomes[path] = WriteOutcome(True)
        else:
            planned.append(_Planned(path, refusal[0], original, new, refusal[1]))
    if planned:
        with file_lock(_apply_lock(snapshot), what="stomper write-back lock"):
            outcomes.update(_write_planned(planned, _Temporaries(temporaries)))
    return outcomes


class _Temporaries:
    """Temporary files made ahead of time, handed out for targets on their file system."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self._paths = list(reversed(paths))
        self._device = _device(paths[0].parent) if paths else None
        self._devices: dict[Path, int | None] = {}

    def take(self, target: Path, content: bytes, mode: int) -> tuple[str, bool]:
        """A temporary file for ``target`` holding ``content`` with ``mode``, and whether it is
        one made ahead (swapped in, see :func:`stomper.spares.swap_in`): a made one when one
        is left and on ``target``'s file system, else a new one beside ``target``."""
        from stomper import spares

        parent = target.parent
        if parent not in self._devices:
            self._devices[parent] = _device(parent)
        if self._paths and self._device is not None and self._devices[parent] == self._device:
            temp = self._paths.pop()
            with contextlib.suppress(OSError):
                spares.fill(temp, content, mode)
                return str(temp), True
        return _temp_copy(target, content, mode, sync=False), False


def _device(directory: Path) -> int | None:
    try:
        return os.stat(directory).st_dev
    except OSError:
        return None


def _refuse_many(
    snapshot: Snapshot, path: str, original: bytes, real: Callable[[str], str]
) -> WriteOutcome | tuple[Path, str]:
    """Why ``path`` may not be written, or its target and the blob id of its original."""
    target = _target(snapshot.root, path, real)
    if target is None:
        return WriteOutcome(False, f"refused: {path} is outside the repository")
    entry = snapshot_entry(snapshot, path)
    if entry is None or not entry[0].startswith("100"):
        return WriteOutcome(False, f"refused: {path} is not a regular file in the snapshot")
    if _blob_id(original, len(entry[1])) != entry[1]:
        return WriteOutcome(False, f"refused: the original given for {path} is not the snapshot's")
    return target, entry[1]


def _blob_id(data: bytes, length: int) -> str:
    """The git object id of a blob holding ``data`` (SHA-1, or SHA-256 for 64-digit ids)."""
    import hashlib

    digest = hashlib.sha1 if length == 40 else hashlib.sha256
    return digest(b"blob %d\0" % len(data) + data).hexdigest()


def _write_planned(
    planned: Sequence[_Planned], temporaries: _Temporaries
) -> dict[str, WriteOutcome]:
    """Journal, write, sync, compare and rename ``planned`` (under the write-back lock)."""
    fault("before-write")
    tokens = journal.writes_began([(p.target, p.original, p.new, p.blob) for p in planned])
    outcomes: dict[str, WriteOutcome] = {}
    temps: dict[str, tuple[str, int, bool]] = {}
    written: dict[int, tuple[Path, bytes]] = {}
    try:
        for item in planned:
            try:
                mode = stat.S_IMODE(os.lstat(item.target).st_mode)
                temp, made_ahead = temporaries.take(item.target, item.new, mode)
            except OSError as error:
                reason = f"write failed: {error.strerror or error}"
                outcomes[item.path] = WriteOutcome(False, reason)
            else:
                temps[item.path] = (temp, mode, made_ahead)
        _sync_all([temp for temp, _, _ in temps.values()])
        fault("during-write")
        for token, item in zip(tokens, planned, strict=True):
            made = temps.pop(item.path, None)
            if made is not None:
                outcomes[item.path] = _rename_if_unchanged(item, *made)
                if outcomes[item.path].written:
                    written[token] = (item.target, item.new)
        for directory in {item.target.parent for item in planned}:
            _fsync_directory(directory)
    finally:
        for temp, _, _ in temps.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        journal.writes_ended(tokens, written)
    return outcomes


def _rename_if_unchanged(item: _Planned, temp: str, mode: int, made_ahead: bool) -> WriteOutcome:
    """The compare-and-swap of one planned write: ``temp`` (made with ``mode``; ``made_ahead``:
    by :func:`make_temporaries`) in place of the target if it still holds the original; the
    temporary file is removed otherwise."""
    current = _read_no_follow(item.target)
    try:
        if current is None:
            outcome = WriteOutcome(False, f"refused: {item.path} is missing or not a regular file")
        elif current[0] != item.original:
            outcome = WriteOutcome(False, CONFLICT)
        else:
            if current[1] != mode:
                os.chmod(temp, current[1])  # the user changed the mode meanwhile: keep theirs
            if made_ahead:
                from stomper.spares import swap_in

                swap_in(temp, item.target)  # the replaced file may stay, as a spare
            else:
                os.replace(temp, item.target)
            return WriteOutcome(True)
    except OSError as error:
        outcome = WriteOutcome(False, f"write failed: {error.strerror or error}")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temp)
    return outcome


def _sync_all(paths: Sequence[str]) -> None:
    """Make the files at ``paths`` durable: one ``syncfs`` of each file system they are on
    where the C library has it (Linux), else an ``fsync`` each."""
    syncfs = _syncfs()
    synced: set[int] = set()
    for path in paths:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            device = os.fstat(fd).st_dev
            if device in synced:
                continue
            if syncfs is not None and syncfs(fd) == 0:
                synced.add(device)
            else:
                os.fsync(fd)
        finally:
            os.close(fd)


def _syncfs() -> Callable[[int], int] | None:
    import ctypes

    try:
        function: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
    except (AttributeError, OSError):
        return None
    return function


def _temp_copy(target: Path, content: bytes, mode: int, *, sync: bool) -> str:
    """A temporary file beside ``target`` holding ``content`` with ``mode``; its name."""
    fd, temp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".stomper", dir=target.parent
    )
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            if sync:
                os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    return temp_name


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit_file(snapshot: Snapshot, path: str, content: bytes, message: str) -> CommitOutcome:
    """Commit ``path`` = ``content`` (and nothing else) on top of the current HEAD."""
    try:
        with file_lock(_apply_lock(snapshot), what="stomper commit lock"):
            return _commit_locked(snapshot, path, content, message)
    except ToolError as error:
        return CommitOutcome(None, f"not committed: {error}")


def _git_path(root: Path, name: str) -> Path:
    found = Path(os.fsdecode(git(root, "rev-parse", "--git-path", name).rstrip(b"\n")))
    return found if found.is_absolute() else root / found


def _refusal(snapshot: Snapshot, path: str, content: bytes) -> str | None:
    root = snapshot.root
    if git(root, "symbolic-ref", "-q", "HEAD", check=False).strip() == b"":
        return "detached HEAD"
    if not git(root, "rev-parse", "-q", "--verify", "HEAD", check=False).strip():
        return "no commit yet (stomper does not make a repository's first commit)"
    for name, what in _IN_PROGRESS.items():
        if _git_path(root, name).exists():
            return f"{what} is in progress"
    target = _target(root, path)
    current = _read_no_follow(target) if target is not None else None
    if current is None or current[0] != content:
        return "the work tree no longer holds the fix"
    return None


def _commit_locked(snapshot: Snapshot, path: str, content: bytes, message: str) -> CommitOutcome:
    root = snapshot.root
    refusal = _refusal(snapshot, path, content)
    if refusal is not None:
        return CommitOutcome(None, f"not committed: {refusal}")
    head = git(root, "rev-parse", "--verify", "HEAD^{commit}").decode().strip()
    head_entry = _tree_entry(root, head, path)
    if head_entry is None:
        return CommitOutcome(None, "not committed: the file is not tracked in HEAD")
    if _clean_hash(root, path, snapshot_bytes(snapshot, path), write=False) != head_entry[1]:
        return CommitOutcome(None, "not committed: the file had uncommitted edits")
    index_path = _git_path(root, "index")
    lock_path = index_path.with_name(index_path.name + ".lock")
    # Holding index.lock the way git does keeps every git process off the index while HEAD
    # moves; a foreign lock is never removed, only reported.
    lock_fd = _lock_index(snapshot, path, head, lock_path)
    if lock_fd is None:
        return CommitOutcome(None, "not committed: the index is locked by another git process")
    committed = False
    try:
        fault("before-commit")
        if _stage_entries(root, path) != [f"{head_entry[0]} {head_entry[1]} 0"]:
            return CommitOutcome(None, "not committed: the file has staged changes")
        entry = f"{head_entry[0]},{_clean_hash(root, path, content, write=True)},{path}"
        # The new index waits in index.lock; it replaces the index only once HEAD has moved.
        _write_index_entry(snapshot, index_path, lock_fd, entry)
        commit = _commit_and_move_head(snapshot, entry, message, head)
        if commit is None:
            return CommitOutcome(None, "not committed: HEAD moved meanwhile")
        committed = True
        try:
            fault("during-commit")
        finally:  # HEAD has moved: the index must follow, whatever happens here
            os.replace(lock_path, index_path)
        return CommitOutcome(commit)
    finally:
        journal.commit_ended(committed=committed)
        os.close(lock_fd)
        if not committed:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(lock_path)


def _lock_index(snapshot: Snapshot, path: str, head: str, lock_path: Path) -> int | None:
    """A descriptor of a new ``index.lock``, journaled before it appears; None when the index
    is locked already (a lock file exists).

    The file is made in the run's record directory, journaled with its inode, then linked
    into place (which fails, as git's ``O_EXCL`` does, when a lock exists): a kill at any
    point leaves no ``index.lock``, or one the journal names as this run's, which the next
    start settles (:mod:`stomper.recovery`); the file left in the record directory goes with
    it. Where the file system cannot link, the lock is made in place and journaled just after.
    """
    staged = runs.run_dir(snapshot.common_dir, snapshot.run_id) / "commit.lock"
    try:
        fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    except OSError:
        return _lock_index_in_place(path, head, lock_path)
    try:
        journal.commit_began(path, head, lock_path, os.fstat(fd))
        fault("commit-recorded")
        os.link(staged, lock_path)
    except BaseException as error:
        journal.commit_ended(committed=False)
        os.close(fd)
        if isinstance(error, FileExistsError):
            return None
        if isinstance(error, OSError):  # no hard link here (EXDEV, EPERM)
            return _lock_index_in_place(path, head, lock_path)
        raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staged)
    return fd


def _lock_index_in_place(path: str, head: str, lock_path: Path) -> int | None:
    try:
        fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    except FileExistsError:
        return None
    journal.commit_began(path, head, lock_path, os.fstat(fd))
    return fd


def _tree_entry(root: Path, commit: str, path: str) -> tuple[str, str] | None:
    env = git_env(None, GIT_LITERAL_PATHSPECS="1")
    out = git(root, "ls-tree", "-z", "--full-tree", commit, "--", path, env=env)
    for record in out.split(b"\0"):
        meta, _, name = record.partition(b"\t")
        if os.fsdecode(name) == path and meta.startswith(b"100"):
            mode, _kind, sha = meta.decode().split()
            return mode, sha
    return None


def _stage_entries(root: Path, path: str) -> list[str]:
    env = git_env(None, GIT_LITERAL_PATHSPECS="1")
    out = git(root, "ls-files", "-s", "-z", "--", path, env=env)
    return [record.partition(b"\t")[0].decode() for record in out.split(b"\0") if record]


def _clean_hash(root: Path, path: str, data: bytes, *, write: bool) -> str:
    """The blob id ``git add`` would give ``data`` at ``path`` (the user's eol and filters)."""
    args = ("hash-object", *(("-w",) if write else ()), f"--path={path}", "--stdin")
    return git(root, *args, stdin=data).decode().strip()


def _scratch(snapshot: Snapshot, name: str) -> Path:
    """A scratch file in the run's record, so a crash leaves nothing :func:`clean_leftovers`
    would not find."""
    run_dir = runs.run_dir(snapshot.common_dir, snapshot.run_id)
    if not run_dir.is_dir():
        raise ToolError(f"run {snapshot.run_id} was already released")
    return run_dir / name


def _commit_and_move_head(snapshot: Snapshot, entry: str, message: str, head: str) -> str | None:
    """Commit HEAD's tree with ``entry`` (mode,blob,path) in; move HEAD there if still ``head``."""
    root = snapshot.root
    tree_index = _scratch(snapshot, "commit-index")
    env = git_env(None, GIT_INDEX_FILE=str(tree_index))
    try:
        git(root, "read-tree", head, env=env)
        git(root, "update-index", "--cacheinfo", entry, env=env)
        tree = git(root, "write-tree", env=env).decode().strip()
    finally:
        with contextlib.suppress(FileNotFoundError):
            tree_index.unlink()
    commit = (
        git(root, *_NO_HOOKS, "commit-tree", tree, "-p", head, stdin=message.encode())
        .decode()
        .strip()
    )
    subject = message.splitlines()[0] if message.strip() else "stomper fix"
    journal.commit_made(commit)
    # No hooks: a failing reference-transaction hook would veto the move.
    moved = git(root, *_NO_HOOKS, "update-ref", "-m", f"stomper: {subject}", "HEAD", commit, head,
                check=False)  # fmt: skip
    del moved  # the compare-and-swap either happened or not: HEAD tells
    return commit if _resolve(root, "HEAD") == commit else None


def _resolve(root: Path, rev: str) -> str:
    return git(root, "rev-parse", "-q", "--verify", rev, check=False).decode().strip()


def _write_index_entry(snapshot: Snapshot, index_path: Path, lock_fd: int, entry: str) -> None:
    """Put the user's index, changed in ``entry`` only, into the held ``index.lock``."""
    root = snapshot.root
    copy = _scratch(snapshot, "user-index")
    try:
        copy.write_bytes(index_path.read_bytes() if index_path.exists() else b"")
        env = git_env(None, GIT_INDEX_FILE=str(copy))
        git(root, "-c", "core.splitIndex=false", "update-index", "--cacheinfo", entry, env=env)
        updated = memoryview(copy.read_bytes())
    finally:
        with contextlib.suppress(FileNotFoundError):
            copy.unlink()
    while updated:
        updated = updated[os.write(lock_fd, updated) :]
    os.fsync(lock_fd)
