"""Deterministic fixes of many files at once: one sandbox, one relint, one write-back.

An AI agent needs a sandbox of its own per file, since it may touch any path. A deterministic
fixer with a batch entry point (:class:`stomper.types.BatchAgent`, e.g. ``ruff-fix``) edits
only the files it is given, all in one process. When the whole chain is such fixers and every
validator is ``batchable``, :func:`stomper.engine.run_fix` takes this path instead of the graph
(LangGraph is not even imported):

1. lint the targets in the user's tree (unless the caller already did);
2. take the snapshot and lease one sandbox; lint the targets there (with a project-wide
   linter, the files importing them too). A file whose targeted diagnostics do not reproduce
   there is skipped, as on the per-file path;
3. for each agent of the chain: ``fix_batch`` on every file with something left; a path
   changed outside the requested files rejects the whole step; one relint of everything; the
   validators file by file, each with that file's bytes, diagnostics and changed paths; a
   rejected file gets its last accepted bytes back. With a project-wide linter, a file that
   got new diagnostics blames the fixes it imports, those are undone too, and the relint
   repeats until nothing more is undone: what is kept was judged all together, as it is
   written, so no separate whole-run check is needed;
4. the kept bytes go to the user's tree in one locked, journaled compare-and-swap
   (:func:`stomper.apply.write_back_many`); one commit per file when commits are on.

The guarantees stay those of the per-file path: the user's tree only ever receives bytes the
linters and validators accepted, each file by compare-and-swap against the snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stomper.diagnostics import apply_filters, by_file, collect
from stomper.engine.events import emit_validated
from stomper.engine.outcome import deny_note, fixed_of, still_targeted, unified_diff
from stomper.engine.regressions import culprits, regressions
from stomper.engine.relint import run_validators, unreproduced
from stomper.faults import afault
from stomper.sandbox import changed_paths, clean_leftovers, read_file, reset_path, write_file
from stomper.types import BatchAgent, FileResult, FixRequest, ValidationContext, Verdict

if TYPE_CHECKING:
    from collections.abc import Iterable

    from stomper.engine.context import FixContext
    from stomper.sandbox import Sandbox
    from stomper.types import ChangedPath, Diagnostic, FileStatus

__all__ = ["batchable", "run_batch"]

# Beyond its own timeout, how long a batch fixer gets to stop before stomper cancels it.
_GRACE_SECONDS = 10.0
ENGINE = "engine"
_NO_CHANGE = "no change"


def batchable(context: FixContext) -> bool:
    """Whether this run can take the batched path: a chain of batch fixers only, validators
    that judge only what they are given."""
    return (
        bool(context.chain)
        and all(
            agent.kind == "deterministic" and isinstance(agent, BatchAgent)
            for agent in context.chain
        )
        and all(getattr(validator, "batchable", False) is True for validator in context.validators)
    )


@dataclasses.dataclass
class _File:
    """One file's progress through the batch (the per-file path's FileState, in small)."""

    path: str
    targeted: tuple[Diagnostic, ...]
    original: bytes = b""
    accepted: bytes = b""
    baseline: tuple[Diagnostic, ...] = ()
    remaining: tuple[Diagnostic, ...] = ()
    status: FileStatus | None = None
    agents: list[str] = dataclasses.field(default_factory=list)
    attempts: int = 0
    notes: list[str] = dataclasses.field(default_factory=list)
    error: str | None = None
    stopped: bool = False  # an agent failed on it: no further agent, earlier fixes still count
    commit: str | None = None
    left: bytes | None = None  # what the run left in the user's file, once known

    def result(self, duration: float, *, diff: bool = True) -> FileResult:
        status = self.status or "unchanged"
        applied = status in ("fixed", "partially-fixed")
        remaining = self.remaining if applied else self.targeted
        proposed = diff and self.accepted != self.original
        return FileResult(
            path=self.path,
            status=status,
            fixed=fixed_of(self.targeted, remaining),
            remaining=tuple(remaining),
            attempts=self.attempts,
            agent=", ".join(dict.fromkeys(self.agents)) or None,
            diff=unified_diff(self.path, self.original, self.accepted) if proposed else "",
            error=self.error,
            duration=duration,
            commit=self.commit,
            notes=tuple(self.notes),
            sha256=hashlib.sha256(self.left).hexdigest() if self.left is not None else None,
        )


async def run_batch(
    context: FixContext, files: Sequence[str], collected: Sequence[Diagnostic] | None
) -> dict[str, Any]:
    """The run graph's work, batched; returns what the run graph's final state would hold."""
    started = time.monotonic()
    removed = await asyncio.to_thread(clean_leftovers, context.root)
    if collected is None:
        context.stage("", "collecting", f"{len(files)} files")
        collected = await asyncio.to_thread(collect, context.linters, context.root, files)
    baseline = by_file(apply_filters(collected, context.relint_config))
    targeted = apply_filters(collected, context.config)
    states = {
        path: _File(path, tuple(found), baseline=tuple(baseline[path]))
        for path, found in by_file(targeted).items()
    }
    for path in states:
        context.stage(path, "queued")
    if states:
        await _fix_all(context, states)
    results = []
    for state in states.values():
        result = state.result(time.monotonic() - started, diff=context.diffs)
        context.file_done(result)
        results.append(result)
    remaining = [d for result in results for d in result.remaining]
    await asyncio.to_thread(context.plugins.session_finish, results, 1 if remaining else 0)
    return {
        "results": results,
        "baseline": tuple(targeted),
        "files_checked": len(files),
        "notes": list(context.notes),
        "removed": removed,
        "exit_code": 1 if remaining else 0,
    }


async def _fix_all(context: FixContext, states: Mapping[str, _File]) -> None:
    """Steps 2 to 4 of the module docstring, for every file with something to fix."""
    resources = context.resources
    seed = [".mypy_cache"] if any(linter.name == "mypy" for linter in context.linters) else []
    # Batch fixers write only the files they are given: the sandbox's size is known.
    await resources.open(context.root, context.run_id, 1, seed, context.config.deny, memory=True)
    assert resources.sandboxes is not None
    # The write-back's files are made from here on, while the fixes are made and proven.
    temporaries = None if context.dry_run else _make_temporaries(context, len(states))
    try:
        await _fix_in_sandbox(context, states, temporaries)
    finally:
        await _made(temporaries)  # never still making files in the run's directory as it ends
        if temporaries is not None:
            await _keep_temporaries(context)


async def _keep_temporaries(context: FixContext) -> None:
    """Leave the write-back's temporary files to the next run (see :mod:`stomper.spares`)."""
    from stomper.apply import keep_temporaries

    snapshot = context.resources.snapshot
    assert snapshot is not None
    with contextlib.suppress(OSError):  # not kept: the run's clean-up removes them
        await asyncio.to_thread(keep_temporaries, snapshot)


