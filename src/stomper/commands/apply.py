"""``stomper apply BUNDLE...``: apply the patch bundles that ``stomper fix --patch-out`` wrote."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import Any

from stomper.errors import UsageError


def add_parser(subparsers: Any) -> None:
    """Add ``stomper apply`` to the CLI."""
    parser = subparsers.add_parser(
        "apply",
        help="apply patch bundles written by `stomper fix --patch-out`",
        description="Apply the validated fixes of one or more bundles (e.g. one per CI shard) "
        "to the work tree: each file only while it still holds the bytes its fix was made "
        "from, atomically, then committed one file per commit as `stomper fix` does. Exit 0 "
        "when every fix applied, 1 when some did not, 2 on usage errors.",
    )
    parser.add_argument("bundles", nargs="+", type=Path, metavar="BUNDLE", help="bundle files")
    parser.add_argument("--no-commit", action="store_true", help="write fixes, do not commit")
    parser.add_argument("-v", "--verbose", action="store_true", help="more output; tracebacks")
    parser.add_argument("-q", "--quiet", action="store_true", help="only problems and the result")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Apply every bundle, in the order given; one line per fix."""
    import asyncio  # here: `stomper --version` builds every parser, and must stay light

    from stomper.bundle import apply_bundles, read_bundle
    from stomper.config import load_config
    from stomper.discovery import find_root
    from stomper.runguard import run_guard

    # Read every bundle first: a malformed one stops the command before anything is written.
    fixes = [fix for location in args.bundles for fix in read_bundle(location)]
    root, in_git = find_root(Path.cwd())
    if not in_git:
        raise UsageError("stomper apply needs a git repository")
    config = load_config(root, {"commit": False if args.no_commit else None})
    counts: dict[str, int] = {}

    async def apply_all() -> None:
        # The run lock, recovery of dead runs, the journal and Ctrl-C handling of `stomper
        # fix`: a kill mid-commit must not leave index.lock (and an index behind HEAD).
        outcomes = apply_bundles(
            root, fixes, commit=config.commit, commit_style=config.commit_style
        )
        async with run_guard(root, writes=True):
            with contextlib.closing(outcomes):  # the snapshot goes before the guard does
                for outcome in outcomes:
                    counts[outcome.status] = counts.get(outcome.status, 0) + 1
                    problem = outcome.status in ("conflict", "refused")
                    if problem or not args.quiet:
                        detail = f"  [{outcome.reason}]" if outcome.reason else ""
                        print(f"{outcome.status:<16} {outcome.path}{detail}", flush=True)
                    await asyncio.sleep(0)  # a Ctrl-C stops here, between two fixes

    asyncio.run(apply_all())
    summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    print(f"{len(fixes)} fixes in {len(args.bundles)} bundles: {summary or 'nothing to do'}.")
    return 1 if counts.get("conflict") or counts.get("refused") else 0
