"""Built-in plugin ``ruff``: ruff's lint rules as a stomper linter.

Runs ``ruff check --output-format json --no-fix --force-exclude`` from the project's
environment and turns its JSON into :class:`stomper.Diagnostic` objects. Options come from
``[tool.stomper.plugins.ruff]``: ``executable`` (path or name of the ruff to run) and ``args``
(extra arguments, e.g. ``["--preview"]``); the user's own ruff configuration applies as usual.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from stomper import Diagnostic, LinterError, hookimpl
from stomper_plugins._cli_linter import PathMap, ToolOptions, path_arguments, run, summary
from stomper_plugins._commands import RUFF_COMMAND, ruff_argv

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from stomper import Linter
    from stomper.config import Config

NAME = "ruff"
COMMAND = RUFF_COMMAND  # see stomper_plugins._commands
# Syntax errors: code "invalid-syntax" today, null in older ruff, E999 before that.
SYNTAX_CODES = (None, "E999", "invalid-syntax")


@hookimpl
def stomper_register_linters(register: Callable[[Linter], None], config: Config) -> None:
    """Register the ``ruff`` linter."""
    register(RuffLinter(config))


class RuffLinter:
    """ruff as a :class:`stomper.Linter`. It judges each file alone: not ``project_wide``.

    ``fixable`` is true when ruff offers a safe fix, or an unsafe one while ``unsafe_fixes``
    is on: exactly what the ``ruff-fix`` agent will apply. Display-only fixes never count.
    Positions are 1-based, ``end_column`` exclusive, as ruff prints them. A file ruff cannot
    read or decode (non-UTF-8) comes back as ruff's own E902 diagnostic.
    """

    name = NAME
    project_wide = False

    def __init__(self, config: Config) -> None:
        self.options = ToolOptions(NAME, config.plugin_options(NAME))
        self.fix_applicability = ("safe", "unsafe") if config.unsafe_fixes else ("safe",)
        self._last: _Parsed | None = None

    def lint(self, root: Path, paths: Sequence[str]) -> list[Diagnostic]:
        """Diagnostics for the files among ``paths`` (POSIX, relative to ``root``).

        A missing ruff, a crash (exit code other than 0 or 1) or output that is not ruff's
        JSON is a :class:`stomper.LinterError`, never an empty list.
        """
        if not paths:
            return []
        program = self.options.program()
        with path_arguments(paths) as path_args:
            argv = ruff_argv(program, self.options.args, path_args)
            result = run(NAME, argv, root)
        if result.returncode not in (0, 1):
            raise LinterError(NAME, f"exited with {result.returncode}: {summary(result.stderr)}")
        rooted = _rooted_output(result.stdout, root)
        last = self._last
        if rooted is not None and last is not None and last.same(rooted, paths):
            return list(last.found)
        locate = PathMap(root, paths)
        found = self._diagnostics(_parse(result.stdout, result.stderr), locate)
        # Reused only when each name maps to its path as spelled, so the same relative names
        # under another root map the same way (not through symlinks that may differ there).
        cut = len(locate.root) + 1
        direct = all(name[cut:] == path for name, path in locate.seen.items())
        self._last = _Parsed(rooted, tuple(paths), tuple(found)) if rooted and direct else None
        return found

    def _diagnostics(self, items: Iterable[Mapping[str, Any]], locate: PathMap) -> list[Diagnostic]:
        """``items`` as diagnostics, in order, skipping files that were not asked for.

        One loop with its lookups bound once: a run can bring thousands of items.
        """
        found = []
        fixable_when = self.fix_applicability
        for item in items:
            get = item.get
            path = locate(str(get("filename", "")))
            if path is None:
                continue
            code = get("code")
            start = get("location") or {}
            end = get("end_location") or {}
            fix = get("fix") or {}
            url = get("url")
            line = int(start.get("row") or 1)
            column = int(start.get("column") or 1)
            found.append(
                Diagnostic(  # positional, in field order: keywords cost a run milliseconds
                    NAME,
                    path,
                    line if line > 1 else 1,
                    column if column > 1 else 1,
                    "invalid-syntax" if code in SYNTAX_CODES else str(code),
                    str(get("message", "")),
                    end.get("row"),
                    end.get("column"),
                    fix.get("applicability") in fixable_when,
                    url if isinstance(url, str) else None,
                    "warning" if get("severity") == "warning" else "error",
                )
            )
        return found


class _Parsed(NamedTuple):
    """The last output parsed, with its root taken out of every file name: linting a copy of
    the same files elsewhere (a sandbox checking that it reproduces the user's tree) prints
    the same bytes but for the root, and parsing 2.5 MB of JSON again for 500 files costs
    30-50 ms of the run."""

    rooted: bytes
    paths: tuple[str, ...]
    found: tuple[Diagnostic, ...]

    def same(self, rooted: bytes, paths: Sequence[str]) -> bool:
        return self.rooted == rooted and self.paths == tuple(paths)


_NAME_FIELD = b'"filename": "'


def _rooted_output(stdout: bytes, root: Path) -> bytes | None:
    """``stdout`` with ``root/`` cut from the start of each file name; None unless every file
    name starts with it, as spelled. Anything else naming the root (a message) stays, so two
    outputs equal this way are equal but for where their files live."""
    base = os.path.abspath(root)
    if base.endswith("/") or os.sep != "/":
        return None
    field = _NAME_FIELD + json.dumps(f"{base}/", ensure_ascii=False)[1:-1].encode()
    if stdout.count(field) != stdout.count(_NAME_FIELD):
        return None
    return stdout.replace(field, _NAME_FIELD)


def _parse(stdout: bytes, stderr: bytes) -> list[Mapping[str, Any]]:
    """ruff's JSON array of diagnostics; anything else is a :class:`LinterError`."""
    try:
        items = json.loads(stdout)
    except ValueError as error:
        raise LinterError(NAME, f"output is not JSON ({error}): {summary(stderr)}") from error
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise LinterError(NAME, f"output is not a JSON list of objects: {summary(stdout)}")
    return items