async def _fix_in_sandbox(
    context: FixContext,
    states: Mapping[str, _File],
    temporaries: asyncio.Future[list[Path]] | None,
) -> None:
    """Fix, prove and write back ``states`` in the run's one sandbox."""
    sandboxes = context.resources.sandboxes
    assert sandboxes is not None
    # Never handed back: the pool's close removes it, cheaper than resetting it for no one.
    sandbox = await sandboxes.acquire("batch")
    await afault("sandbox-created")
    # The pristine sandbox holds the snapshot's bytes (no conversion): read them there, not
    # one object at a time. write_back_many checks them against the snapshot's object ids.
    originals = await asyncio.to_thread(lambda: {p: read_file(sandbox.root / p) for p in states})
    for state in states.values():
        context.stage(state.path, "sandbox")
        original = originals[state.path]
        if original is None:
            state.status = "skipped"
            denied = deny_note(state.path, context.config.deny)
            missing = f"not in the snapshot, skipped: {state.path} is not a file there"
            state.notes.append(denied or missing)
        else:
            state.original = state.accepted = original
    batch = _Batch(context, sandbox, [s for s in states.values() if s.status is None])
    try:
        await batch.reproduce()
        for agent in context.chain:
            if isinstance(agent, BatchAgent):  # always, see batchable()
                await batch.step(agent)
    except Exception as error:  # a linter failed in the sandbox: nothing can be proven
        for state in batch.files.values():
            state.status, state.error = "failed", f"{type(error).__name__}: {error}"
        return
    # The sandbox has served: remove it while the fixes are written back.
    closing = asyncio.ensure_future(sandboxes.close())
    try:
        await _apply(context, list(batch.files.values()), await _made(temporaries))
    finally:
        await closing


def _make_temporaries(context: FixContext, count: int) -> asyncio.Future[list[Path]]:
    """Start making the write-back's files, while the fixes are proven (see
    :func:`stomper.apply.make_temporaries`)."""
    from stomper.apply import make_temporaries

    snapshot = context.resources.snapshot
    assert snapshot is not None
    return asyncio.ensure_future(asyncio.to_thread(make_temporaries, snapshot, count))


