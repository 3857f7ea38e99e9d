"""Comparing diagnostics before and after fixes: what is new, and which fix is to blame.

Shared by the final whole-run check (:mod:`stomper.crosscheck`) and the batched deterministic
path (:mod:`stomper.engine.batch`); no LangGraph here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stomper.types import Diagnostic

__all__ = ["culprits", "regressions"]


def regressions(
    before: Mapping[str, Sequence[Diagnostic]], after: Mapping[str, Sequence[Diagnostic]]
) -> dict[str, list[Diagnostic]]:
    """Per file, the diagnostics of ``after`` beyond those of ``before`` (by identity)."""
    found: dict[str, list[Diagnostic]] = {}
    for path, diagnostics in after.items():
        budget = Counter(diagnostic.identity for diagnostic in before.get(path, ()))
        new = []
        for diagnostic in diagnostics:
            if budget[diagnostic.identity] > 0:
                budget[diagnostic.identity] -= 1
            else:
                new.append(diagnostic)
        if new:
            found[path] = new
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
