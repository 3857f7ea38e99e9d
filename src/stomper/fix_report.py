"""What ``stomper fix`` reports: per-file lines, the closing summary, JSON and Markdown.

Pure functions over a finished run (:class:`stomper.engine.FixRun`) and :class:`RunInfo`, the
command's own account (time, shard, cache, resumed files); the command decides where the
output goes. The JSON document follows ``stomper/data/fix-report.schema.json``
(:data:`REPORT_VERSION`); SARIF lives in :mod:`stomper.fix_sarif`.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from stomper import __version__
from stomper.report import diagnostic_json
from stomper.types import Diagnostic, FileResult

if TYPE_CHECKING:
    from stomper.engine import FixRun

REPORT_KIND = "stomper-fix-report"
REPORT_VERSION = 1
SCHEMA_RESOURCE = "fix-report.schema.json"
STATUSES = ("fixed", "partially-fixed", "unchanged", "conflict", "failed", "skipped")
FILE_HEADER = ["file", "status", "before -> after", "agent", "attempts", "cost"]
CODE_HEADER = ["rule", "found", "fixed", "remaining", "suppressed+rejected"]
_SUPPRESSED = re.compile(r"no-suppression: new suppression instead of a fix: ([^\n]*)")
_LINES = re.compile(r"at line ([\d, ]+)")


class RunInfo(NamedTuple):
    """What the command knows about a run beyond the engine's results."""

    elapsed: float = 0.0
    shard: str | None = None
    patch_out: str | None = None
    cache: Mapping[str, int] | None = None
    resumed: tuple[str, ...] = ()
    resumed_left: int = 0


class CodeRow(NamedTuple):
    """One rule's account: found before, fixed, remaining, suppressed by an agent and rejected."""

    linter: str
    code: str
    found: int
    fixed: int
    remaining: int
    suppressed_rejected: int


def file_line(result: FileResult) -> str:
    """``fixed  src/app.py  F401, I001``; what remains and why, when something does."""
    line = f"{result.status:<16} {result.path}"
    fixed = codes_of(result.fixed)
    if fixed:
        line += f"  {fixed}"
    if result.remaining:
        line += f"  (left: {codes_of(result.remaining)})"
    detail = result.error or (result.notes[-1] if result.notes else "")
    if detail and result.status not in ("fixed", "partially-fixed"):
        line += f"  [{detail}]"
    return line


def codes_of(diagnostics: Sequence[Diagnostic]) -> str:
    """The distinct codes, sorted and comma-separated."""
    return ", ".join(sorted({diagnostic.code for diagnostic in diagnostics}))


def status_counts(results: Sequence[FileResult]) -> dict[str, int]:
    """How many files ended in each status (every status present, in order)."""
    counts = dict.fromkeys(STATUSES, 0)
    for result in results:
        counts[result.status] += 1
    return counts


def total_cost(results: Sequence[FileResult]) -> float | None:
    """Dollars spent, where agents reported it; None when none did."""
    costs = [result.cost for result in results if result.cost is not None]
    return round(sum(costs), 6) if costs else None


def suppressed_rejected(result: FileResult) -> list[Diagnostic]:
    """The file's diagnostics an agent tried to silence with a suppression comment (rejected).

    Read from the no-suppression validator's feedback, which names the lines it found; a
    diagnostic on such a line counts once.
    """
    lines: set[int] = set()
    for note in result.notes:
        for found in _SUPPRESSED.findall(note):
            for numbers in _LINES.findall(found):
                lines.update(int(n) for n in numbers.replace(" ", "").split(",") if n)
    return [d for d in (*result.fixed, *result.remaining) if d.line in lines]


def code_rows(fix_run: FixRun) -> list[CodeRow]:
    """Per (linter, code): found, fixed, remaining, suppressed-and-rejected; most found first."""
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    applied = [r for r in fix_run.results if r.status in ("fixed", "partially-fixed")]
    groups = [
        (0, fix_run.baseline),
        (1, [diagnostic for result in applied for diagnostic in result.fixed]),
        (2, fix_run.remaining),
        (
            3,
            [
                diagnostic
                for result in fix_run.results
                for diagnostic in suppressed_rejected(result)
            ],
        ),
    ]
    for column, diagnostics in groups:
        for diagnostic in diagnostics:
            counts[(diagnostic.linter, diagnostic.code)][column] += 1
    rows = [CodeRow(linter, code, *values) for (linter, code), values in counts.items()]
    return sorted(rows, key=lambda row: (-row.found, row.linter, row.code))


