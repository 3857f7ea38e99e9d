"""Reading git objects through one long-lived ``git cat-file --batch`` per repository.

A run reads the snapshot's bytes of each file several times (to start its sandbox, to
compare before writing back, to reset a sandbox). Starting ``git`` for each costs 3-10 ms of
CPU; with many files at once on few cores that is what the files wait for. One process per
repository answers each read in well under a millisecond. Thread-safe; a reader that died is
started again; :func:`close_readers` ends them (at the end of a run, and at exit).
"""

from __future__ import annotations

import atexit
import subprocess
import threading
from pathlib import Path

from stomper.git import PINNED_CONFIG, git_env

__all__ = ["close_readers", "read_blob"]

_readers: dict[Path, _BatchReader] = {}
_readers_lock = threading.Lock()


class _BatchReader:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None

    def read(self, sha: str) -> bytes | None:
        with self.lock:
            for attempt in (1, 2):
                try:
                    return self._read(sha)
                except (OSError, ValueError):
                    self.close_locked()
                    if attempt == 2:
                        raise
        return None  # pragma: no cover - the loop returns or raises

    def _read(self, sha: str) -> bytes | None:
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen(
                ["git", *PINNED_CONFIG, "cat-file", "--batch"],
                cwd=self.root,
                env=git_env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(sha.encode() + b"\n")
        self.process.stdin.flush()
        header = self.process.stdout.readline().split()
        if len(header) != 3:
            if header[-1:] == [b"missing"]:
                return None
            raise ValueError(f"git cat-file said {header!r}")
        data = self.process.stdout.read(int(header[2]) + 1)
        if len(data) != int(header[2]) + 1:
            raise ValueError("git cat-file ended early")
        return data[:-1]

    def close_locked(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()
            process.kill()
            process.wait()


def read_blob(root: Path, sha: str) -> bytes | None:
    """The content of object ``sha`` of the repository at ``root``; None when it is missing."""
    with _readers_lock:
        reader = _readers.setdefault(root, _BatchReader(root))
    return reader.read(sha)


def close_readers(root: Path | None = None) -> None:
    """End the reader of ``root`` (every reader when None)."""
    with _readers_lock:
        roots = list(_readers) if root is None else [root]
        readers = [_readers.pop(key) for key in roots if key in _readers]
    for reader in readers:
        with reader.lock:
            reader.close_locked()


atexit.register(close_readers)