async def _made(temporaries: asyncio.Future[list[Path]] | None) -> list[Path]:
    """The temporary files made for the write-back; none when making them failed (the
    write-back then makes its own), or when it was not started."""
    if temporaries is None:
        return []
    try:
        return await asyncio.shield(temporaries)
    except OSError:
        return []


class _Batch:
    """The files of the batch in their shared sandbox, and the linters' view of them."""

    def __init__(self, context: FixContext, sandbox: Sandbox, files: Sequence[_File]) -> None:
        self.context = context
        self.sandbox = sandbox
        self.files = {state.path: state for state in files}
        self.project_wide = any(linter.project_wide for linter in context.linters)
        self.lint_paths: list[str] = sorted(self.files)
        # What the linters say now about each linted path, in the sandbox.
        self.current: dict[str, list[Diagnostic]] = {}

    async def reproduce(self) -> None:
        """Lint in the sandbox; skip the files whose targeted diagnostics are not there."""
        if self.project_wide:
            from stomper.importers import importers_of, python_files

            root = self.sandbox.root
            candidates = await asyncio.to_thread(lambda: list(python_files(root)))
            found = await asyncio.to_thread(importers_of, root, sorted(self.files), candidates)
            self.lint_paths = sorted({*self.files, *found})
        self.current = await self._lint()
        for state in list(self.files.values()):
            in_sandbox = tuple(self.current.get(state.path, ()))
            missing = unreproduced(state.targeted, in_sandbox)
            if missing:
                listed = ", ".join(f"{d.code} (line {d.line})" for d in missing)
                state.status = "skipped"
                state.notes.append(
                    f"skipped: the sandbox does not reproduce {listed}; the linters see the "
                    "file differently there (an ignored config file or generated code?)"
                )
                del self.files[state.path]
                continue
            # Attempts are judged against what the linters say in the sandbox.
            state.baseline, state.remaining = in_sandbox, state.targeted

    async def _lint(self) -> dict[str, list[Diagnostic]]:
        """Every linter on :attr:`lint_paths` in the sandbox, concurrently."""
        root, paths = self.sandbox.root, self.lint_paths

        async def one(linter: Any) -> list[Diagnostic]:
            try:
                found: list[Diagnostic] = await asyncio.to_thread(linter.lint, root, paths)
            except Exception as error:
                raise RuntimeError(
                    f"linter {linter.name!r} failed in the sandbox: {type(error).__name__}: {error}"
                ) from error
            return found

        batches = await asyncio.gather(*(one(linter) for linter in self.context.linters))
        found = [d for batch in batches for d in batch]
        return by_file(apply_filters(found, self.context.relint_config))

    async def step(self, agent: BatchAgent) -> None:
        """One agent over every file with something left, judged and kept or undone."""
        todo = [s for s in self.files.values() if s.remaining and not s.stopped]
        if not todo:
            return
        for state in todo:
            self.context.stage(state.path, "fixing", f"{agent.name}, attempt 1")
            state.attempts += 1
        failure = await self._call(agent, todo)
        changes = await changed_paths(self.sandbox)
        stray = self._stray([state.path for state in todo], changes)
        if failure is not None or stray:
            for state in todo:
                if failure is not None:
                    state.error, state.stopped = failure, True
                else:
                    listed = ", ".join(stray[:5])
                    state.notes.append(
                        f"{agent.name} rejected: it changed paths outside the batch: {listed}"
                    )
            for path in stray:  # a path outside the batch, or a batch file not asked for
                await reset_path(self.sandbox, path)
            await self._restore([*todo, *(self.files[p] for p in stray if p in self.files)])
            return
        await self._judge(agent.name, todo, changes)

    async def _call(self, agent: BatchAgent, todo: Sequence[_File]) -> str | None:
        """Run the agent; the error that ends these files, or None."""
        config = self.context.config
        requests = [
            FixRequest(
                root=self.sandbox.root,
                path=state.path,
                diagnostics=state.remaining,
                timeout=config.agent_timeout,
                options=config.plugin_options(agent.name),
            )
            for state in todo
        ]
        try:
            outcomes = await asyncio.wait_for(
                agent.fix_batch(requests), timeout=config.agent_timeout + _GRACE_SECONDS
            )
        except asyncio.TimeoutError:
            for state in todo:
                state.notes.append(f"{agent.name} attempt 1: cancelled after its timeout")
            return None  # whatever it left is still judged (and most likely rejected)
        except Exception as error:
            return f"agent {agent.name!r} raised {type(error).__name__}: {error}"
        if len(outcomes) != len(todo):
            return f"agent {agent.name!r} returned {len(outcomes)} outcomes for {len(todo)} files"
        return None

    def _stray(self, requested: Sequence[str], changes: Sequence[ChangedPath]) -> list[str]:
        """Paths the step changed besides the requested files (or their earlier fixes)."""
        allowed = set(requested)
        stray = []
        for change in changes:
            if change.path in allowed or self._kept(change):
                continue
            stray.append(change.path)
        return stray

    def _kept(self, change: ChangedPath) -> bool:
        """A file of the batch an earlier agent fixed, still holding exactly those bytes."""
        state = self.files.get(change.path)
        if state is None or change.change != "modified":
            return False
        return read_file(self.sandbox.root / change.path) == state.accepted

    async def _judge(
        self, agent: str, todo: Sequence[_File], changed: Sequence[ChangedPath]
    ) -> None:
        """Validate every candidate (``changed``: the sandbox's changes after the step), undo
        the rejected ones until the rest holds together."""
        pending = {state.path: state for state in todo}
        root = self.sandbox.root
        candidates = await asyncio.to_thread(lambda: {p: read_file(root / p) for p in pending})
        for state in todo:
            self.context.stage(state.path, "validating")
        before = self.current
        changes = _by_path(changed)
        # Validators that never read what the linters say judge while the linters run.
        early = asyncio.ensure_future(
            asyncio.to_thread(self._early_verdicts, dict(pending), candidates, changes)
        )
        try:
            after = await self._lint()
        finally:
            judged = await early
        while pending:
            verdicts = await asyncio.to_thread(
                self._verdicts, pending, candidates, after, changes, judged
            )
            rejected = {path: why for path, why in verdicts.items() if why is not None}
            if self.project_wide:
                others = {p: d for p, d in after.items() if p not in pending or p in rejected}
                broken = regressions(before, others)
                blamed = culprits(
                    broken, _importers(self.sandbox.root, broken, pending), list(pending)
                )
                for path, what in blamed.items():
                    if path in pending and path not in rejected:
                        rejected[path] = f"the fix broke {what}"
            if not rejected:
                self._accept(agent, pending.values(), candidates, after)
                return
            for path, why in rejected.items():
                state = pending.pop(path)
                outcome = why if why == _NO_CHANGE else f"rejected: {why}"
                state.notes.append(f"{agent} attempt 1 {outcome}")
            await self._restore([self.files[path] for path in rejected])
            if not self.project_wide:
                # Each file is judged alone: the others' verdicts stand, and a rejected file
                # (its bytes back as they were) says what it said before.
                self._accept(agent, pending.values(), candidates, after)
                for path in rejected:
                    self.current[path] = list(before.get(path, ()))
                return
            after = await self._lint()
        self.current = after

    def _early_verdicts(
        self,
        pending: Mapping[str, _File],
        candidates: Mapping[str, bytes | None],
        changes: Mapping[str, Sequence[ChangedPath]],
    ) -> dict[str, dict[int, Verdict]]:
        """The verdicts of the validators that declare ``reads_after = False``, by path and
        validator (position in the chain), made before the linters have spoken."""
        validators = self.context.validators
        early = [i for i, v in enumerate(validators) if getattr(v, "reads_after", True) is False]
        judged: dict[str, dict[int, Verdict]] = {}
        for path, state in pending.items():
            candidate = candidates[path]
            if early and candidate is not None and candidate != state.accepted:
                context = self._validation(state, candidate, {}, changes.get(path, ()))
                chosen = [validators[i] for i in early]
                judged[path] = dict(zip(early, run_validators(chosen, context), strict=True))
        return judged

    def _verdicts(
        self,
        pending: Mapping[str, _File],
        candidates: Mapping[str, bytes | None],
        after: Mapping[str, Sequence[Diagnostic]],
        changes: Mapping[str, Sequence[ChangedPath]],
        judged: Mapping[str, Mapping[int, Verdict]],
    ) -> dict[str, str | None]:
        """Each pending file's verdict (in one worker thread: they are quick, and many)."""
        return {
            path: self._verdict(
                state, candidates[path], after, changes.get(path, ()), judged.get(path, {})
            )
            for path, state in pending.items()
        }

    def _verdict(
        self,
        state: _File,
        candidate: bytes | None,
        after: Mapping[str, Sequence[Diagnostic]],
        changed: Sequence[ChangedPath],
        judged: Mapping[int, Verdict],
    ) -> str | None:
        """Why the candidate is rejected, or None when every validator accepts it
        (``judged``: the verdicts already made, by validator)."""
        if candidate is None:
            return f"{state.path} was deleted or is no longer a file"
        if candidate == state.accepted:
            return _NO_CHANGE
        validators = self.context.validators
        rest = [i for i in range(len(validators)) if i not in judged]
        context = self._validation(state, candidate, after, changed)
        late = dict(zip(rest, run_validators([validators[i] for i in rest], context), strict=True))
        verdicts = [judged[i] if i in judged else late[i] for i in range(len(validators))]
        rejections = [verdict for verdict in verdicts if not verdict.ok]
        return "; ".join(f"{v.validator or ENGINE}: {v.message}" for v in rejections) or None

    def _validation(
        self,
        state: _File,
        candidate: bytes,
        after: Mapping[str, Sequence[Diagnostic]],
        changed: Sequence[ChangedPath],
    ) -> ValidationContext:
        return ValidationContext(
            root=self.sandbox.root,
            path=state.path,
            original=state.accepted,
            candidate=candidate,
            baseline=state.baseline,
            targeted=state.remaining,
            after=tuple(after.get(state.path, ())),
            changed=tuple(changed),
            linters=self.context.linters,
        )

    def _accept(
        self,
        agent: str,
        kept: Iterable[_File],
        candidates: Mapping[str, bytes | None],
        after: dict[str, list[Diagnostic]],
    ) -> None:
        for state in kept:
            candidate = candidates[state.path]
            assert candidate is not None  # a deleted file is always rejected
            state.accepted = candidate
            state.baseline = tuple(after.get(state.path, ()))
            state.remaining = still_targeted(state.remaining, state.baseline)
            state.agents.append(agent)
        self.current = after

    async def _restore(self, states: Sequence[_File]) -> None:
        """Put the files back to their last accepted bytes (a link or directory left at one
        first goes back to the snapshot's file)."""
        wanted = {state.path for state in states}
        for change in await changed_paths(self.sandbox):
            if change.path in wanted and change.change != "modified":
                await reset_path(self.sandbox, change.path)
        for state in states:
            await asyncio.to_thread(write_file, self.sandbox.root / state.path, state.accepted)


