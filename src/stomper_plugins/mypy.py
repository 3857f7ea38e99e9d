"""Built-in plugin ``mypy``: the mypy type checker as a stomper linter.

Runs ``mypy -O json`` in the repository root, so the user's mypy configuration (pyproject.toml,
mypy.ini, setup.cfg) and cache apply, and turns its JSON lines into :class:`stomper.Diagnostic`
objects. Options come from ``[tool.stomper.plugins.mypy]``: ``executable`` and ``args``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple

from stomper import Diagnostic, LinterError, hookimpl
from stomper_plugins._cli_linter import PathMap, ToolOptions, path_arguments, run, summary
from stomper_plugins._commands import MYPY_PINNED_FLAGS, mypy_argv

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from stomper import Linter
    from stomper.config import Config

NAME = "mypy"
PINNED_FLAGS = MYPY_PINNED_FLAGS  # see stomper_plugins._commands
# "a.py:3:5: error: message  [code]"; line, column and the end are each optional.
TEXT_LINE = re.compile(
    r"(?P<file>.+?):(?:(?P<line>\d+):(?:(?P<column>\d+):(?:\d+:\d+:)?)?)? "
    r"(?P<severity>error|note): (?P<message>.*?)(?:  \[(?P<code>[a-z0-9-]+)\])?"
)
_JSON_POSITIONS = ("column", "end_line", "end_column")
CODE_URL = "https://mypy.readthedocs.io/en/stable/_refs.html#code-{code}"


@hookimpl
def stomper_register_linters(register: Callable[[Linter], None], config: Config) -> None:
    """Register the ``mypy`` linter."""
    register(MypyLinter(config))


class Message(NamedTuple):
    """One line of mypy output, positions already 1-based with an exclusive end."""

    file: str
    line: int
    column: int
    end_line: int | None
    end_column: int | None
    severity: str
    message: str
    code: str | None
    notes: tuple[str, ...] = ()


class MypyLinter:
    """mypy as a :class:`stomper.Linter`; ``project_wide``: a file is judged with its imports.

    mypy's JSON columns are 0-based and its ``end_column`` is 0-based exclusive; both are
    shifted by one, so positions match ruff's (1-based, end exclusive). Notes become the
    ``notes`` of the error they belong to (mypy's ``hint``, and notes that follow an error on
    the same file and line). A note with no such error (``reveal_type``) is dropped: mypy's
    own text mode calls a run with only notes a success. An error mypy gives no code (the
    text-only "Cannot decode file") gets mypy's catch-all code ``misc``.
    """

    name = NAME
    project_wide = True

    def __init__(self, config: Config) -> None:
        self.options = ToolOptions(NAME, config.plugin_options(NAME))

    def lint(self, root: Path, paths: Sequence[str]) -> list[Diagnostic]:
        """Diagnostics for the files among ``paths`` only, not the modules they import.

        A blocking error (syntax error, undecodable file) stops mypy before type checking,
        so only the blocking errors come back, as with mypy itself. A missing mypy, a crash,
        a usage error, or a blocking error outside ``paths`` is a :class:`stomper.LinterError`.
        """
        if not paths:
            return []
        program = self.options.program()
        with path_arguments(paths) as path_args:
            argv = mypy_argv(program, self.options.args, path_args)
            result = run(NAME, argv, root)
        streams = (result.stdout, result.stderr)
        output = "\n".join(stream.decode(errors="replace") for stream in streams)
        if result.returncode not in (0, 1, 2) or "INTERNAL ERROR" in output:
            raise LinterError(NAME, f"exited with {result.returncode}: {_crash(output)}")
        messages = list(parse_lines(output.splitlines()))
        errors = attach_notes(messages)
        locate = PathMap(root, paths)
        found = [_diagnostic(error, path) for error in errors if (path := locate(error.file))]
        _check_verdict(result.returncode, messages, found, output)
        return found


def parse_lines(lines: Iterable[str]) -> Iterator[Message]:
    """mypy's messages in ``lines`` (JSON or text); lines that are neither are skipped."""
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("{"):
            message = _from_json(stripped)
        else:
            match = TEXT_LINE.fullmatch(stripped)
            message = _from_text(match) if match else None
        if message is not None:
            yield message


def attach_notes(messages: Iterable[Message]) -> list[Message]:
    """Errors, each carrying the notes that follow it on the same file and line."""
    errors: list[Message] = []
    for message in messages:
        if message.severity != "note":
            errors.append(message)
            continue
        last = errors[-1] if errors else None
        if last is not None and (last.file, last.line) == (message.file, message.line):
            notes = (*last.notes, message.message, *message.notes)
            errors[-1] = last._replace(notes=notes)
    return errors


def _from_json(line: str) -> Message | None:
    try:
        item = json.loads(line)
        hint = item.get("hint")
        column, end_line, end_column = (_int(item.get(key)) for key in _JSON_POSITIONS)
        code = item.get("code")
        return Message(
            file=str(item["file"]),
            line=int(item["line"]),
            column=max(column + 1, 1),
            end_line=end_line if end_line > 0 else None,
            end_column=end_column + 1 if end_column >= 0 else None,
            severity=str(item.get("severity", "error")),
            message=str(item["message"]),
            code=code if isinstance(code, str) else None,
            notes=tuple(hint.splitlines()) if isinstance(hint, str) else (),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _int(value: object) -> int:
    """A JSON position; mypy writes -1 where it has none."""
    return value if isinstance(value, int) else -1


def _from_text(match: re.Match[str]) -> Message:
    # Text columns are already 1-based; a line-less error (undecodable file) sits at 1:1.
    return Message(
        file=match["file"],
        line=int(match["line"] or 1),
        column=int(match["column"] or 1),
        end_line=None,
        end_column=None,
        severity=match["severity"],
        message=match["message"],
        code=match["code"],
    )


def _diagnostic(error: Message, path: str) -> Diagnostic:
    code = error.code or "misc"
    return Diagnostic(
        linter=NAME,
        path=path,
        line=max(error.line, 1),
        column=error.column,
        code=code,
        message=error.message,
        end_line=error.end_line,
        end_column=error.end_column,
        url=CODE_URL.format(code=code) if error.code else None,
        notes=error.notes,
    )


def _check_verdict(
    returncode: int, messages: Sequence[Message], found: Sequence[Diagnostic], output: str
) -> None:
    """Refuse to report "no problems" when mypy's exit code says otherwise."""
    if returncode == 2 and not found:
        # A usage error or crash ("mypy: error: ..."), or a blocking error in a module
        # outside `paths`: mypy stopped before checking anything we asked about.
        first = next((message for message in messages if message.severity == "error"), None)
        raise LinterError(NAME, f"stopped with exit code 2: {_describe(first, output)}")
    if returncode == 1 and not messages:
        raise LinterError(NAME, f"exited with 1 but reported nothing: {summary(output)}")


def _crash(output: str) -> str:
    """mypy's own "INTERNAL ERROR" line when it printed one, else a summary."""
    internal = [line.strip() for line in output.splitlines() if "INTERNAL ERROR" in line]
    return internal[0] if internal else summary(output)


def _describe(message: Message | None, output: str) -> str:
    if message is None:
        return summary(output)
    if message.file == NAME:
        return message.message
    return f"blocking error in {message.file}:{message.line}: {message.message}"