def summary_text(fix_run: FixRun, info: RunInfo) -> str:
    """The closing summary: status counts, a table per file and a table per rule."""
    if not fix_run.results:
        return f"Nothing to fix in {fix_run.files_checked} checked files."
    statuses = ", ".join(
        f"{count} {status}" for status, count in status_counts(fix_run.results).items() if count
    )
    lines = [
        f"{len(fix_run.results)} files with diagnostics: {statuses}.",
        f"Diagnostics: {len(fix_run.baseline)} before, {len(fix_run.remaining)} after"
        + (" (dry run: nothing written)." if fix_run.dry_run else "."),
        "",
        *_table(FILE_HEADER, file_cells(fix_run)),
        "",
        *_table(CODE_HEADER, code_cells(fix_run)),
        "",
        run_line(fix_run, info),
    ]
    return "\n".join(lines)


def file_cells(fix_run: FixRun) -> list[list[str]]:
    """The per-file table's rows, as text."""
    return [
        [
            result.path,
            result.status,
            f"{len(result.fixed) + len(result.remaining)} -> {len(result.remaining)}",
            result.agent or "-",
            str(result.attempts),
            f"${result.cost:.4f}" if result.cost is not None else "-",
        ]
        for result in fix_run.results
    ]


def code_cells(fix_run: FixRun) -> list[list[str]]:
    """The per-rule table's rows, as text (``ruff F401``: linter and code in one cell)."""
    return [
        [f"{row.linter} {row.code}", *(str(count) for count in row[2:])]
        for row in code_rows(fix_run)
    ]


def run_line(fix_run: FixRun, info: RunInfo) -> str:
    """Time, spend, cache use, resumed files and shard in one line."""
    cost = total_cost(fix_run.results)
    parts = [f"{info.elapsed:.1f} s", f"${cost:.4f} spent" if cost is not None else "no spend"]
    if info.cache is not None:
        hits, stores = info.cache.get("hits", 0), info.cache.get("stores", 0)
        parts.append(f"cache: {hits} replayed, {stores} stored")
    if info.resumed:
        parts.append(f"{len(info.resumed)} files done by the interrupted run")
    if info.shard:
        parts.append(f"shard {info.shard}")
    return "Run: " + "; ".join(parts) + "."


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in (header, *rows)
    ]


def report_document(fix_run: FixRun, info: RunInfo) -> dict[str, Any]:
    """The ``--report FILE.json`` document (see the schema in ``stomper/data``)."""
    return {
        "kind": REPORT_KIND,
        "version": REPORT_VERSION,
        "tool": {"name": "stomper", "version": __version__},
        "dry_run": fix_run.dry_run,
        "patch_out": info.patch_out,
        "shard": info.shard,
        "files_checked": fix_run.files_checked,
        "elapsed_seconds": round(info.elapsed, 3),
        "summary": {
            "files": len(fix_run.results),
            "statuses": status_counts(fix_run.results),
            "diagnostics_before": len(fix_run.baseline),
            "diagnostics_after": len(fix_run.remaining),
            "cost_usd": total_cost(fix_run.results),
        },
        "by_code": [row._asdict() for row in code_rows(fix_run)],
        "cache": dict(info.cache) if info.cache is not None else None,
        "resumed": list(info.resumed),
        "notes": list(fix_run.notes),
        "results": [_result_json(result) for result in fix_run.results],
        "exit_code": fix_run.exit_code,
    }


def report_json(fix_run: FixRun, info: RunInfo) -> str:
    """:func:`report_document` as indented JSON."""
    return json.dumps(report_document(fix_run, info), indent=2) + "\n"


def _result_json(result: FileResult) -> dict[str, Any]:
    return {
        "path": result.path,
        "status": result.status,
        "fixed": [diagnostic_json(diagnostic) for diagnostic in result.fixed],
        "remaining": [diagnostic_json(diagnostic) for diagnostic in result.remaining],
        "attempts": result.attempts,
        "agent": result.agent,
        "diff": result.diff,
        "notes": list(result.notes),
        "error": result.error,
        "commit": result.commit,
        "cost_usd": result.cost,
        "duration_seconds": round(result.duration, 3),
    }
