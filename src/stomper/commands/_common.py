"""What every subcommand shares: the project (root, config, plugins) and file selection."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from stomper.config import Config, load_config
from stomper.plugins import Plugins, make_plugins

if TYPE_CHECKING:
    import argparse


class Project:
    """The repository a command works on, its configuration and its plugins."""

    def __init__(self, root: Path, in_git: bool, config: Config, plugins: Plugins) -> None:
        self.root = root
        self.in_git = in_git
        self.config = config
        self.plugins = plugins


class Selection(NamedTuple):
    """Which files the user asked for, before discovery resolves them."""

    paths: tuple[str, ...]
    staged: bool
    changed: bool
    since: str | None


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags every project command takes: verbosity, plugins, code filters, limits."""
    import argparse

    parser.add_argument("-v", "--verbose", action="store_true", help="more output; tracebacks")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors and the result")
    parser.add_argument(
        "--disable-plugin",
        action="append",
        default=[],
        metavar="NAME",
        help="block a plugin by name (repeatable)",
    )
    parser.add_argument(
        "--select", metavar="CODES", help="only these codes/prefixes, comma-separated"
    )
    parser.add_argument("--error-type", dest="select", help=argparse.SUPPRESS)
    parser.add_argument(
        "--ignore", metavar="CODES", help="never these codes/prefixes, comma-separated"
    )
    parser.add_argument("--max-files", type=int, metavar="N", help="handle at most N files")
    parser.add_argument(
        "--max-errors", type=int, metavar="N", help="at most N diagnostics per file"
    )
    parser.add_argument(
        "--linters", metavar="NAMES", help="linters to run, comma-separated (default: config)"
    )


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    """File selection: paths, directories, globs and git selectors (plus the old tool's flags)."""
    import argparse

    parser.add_argument("paths", nargs="*", metavar="PATH", help="files, directories or globs")
    git_group = parser.add_mutually_exclusive_group()
    git_group.add_argument("--staged", "--git-staged", action="store_true", help="staged files")
    git_group.add_argument(
        "--changed", "--git-changed", action="store_true", help="files changed against HEAD"
    )
    git_group.add_argument(
        "--since", "--git-diff", metavar="REF", help="files changed since REF (and uncommitted)"
    )
    legacy = {"--file": "FILE", "--files": "FILES", "--directory": "DIR", "--pattern": "GLOB"}
    for flag, metavar in legacy.items():
        parser.add_argument(
            flag,
            dest="legacy_paths",
            action="append",
            default=[],
            metavar=metavar,
            help=argparse.SUPPRESS,
        )
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="also exclude these globs"
    )


def selection(args: argparse.Namespace) -> Selection:
    """The selection the user asked for on the command line."""
    paths = list(args.paths)
    for item in args.legacy_paths:
        # The earlier tool took comma-separated lists in --files.
        paths.extend(part for part in item.split(",") if part)
    return Selection(tuple(paths), args.staged, args.changed, args.since)


def config_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Configuration keys set by the common flags; ``None`` means "not given"."""

    def codes(value: str | None) -> tuple[str, ...] | None:
        return tuple(code.strip() for code in value.split(",") if code.strip()) if value else None

    return {
        "select": codes(args.select),
        "ignore": codes(args.ignore),
        "max_files": args.max_files,
        "max_errors": args.max_errors,
        "linters": codes(args.linters),
    }


def open_project(args: argparse.Namespace, overrides: dict[str, Any] | None = None) -> Project:
    """Find the repository from the current directory, load its config and plugins."""
    from stomper.discovery import find_root

    root, in_git = find_root(Path.cwd())
    changes = config_overrides(args) | (overrides or {})
    config = load_config(root, changes)
    extra_exclude = tuple(getattr(args, "exclude", ()))
    if extra_exclude:
        config = config.replace(exclude=config.exclude + extra_exclude)
    disabled = (*config.disable, *args.disable_plugin)
    if disabled:
        config = config.replace(disable=tuple(dict.fromkeys(disabled)))
    return Project(root, in_git, config, make_plugins(config.disable))


def select_files(project: Project, chosen: Selection) -> list[str]:
    """The files to work on, relative POSIX paths, each once."""
    from stomper.discovery import select_files as discover

    return discover(
        project.root,
        project.config,
        paths=chosen.paths,
        staged=chosen.staged,
        changed=chosen.changed,
        since=chosen.since,
        in_git=project.in_git,
        cwd=Path.cwd(),
    )