def _importers(
    root: Path, broken: Mapping[str, Sequence[Diagnostic]], touched: Mapping[str, _File]
) -> dict[str, set[str]]:
    from stomper.importers import importers_of

    return importers_of(root, sorted(touched), sorted(broken))


def _by_path(changes: Sequence[ChangedPath]) -> dict[str, list[ChangedPath]]:
    found: dict[str, list[ChangedPath]] = {}
    for change in changes:
        found.setdefault(change.path, []).append(change)
    return found


async def _apply(
    context: FixContext, files: Sequence[_File], temporaries: Sequence[Path] = ()
) -> None:
    """Write the improved files back (one batched compare-and-swap, filling ``temporaries``)
    and commit each."""
    from stomper.apply import write_back_many

    improved = [s for s in files if s.accepted != s.original and len(s.remaining) < len(s.targeted)]
    chosen = {state.path for state in improved}
    for state in files:
        if state.path not in chosen:
            state.status = "failed" if state.error else "unchanged"
            if not state.error:
                state.left = state.original  # read from the snapshot, never written
    for state in improved:
        context.stage(state.path, "writing")
        emit_validated(context.events, state.path, state.original, state.accepted)
        state.status = "partially-fixed" if state.remaining else "fixed"
    if context.dry_run:
        for state in improved:
            state.notes.append("dry run: nothing written")
            state.left = state.original
        return
    snapshot = context.resources.snapshot
    assert snapshot is not None
    fixes = {state.path: (state.original, state.accepted) for state in improved}
    outcomes = await asyncio.to_thread(write_back_many, snapshot, fixes, temporaries)
    for state in improved:
        outcome = outcomes[state.path]
        if not outcome.written:
            state.status = "conflict"
            state.notes.append(f"not written: {outcome.reason}")
        else:
            state.left = state.accepted
    if context.config.commit:
        for state in improved:
            if state.status != "conflict":
                await _commit(context, state)


async def _commit(context: FixContext, state: _File) -> None:
    from stomper.apply import commit_file

    snapshot = context.resources.snapshot
    assert snapshot is not None
    context.stage(state.path, "committing")
    codes = ", ".join(sorted({d.code for d in fixed_of(state.targeted, state.remaining)}))
    message = context.config.commit_style.format(codes=codes, path=state.path)
    try:
        outcome = await asyncio.to_thread(
            commit_file, snapshot, state.path, state.accepted, message
        )
    except Exception as error:
        # The fix is already in the user's tree; a failed commit must not hide that.
        state.notes.append(f"not committed: {type(error).__name__}: {error}")
        return
    if outcome.commit is None:
        state.notes.append(f"not committed: {outcome.reason}")
    state.commit = outcome.commit
