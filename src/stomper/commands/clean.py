"""``stomper clean``: remove what crashed or killed stomper runs left behind."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from stomper.errors import UsageError


def add_parser(subparsers: Any) -> None:
    """Add ``stomper clean`` to the CLI."""
    parser = subparsers.add_parser(
        "clean",
        help="remove leftovers (sandboxes, refs, temp dirs) of dead stomper runs",
        description="Remove the sandboxes, refs and temporary directories of stomper runs "
        "that are no longer alive (`stomper fix` does the same at every start), and the "
        "spare files write-backs keep for the next run. Runs in progress are left alone.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="more output; tracebacks")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    parser.add_argument("--cache", action="store_true", help="also empty the result cache")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Clean the repository containing the current directory."""
    from pathlib import Path

    from stomper.discovery import find_root
    from stomper.git import common_dir
    from stomper.recovery import recover
    from stomper.sandbox import clean_leftovers
    from stomper.spares import discard

    root, in_git = find_root(Path.cwd())
    if not in_git:
        raise UsageError("stomper clean needs a git repository")
    recovered = recover(root)  # first: a dead run's agents die before their sandboxes go
    removed = clean_leftovers(root)
    spare = discard(common_dir(root))
    if spare:
        removed.append(f"{spare} spare files of earlier write-backs")
    if not args.quiet:
        for item in recovered:
            print(f"recovered: {item}")
        for item in removed:
            print(f"removed {item}")
        total = len(removed) + len(recovered)
        print(f"Removed {total} leftovers." if total else "Nothing to clean.")
    if args.cache:
        _clean_cache(root, quiet=args.quiet)
    return 0


def _clean_cache(root: Path, *, quiet: bool) -> None:
    """Empty the result cache this repository's configuration points at."""
    from stomper.cache import ResultCache, cache_dir
    from stomper.config import load_config
    from stomper.git import common_dir

    location = cache_dir(root, common_dir(root), load_config(root).cache_dir)
    entries = ResultCache(location).clear()
    if not quiet:
        print(f"Removed {entries} cache entries from {location}.")
