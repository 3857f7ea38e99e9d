"""``stomper hook FILES...``: the pre-commit hook. Fixes the files it is given, nothing else.

pre-commit leaves the staged content in the work tree (it stashed the rest) and calls this
with the staged file names. The hook lints them first; with nothing to fix it returns at once,
having imported neither langgraph nor rich and created no sandbox. Otherwise it runs the
engine with commits off: fixes land in the work tree only, never in the index, and pre-commit
reports the files as modified. Exit 1 when it modified files or diagnostics remain, else 0.
"""

from __future__ import annotations

import os
import stat
import sys

from stomper import prestart

TYPE_CHECKING = False  # not `from typing import`: typing alone costs the fast path ~10 ms
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

    from stomper.commands import _common
    from stomper.config import Config
    from stomper.engine import FixRun
    from stomper.plugins import Plugins
    from stomper.types import Diagnostic

# Set for everything stomper runs, so that a git hook of stomper's own calling stomper again
# (a sandbox commit, a user's post-checkout hook running pre-commit) does nothing.
GUARD = "STOMPER_HOOK_ACTIVE"
TRUE_WORDS = ("1", "true", "yes", "on")
# What the early start assumes when pyproject.toml does not mention stomper: the defaults of
# `linters` and `include` in stomper.config.KEYS (tests/hook/test_hook_early_start.py checks).
DEFAULT_LINTERS = ("ruff", "mypy")
DEFAULT_INCLUDE = ("**/*.py", "**/*.pyi")
# stomper_plugins._cli_linter.ARGV_BUDGET: beyond it the paths go through a temporary file,
# whose name cannot be known in advance.
ARGV_BUDGET = 24_000


def add_parser(subparsers: Any) -> None:
    """Add ``stomper hook`` to the CLI."""
    from stomper.commands import _common

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
    """Lint the files; fix them only when something is there to fix.

    The linters are started first, on a guess (:func:`start_linters`), and stomper loads its
    configuration and plugins while they run; whatever the guess started that the real run
    does not ask for is killed.
    """
    if os.environ.get(GUARD):
        return 0
    if not args.paths:
        return 0
    if _plain(args):
        start_linters(args.paths)
    try:
        return _lint_then_fix(args)
    finally:
        prestart.discard()


def _lint_then_fix(args: argparse.Namespace) -> int:
    from stomper.commands import _common
    from stomper.diagnostics import apply_filters, collect, select_linters

    project = _common.open_project(args, {"hook_timeout": args.timeout})
    files = _common.select_files(project, _common.Selection(tuple(args.paths), False, False, None))
    config = project.config
    linters = select_linters(project.plugins.linters(config), config)
    if "logging" in sys.modules:  # a plugin may log while linting
        _configure_logging(args)
    found = collect(linters, project.root, files)
    prestart.discard()  # a wrong guess must not compete with the fixers for the CPU
    if not apply_filters(found, config):
        args.exit_at_once = all(info.builtin for info in project.plugins.infos)
        return 0
    _configure_logging(args)
    os.environ[GUARD] = "1"
    try:
        return _fix(args, project, found)
    finally:
        del os.environ[GUARD]


def _plain(args: argparse.Namespace) -> bool:
    """No option that changes which linters run, how, or on which files."""
    return not (args.linters or args.max_files is not None or args.disable_plugin)


def start_linters(paths: Sequence[str]) -> None:
    """Start ruff and mypy now, as the hook will most likely run them (:mod:`stomper.prestart`).

    The guess reads only what is cheap to read: the file names as pre-commit passes them
    (plain relative paths from the repository root, which must be the current directory),
    ``pyproject.toml`` (the full configuration is loaded only when it mentions stomper), and
    the executables beside the running Python. Anything unusual (a symlink, a missing file,
    an option-like name, too many paths for the command line) means no guess. A guess that
    turns out wrong (a binary file, a plugin that fails) costs a killed process: the real
    run takes a started process only for exactly the command line it would start itself.
    """
    root = os.getcwd()
    if not os.path.lexists(os.path.join(root, ".git")):
        return
    settings = _settings(root)
    files = _files(root, paths, settings) if settings is not None else None
    if settings is None or not files or sum(len(path) + 1 for path in files) > ARGV_BUDGET:
        return
    from stomper_plugins._commands import mypy_argv, ruff_argv

    for name, argv in (("mypy", mypy_argv), ("ruff", ruff_argv)):  # mypy, the slowest, first
        if name in settings.linters and name not in settings.disable:
            command = _command(name, settings.plugins.get(name, {}))
            if command is not None:
                prestart.start(argv(command[0], command[1], files))


