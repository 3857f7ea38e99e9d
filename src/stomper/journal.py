"""The run journal: what a run is doing to the user's repository, for whoever finds it dead.

A run appends JSON lines to ``<git common dir>/stomper/journal/<id>.jsonl`` and holds an
``flock`` on that file for its whole life; the kernel drops the lock when the process dies,
even by ``kill -9``, so a journal nobody holds belongs to a dead run (see
:mod:`stomper.recovery`). Each line is fsynced before the step it announces (an end line
need not be: lost, it leaves its operation open, and recovery checks the target itself):

- ``start``: pid, start time, command line;
- ``process`` / ``process-end``: an agent's process group (pid and kernel start time), so a
  killed run's agents can be found and killed;
- ``temp-dir``: the directory the sandboxes are in; a process working in there when the run
  is dead is one of its agents, even one started too late to be recorded;
- ``write`` / ``write-end``: a write-back of ``target``, the SHA-256 of its original and of the
  fix, and where the original can be found: ``blob``, its object id when it is the snapshot's
  (in the git object database), else ``saved``, a copy kept beside the journal until the
  write ends;
- ``writes`` / ``writes-end``: many write-backs in one record each (the batched deterministic
  path); each entry is a ``write`` whose original is named by its ``blob`` in the git object
  database (the snapshot holds it) instead of a saved copy;
- ``commit`` / ``commit-made`` / ``commit-end``: a commit holding ``index.lock`` (its device
  and inode), the commit HEAD is about to move to, and the end.

Only the run that opened a journal writes to it, through the module functions below, which do
nothing while no journal is open (library calls, tests of single functions).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import itertools
import json
import os
import secrets
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "Journal",
    "commit_began",
    "commit_ended",
    "commit_made",
    "journal_dir",
    "process_ended",
    "process_started",
    "temp_dir_made",
    "write_began",
    "write_ended",
    "writes_began",
    "writes_ended",
]


class _Slot:
    """The journal of the run in progress in this process (one run at a time writes)."""

    journal: Journal | None = None


_slot = _Slot()


def journal_dir(common: Path) -> Path:
    """Where the journals of the repository with git common dir ``common`` live."""
    return common / "stomper" / "journal"


def digest(data: bytes) -> str:
    """The SHA-256 of ``data``, as the journal records file contents."""
    return hashlib.sha256(data).hexdigest()


def process_start_ticks(pid: int) -> int | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), None when it is gone.

    A pid alone may be reused by an unrelated process; pid plus start time may not.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rfind(")") + 2 :].split()[19])


class Journal:
    """An open journal; use :meth:`open` and :meth:`close` (or :func:`stomper.runguard`)."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.saved_dir = path.with_suffix(".saved")
        self._fd = fd
        self._lock = threading.Condition()
        self._tokens = itertools.count(1)
        self._in_flight = 0
        self._commit: int | None = None
        self.written: dict[str, bytes] = {}
        self.committed = 0
        self.processes: dict[int, int | None] = {}

    @classmethod
    def open(cls, common: Path) -> Journal:
        """Create, lock and start a new journal, and make it the process's active one."""
        directory = journal_dir(common)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{os.getpid()}-{secrets.token_hex(4)}.jsonl"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        journal = cls(path, fd)
        journal.record("start", pid=os.getpid(), started=time.time(), argv=sys.argv)
        _slot.journal = journal
        return journal

    def record(self, event: str, *, durable: bool = True, **fields: Any) -> None:
        """Append one event; unless ``durable`` is False, make it durable before the caller
        goes on. (An end record need not be: lost with the machine, it leaves an operation
        open, and recovery then checks the target itself.)"""
        line = json.dumps({"event": event, **fields}) + "\n"
        with self._lock:
            os.write(self._fd, line.encode())
            if durable:
                os.fsync(self._fd)

    def begin(self) -> int:
        """Count an operation in flight (see :meth:`wait_idle`); its token."""
        with self._lock:
            self._in_flight += 1
            return next(self._tokens)

    def end(self) -> None:
        """An operation counted by :meth:`begin` is over."""
        with self._lock:
            self._in_flight -= 1
            self._lock.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no write or commit is in flight (threads finish them after a Ctrl-C)."""
        with self._lock:
            return self._lock.wait_for(lambda: self._in_flight == 0, timeout)

    def save_original(self, token: int, original: bytes) -> Path:
        """Keep a copy of a file's original bytes until its write-back is over."""
        self.saved_dir.mkdir(exist_ok=True)
        saved = self.saved_dir / str(token)
        with saved.open("wb") as handle:
            handle.write(original)
            handle.flush()
            os.fsync(handle.fileno())
        return saved

    def close(self) -> None:
        """The run is over: remove the journal (a finished run leaves nothing to recover)."""
        if _slot.journal is self:
            _slot.journal = None
        with contextlib.suppress(FileNotFoundError):
            for saved in self.saved_dir.iterdir():
                saved.unlink()
            self.saved_dir.rmdir()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self._fd)


