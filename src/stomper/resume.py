"""The resume journal: which files an interrupted ``stomper fix`` already finished.

LangGraph's own checkpoints cannot serve here: with ``max_concurrency`` set, the checkpoint
writes of finished files wait behind queued ones and a kill loses them all. So ``stomper
fix`` keeps its own journal, ``<git common dir>/stomper/resume.jsonl``: a header line with the
files the run was asked to fix, then one line per finished file, appended and flushed to
disk as each file finishes (before the next one can be lost).

``stomper fix --resume`` reads it and skips every file recorded as finished whose bytes are
still what the run left (a file edited since is done again). A run that ends with nothing
left to continue deletes the journal; one that was interrupted or ran out of budget keeps it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple, TextIO

from stomper.types import FileResult

JOURNAL_FORMAT = 1
JOURNAL_NAME = "resume.jsonl"
# Notes the engine gives a file it did not finish for a reason that a later run can remove.
UNFINISHED_MARKERS = ("budget spent", "stopped after")


class Journal(NamedTuple):
    """What a journal holds: the run's files, the finished ones with their bytes' hash, and
    those of them where diagnostics remained."""

    files: tuple[str, ...]
    done: dict[str, str]
    left: frozenset[str] = frozenset()


def journal_path(common_dir: Path) -> Path:
    """Where the repository's journal lives."""
    return common_dir / "stomper" / JOURNAL_NAME


def finished(result: FileResult) -> bool:
    """Whether a later run should leave this file alone (False: budget, fail-fast, ...)."""
    if result.status == "skipped" and not result.notes:
        return False
    texts = [*result.notes, result.error or ""]
    return not any(marker in text for text in texts for marker in UNFINISHED_MARKERS)


def file_hash(root: Path, path: str) -> str | None:
    """sha256 of the file's bytes in the work tree; None when it is not a readable file."""
    try:
        return hashlib.sha256((root / path).read_bytes()).hexdigest()
    except OSError:
        return None


def read_journal(location: Path) -> Journal | None:
    """The journal at ``location``; None when there is none. A torn last line is ignored."""
    try:
        lines = location.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    records = []
    for line in lines:
        with contextlib.suppress(ValueError):
            records.append(json.loads(line))
    if not records or records[0].get("format") != JOURNAL_FORMAT:
        return None
    entries = [record for record in records[1:] if isinstance(record.get("path"), str)]
    done = {entry["path"]: entry.get("sha256") for entry in entries}
    left = frozenset(entry["path"] for entry in entries if entry.get("remaining"))
    return Journal(tuple(records[0].get("files", ())), done, left)


def still_done(journal: Journal, root: Path) -> set[str]:
    """The finished files whose bytes are still those the run left."""
    return {path for path, digest in journal.done.items() if file_hash(root, path) == digest}


class JournalWriter:
    """Appends to a journal, one line per finished file."""

    def __init__(self, location: Path, files: Sequence[str] | None) -> None:
        """Start a new journal for ``files``, or continue the existing one (``files`` None).

        A new journal replaces the old one only when the first file ends: by then the run
        holds the run lock, so a run that waits for (or gives way to) another one never
        overwrites the journal of the run under way."""
        self.location = location
        self.unfinished = 0
        location.parent.mkdir(parents=True, exist_ok=True)
        self._header: dict[str, object] | None = None
        self._handle: TextIO | None = None  # open from the first record to close()
        if files is not None:
            self._header = {"format": JOURNAL_FORMAT, "started": time.time(), "files": list(files)}

    def record(self, root: Path, result: FileResult) -> None:
        """Note one file's end; only finished files are recorded as done."""
        if self._header is not None:
            self._append([self._header], replace=True)
            self._header = None
        if not finished(result):
            self.unfinished += 1
            return
        if result.status == "conflict":
            # The bytes on disk are the user's edit, which no linter or agent has seen: a
            # resumed run must not take them for what this run left.
            return
        entry = {"path": result.path, "status": result.status, "remaining": len(result.remaining)}
        # What the run left, as it knows it: read back, a file the user edited meanwhile would
        # pass for done.
        digest = result.sha256 if result.sha256 is not None else file_hash(root, result.path)
        self._append([entry | {"sha256": digest}])

    def close(self, *, complete: bool) -> bool:
        """Delete the journal when the run completed with nothing unfinished; True when
        nothing is left for ``--resume`` (deleted, or no file of this run ever ended)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if not complete and self._header is not None:
            return True  # this run never got to a file: the journal (if any) is not its own
        if not complete or self.unfinished:
            return False
        with contextlib.suppress(FileNotFoundError):
            self.location.unlink()
        with contextlib.suppress(OSError):
            self.location.parent.rmdir()  # only when empty: the snapshot's runs live there
        return True

    def _append(self, records: Iterable[object], *, replace: bool = False) -> None:
        text = "".join(json.dumps(record) + "\n" for record in records)
        # No fsync: a kill -9 loses nothing written (each record is flushed to the file), and
        # a record lost with the machine only means that file is looked at again (its hash
        # decides), at 1 ms a file saved.
        handle = self._handle
        if handle is None or replace:
            if handle is not None:
                handle.close()
            if replace:
                handle = self._handle = self.location.open("w", encoding="utf-8")
            else:
                handle = self._handle = self.location.open("a", encoding="utf-8")
        handle.write(text)
        handle.flush()
