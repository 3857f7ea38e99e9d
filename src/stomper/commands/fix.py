"""``stomper fix``: fix what the linters report, file by file, each fix proven in a sandbox.

The command around the engine: the live display or plain lines, the result cache, the resume
journal, sharding and patch bundles, the closing summary and the reports. Each lives in its
own module; this one wires them together and decides what is printed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stomper.commands import _common
from stomper.config import TEST_VALIDATION_CHOICES
from stomper.errors import UsageError

if TYPE_CHECKING:
    from stomper.commands._fix_run import Display
    from stomper.engine import FixRun
    from stomper.fix_report import RunInfo
    from stomper.types import FileResult

__all__ = ["add_parser", "file_line", "run"]

REPORT_FORMATS = {".json": "json", ".sarif": "sarif", ".md": "markdown"}


def file_line(result: FileResult) -> str:
    """:func:`stomper.fix_report.file_line`, imported on use: the CLI imports this module to
    build its parser, and the hook's no-op path must not pay for the report modules."""
    from stomper.fix_report import file_line as line

    return line(result)


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
    add = parser.add_argument
    add("-j", "--jobs", type=int, metavar="N", help="AI agent calls at once (default 4)")
    add("--agent", metavar="NAME", help="the AI agent to use (deterministic fixers still run)")
    add("--max-attempts", type=int, metavar="N", help="AI attempts per file")
    add("--dry-run", action="store_true", help="show the validated diffs, write nothing")
    add("--no-commit", action="store_true", help="write fixes, do not commit")
    add("--fail-fast", action="store_true", help="start no new file after one fails")
    add("--test-validation", choices=TEST_VALIDATION_CHOICES, help="run tests on each fix")
    add("--report", type=Path, action="append", default=[], metavar="FILE",
        help="write a report: FILE.json, FILE.sarif or FILE.md (repeatable)")  # fmt: skip
    add("--show-diff", action="store_true", help="print the applied diffs at the end")
    add("--no-cache", action="store_true", help="neither use nor fill the result cache")
    add("--resume", action="store_true", help="continue an interrupted run: skip files it did")
    add("--shard", metavar="I/N", help="fix only shard I of N (stable hash of the path)")
    add("--patch-out", type=Path, metavar="FILE",
        help="write validated fixes to a bundle for `stomper apply`, not to the tree")  # fmt: skip


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
        "cache": False if args.no_cache else None,
    }


def report_formats(paths: list[Path]) -> list[tuple[Path, str]]:
    """Each ``--report`` path with its format, told by the suffix; a usage error otherwise."""
    found = []
    for path in paths:
        kind = REPORT_FORMATS.get(path.suffix.lower())
        if kind is None:
            raise UsageError(f"--report {path}: name it .json, .sarif or .md")
        found.append((path, kind))
    return found


def run(args: argparse.Namespace) -> int:
    """Fix the selected files: live progress or plain lines, then the summary and reports."""
    from stomper import engine
    from stomper.commands import _fix_run

    project = _common.open_project(args, overrides(args))
    if not project.in_git:
        raise UsageError("stomper fix needs a git repository (run `git init` first)")
    if args.agent:
        chain = engine.with_agent(
            project.config.agents, project.plugins.agents(project.config), args.agent
        )
        project.config = project.config.replace(agents=tuple(chain))
    reports = report_formats(args.report)
    outcome = _fix_run.fix_files(args, project)
    if args.patch_out is not None:
        args.patch_out.write_text(outcome.bundle, encoding="utf-8")
    write_reports(reports, outcome.fix_run, outcome.info, outcome.validated)
    show_run(args, outcome.fix_run, outcome.info, outcome.display)
    # Nothing left to finish but the interpreter's tear-down (20-30 ms after 500 files).
    args.exit_at_once = all(info.builtin for info in project.plugins.infos)
    # Files an interrupted run finished with diagnostics left still count (--resume).
    return 1 if outcome.info.resumed_left else outcome.fix_run.exit_code


def write_reports(
    reports: list[tuple[Path, str]],
    fix_run: FixRun,
    info: RunInfo,
    validated: dict[str, tuple[bytes, bytes]],
) -> None:
    """Write every ``--report`` in its format."""
    from stomper.fix_markdown import fix_markdown
    from stomper.fix_report import report_json
    from stomper.fix_sarif import fix_sarif

    for path, kind in reports:
        if kind == "json":
            text = report_json(fix_run, info)
        elif kind == "sarif":
            text = fix_sarif(fix_run, validated)
        else:
            text = fix_markdown(fix_run, info)
        path.write_text(text, encoding="utf-8")


def show_run(args: argparse.Namespace, fix_run: FixRun, info: RunInfo, display: Display) -> None:
    """The run's notes, the diffs if asked for, and the closing summary."""
    from stomper.fix_report import summary_text

    lines = []
    if args.verbose:
        lines += [f"removed a leftover of an earlier run: {item}" for item in fix_run.removed]
    if not args.quiet:
        lines += [f"note: {note}" for note in fix_run.notes]
    if lines:
        print("\n".join(lines))
    if args.show_diff or (args.dry_run and not args.quiet):
        for result in fix_run.results:
            sys.stdout.write(result.diff)
    if args.patch_out is not None:
        fixes = sum(r.status in ("fixed", "partially-fixed") for r in fix_run.results)
        print(f"Wrote {fixes} validated fixes to {args.patch_out} (nothing written to the tree).")
    console = getattr(display, "console", None)
    if console is not None:
        from stomper.progress_live import rich_summary

        console.print(rich_summary(fix_run, info))
    else:
        print(summary_text(fix_run, info), flush=True)
