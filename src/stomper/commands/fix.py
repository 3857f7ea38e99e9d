"""``stomper fix``: fix what the linters report, file by file, each fix proven in a sandbox."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stomper.commands import _common
from stomper.config import TEST_VALIDATION_CHOICES
from stomper.errors import UsageError

if TYPE_CHECKING:
    from stomper.engine import FixRun
    from stomper.types import Diagnostic, FileResult

STATUSES = ("fixed", "partially-fixed", "unchanged", "conflict", "failed", "skipped")


def add_parser(subparsers: Any) -> None:
    """Add ``stomper fix`` to the CLI."""
    parser = subparsers.add_parser(
        "fix",
        help="fix diagnostics: deterministic fixers first, then AI agents",
        description="Fix what the linters report on the selected files. Each file is fixed in "
        "its own git sandbox; a fix is kept only when re-running the linters and validators "
        "proves it, then written back (and committed, one file per commit). Exit 0 when "
        "nothing remains, 1 when diagnostics remain, 2 on usage or config errors.",
    )
    _common.add_selection_arguments(parser)
    _common.add_common_arguments(parser)
    add_fix_arguments(parser)
    parser.set_defaults(run=run)


def add_fix_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags only ``stomper fix`` has."""
    parser.add_argument("-j", "--jobs", type=int, metavar="N", help="files fixed at once")
    parser.add_argument(
        "--agent", metavar="NAME", help="the AI agent to use (deterministic fixers still run)"
    )
    parser.add_argument("--max-attempts", type=int, metavar="N", help="AI attempts per file")
    parser.add_argument(
        "--dry-run", action="store_true", help="show the validated diffs, write nothing"
    )
    parser.add_argument("--no-commit", action="store_true", help="write fixes, do not commit")
    parser.add_argument(
        "--fail-fast", action="store_true", help="start no new file after one fails"
    )
    parser.add_argument(
        "--test-validation", choices=TEST_VALIDATION_CHOICES, help="run tests on each fix"
    )
    parser.add_argument("--report", type=Path, metavar="FILE", help="write a JSON report")


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Configuration keys set by ``stomper fix``'s own flags (None = not given)."""
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.max_attempts is not None and args.max_attempts < 1:
        raise UsageError("--max-attempts must be at least 1")
    return {
        "max_parallel_files": args.jobs,
        "max_attempts": args.max_attempts,
        "test_validation": args.test_validation,
        "commit": False if args.no_commit else None,
        "continue_on_error": False if args.fail_fast else None,
    }


def run(args: argparse.Namespace) -> int:
    """Fix the selected files and print a line per file, then a summary."""
    import asyncio

    from stomper import engine

    project = _common.open_project(args, overrides(args))
    if not project.in_git:
        raise UsageError("stomper fix needs a git repository (run `git init` first)")
    config = project.config
    if args.agent:
        chain = engine.with_agent(config.agents, project.plugins.agents(config), args.agent)
        config = config.replace(agents=tuple(chain))
    files = _common.select_files(project, _common.selection(args))
    fix_run = asyncio.run(
        engine.run_fix(
            project.root,
            config,
            project.plugins,
            files,
            dry_run=args.dry_run,
            on_file_done=functools.partial(show_file, args),
        )
    )
    show_run(args, fix_run)
    return fix_run.exit_code


def show_file(args: argparse.Namespace, result: FileResult) -> None:
    """A line for a file as soon as it is done (and its diff, in a dry run)."""
    if not args.quiet or result.status in ("failed", "conflict"):
        print(file_line(result), flush=True)
    if args.dry_run and result.diff and not args.quiet:
        sys.stdout.write(result.diff)


def show_run(args: argparse.Namespace, fix_run: FixRun) -> None:
    """The run's notes, the JSON report if asked for, and the closing summary."""
    if args.verbose:
        for item in fix_run.removed:
            print(f"removed a leftover of an earlier run: {item}")
    if not args.quiet:
        for note in fix_run.notes:
            print(f"note: {note}")
    if args.report is not None:
        args.report.write_text(report_json(fix_run), encoding="utf-8")
    print(summary(fix_run))


def file_line(result: FileResult) -> str:
    """``fixed  src/app.py  F401, I001``; what remains and why, when something does."""
    line = f"{result.status:<16} {result.path}"
    fixed = _codes(result.fixed)
    if fixed:
        line += f"  {fixed}"
    if result.remaining:
        line += f"  (left: {_codes(result.remaining)})"
    detail = result.error or (result.notes[-1] if result.notes else "")
    if detail and result.status not in ("fixed", "partially-fixed"):
        line += f"  [{detail}]"
    return line


def _codes(diagnostics: Sequence[Diagnostic]) -> str:
    return ", ".join(sorted({diagnostic.code for diagnostic in diagnostics}))


def summary(fix_run: FixRun) -> str:
    """Status counts, then diagnostics before and after, per linter and code."""
    from stomper.diagnostics import count_by_code

    if not fix_run.results:
        return f"Nothing to fix in {fix_run.files_checked} checked files."
    counts = dict.fromkeys(STATUSES, 0)
    for result in fix_run.results:
        counts[result.status] += 1
    statuses = ", ".join(f"{count} {status}" for status, count in counts.items() if count)
    before, after = count_by_code(fix_run.baseline), count_by_code(fix_run.remaining)
    lines = [
        f"{len(fix_run.results)} files with diagnostics: {statuses}.",
        f"Diagnostics: {len(fix_run.baseline)} before, {len(fix_run.remaining)} after"
        + (" (dry run: nothing written)." if fix_run.dry_run else "."),
    ]
    width = max(len(f"{linter} {code}") for linter, code in before)
    for key, count in before.items():
        lines.append(f"  {' '.join(key):<{width}}  {count:>5} -> {after.get(key, 0)}")
    return "\n".join(lines)


def report_json(fix_run: FixRun) -> str:
    """The ``--report`` document: every file's result and the run's summary."""
    from stomper import __version__
    from stomper.report import JSON_SCHEMA_VERSION

    document = {
        "version": JSON_SCHEMA_VERSION,
        "tool": {"name": "stomper", "version": __version__},
        "dry_run": fix_run.dry_run,
        "files_checked": fix_run.files_checked,
        "summary": {
            "files": len(fix_run.results),
            "statuses": {s: sum(r.status == s for r in fix_run.results) for s in STATUSES},
            "diagnostics_before": len(fix_run.baseline),
            "diagnostics_after": len(fix_run.remaining),
        },
        "notes": list(fix_run.notes),
        "results": [_result_json(result) for result in fix_run.results],
        "exit_code": fix_run.exit_code,
    }
    return json.dumps(document, indent=2) + "\n"


def _result_json(result: FileResult) -> dict[str, Any]:
    return {
        "path": result.path,
        "status": result.status,
        "fixed": _diagnostics_json(result.fixed),
        "remaining": _diagnostics_json(result.remaining),
        "attempts": result.attempts,
        "agent": result.agent,
        "diff": result.diff,
        "notes": list(result.notes),
        "error": result.error,
        "commit": result.commit,
        "cost_usd": result.cost,
        "duration_seconds": round(result.duration, 3),
    }


def _diagnostics_json(diagnostics: Sequence[Diagnostic]) -> list[dict[str, Any]]:
    from stomper.report import diagnostic_json

    return [diagnostic_json(diagnostic) for diagnostic in diagnostics]
