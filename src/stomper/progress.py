"""What ``stomper fix`` shows while it runs: a live display on a terminal, plain lines elsewhere.

:class:`RunTally` follows the engine's stage events and finished files. :class:`LiveDisplay`
draws it with rich (files done of total, each file in flight with its stage, fixed and
failed counts, elapsed time and spend); :class:`PlainDisplay` prints one line per finished
file (and, with ``--verbose``, one per stage) for logs, pipes and ``NO_COLOR``.
:class:`LiveDisplay` and :func:`rich_summary` live in :mod:`stomper.progress_live`, so a run
without a terminal never imports rich (about 40 ms).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, TextIO

from stomper.fix_report import (
    file_line,
)
from stomper.types import FileResult

if TYPE_CHECKING:
    pass

STAGE_LABELS = {
    "sandbox": "preparing a sandbox",
    "fixing": "fixing with {detail}",
    "validating": "validating",
    "writing": "writing back",
    "committing": "committing",
}


class RunTally:
    """The run so far; updated on the event loop's thread, read by the display's thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.collecting = ""
        self.queued: set[str] = set()
        self.in_flight: dict[str, str] = {}
        self.finished: list[FileResult] = []

    def stage(self, path: str, stage: str, detail: str) -> None:
        """Note that ``path`` reached ``stage`` (path "" is the run: collecting)."""
        with self.lock:
            if not path:
                self.collecting = detail
            elif stage == "queued":
                self.queued.add(path)
            else:
                self.in_flight[path] = STAGE_LABELS.get(stage, stage).format(detail=detail)

    def done(self, result: FileResult) -> None:
        """Note that one file finished."""
        with self.lock:
            self.in_flight.pop(result.path, None)
            self.finished.append(result)

    def headline(self) -> str:
        """``3/10 files done: 2 fixed, 1 failed; 12 s; $0.0300``."""
        with self.lock:
            done, total = len(self.finished), len(self.queued)
            fixed = sum(r.status in ("fixed", "partially-fixed") for r in self.finished)
            failed = sum(r.status in ("failed", "conflict") for r in self.finished)
            spend = sum(r.cost or 0.0 for r in self.finished)
            collecting = self.collecting
        elapsed = time.monotonic() - self.started
        if not total:
            return f"collecting diagnostics ({collecting or 'starting'}); {elapsed:.0f} s"
        return (
            f"{done}/{total} files done: {fixed} fixed, {failed} failed; {elapsed:.0f} s; "
            f"${spend:.4f} spent"
        )

    def flights(self) -> list[tuple[str, str]]:
        """The files in flight and their stage, by path."""
        with self.lock:
            return sorted(self.in_flight.items())


class PlainDisplay:
    """Plain lines: one per finished file; with ``verbose``, one per stage as well."""

    def __init__(self, out: TextIO, *, quiet: bool = False, verbose: bool = False) -> None:
        self.out = out
        self.quiet = quiet
        self.verbose = verbose
        self.tally = RunTally()

    def __enter__(self) -> PlainDisplay:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def stage(self, path: str, stage: str, detail: str) -> None:
        """A stage event: a line in verbose mode only."""
        self.tally.stage(path, stage, detail)
        if self.verbose and path and stage != "queued":
            label = STAGE_LABELS.get(stage, stage).format(detail=detail)
            self.out.write(f"  ... {path}: {label}\n")
            self.out.flush()

    def file_done(self, result: FileResult) -> None:
        """A finished file's line (only failures and conflicts when quiet)."""
        self.tally.done(result)
        if not self.quiet or result.status in ("failed", "conflict"):
            self.out.write(file_line(result) + "\n")
            self.out.flush()
