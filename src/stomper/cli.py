"""The ``stomper`` command: argument parsing and the one place failures become exit codes.

Subcommands live in :mod:`stomper.commands`; each adds its parser and imports its heavy
machinery only when it runs, so ``stomper --version`` and the hook's fast path stay cheap.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence

from stomper import __version__
from stomper.commands import apply, check, clean, fix, hook, plugins_command
from stomper.errors import FatalError

COMMANDS = (check, fix, hook, apply, clean, plugins_command)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, subcommands included."""
    parser = argparse.ArgumentParser(
        prog="stomper",
        description="Fix what ruff and mypy report: deterministic fixers first, then AI "
        "agents, every fix proven in a git sandbox before it reaches your files.",
    )
    parser.add_argument("--version", action="version", version=f"stomper {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run stomper with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    verbose = getattr(args, "verbose", False)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="stomper: %(levelname)s: %(message)s",
    )
    try:
        exit_code: int = args.run(args)
    except FatalError as error:
        if verbose:
            traceback.print_exc()
        print(f"stomper: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        from stomper.interrupts import INTERRUPTED_EXIT, account

        print(f"stomper: {account()}", file=sys.stderr)
        return INTERRUPTED_EXIT
    return exit_code
