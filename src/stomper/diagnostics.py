"""Collecting diagnostics: every linter once over all targets, then the user's filters."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stomper.config import Config
    from stomper.types import Diagnostic, Linter


def collect(linters: Sequence[Linter], root: Path, paths: Sequence[str]) -> list[Diagnostic]:
    """Run each linter once over ``paths`` (concurrently: ruff and mypy overlap) and merge.

    Only diagnostics for ``paths`` are kept; a linter's error propagates (never "no problems").
    """
    if not paths or not linters:
        return []
    wanted = set(paths)
    if len(linters) == 1:
        found = linters[0].lint(root, paths)
    else:
        found = [d for diagnostics in _lint_concurrently(linters, root, paths) for d in diagnostics]
    return sorted((d for d in found if d.path in wanted), key=sort_key)


def _lint_concurrently(
    linters: Sequence[Linter], root: Path, paths: Sequence[str]
) -> list[list[Diagnostic]]:
    """Each linter's diagnostics, in ``linters`` order; the first linter's error is raised once
    all have finished. Plain threads (not an executor: its import costs the hook's fast path),
    project-wide linters (mypy, the slowest) started first, the last one run in this thread."""
    results: list[list[Diagnostic] | None] = [None] * len(linters)
    errors: list[BaseException | None] = [None] * len(linters)

    def work(index: int) -> None:
        try:
            results[index] = linters[index].lint(root, paths)
        except BaseException as error:  # re-raised in the calling thread
            errors[index] = error

    order = sorted(
        range(len(linters)), key=lambda index: not getattr(linters[index], "project_wide", False)
    )
    threads = [threading.Thread(target=work, args=(index,), daemon=True) for index in order[:-1]]
    for thread in threads:
        thread.start()
    try:
        work(order[-1])
    finally:
        for thread in threads:
            thread.join()
    for error in errors:
        if error is not None:
            raise error
    return [result or [] for result in results]


def sort_key(diagnostic: Diagnostic) -> tuple[str, int, int, str, str]:
    """Order by file, position, linter and code."""
    return (diagnostic.path, diagnostic.line, diagnostic.column, diagnostic.linter, diagnostic.code)


def matches(code: str, patterns: Iterable[str]) -> bool:
    """Whether ``code`` is one of ``patterns`` or starts with one (``F`` matches ``F401``)."""
    return any(code == pattern or code.startswith(pattern) for pattern in patterns)


def apply_filters(diagnostics: Iterable[Diagnostic], config: Config) -> list[Diagnostic]:
    """Keep what ``select``/``ignore`` allow, at most ``max_errors`` per file."""
    select, ignore, max_errors = config.select, config.ignore, config.max_errors
    if not select and not ignore and max_errors is None:
        return list(diagnostics)  # nothing to filter out
    kept: list[Diagnostic] = []
    per_file: dict[str, int] = defaultdict(int)
    for diagnostic in diagnostics:
        if select and not matches(diagnostic.code, select):
            continue
        if ignore and matches(diagnostic.code, ignore):
            continue
        if max_errors is not None and per_file[diagnostic.path] >= max_errors:
            continue
        per_file[diagnostic.path] += 1
        kept.append(diagnostic)
    return kept


def by_file(diagnostics: Iterable[Diagnostic]) -> dict[str, list[Diagnostic]]:
    """Diagnostics grouped by path, in path order."""
    grouped: dict[str, list[Diagnostic]] = defaultdict(list)
    for diagnostic in diagnostics:
        grouped[diagnostic.path].append(diagnostic)
    return dict(sorted(grouped.items()))


def count_by_code(diagnostics: Iterable[Diagnostic]) -> Mapping[tuple[str, str], int]:
    """How many diagnostics per (linter, code), most frequent first."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for diagnostic in diagnostics:
        counts[(diagnostic.linter, diagnostic.code)] += 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def select_linters(available: Mapping[str, Linter], config: Config) -> list[Linter]:
    """The linters named in ``config.linters`` that are registered (blocked ones are not)."""
    from stomper.errors import ConfigError

    missing = [name for name in config.linters if name not in available]
    blocked = [name for name in missing if name in config.disable]
    unknown = [name for name in missing if name not in config.disable]
    if unknown:
        known = ", ".join(sorted(available)) or "none"
        raise ConfigError(f"unknown linter {unknown[0]!r} in `linters` (registered: {known})")
    return [available[name] for name in config.linters if name not in blocked]
