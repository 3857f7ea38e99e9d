"""The final whole-run check: fixes proven one by one may still break each other.

Each fix was validated alone, in a sandbox holding only that fix. After every write-back, one
pristine sandbox gets all the written fixes at once; the linters check the fixed files and the
files that import them there, before and after, and any diagnostic that was not there before is
a cross-file regression. (In a sandbox, not the user's tree: what the user edits meanwhile is
not stomper's doing.) Only a ``project_wide`` linter (mypy) can see one file's fix break
another; with none enabled the check is skipped.

Policy: a regression is reported with the fixes responsible (the touched files the regressed
file imports; all other touched files when it imports none of them), and each responsible fix is
reverted: its file gets its original bytes back by compare-and-swap, and when the fix was
committed a second stomper commit restores the file (history keeps both, nothing is
rewritten). Its result becomes ``failed`` with the reason. A fix the user has edited since is
left alone, and the run says so.

A dry run (``--dry-run``, ``--patch-out``) is checked the same way with the fixes it would have
written; a responsible fix is dropped from the run's results (so from the bundle), nothing
being there to revert.
"""

# No `from __future__ import annotations`: LangGraph reads the node's type hints at run time.

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from langgraph.runtime import Runtime
from langgraph.types import Overwrite

from stomper import journal
from stomper.diagnostics import apply_filters
from stomper.engine.context import FixContext
from stomper.engine.regressions import culprits, regressions
from stomper.engine.state import RunState
from stomper.importers import importers_of, python_files
from stomper.types import Diagnostic, FileResult

__all__ = ["final_check", "regressions"]

Update = dict[str, Any]
APPLIED = ("fixed", "partially-fixed")


class Revert(NamedTuple):
    """One fix undone by the final check, and how."""

    path: str
    broke: str
    done: bool
    how: str


async def final_check(state: RunState, runtime: Runtime[FixContext]) -> Update:
    """Check all written fixes together; revert the ones that broke another file."""
    context, results = runtime.context, state.get("results", [])
    if not any(linter.project_wide for linter in context.linters):
        return {}  # each file is judged alone: fixes to different files cannot interact
    written = _written(results, context)
    if not written or context.resources.sandboxes is None:
        return {}
    async with context.resources.sandboxes.open("final check") as sandbox:
        root = sandbox.root
        candidates = await asyncio.to_thread(lambda: list(python_files(root)))
        importers = await asyncio.to_thread(importers_of, root, sorted(written), candidates)
        paths = sorted({*written, *importers})
        before = _by_path(await _lint(context, root, paths))
        await asyncio.to_thread(_put, root, written)
        broken = regressions(before, _by_path(await _lint(context, root, paths)))
        if not broken:
            return {}
        commits = {result.path: result.commit for result in results}
        blamed = culprits(broken, importers, sorted(written))
        reverts = [
            Revert(path, why, True, "dropped from the dry run's fixes")
            if context.dry_run
            else await _revert(context, path, written[path], why, commits.get(path))
            for path, why in blamed.items()
        ]
        undone = {
            r.path: await asyncio.to_thread(_original, context, r.path) for r in reverts if r.done
        }
        await asyncio.to_thread(_put, root, undone)
        still = regressions(before, _by_path(await _lint(context, root, paths)))
    return _update(state, reverts, still, dry_run=context.dry_run)


def _written(results: Sequence[FileResult], context: FixContext) -> dict[str, bytes]:
    """The fixes this run wrote into the user's tree (a dry run: would have written):
    relative path -> the bytes."""
    if context.dry_run:
        proposed = context.resources.proposed
        return {
            r.path: proposed[r.path] for r in results if r.status in APPLIED and r.path in proposed
        }
    active = journal.active()
    if active is None:
        return {}
    root = context.root
    by_target = {Path(target): data for target, data in active.written.items()}
    found = {}
    for result in results:
        data = by_target.get(root / result.path)
        if result.status in APPLIED and data is not None:
            found[result.path] = data
    return found


async def _lint(context: FixContext, root: Path, paths: Sequence[str]) -> list[Diagnostic]:
    async def one(linter: Any) -> list[Diagnostic]:
        found: list[Diagnostic] = await asyncio.to_thread(linter.lint, root, list(paths))
        return found

    batches = await asyncio.gather(*(one(linter) for linter in context.linters))
    return apply_filters([d for batch in batches for d in batch], context.relint_config)


def _by_path(diagnostics: Sequence[Diagnostic]) -> dict[str, list[Diagnostic]]:
    found: dict[str, list[Diagnostic]] = {}
    for diagnostic in diagnostics:
        found.setdefault(diagnostic.path, []).append(diagnostic)
    return found


def _put(root: Path, files: Mapping[str, bytes]) -> None:
    for path, data in files.items():
        (root / path).write_bytes(data)


def _original(context: FixContext, path: str) -> bytes:
    from stomper.sandbox import snapshot_bytes

    snapshot = context.resources.snapshot
    assert snapshot is not None  # a fix was written, so the snapshot exists
    return snapshot_bytes(snapshot, path)


async def _revert(
    context: FixContext, path: str, fix: bytes, broke: str, commit: str | None
) -> Revert:
    """Put ``path`` back as it was, in the work tree and (if committed) in a new commit."""
    from stomper.apply import commit_file, compare_and_swap

    snapshot = context.resources.snapshot
    assert snapshot is not None
    original = await asyncio.to_thread(_original, context, path)
    outcome = await asyncio.to_thread(compare_and_swap, snapshot, path, fix, original)
    if not outcome.written:
        return Revert(path, broke, False, f"not reverted ({outcome.reason})")
    if commit is None:
        return Revert(path, broke, True, "reverted in the work tree")
    message = f"revert(lint): undo stomper's fix of {path}, it broke {broke.partition(' (')[0]}"
    # The fix commit is the "snapshot" of this revert: the file held its bytes there.
    async with context.resources.commit_lock:
        done = await asyncio.to_thread(
            commit_file, snapshot._replace(commit=commit), path, original, message
        )
    if done.commit is None:
        return Revert(path, broke, True, f"reverted in the work tree, {done.reason}")
    return Revert(path, broke, True, f"reverted in the work tree and by commit {done.commit[:12]}")


def _reverted(result: FileResult, revert: Revert, *, dry_run: bool) -> FileResult:
    what = "dropped" if dry_run else "reverted"
    return result._replace(
        status="failed",
        fixed=(),
        remaining=result.fixed + result.remaining,
        diff="",  # not in the tree (nor proposed) any more
        error=f"{what} by the final whole-run check: the fix broke {revert.broke}",
        commit=None,
        notes=(*result.notes, revert.how),
    )


def _update(
    state: RunState,
    reverts: Sequence[Revert],
    still: Mapping[str, Sequence[Diagnostic]],
    *,
    dry_run: bool,
) -> Update:
    by_path = {revert.path: revert for revert in reverts}
    results = []
    for result in state.get("results", []):
        revert = by_path.get(result.path)
        if revert is not None and revert.done:
            results.append(_reverted(result, revert, dry_run=dry_run))
        else:
            results.append(result)
    notes = [f"final check: the fix of {r.path} broke {r.broke}; {r.how}" for r in reverts]
    notes += [f"final check: {path} still has new diagnostics" for path in sorted(still)]
    remaining = any(result.remaining for result in results) or bool(still)
    return {"results": Overwrite(results), "notes": notes, "exit_code": 1 if remaining else 0}
