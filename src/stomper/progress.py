"""What ``stomper fix`` shows while it runs: a live display on a terminal, plain lines elsewhere.

:class:`RunTally` follows the engine's stage events and finished files. :class:`LiveDisplay`
draws it with rich (files done of total, each file in flight with its stage, fixed and
failed counts, elapsed time and spend); :class:`PlainDisplay` prints one line per finished
file (and, with ``--verbose``, one per stage) for logs, pipes and ``NO_COLOR``. This module
imports rich, so only ``stomper fix`` imports it, and only when it runs.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from stomper.fix_report import (
    CODE_HEADER,
    FILE_HEADER,
    RunInfo,
    code_cells,
    file_cells,
    file_line,
    run_line,
    summary_text,
)
from stomper.types import FileResult

if TYPE_CHECKING:
    from stomper.engine import FixRun

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


class LiveDisplay:
    """A rich live area: the headline, then one row per file in flight."""

    def __init__(self, console: Console, *, quiet: bool = False, auto_refresh: bool = True):
        self.console = console
        self.quiet = quiet
        self.tally = RunTally()
        self.live = Live(
            console=console,
            get_renderable=self.render,
            auto_refresh=auto_refresh,
            refresh_per_second=4,
            transient=True,
        )

    def __enter__(self) -> LiveDisplay:
        self.live.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.live.stop()

    def render(self) -> RenderableType:
        """What the live area shows now."""
        table = Table.grid(padding=(0, 2))
        for path, stage in self.tally.flights():
            table.add_row(Text(path, style="bold"), Text(stage, style="cyan"))
        return Group(Text(self.tally.headline()), table)

    def stage(self, path: str, stage: str, detail: str) -> None:
        """A stage event: redraw at once, so every stage is seen however short."""
        self.tally.stage(path, stage, detail)
        self.live.refresh()

    def file_done(self, result: FileResult) -> None:
        """A finished file: its line above the live area, then a redraw."""
        self.tally.done(result)
        if not self.quiet or result.status in ("failed", "conflict"):
            self.console.print(Text(file_line(result)), highlight=False)
        self.live.refresh()


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


def rich_summary(fix_run: FixRun, info: RunInfo) -> RenderableType:
    """The closing summary as rich tables (the same rows as the plain one)."""
    if not fix_run.results:
        return Text(summary_text(fix_run, info))
    head = summary_text(fix_run, info).split("\n\n", 1)[0]
    return Group(
        Text(head),
        _rich_table("Files", FILE_HEADER, file_cells(fix_run)),
        _rich_table("Rules", CODE_HEADER, code_cells(fix_run)),
        Text(run_line(fix_run, info)),
    )


def _rich_table(title: str, header: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title, title_justify="left")
    for index, name in enumerate(header):
        table.add_column(name, justify="left" if index == 0 else "right")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    return table
