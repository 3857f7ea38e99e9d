"""Per-file sandboxes: pristine, complete copies of the snapshot, outside the user's work tree.

Mechanism (chosen by measurement, see ``benchmarks/sandbox_cost.py``): a pool of at most
``size`` sandboxes per run, each a full checkout of the snapshot made once and reset between
files by rewriting only the paths the last file touched. A sandbox is not a linked worktree of
the user's repository but a private git directory (objects borrowed through
``objects/info/alternates``) beside a work tree, both under ``stomper-<run>-*`` in the temporary
directory (:func:`sandbox_parent`: in memory for a small project, see there):

- nothing is added to the user's ``.git`` (no ``worktrees/`` entry, no lock to serialise), and an
  agent's ``git commit``, ``git stash`` or ``git branch -f`` in a sandbox cannot reach the
  user's refs;
- its ``info/attributes`` unsets every converting attribute (eol, filters, LFS, ident,
  encodings), so sandbox files hold exactly the snapshot's bytes, which are the user's bytes.

Untracked tool caches are not changes: ``__pycache__``, ``.pytest_cache`` and ``.hypothesis``
are ignored and deleted on reset; the ``keep`` directories (``.mypy_cache``, ``.ruff_cache``)
are ignored and kept, so checks stay warm from file to file. Any other new file, ignored by
``.gitignore`` or not (``.env``), is a change.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import itertools
import logging
import os
import secrets
import shutil
import stat
import tempfile
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import NamedTuple

from stomper import journal
from stomper.errors import ToolError
from stomper.faults import afault
from stomper.git import agit
from stomper.sandbox_compare import snapshot_tree
from stomper.sandbox_tree import (
    ENV,
    KEEP_DIRS,
    git_dir,
    remove,
    sandbox_git,
    scan,
    undo,
    verify_undone,
    write_git_dir,
)
from stomper.sandbox_watch import forget, register, watch_for
from stomper.snapshot import (
    Snapshot,
    clean_leftovers,
    record_temp_dir,
    release_snapshot,
    snapshot_bytes,
    take_snapshot,
)
from stomper.types import ChangedPath

__all__ = [
    "Sandbox",
    "Sandboxes",
    "Snapshot",
    "changed_paths",
    "clean_leftovers",
    "memory_budget",
    "read_file",
    "release_snapshot",
    "reset_path",
    "reset_sandbox",
    "sandbox_parent",
    "snapshot_bytes",
    "take_snapshot",
    "write_file",
]

log = logging.getLogger(__name__)


class Sandbox(NamedTuple):
    """A directory holding the whole project at the snapshot, for one file's attempts."""

    id: str
    root: Path
    snapshot: Snapshot


