"""A thin layer over the git command line: argv lists only, a scrubbed environment.

Under a git hook, git exports ``GIT_INDEX_FILE``, ``GIT_DIR`` and friends; a git command that
inherits them can read or corrupt the commit being made. Every git call stomper makes goes
through :func:`git_env`, which removes them, and pins the options that change output.
"""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from stomper.errors import ToolError, UsageError

# `git rev-parse --local-env-vars` (git 2.39), plus variables that reach into config and hooks.
LOCAL_GIT_VARS = frozenset(
    {
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_CONFIG",
        "GIT_CONFIG_PARAMETERS",
        "GIT_CONFIG_COUNT",
        "GIT_OBJECT_DIRECTORY",
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_IMPLICIT_WORK_TREE",
        "GIT_GRAFT_FILE",
        "GIT_INDEX_FILE",
        "GIT_NO_REPLACE_OBJECTS",
        "GIT_REPLACE_REF_BASE",
        "GIT_PREFIX",
        "GIT_INTERNAL_SUPER_PREFIX",
        "GIT_SHALLOW_FILE",
        "GIT_COMMON_DIR",
        "GIT_EDITOR",
        "GIT_EXTERNAL_DIFF",
        "GIT_DIFF_OPTS",
        "GIT_PAGER",
        "GIT_EXEC_PATH",
        "GIT_QUARANTINE_PATH",
        "GIT_REFLOG_ACTION",
    }
)

# Options that would change what stomper parses, or make git wait for a person.
PINNED_CONFIG = (
    "-c",
    "core.quotePath=false",
    "-c",
    "color.ui=never",
    "-c",
    "diff.noprefix=false",
    "-c",
    "core.pager=cat",
    "-c",
    "commit.gpgsign=false",
)


def git_env(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """``base`` (default: ``os.environ``) without git's local variables, plus ``extra``."""
    source = os.environ if base is None else base
    env = {key: value for key, value in source.items() if key not in LOCAL_GIT_VARS}
    env.update(GIT_TERMINAL_PROMPT="0", LC_ALL="C", **extra)
    return env


def git(
    cwd: Path,
    *args: str,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> bytes:
    """Run ``git args`` in ``cwd`` and return stdout; a failure is a :class:`ToolError`."""
    argv = ["git", *PINNED_CONFIG, *args]
    try:
        completed = subprocess.run(
            argv,
            cwd=cwd,
            env=dict(env) if env is not None else git_env(),
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
    except OSError as error:
        raise ToolError(f"git could not be started: {error}") from error
    if check and completed.returncode != 0:
        raise ToolError(_failure(args, completed.returncode, completed.stderr))
    return completed.stdout


async def agit(
    cwd: Path,
    *args: str,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> bytes:
    """:func:`git` for async code: the event loop keeps running while git works."""
    import asyncio  # here, not at the top: the hook's no-op path runs git but never asyncio

    process = await asyncio.create_subprocess_exec(
        "git",
        *PINNED_CONFIG,
        *args,
        cwd=cwd,
        env=dict(env) if env is not None else git_env(),
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        stdout, stderr = await process.communicate(stdin)
    except BaseException:
        # Cancelled: a git left running would go on writing (into a sandbox being removed).
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await asyncio.shield(process.wait())
        raise
    returncode = process.returncode if process.returncode is not None else -1
    if check and returncode != 0:
        raise ToolError(_failure(args, returncode, stderr))
    return stdout


def _failure(args: Sequence[str], returncode: int, stderr: bytes) -> str:
    detail = stderr.decode("utf-8", "replace").strip().splitlines()
    reason = detail[-1] if detail else f"exit code {returncode}"
    return f"git {' '.join(args[:2])} failed: {reason}"


def repo_root(start: Path) -> Path:
    """The top of the git work tree containing ``start``; :class:`UsageError` outside one."""
    completed = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"],
        cwd=start if start.is_dir() else start.parent,
        env=git_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    if completed.returncode != 0:
        raise UsageError(f"{start} is not inside a git repository")
    return Path(os.fsdecode(completed.stdout.rstrip(b"\n"))).resolve()


def common_dir(root: Path) -> Path:
    """The git common directory (``.git`` of the main work tree), absolute.

    Remembered while ``root/.git`` is the same directory or unchanged file (a run asks five
    times before its first lint, and each git process costs 3-4 ms)."""
    key = _dot_git(root)
    found = _COMMON_DIRS.get(key) if key is not None else None
    if found is None:
        out = git(root, "rev-parse", "--path-format=absolute", "--git-common-dir")
        found = Path(os.fsdecode(out.rstrip(b"\n")))
        if key is not None:
            _COMMON_DIRS[key] = found
    return found


_COMMON_DIRS: dict[tuple[object, ...], Path] = {}


def remember_common_dir(root: Path, common: Path) -> None:
    """Tell :func:`common_dir` the answer git gave for ``root`` some other way."""
    key = _dot_git(root)
    if key is not None:
        _COMMON_DIRS[key] = common


def _dot_git(root: Path) -> tuple[object, ...] | None:
    """What identifies ``root/.git``: a directory by its inode, a file (a linked work tree's
    pointer) by its inode, size and last change; None when there is none. (Git's own
    variables, GIT_DIR..., never reach stomper's git: see :func:`git_env`.)"""
    try:
        info = os.lstat(os.path.join(root, ".git"))
    except OSError:
        return None
    if stat.S_ISDIR(info.st_mode):
        return (os.path.abspath(root), info.st_dev, info.st_ino)
    if stat.S_ISREG(info.st_mode):
        return (os.path.abspath(root), info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)
    return None


def split_z(output: bytes) -> list[str]:
    """NUL-separated git output as paths (undecodable bytes kept via surrogateescape)."""
    return [os.fsdecode(item) for item in output.split(b"\0") if item]
