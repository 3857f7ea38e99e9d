"""Built-in plugin ``ruff``: ruff's lint rules as a stomper linter.

Runs ``ruff check --output-format json --no-fix --force-exclude`` from the project's
environment and turns its JSON into :class:`stomper.Diagnostic` objects. Options come from
``[tool.stomper.plugins.ruff]``: ``executable`` (path or name of the ruff to run) and ``args``
(extra arguments, e.g. ``["--preview"]``); the user's own ruff configuration applies as usual.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

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
        return self._diagnostics(_parse(result.stdout, result.stderr), PathMap(root, paths))

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


def _parse(stdout: bytes, stderr: bytes) -> list[Mapping[str, Any]]:
    """ruff's JSON array of diagnostics; anything else is a :class:`LinterError`."""
    try:
        items = json.loads(stdout)
    except ValueError as error:
        raise LinterError(NAME, f"output is not JSON ({error}): {summary(stderr)}") from error
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise LinterError(NAME, f"output is not a JSON list of objects: {summary(stdout)}")
    return items