def read_file(location: Path) -> bytes | None:
    """The bytes of the regular file at ``location``; None for a link, a directory, a device
    or nothing (what an agent left at a target is judged, never followed or opened).

    System calls rather than pathlib: a batch reads every file twice, and pathlib's checks and
    buffered read cost 17 µs a file against 6."""
    try:
        if not stat.S_ISREG(os.lstat(location).st_mode):
            return None
        fd = os.open(location, _READ_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        if error.errno == errno.ELOOP:  # a symlink, put there since the lstat
            return None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        chunks, wanted = [], info.st_size + 1
        while chunk := os.read(fd, wanted):  # until the end, wherever it is now
            chunks.append(chunk)
            wanted = 2**16
        return b"".join(chunks)
    finally:
        os.close(fd)


# Not following a link the target became; not waiting on a FIFO.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def write_file(location: Path, content: bytes) -> None:
    """Put ``content`` at ``location``, making its directory if need be (a link or directory
    there must already have been reset to the snapshot's file)."""
    location.parent.mkdir(parents=True, exist_ok=True)
    location.write_bytes(content)


async def changed_paths(
    sandbox: Sandbox, *, keep: Sequence[str] = KEEP_DIRS
) -> tuple[ChangedPath, ...]:
    """Every path where the sandbox differs from the snapshot: modified, added (untracked or
    ignored, reported as a directory ``new/`` when a whole directory is new), deleted, mode,
    type (file <-> symlink); ``.git`` when the sandbox's git link or config was rewritten.
    A rename shows as a deletion plus an addition. Tool caches are not changes (see above)."""
    return (await scan(sandbox.root, sandbox.snapshot, keep)).changes


async def reset_sandbox(sandbox: Sandbox, *, keep: Sequence[str] = KEEP_DIRS) -> None:
    """Bring the sandbox back to the snapshot, touching only what differs; :class:`ToolError`
    when it is still not pristine afterwards (then the sandbox must be thrown away)."""
    root, snapshot = sandbox.root, sandbox.snapshot
    found = await scan(root, snapshot, keep)
    if not found.clean:
        await undo(root, snapshot, found)
        if not await verify_undone(root, snapshot, found):
            forget(root)
            raise ToolError(f"sandbox {sandbox.id} could not be reset ({found.changes[:3]})")
    watch = watch_for(root)
    if watch is not None:
        watch.mark_clean()  # pristine again: what the reset itself touched does not count


async def reset_path(sandbox: Sandbox, path: str) -> None:
    """Put one path back as it is in the snapshot (deleted when the snapshot lacks it);
    ``.git`` restores the sandbox's git link and configuration."""
    root, snapshot = sandbox.root, sandbox.snapshot
    if path == ".git":
        await asyncio.to_thread(write_git_dir, root, snapshot)
        return
    await asyncio.to_thread(remove, root / path)
    # Fails harmlessly when the snapshot has no such path: then removing it was the reset.
    await agit(root, *sandbox_git(root), "checkout", "-q", snapshot.commit, "--", path,
               env=ENV, check=False)  # fmt: skip


def _set_done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _uncancellable(work: Callable[[], None]) -> None:
    """Run ``work`` in a thread; if we are cancelled meanwhile, wait for it all the same, so
    cleanup is finished (not half done) when the cancellation propagates."""
    loop = asyncio.get_running_loop()
    finished = loop.create_future()

    def run() -> None:
        try:
            work()
        finally:
            loop.call_soon_threadsafe(_set_done, finished)

    worker = threading.Thread(target=run, name="stomper-cleanup", daemon=True)
    worker.start()
    try:
        await asyncio.shield(finished)
    except asyncio.CancelledError:
        worker.join()
        raise


class Sandboxes:
    """A pool of at most ``size`` sandboxes of one snapshot, made on demand and reused.

    ``keep`` names untracked cache directories that survive between files (and are not
    changes); ``seed`` names directories of the user's tree (e.g. ``.mypy_cache``) copied into
    each new sandbox, so the first check there is warm; ``memory``: they may live in memory
    (:func:`sandbox_parent`), for fixers that write only the files they are given. Use as
    ``async with``; :meth:`close` removes every sandbox and the run's temporary directory.
    """

    def __init__(
        self,
        snapshot: Snapshot,
        *,
        size: int,
        keep: Sequence[str] = KEEP_DIRS,
        seed: Sequence[str] = (),
        memory: bool = False,
    ) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, not {size}")
        if not set(seed) <= set(keep):
            raise ValueError("every seed directory must also be kept")
        self._snapshot = snapshot
        self._size = size
        self._keep = tuple(keep)
        self._seed = tuple(seed)
        self._memory = memory
        self._free_slots = asyncio.Semaphore(size)
        self._idle: list[Path] = []
        self._busy: dict[str, Path] = {}
        self._numbers = itertools.count(1)
        self._base: Path | None = None
        self._base_lock = asyncio.Lock()
        self._closed = False
        self._expected: int | None = None
        # Creating a sandbox is git and disk work: a few at a time, first come first served,
        # so the first files get theirs soonest instead of all of them getting one late.
        self._creating = asyncio.Semaphore(os.cpu_count() or 2)
        self._removals: set[asyncio.Future[None]] = set()

    def expect(self, acquires: int) -> None:
        """At most ``acquires`` more :meth:`acquire` calls will come: a released sandbox
        nobody will need is removed in the background, while other files still work, instead
        of being reset for no one and removed at the end."""
        self._expected = acquires

    async def acquire(self, label: str) -> Sandbox:
        """A pristine sandbox at the snapshot; waits while ``size`` are in use."""
        if self._closed:
            raise RuntimeError("sandboxes are closed")
        await self._free_slots.acquire()
        try:
            root = await self._take()
        except BaseException:
            self._free_slots.release()
            raise
        sandbox = Sandbox(f"{root.name}-{next(self._numbers)}", root, self._snapshot)
        self._busy[sandbox.id] = root
        if self._expected is not None:
            self._expected = max(self._expected - 1, 0)
        log.debug("sandbox %s at %s for %s", sandbox.id, root, label)
        return sandbox

    async def release(self, sandbox: Sandbox) -> None:
        """Reset the sandbox for the next file, or destroy it if that fails. Idempotent."""
        root = self._busy.pop(sandbox.id, None)
        if root is None:
            return
        if self._expected is not None and len(self._idle) >= self._expected:
            # Nobody needs it: removed in the background (close() waits for that), so the
            # file it served is done now. (Closing an inotify descriptor can take
            # milliseconds: never on the event loop's thread.)
            removal = asyncio.ensure_future(_uncancellable(lambda: _remove_pair(root)))
            self._removals.add(removal)
            removal.add_done_callback(self._removals.discard)
            self._free_slots.release()
            return
        try:
            await reset_sandbox(sandbox, keep=self._keep)
        except (ToolError, OSError) as error:
            log.warning("discarding sandbox %s: %s", sandbox.id, error)
            await _uncancellable(lambda: _remove_pair(root))
        else:  # cancelled mid-reset it is never reused; close() removes it with the rest
            if not self._closed:
                self._idle.append(root)
        finally:
            self._free_slots.release()

    @asynccontextmanager
    async def open(self, label: str) -> AsyncIterator[Sandbox]:
        """:meth:`acquire` + :meth:`release`, on every way out of the block."""
        sandbox = await self.acquire(label)
        try:
            yield sandbox
        finally:
            await self.release(sandbox)

    async def close(self) -> None:
        """Remove every sandbox (busy ones too) and the run's temporary directory."""
        self._closed = True
        if self._removals:
            await asyncio.gather(*self._removals, return_exceptions=True)
        roots = [*self._idle, *self._busy.values()]
        await _uncancellable(functools.partial(_forget_all, roots))
        self._idle.clear()
        self._busy.clear()
        base, self._base = self._base, None
        if base is not None:
            await afault("cleanup")
            await _uncancellable(lambda: shutil.rmtree(base, ignore_errors=True))

    async def __aenter__(self) -> Sandboxes:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def _take(self) -> Path:
        """An idle sandbox, or a new one; first come, first served either way (a file that
        arrives while others wait for a new sandbox must not take a reset one before them)."""
        if self._idle and not self._creating.locked():
            return self._idle.pop()
        async with self._creating:
            if self._idle:  # one was released while we waited
                return self._idle.pop()
            return await self._create()

    async def _create(self) -> Path:
        # Threads here run to the end even when we are cancelled (_uncancellable): a thread
        # still writing after close() would leave files behind.
        snapshot = self._snapshot
        async with self._base_lock:  # concurrent first acquires must share one directory
            if self._base is None:
                tree = await asyncio.to_thread(snapshot_tree, snapshot.root, snapshot.commit)
                parent = sandbox_parent(
                    tree.size, self._size, seeded=bool(self._seed), memory_ok=self._memory
                )
                base = _base_path(snapshot, parent)
                self._base = base  # before it exists, so close() removes it whatever happens
                await _uncancellable(lambda: _make_base(snapshot, base))
        root = self._base / f"sb{next(self._numbers)}"
        await _uncancellable(lambda: write_git_dir(root, snapshot))
        await agit(root, *sandbox_git(root), "read-tree", "--reset", "-u", snapshot.commit,
                   env=ENV)  # fmt: skip
        for name in self._seed:
            source = snapshot.root / name
            if source.is_dir() and not source.is_symlink():
                await _uncancellable(functools.partial(_copy_tree, source, root / name))
        # From now on the kernel tells which paths change (see stomper.sandbox_watch), and
        # they are compared with the snapshot's tree, loaded once for all sandboxes.
        await asyncio.to_thread(snapshot_tree, snapshot.root, snapshot.commit)
        await asyncio.to_thread(register, root, self._keep, git_dir(root) / "index")
        return root


def _base_path(snapshot: Snapshot, parent: Path) -> Path:
    return parent / f"stomper-{snapshot.run_id}-{secrets.token_hex(4)}"


# Where a small project's sandboxes go: memory. On some disks (ext4 without a journal, as on
# many cloud VMs, see stomper.spares) creating a file costs up to 0.6 ms, so checking out
# hundreds of them costs more than linting them, and sandboxes are thrown away anyway. At
# most a tenth of the memory file system's free space, and MEMORY_LIMIT, for all of a run's
# sandboxes.
MEMORY_DIR = Path("/dev/shm")
MEMORY_SHARE = 10
MEMORY_LIMIT = 256 * 2**20
# What a sandbox holds besides the snapshot's files: its git directory and index, caches.
SANDBOX_OVERHEAD = 4 * 2**20


def sandbox_parent(
    tree_size: int,
    count: int,
    *,
    seeded: bool,
    memory_ok: bool = True,
    memory: Path = MEMORY_DIR,
) -> Path:
    """The directory for a run's ``count`` sandboxes of a snapshot of ``tree_size`` bytes.

    The temporary directory (:func:`tempfile.gettempdir`) when ``$TMPDIR`` (or
    ``tempfile.tempdir``) points anywhere but ``/tmp``: the user chose. Otherwise a memory file
    system (``memory``, Linux's ``/dev/shm``) when there is one and ``count`` copies fit
    comfortably in it. Sandboxes stay in the temporary directory when they are seeded (a
    copied ``.mypy_cache``, of unknown size, where mypy's own time dwarfs a checkout's) and
    unless ``memory_ok``: what may be written there must be bounded by the snapshot (an AI
    agent could fill it with a virtual environment).
    """
    default = Path(tempfile.gettempdir()).resolve()
    if not memory_ok or seeded or default != Path("/tmp"):
        return default
    fits = count * (tree_size + SANDBOX_OVERHEAD) <= memory_budget(memory)
    return memory if fits else default


def memory_budget(memory: Path = MEMORY_DIR) -> int:
    """How many bytes a run's sandboxes may take in ``memory`` now: a tenth of its free
    space, at most MEMORY_LIMIT; 0 when it is no tmpfs we may write to."""
    if not _memory_file_system(memory):
        return 0
    try:
        info = os.statvfs(memory)
    except OSError:
        return 0
    return min(info.f_bavail * info.f_frsize // MEMORY_SHARE, MEMORY_LIMIT)


def _memory_file_system(path: Path) -> bool:
    """Whether ``path`` is the mount point of a tmpfs we may write to."""
    try:
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as mounts:
            found = any(
                fields[1] == str(path) and fields[2] == "tmpfs"
                for fields in (line.split() for line in mounts)
                if len(fields) > 2
            )
    except OSError:
        return False
    return found and os.access(path, os.W_OK | os.X_OK)


def _make_base(snapshot: Snapshot, base: Path) -> None:
    """The run's temporary directory, recorded before it exists so a crash cannot orphan it."""
    record_temp_dir(snapshot, base)
    journal.temp_dir_made(base)  # a killed run's agents are found by their cwd in there
    base.mkdir(mode=0o700)


def _copy_tree(source: Path, target: Path) -> None:
    shutil.copytree(source, target, symlinks=True)


def _forget_all(roots: Sequence[Path]) -> None:
    for root in roots:
        forget(root)


def _remove_pair(root: Path) -> None:
    forget(root)
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(git_dir(root), ignore_errors=True)
