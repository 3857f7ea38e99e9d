"""The rich side of :mod:`stomper.progress`: the live display on a terminal and the closing
summary as tables. Imported only when a terminal shows them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from stomper.fix_report import (
    CODE_HEADER,
    FILE_HEADER,
    code_cells,
    file_cells,
    file_line,
    run_line,
    summary_text,
)
from stomper.progress import RunTally

if TYPE_CHECKING:
    from stomper.engine import FixRun
    from stomper.fix_report import RunInfo
    from stomper.types import FileResult

__all__ = ["LiveDisplay", "rich_summary"]


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
