"""``stomper clean``: remove what crashed or killed stomper runs left behind."""

from __future__ import annotations

import argparse
from typing import Any

from stomper.errors import UsageError


def add_parser(subparsers: Any) -> None:
    """Add ``stomper clean`` to the CLI."""
    parser = subparsers.add_parser(
        "clean",
        help="remove leftovers (sandboxes, refs, temp dirs) of dead stomper runs",
        description="Remove the sandboxes, refs and temporary directories of stomper runs "
        "that are no longer alive. Runs in progress are left alone. `stomper fix` does the "
        "same at every start.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="more output; tracebacks")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Clean the repository containing the current directory."""
    from pathlib import Path

    from stomper.discovery import find_root
    from stomper.sandbox import clean_leftovers

    root, in_git = find_root(Path.cwd())
    if not in_git:
        raise UsageError("stomper clean needs a git repository")
    removed = clean_leftovers(root)
    if not args.quiet:
        for item in removed:
            print(f"removed {item}")
        print(f"Removed {len(removed)} leftovers." if removed else "Nothing to clean.")
    return 0