def active() -> Journal | None:
    """The journal of the run in progress in this process, if any."""
    return _slot.journal


def write_began(target: Path, original: bytes, new: bytes, blob: str | None = None) -> int:
    """A write-back of ``new`` over ``target`` (holding ``original``) is about to start.

    ``blob`` names the original in the git object database when it is there (the snapshot's
    bytes); otherwise a copy is saved beside the journal first."""
    journal = _slot.journal
    if journal is None:
        return 0
    token = journal.begin()
    fields: dict[str, Any] = {
        "token": token,
        "target": os.fsdecode(target),
        "original": digest(original),
        "new": digest(new),
    }
    if blob:
        fields["blob"] = blob
    else:
        fields["saved"] = os.fsdecode(journal.save_original(token, original))
    journal.record("write", **fields)
    return token


def write_ended(token: int, target: Path, new: bytes, *, written: bool) -> None:
    """The write-back ``token`` is over; ``written`` says whether ``target`` holds ``new``."""
    journal = _slot.journal
    if journal is None or not token:
        return
    journal.record("write-end", durable=False, token=token, written=written)
    with contextlib.suppress(FileNotFoundError):
        (journal.saved_dir / str(token)).unlink()
    if written:
        journal.written[os.fsdecode(target)] = new
    journal.end()


def writes_began(writes: Sequence[tuple[Path, bytes, bytes, str]]) -> list[int]:
    """Many write-backs, each ``(target, original, new, blob of original)``, are about to
    start; one durable record for all of them. Their tokens, in order (0s without a journal).
    """
    journal = _slot.journal
    if journal is None or not writes:
        return [0] * len(writes)
    tokens = [journal.begin() for _ in writes]
    entries = [
        {
            "token": token,
            "target": os.fsdecode(target),
            "original": digest(original),
            "new": digest(new),
            "blob": blob,
        }
        for token, (target, original, new, blob) in zip(tokens, writes, strict=True)
    ]
    journal.record("writes", writes=entries)
    return tokens


def writes_ended(tokens: Sequence[int], written: Mapping[int, tuple[Path, bytes]]) -> None:
    """The write-backs ``tokens`` are over; ``written`` maps those that reached their target
    to ``(target, new bytes)``."""
    journal = _slot.journal
    tokens = [token for token in tokens if token]
    if journal is None or not tokens:
        return
    journal.record("writes-end", durable=False, tokens=tokens, written=sorted(written))
    for target, new in written.values():
        journal.written[os.fsdecode(target)] = new
    for _ in tokens:
        journal.end()


def commit_began(path: str, head: str, index_lock: Path, info: os.stat_result) -> None:
    """A commit of ``path`` on ``head`` holds, or is about to hold, ``index_lock``: the file
    ``info`` describes (made by stomper), whose inode the next start recognises."""
    journal = _slot.journal
    if journal is None:
        return
    journal._commit = journal.begin()
    journal.record(
        "commit",
        token=journal._commit,
        path=path,
        head=head,
        lock=os.fsdecode(index_lock),
        lock_id=[info.st_dev, info.st_ino],
    )


def commit_made(commit: str) -> None:
    """HEAD is about to move to ``commit``; the index waits, complete, in ``index.lock``."""
    journal = _slot.journal
    if journal is not None and journal._commit is not None:
        journal.record("commit-made", token=journal._commit, commit=commit)


def commit_ended(*, committed: bool) -> None:
    """The commit in progress is over: HEAD and the index agree again."""
    journal = _slot.journal
    if journal is None or journal._commit is None:
        return
    journal.record("commit-end", token=journal._commit, committed=committed)
    journal._commit = None
    journal.committed += committed
    journal.end()


def temp_dir_made(path: Path) -> None:
    """A directory agents will work in (sandboxes): whatever runs in there belongs to the run."""
    journal = _slot.journal
    if journal is not None:
        journal.record("temp-dir", path=os.fsdecode(path))


def process_started(pid: int) -> None:
    """An agent process (leader of its own process group and session) was started."""
    journal = _slot.journal
    if journal is not None:
        journal.processes[pid] = process_start_ticks(pid)
        journal.record("process", pid=pid, ticks=journal.processes[pid])


def process_ended(pid: int) -> None:
    """The agent process group ``pid`` is gone."""
    journal = _slot.journal
    if journal is not None and pid in journal.processes:
        del journal.processes[pid]
        journal.record("process-end", pid=pid)
