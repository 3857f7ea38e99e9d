"""Comparing diagnostics before and after fixes: what is new, and which fix is to blame.

Shared by the final whole-run check (:mod:`stomper.crosscheck`) and the batched deterministic
path (:mod:`stomper.engine.batch`); no LangGraph here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from stomper.engine.outcome import fixed_of

if TYPE_CHECKING:
    from stomper.types import Diagnostic

__all__ = ["culprits", "regressions"]


def regressions(
    before: Mapping[str, Sequence[Diagnostic]], after: Mapping[str, Sequence[Diagnostic]]
) -> dict[str, list[Diagnostic]]:
    """Per file, the diagnostics of ``after`` beyond those of ``before`` (by identity)."""
    found: dict[str, list[Diagnostic]] = {}
    for path, diagnostics in after.items():
        # fixed_of's count: the diagnostics of one list the other does not account for.
        new = fixed_of(diagnostics, before.get(path, ()))
        if new:
            found[path] = list(new)
    return found


def culprits(
    broken: Mapping[str, Sequence[Diagnostic]],
    importers: Mapping[str, set[str]],
    touched: Sequence[str],
) -> dict[str, str]:
    """Each responsible fix, and what it broke (file and first new diagnostic)."""
    culprits: dict[str, str] = {}
    for path, diagnostics in broken.items():
        responsible = importers.get(path) or set(touched) - {path} or {path}
        first = diagnostics[0]
        what = f"{path} ({first.linter} {first.code}: {first.message})"
        for culprit in sorted(responsible):
            culprits.setdefault(culprit, what)
    return culprits
