"""``stomper hook FILES...``: the pre-commit hook. Fixes the files it is given, nothing else.

pre-commit leaves the staged content in the work tree (it stashed the rest) and calls this
with the staged file names. The hook lints them first; with nothing to fix it returns at once,
having imported neither langgraph nor rich and created no sandbox. Otherwise it runs the
engine with commits off: fixes land in the work tree only, never in the index, and pre-commit
reports the files as modified. Exit 1 when it modified files or diagnostics remain, else 0.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from stomper.commands import _common

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from stomper.config import Config
    from stomper.engine import FixRun
    from stomper.plugins import Plugins
    from stomper.types import Diagnostic

# Set for everything stomper runs, so that a git hook of stomper's own calling stomper again
# (a sandbox commit, a user's post-checkout hook running pre-commit) does nothing.
GUARD = "STOMPER_HOOK_ACTIVE"
TRUE_WORDS = ("1", "true", "yes", "on")


def add_parser(subparsers: Any) -> None:
    """Add ``stomper hook`` to the CLI."""
    parser = subparsers.add_parser(
        "hook",
        help="pre-commit hook: fix the given files in the work tree, never stage or commit",
        description="Fix the given files (as pre-commit passes them) in the work tree. Never "
        "writes the index or commits. Exit 1 when files were modified or diagnostics remain, "
        "0 when clean. AI agents are skipped under CI=true or with --no-ai.",
    )
    parser.add_argument("paths", nargs="*", metavar="FILE", help="files to fix")
    _common.add_common_arguments(parser)
    parser.add_argument(
        "--no-ai", action="store_true", help="deterministic fixers only, no AI agent"
    )
    parser.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="wall-clock limit (hook_timeout)"
    )
    parser.set_defaults(run=run)


def plain_arguments(paths: Sequence[str]) -> argparse.Namespace:
    """What :func:`add_parser`'s parser makes of ``hook PATHS`` (no option): every default.

    Kept in step with :func:`add_parser` and :func:`_common.add_common_arguments`; lets the
    pre-commit hook's fast path skip importing argparse (``stomper.cli`` calls it).
    """
    from types import SimpleNamespace

    return SimpleNamespace(  # type: ignore[return-value]  # an argparse.Namespace's attributes
        command="hook",
        paths=list(paths),
        verbose=False,
        quiet=False,
        disable_plugin=[],
        select=None,
        ignore=None,
        max_files=None,
        max_errors=None,
        linters=None,
        no_ai=False,
        timeout=None,
        run=run,
        defer_logging=True,
    )


def run(args: argparse.Namespace) -> int:
    """Lint the files; fix them only when something is there to fix."""
    from stomper.diagnostics import apply_filters, collect, select_linters

    if os.environ.get(GUARD):
        return 0
    if not args.paths:
        return 0
    project = _common.open_project(args, {"hook_timeout": args.timeout})
    files = _common.select_files(project, _common.Selection(tuple(args.paths), False, False, None))
    config = project.config
    linters = select_linters(project.plugins.linters(config), config)
    if "logging" in sys.modules:  # a plugin may log while linting
        _configure_logging(args)
    found = collect(linters, project.root, files)
    if not apply_filters(found, config):
        return 0
    _configure_logging(args)
    os.environ[GUARD] = "1"
    try:
        return _fix(args, project, found)
    finally:
        del os.environ[GUARD]


def _configure_logging(args: argparse.Namespace) -> None:
    """Configure logging as ``stomper.cli`` does, when it left that to the hook (fast path)."""
    if getattr(args, "defer_logging", False):
        from stomper.cli import configure_logging

        configure_logging(args.verbose)
        args.defer_logging = False


def _fix(args: argparse.Namespace, project: _common.Project, found: list[Diagnostic]) -> int:
    import asyncio

    from stomper.commands.fix import file_line

    config, skipped = _hook_config(args, project.config, project.plugins)
    if skipped and not args.quiet:
        print(f"stomper: AI agents skipped ({skipped}); running the deterministic fixers only.")
    files = sorted({diagnostic.path for diagnostic in found})
    try:
        fix_run = asyncio.run(_run_with_limit(project, config, files, found))
    except asyncio.TimeoutError:  # not the builtin TimeoutError before Python 3.11
        print(
            f"stomper: stopped after hook_timeout ({config.hook_timeout:g} s); fixes already "
            "written stay, nothing is half-written. Raise hook_timeout or run `stomper fix`.",
            file=sys.stderr,
        )
        return 1
    modified = [r for r in fix_run.results if r.status in ("fixed", "partially-fixed")]
    if not args.quiet:
        for note in fix_run.notes:
            print(f"stomper: {note}")
    for result in fix_run.results:
        if not args.quiet or result.status in ("failed", "conflict"):
            print(file_line(result))
    if fix_run.remaining and not args.quiet:
        print(_remaining(fix_run))
    return 1 if modified or fix_run.remaining else 0


async def _run_with_limit(
    project: _common.Project, config: Config, files: list[str], found: list[Diagnostic]
) -> FixRun:
    import asyncio

    from stomper.engine import run_fix

    fix = run_fix(project.root, config, project.plugins, files, collected=found)
    return await asyncio.wait_for(fix, timeout=config.hook_timeout)


def _hook_config(
    args: argparse.Namespace, config: Config, plugins: Plugins
) -> tuple[Config, str | None]:
    """Commits off; the AI part of the chain dropped under CI or --no-ai (and why)."""
    config = config.replace(commit=False)
    reason = "--no-ai" if args.no_ai else _ci_reason()
    if reason is None:
        return config, None
    agents = plugins.agents(config)
    kept = tuple(n for n in config.agents if n in agents and agents[n].kind == "deterministic")
    if kept == config.agents:
        return config, None
    return config.replace(agents=kept), reason


def _ci_reason() -> str | None:
    """Why AI agents must not run here: CI (pre-commit.ci has no network), or None."""
    for name in ("CI", "PRE_COMMIT_CI"):
        if os.environ.get(name, "").strip().lower() in TRUE_WORDS:
            return f"{name}={os.environ[name]}"
    return None


def _remaining(fix_run: FixRun) -> str:
    lines = ["stomper: left for you (or an AI agent, outside CI):"]
    for diagnostic in fix_run.remaining:
        where = f"{diagnostic.path}:{diagnostic.line}:{diagnostic.column}"
        lines.append(f"  {where}  {diagnostic.linter} {diagnostic.code}  {diagnostic.message}")
    return "\n".join(lines)
