"""Finding and running external tools (linters, agent CLIs) from the project's environment."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

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

    ``argv[0]`` is looked up with :func:`find_executable` unless it is already a path.
    """
    program = argv[0] if os.sep in argv[0] else find_executable(argv[0])
    if program is None:
        raise ToolError(f"{argv[0]} not found (looked beside {sys.executable} and on PATH)")
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
