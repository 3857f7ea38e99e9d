"""The ``stomper`` command: argument parsing and the one place failures become exit codes.

Subcommands live in :mod:`stomper.commands`; each adds its parser and imports its heavy
machinery only when it runs, so ``stomper --version`` and the hook's fast path stay cheap.
Only the requested subcommand's module is imported and its parser built; ``--help``, no
command or an unknown one build them all, so the help lists every command.
"""

from __future__ import annotations

import importlib
import sys

from stomper import __version__
from stomper.errors import FatalError

TYPE_CHECKING = False  # not `from typing import`: typing alone costs the hook's fast path
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from types import ModuleType

# Subcommand name -> module of stomper.commands, in the order --help lists them.
COMMAND_MODULES = {
    "check": "check",
    "fix": "fix",
    "hook": "hook",
    "apply": "apply",
    "clean": "clean",
    "plugins": "plugins_command",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser: with ``only``, that subcommand's alone, else all of them."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="stomper",
        description="Fix what ruff and mypy report: deterministic fixers first, then AI "
        "agents, every fix proven in a git sandbox before it reaches your files.",
    )
    parser.add_argument("--version", action="version", version=f"stomper {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    names = [only] if only in COMMAND_MODULES else list(COMMAND_MODULES)
    for name in names:
        module = importlib.import_module(f"stomper.commands.{COMMAND_MODULES[name]}")
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run stomper with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = _plain_hook_arguments(arguments)
    if args is None:
        parser = build_parser(arguments[0] if arguments else None)
        args = parser.parse_args(arguments)
        if args.command is None:
            parser.print_help()
            return 2
    verbose = getattr(args, "verbose", False)
    if not getattr(args, "defer_logging", False):
        configure_logging(verbose)
    try:
        exit_code: int = args.run(args)
    except FatalError as error:
        if verbose:
            import traceback

            traceback.print_exc()
        print(f"stomper: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        from stomper.interrupts import INTERRUPTED_EXIT, account

        print(f"stomper: {account()}", file=sys.stderr)
        return INTERRUPTED_EXIT
    if argv is None and getattr(args, "exit_at_once", False):
        _exit_at_once(exit_code)
    return exit_code


def _exit_at_once(exit_code: int) -> None:
    """End the process now, skipping the interpreter's tear-down, as mypy does at its end.

    Tearing down the modules a run imported costs the pre-commit hook ~10 ms of its no-op
    path, and ``stomper fix`` 20-30 ms after 500 files. A command asks for this
    (``args.exit_at_once``) only when nothing is left to finish: built-in plugins only (no
    file of a third-party plugin to flush). It still must not skip anyone's exit function or
    thread, and the output must be out; otherwise the process exits as usual. stomper's own
    exit functions (logging's, the object readers') run first. Only when stomper runs as the
    program (``main()`` without ``argv``), never when it is called.
    """
    import atexit
    import os
    import threading

    others = [t for t in threading.enumerate() if t is not threading.main_thread()]
    if any(not thread.daemon for thread in others) or not _run_own_exit_functions(atexit):
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # let the interpreter report it, as it would
        return
    os._exit(exit_code)


def _run_own_exit_functions(atexit: ModuleType) -> bool:
    """Run (and unregister) the exit functions stomper's own modules registered, logging's
    flush of its handlers and the end of the long-lived ``git cat-file`` readers, when they
    are all there is; False, running none, when anyone else registered one (atexit counts
    registrations, not live functions: an unregistered one still counts, and makes this
    refuse)."""
    logging = sys.modules.get("logging")
    blobs = sys.modules.get("stomper.blobs")
    own = (getattr(logging, "shutdown", None), getattr(blobs, "close_readers", None))
    functions = [function for function in own if function is not None]
    if getattr(atexit, "_ncallbacks", lambda: -1)() != len(functions):
        return False
    for function in functions:
        atexit.unregister(function)
        function()
    return True


def _plain_hook_arguments(arguments: Sequence[str]) -> argparse.Namespace | None:
    """``stomper hook FILE...`` with no option: parsed without building argparse's parser.

    The pre-commit hook's fast path must cost about what the linters cost, and argparse (with
    the gettext, locale and shutil it pulls in) is a good part of stomper's start-up. Only
    plain file names take this path, for which argparse gives every option its default;
    anything that looks like an option goes through argparse as usual. Logging is configured
    by the hook itself, when something may log (``defer_logging``).
    """
    if not arguments or arguments[0] != "hook":
        return None
    paths = arguments[1:]
    if any(path.startswith("-") for path in paths):
        return None
    from stomper.commands import hook

    return hook.plain_arguments(paths)


def configure_logging(verbose: bool) -> None:
    """Log as ``stomper: LEVEL: message`` on stderr; debug messages too with ``verbose``."""
    import logging

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="stomper: %(levelname)s: %(message)s",
    )
