"""The engine's state: plain data only (objects travel in the runtime context).

The run graph (:class:`RunState`) fans out one ``Send`` per file carrying a
:class:`FileTask`; the per-file chain (:mod:`stomper.engine.graph`) works on a
:class:`FileState`. Lists written by parallel branches or successive steps merge through
``operator.add`` reducers.
"""

from __future__ import annotations

import operator
from typing import Annotated, TypedDict

from stomper.types import ChangedPath, Diagnostic, FileResult, FileStatus


class FileTask(TypedDict):
    """One file to fix: what the ``Send`` to the per-file node carries."""

    path: str
    baseline: tuple[Diagnostic, ...]
    targeted: tuple[Diagnostic, ...]
    # What the per-file linters say about the file in a pristine sandbox (all files linted at
    # once before the fan-out), or None when that did not happen and each file lints its own
    # sandbox with every linter.
    in_sandbox: tuple[Diagnostic, ...] | None


class RunState(TypedDict, total=False):
    """The run graph's state; ``files`` (the targets) is its input."""

    files: list[str]
    collected: list[Diagnostic] | None
    files_checked: int
    tasks: list[FileTask]
    baseline: tuple[Diagnostic, ...]
    removed: list[str]
    notes: Annotated[list[str], operator.add]
    results: Annotated[list[FileResult], operator.add]
    successful_fixes: Annotated[list[str], operator.add]
    failed_fixes: Annotated[list[str], operator.add]
    exit_code: int


class FileState(TypedDict, total=False):
    """The per-file chain's state.

    ``original`` is the file's bytes in the snapshot, ``accepted`` the last validated bytes
    (the base of the next attempt), ``baseline`` every diagnostic of ``accepted`` and
    ``remaining`` the targeted ones still present in it. ``agent_index`` and ``attempt``
    name the next agent call.
    """

    path: str
    baseline: tuple[Diagnostic, ...]
    targeted: tuple[Diagnostic, ...]
    in_sandbox: tuple[Diagnostic, ...] | None
    current_worktree_id: str
    original: bytes
    accepted: bytes
    remaining: tuple[Diagnostic, ...]
    agent_index: int
    attempt: int
    attempts: int
    agents_used: Annotated[list[str], operator.add]
    current_agent: str
    current_prompt: str
    current_diff: str
    candidate: bytes | None
    changed: tuple[ChangedPath, ...]
    feedback: str | None
    cost: float | None
    notes: Annotated[list[str], operator.add]
    error: str | None
    stop: bool
    status: FileStatus
    commit: str | None
    result: FileResult
