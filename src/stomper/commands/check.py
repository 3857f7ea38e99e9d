"""``stomper check``: report what the linters find, grouped by file, with a summary."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from stomper.commands import _common

FORMATS = ("text", "json", "sarif")


def add_parser(subparsers: Any) -> None:
    """Add ``stomper check`` to the CLI."""
    parser = subparsers.add_parser(
        "check",
        help="report diagnostics without changing anything",
        description="Run the configured linters on the selected files and report what they "
        "find. Exit 0 when clean, 1 when diagnostics remain, 2 on usage or config errors.",
    )
    _common.add_selection_arguments(parser)
    _common.add_common_arguments(parser)
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format")
    parser.add_argument("--output", "-o", type=Path, metavar="FILE", help="write output to FILE")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Collect diagnostics and print them in the chosen format."""
    from stomper import diagnostics, report

    project = _common.open_project(args)
    files = _common.select_files(project, _common.selection(args))
    linters = diagnostics.select_linters(project.plugins.linters(project.config), project.config)
    found = diagnostics.apply_filters(
        diagnostics.collect(linters, project.root, files), project.config
    )
    renderers = {"text": report.check_text, "json": report.check_json}
    if args.format == "sarif":
        output = report.sarif(found)
    else:
        output = renderers[args.format](found, len(files))
    if args.output is not None:
        args.output.write_text(output, encoding="utf-8")
        if not args.quiet:
            print(f"{report.summary_line(found, len(files))} Written to {args.output}.")
    elif not args.quiet or found:
        sys.stdout.write(output)
    return 1 if found else 0
