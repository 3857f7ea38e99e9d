"""``stomper fix --report FILE.md``: the run as Markdown, for pull-request comments and CI step
summaries (``cat report.md >> "$GITHUB_STEP_SUMMARY"``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from stomper.fix_report import (
    CODE_HEADER,
    FILE_HEADER,
    RunInfo,
    code_cells,
    file_cells,
    run_line,
    status_counts,
)

if TYPE_CHECKING:
    from stomper.engine import FixRun

# Step summaries are capped at 1 MiB; diffs beyond this many characters are cut.
DIFF_BUDGET = 200_000


def fix_markdown(fix_run: FixRun, info: RunInfo) -> str:
    """A heading, the counts, a table per file and per rule, and the diffs, folded."""
    lines = ["## stomper fix", ""]
    if not fix_run.results:
        lines.append(f"Nothing to fix in {fix_run.files_checked} checked files.")
        return "\n".join(lines) + "\n"
    counts = status_counts(fix_run.results)
    statuses = ", ".join(f"{count} {status}" for status, count in counts.items() if count)
    dry = " (dry run: nothing written)" if fix_run.dry_run else ""
    lines += [
        f"**{len(fix_run.results)} files** with diagnostics: {statuses}. Diagnostics: "
        f"**{len(fix_run.baseline)}** before, **{len(fix_run.remaining)}** after{dry}.",
        "",
        *_table(FILE_HEADER, file_cells(fix_run), code_column=0),
        "",
        *_table(CODE_HEADER, code_cells(fix_run), code_column=0),
        "",
        run_line(fix_run, info),
    ]
    lines += _diffs(fix_run)
    return "\n".join(lines) + "\n"


def _cell(text: str, code: bool) -> str:
    escaped = text.replace("|", "\\|").replace("\n", " ")
    return f"`{escaped}`" if code else escaped


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], code_column: int) -> list[str]:
    found = [header, ["---"] * len(header)]
    found += [[_cell(cell, index == code_column) for index, cell in enumerate(row)] for row in rows]
    return ["| " + " | ".join(row) + " |" for row in found]


def _diffs(fix_run: FixRun) -> list[str]:
    """The proposed or applied diffs, in one folded block, within :data:`DIFF_BUDGET`."""
    with_diff = [result for result in fix_run.results if result.diff]
    if not with_diff:
        return []
    lines = ["", "<details><summary>Diffs</summary>", ""]
    budget = DIFF_BUDGET
    for result in with_diff:
        if len(result.diff) > budget:
            lines.append(f"(diffs of further files left out: over {DIFF_BUDGET} characters)")
            break
        budget -= len(result.diff)
        fence = "`" * max(3, _longest_backticks(result.diff) + 1)
        lines += [f"{fence}diff", result.diff.rstrip("\n"), fence, ""]
    lines.append("</details>")
    return lines


def _longest_backticks(text: str) -> int:
    longest = current = 0
    for char in text:
        current = current + 1 if char == "`" else 0
        longest = max(longest, current)
    return longest
