"""Pure helpers that turn a file's state into its verdicts, status and result."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Sequence

from stomper.engine.state import FileState, FileTask
from stomper.types import Diagnostic, FileResult, FileStatus


def still_targeted(
    targeted: Sequence[Diagnostic], after: Iterable[Diagnostic]
) -> tuple[Diagnostic, ...]:
    """The diagnostics of ``after`` that match a targeted one by identity, each match once.

    Identity (linter, code, message) ignores line numbers, which shift when lines above move.
    """
    wanted = Counter(diagnostic.identity for diagnostic in targeted)
    kept = []
    for diagnostic in after:
        if wanted[diagnostic.identity] > 0:
            wanted[diagnostic.identity] -= 1
            kept.append(diagnostic)
    return tuple(kept)


def fixed_of(
    targeted: Sequence[Diagnostic], remaining: Sequence[Diagnostic]
) -> tuple[Diagnostic, ...]:
    """The targeted diagnostics that no longer appear in ``remaining`` (by identity)."""
    left = Counter(diagnostic.identity for diagnostic in remaining)
    fixed = []
    for diagnostic in targeted:
        if left[diagnostic.identity] > 0:
            left[diagnostic.identity] -= 1
        else:
            fixed.append(diagnostic)
    return tuple(fixed)


def improved(state: FileState) -> bool:
    """Whether the accepted bytes differ from the original and leave fewer diagnostics."""
    changed = state.get("accepted", b"") != state.get("original", b"")
    return changed and len(state.get("remaining", ())) < len(state["targeted"])


def settled_status(state: FileState) -> FileStatus:
    """fixed or partially-fixed, for a file whose improvement is being applied."""
    return "partially-fixed" if state.get("remaining") else "fixed"


def fixed_codes(state: FileState) -> str:
    """The codes fixed in this file, sorted and comma-separated, for messages and commits."""
    fixed = fixed_of(state["targeted"], state.get("remaining", ()))
    return ", ".join(sorted({diagnostic.code for diagnostic in fixed}))


def unified_diff(path: str, before: bytes, after: bytes) -> str:
    """A unified diff of one file, for reports; undecodable bytes are shown replaced."""
    lines = difflib.unified_diff(
        before.decode("utf-8", "replace").splitlines(keepends=True),
        after.decode("utf-8", "replace").splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def file_result(state: FileState, *, diff: bool = True) -> FileResult:
    """The :class:`FileResult` a finished per-file chain reports (``diff``: with its diff)."""
    status = state.get("status", "unchanged")
    applied = status in ("fixed", "partially-fixed")
    remaining = state.get("remaining", state["targeted"]) if applied else state["targeted"]
    proposed = diff and state.get("accepted", b"") != state.get("original", b"")
    shown = unified_diff(state["path"], state["original"], state["accepted"]) if proposed else ""
    agents = list(dict.fromkeys(state.get("agents_used", [])))
    return FileResult(
        path=state["path"],
        status=status,
        fixed=fixed_of(state["targeted"], remaining),
        remaining=tuple(remaining),
        attempts=state.get("attempts", 0),
        agent=", ".join(agents) or None,
        diff=shown,
        error=state.get("error"),
        cost=state.get("cost"),
        commit=state.get("commit"),
        notes=tuple(state.get("notes", [])),
    )


def plain_result(
    task: FileTask, status: FileStatus, note: str | None = None, error: str | None = None
) -> FileResult:
    """A result for a file that never got to (or out of) its chain: nothing changed."""
    return FileResult(
        path=task["path"],
        status=status,
        remaining=task["targeted"],
        error=error,
        notes=(note,) if note else (),
    )


def deny_note(path: str, deny: Sequence[str]) -> str | None:
    """Why ``path`` is skipped when it is on the deny list (the snapshot leaves it out, so no
    sandbox holds it and nothing, agent or fixer, sees it there); None when it is not."""
    from stomper.secrets import denied_by

    pattern = denied_by(path, deny)
    if pattern is None:
        return None
    return f"skipped: {path} matches the deny list ({pattern}), so no sandbox holds it"
