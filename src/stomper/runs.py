"""Each run's record in the git common dir, and the removal of what dead runs left behind.

A run owns ``<common dir>/stomper/runs/<run id>/``: an ``owner`` file it holds an ``flock`` on
for its whole life (the kernel drops it when the process dies, even by ``kill -9``), a ``dirs``
file naming every temporary directory it made, and scratch files (temporary indexes).
:func:`clean_leftovers` removes the directories, refs and records of runs whose ``owner`` nobody
holds, and lock files nobody holds.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import time
from pathlib import Path

from stomper.errors import UsageError
from stomper.git import common_dir, git

__all__ = ["REF_PREFIX", "clean_leftovers", "end_run", "record_temp_dir", "run_dir", "start_run"]

REF_PREFIX = "refs/stomper/"
TEMP_PREFIX = "stomper-"
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_STAGING_GRACE_SECONDS = 60.0
_owners: dict[Path, int] = {}


def _runs_dir(common: Path) -> Path:
    return common / "stomper" / "runs"


def run_dir(common: Path, run_id: str) -> Path:
    """Where the run ``run_id`` keeps its record and scratch files."""
    return _runs_dir(common) / run_id


def start_run(common: Path, run_id: str) -> Path:
    """Make ``runs/<run_id>`` with its owner file locked; staged under a dot name, then renamed,
    so a cleaner never sees a run directory whose owner is not locked yet."""
    if not _RUN_ID.fullmatch(run_id):
        raise UsageError(f"invalid run id {run_id!r}: use letters, digits, '-' and '_'")
    runs = _runs_dir(common)
    runs.mkdir(parents=True, exist_ok=True)
    staging = runs / f".{run_id}.{os.getpid()}.{time.monotonic_ns()}"
    staging.mkdir()
    fd = os.open(staging / "owner", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, f"{os.getpid()}\n".encode())
    final = runs / run_id
    try:
        staging.rename(final)
    except OSError as error:
        os.close(fd)
        shutil.rmtree(staging, ignore_errors=True)
        raise UsageError(f"run id {run_id!r} is already in use in {runs}") from error
    _owners[final] = fd
    return final


def record_temp_dir(common: Path, run_id: str, path: Path) -> None:
    """Note ``path`` (named ``stomper-*``) in the run's record before it is created, so a later
    run removes it if this one dies."""
    if not path.name.startswith(TEMP_PREFIX):
        raise ValueError(f"temporary directories must be named {TEMP_PREFIX}*: {path}")
    with (run_dir(common, run_id) / "dirs").open("ab") as record:
        record.write(os.fsencode(path) + b"\0")


def end_run(root: Path, common: Path, run_id: str) -> None:
    """Remove the run's refs, temporary directories and record, then let go of its owner lock."""
    directory = run_dir(common, run_id)
    _remove_run(root, run_id, directory)
    fd = _owners.pop(directory, None)
    if fd is not None:
        os.close(fd)
    _remove_empty_parents(directory.parent)


def _remove_run(root: Path, run_id: str, record_dir: Path) -> list[str]:
    removed = []
    refs = git(root, "for-each-ref", "--format=%(refname)", f"{REF_PREFIX}{run_id}/")
    for ref in refs.decode("utf-8", "replace").splitlines():
        git(root, "-c", "core.hooksPath=/dev/null", "update-ref", "-d", ref, check=False)
        removed.append(f"ref {ref}")
    for temp in _recorded_dirs(record_dir):
        if temp.name.startswith(TEMP_PREFIX) and temp.exists():
            shutil.rmtree(temp, ignore_errors=True)
            removed.append(f"directory {temp}")
    # The owner file goes last: while it exists, a cleaner still sees this run.
    for name in ("dirs", "index", "index.lock", "owner"):
        with contextlib.suppress(FileNotFoundError):
            (record_dir / name).unlink()
    if record_dir.exists():
        shutil.rmtree(record_dir, ignore_errors=True)
        removed.append(f"run record {record_dir.name}")
    return removed


def _recorded_dirs(record_dir: Path) -> list[Path]:
    try:
        record = (record_dir / "dirs").read_bytes()
    except FileNotFoundError:
        return []
    return [Path(os.fsdecode(item)) for item in record.split(b"\0") if item]


def _remove_empty_parents(runs: Path) -> None:
    for directory in (runs, runs.parent):
        with contextlib.suppress(OSError):
            directory.rmdir()


def _owner_alive(record_dir: Path) -> bool:
    """True while some process holds the run's owner lock (or may be about to)."""
    try:
        fd = os.open(record_dir / "owner", os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return record_dir.name.startswith(".") and _young(record_dir)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return record_dir.name.startswith(".") and _young(record_dir)


def _young(path: Path) -> bool:
    try:
        return time.time() - path.stat().st_mtime < _STAGING_GRACE_SECONDS
    except FileNotFoundError:
        return False


def clean_leftovers(root: Path) -> list[str]:
    """Remove the refs, temporary directories and records of stomper runs that died; return
    what was removed. Live runs (another terminal, a hook) are left alone."""
    common = common_dir(root)
    runs = _runs_dir(common)
    removed: list[str] = []
    live: set[str] = set()
    for record_dir in sorted(runs.iterdir()) if runs.is_dir() else []:
        if record_dir in _owners or _owner_alive(record_dir):
            live.add(record_dir.name)
            continue
        removed += _remove_run(root, record_dir.name, record_dir)
    refs = git(root, "for-each-ref", "--format=%(refname)", REF_PREFIX).decode("utf-8", "replace")
    for ref in refs.splitlines():
        run_id = ref[len(REF_PREFIX) :].split("/", 1)[0]
        if run_id not in live:
            git(root, "-c", "core.hooksPath=/dev/null", "update-ref", "-d", ref, check=False)
            removed.append(f"ref {ref}")
    removed += _remove_stale_locks(common / "stomper")
    _remove_empty_parents(runs)
    return removed


def _remove_stale_locks(directory: Path) -> list[str]:
    """Lock files (``stomper.locks``) left by a holder that was killed: nobody holds them."""
    removed = []
    for lock in sorted(directory.glob("*.lock")) if directory.is_dir() else []:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.path.samestat(os.fstat(fd), os.stat(lock)):
                lock.unlink()  # while holding it, as a holder would: waiters start over
                removed.append(f"lock file {lock.name}")
        except (BlockingIOError, FileNotFoundError):
            continue
        finally:
            os.close(fd)
    return removed