class _Settings:
    """What the guess needs of the configuration."""

    def __init__(
        self,
        *,
        linters: tuple[str, ...],
        disable: tuple[str, ...],
        plugins: Mapping[str, Mapping[str, Any]],
        include: tuple[str, ...],
        exclude: tuple[str, ...],
        max_files: int | None,
    ) -> None:
        self.linters = linters
        self.disable = disable
        self.plugins = plugins
        self.include = include
        self.exclude = exclude
        self.max_files = max_files


def _settings(root: str) -> _Settings | None:
    """The configuration the guess needs: the defaults when ``pyproject.toml`` does not
    mention stomper (no TOML parser imported), else the loaded one; None if it is invalid
    (the real run reports that)."""
    try:
        with open(os.path.join(root, "pyproject.toml"), "rb") as file:
            mentioned = b"stomper" in file.read()
    except OSError:
        mentioned = False
    if not mentioned:
        return _Settings(
            linters=DEFAULT_LINTERS,
            disable=(),
            plugins={},
            include=DEFAULT_INCLUDE,
            exclude=(),
            max_files=None,
        )
    from pathlib import Path

    from stomper.config import load_config
    from stomper.errors import FatalError

    try:
        config = load_config(Path(root))
    except FatalError:
        return None
    return _Settings(
        linters=config.linters,
        disable=config.disable,
        plugins=config.plugins,
        include=config.include,
        exclude=config.exclude,
        max_files=config.max_files,
    )


def _files(root: str, paths: Sequence[str], settings: _Settings) -> list[str] | None:
    """What file selection will make of ``paths``, if they are plain files; else None."""
    chosen = set()
    for path in paths:
        parts = path.split("/")
        if path[:1] in ("-", "@") or any(part in ("", ".", "..", ".git") for part in parts):
            return None  # absolute, not normalised, option-like, or inside .git
        full = os.path.join(root, path)
        try:
            regular = stat.S_ISREG(os.lstat(full).st_mode)
        except OSError:
            return None
        if not regular or os.path.realpath(full) != full or not set("*?[").isdisjoint(path):
            return None  # a symlink, a symlinked directory, a glob: selection resolves them
        chosen.add(path)
    wanted = _matcher(settings.include, settings.exclude)
    return [path for path in sorted(chosen) if wanted(path)][: settings.max_files]


def _matcher(include: tuple[str, ...], exclude: tuple[str, ...]) -> Callable[[str], bool]:
    """include/exclude as :func:`stomper.globs.compile_globs` reads them; with the defaults,
    without compiling a regular expression (a path matches ``**/*.py`` exactly when one of
    its components ends with ``.py``: a match on a directory takes everything below)."""
    if include == DEFAULT_INCLUDE and not exclude:
        suffixes = (".py", ".pyi")
        return lambda path: any(part.endswith(suffixes) for part in path.split("/"))
    from stomper.globs import compile_globs

    included, excluded = compile_globs(include), compile_globs(exclude)
    return lambda path: included(path) and not excluded(path)


def _command(name: str, options: Mapping[str, Any]) -> tuple[str, tuple[str, ...]] | None:
    """The program and extra arguments the ``name`` plugin will use, as its ``ToolOptions``
    finds them; None when its options are invalid or the program is not found."""
    executable, args = options.get("executable"), options.get("args", ())
    valid_args = isinstance(args, (list, tuple)) and all(isinstance(a, str) for a in args)
    if set(options) - {"executable", "args"} or not valid_args:
        return None
    if executable is not None and not (isinstance(executable, str) and executable):
        return None
    wanted = executable or name
    program = wanted if "/" in wanted or os.sep in wanted else _find(wanted)
    if program is None or not os.path.isfile(program):
        return None
    return program, tuple(args)


def _find(name: str) -> str | None:
    """:func:`stomper.tools.find_executable`, which imports subprocess, only when the program
    is not in its first place, beside the running Python."""
    beside = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    from stomper.tools import find_executable

    return find_executable(name)


def _configure_logging(args: argparse.Namespace) -> None:
    """Configure logging as ``stomper.cli`` does, when it left that to the hook (fast path)."""
    if getattr(args, "defer_logging", False):
        from stomper.cli import configure_logging

        configure_logging(args.verbose)
        args.defer_logging = False


def _fix(args: argparse.Namespace, project: _common.Project, found: list[Diagnostic]) -> int:
    import asyncio

    from stomper.commands.fix import file_line
    from stomper.loop import run_to_end

    config, skipped = _hook_config(args, project.config, project.plugins)
    if skipped and not args.quiet:
        print(f"stomper: AI agents skipped ({skipped}); running the deterministic fixers only.")
    files = sorted({diagnostic.path for diagnostic in found})
    try:
        fix_run = run_to_end(_run_with_limit(project, config, files, found))
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

    fix = run_fix(
        project.root,
        config,
        project.plugins,
        files,
        collected=found,
        diffs=project.plugins.take_results(),  # the hook shows none
    )
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
