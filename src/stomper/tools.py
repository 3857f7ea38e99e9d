"""Finding and running external tools (linters, agent CLIs) from the project's environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from stomper import prestart
from stomper.errors import ToolError


class ToolResult(NamedTuple):
    """What a finished tool printed and returned."""

    returncode: int
    stdout: bytes
    stderr: bytes


def find_executable(name: str) -> str | None:
    """``name`` next to the running Python first (the project's venv), then on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    import shutil  # rarely needed: its import (bz2, lzma) costs the hook's fast path

    return shutil.which(name)


def run_tool(
    argv: Sequence[str],
    cwd: Path,
    *,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
) -> ToolResult:
    """Run ``argv`` (a list, never a shell) in ``cwd``; a missing tool is a :class:`ToolError`.

    ``argv[0]`` is looked up with :func:`find_executable` unless it is already a path. When
    the pre-commit hook started exactly this command in ``cwd`` ahead of time
    (:mod:`stomper.prestart`), that process is waited for instead of starting another.
    """
    program = argv[0] if os.sep in argv[0] else find_executable(argv[0])
    if program is None:
        raise ToolError(f"{argv[0]} not found (looked beside {sys.executable} and on PATH)")
    if env is None and stdin is None and timeout is None:
        started = prestart.take([program, *argv[1:]], os.fspath(cwd))
        if started is not None:
            return _finish(argv[0], started)
    try:
        completed = subprocess.run(
            [program, *argv[1:]],
            cwd=cwd,
            env=dict(env) if env is not None else None,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise ToolError(f"{argv[0]} did not finish within {timeout:g} s") from error
    except OSError as error:
        raise ToolError(f"{argv[0]} could not be started: {error}") from error
    return ToolResult(completed.returncode, completed.stdout, completed.stderr)


def _finish(name: str, started: prestart.Started) -> ToolResult:
    """The result of a process started ahead of time, as :func:`run_tool` would give it."""
    try:
        returncode, stdout, stderr = started.communicate()
    except OSError as error:
        raise ToolError(f"{name}: reading its output failed: {error}") from error
    return ToolResult(returncode, stdout, stderr)
