"""The data and roles that plugins see.

Everything here is plain, immutable data (NamedTuples) or a structural role (Protocol), so a
plugin never depends on how stomper's engine is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal, NamedTuple, Protocol, runtime_checkable

AgentKind = Literal["deterministic", "ai"]
FileStatus = Literal["fixed", "partially-fixed", "unchanged", "failed", "skipped", "conflict"]
Severity = Literal["error", "warning", "note"]


class Diagnostic(NamedTuple):
    """One problem a linter reported.

    ``path`` is POSIX and relative to the repository root; ``line`` and ``column`` are 1-based
    for every linter.
    """

    linter: str
    path: str
    line: int
    column: int
    code: str
    message: str
    end_line: int | None = None
    end_column: int | None = None
    fixable: bool = False
    url: str | None = None
    severity: Severity = "error"
    notes: tuple[str, ...] = ()

    @property
    def identity(self) -> tuple[str, str, str]:
        """What stays the same when an edit elsewhere shifts lines: linter, code, message."""
        return (self.linter, self.code, self.message)


class FixRequest(NamedTuple):
    """What an agent is asked to do: fix ``path`` inside the sandbox at ``root``."""

    root: Path
    path: str
    diagnostics: tuple[Diagnostic, ...]
    attempt: int = 1
    feedback: str | None = None
    prompt: str = ""
    timeout: float = 300.0
    options: Mapping[str, object] = {}


class FixOutcome(NamedTuple):
    """What an agent says it did. stomper believes only its own validation, never this."""

    agent: str
    claimed_success: bool
    message: str = ""
    cost_usd: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None


class Verdict(NamedTuple):
    """A validator's judgement of a candidate fix; ``message`` becomes the next feedback."""

    ok: bool
    message: str = ""
    validator: str = ""


class ChangedPath(NamedTuple):
    """One path that differs between the snapshot and the sandbox after an agent ran."""

    path: str
    change: Literal["added", "deleted", "modified", "renamed", "mode", "type"]


class ValidationContext(NamedTuple):
    """Everything a validator may look at to judge one candidate fix.

    ``root`` is the sandbox holding the candidate; ``original`` the file's bytes before this
    attempt and ``candidate`` after it; ``baseline`` every diagnostic the file had before,
    ``targeted`` those the agent was asked to fix, ``after`` what the enabled linters report on
    the candidate (run once by the engine, shared by all validators); ``changed`` every path
    the attempt touched in the sandbox.
    """

    root: Path
    path: str
    original: bytes
    candidate: bytes
    baseline: tuple[Diagnostic, ...]
    targeted: tuple[Diagnostic, ...]
    after: tuple[Diagnostic, ...]
    changed: tuple[ChangedPath, ...]
    linters: Sequence[Linter] = ()
    options: Mapping[str, object] = {}


class FileResult(NamedTuple):
    """How one file ended up after a run.

    ``diff`` is the unified diff of the fix proposed for the file; empty when none was, or
    when the run was told no one reads it (``run_fix(diffs=False)``: ``stomper fix`` makes
    diffs only when it shows or reports them, or a plugin takes the results). ``sha256`` is
    the hash of the bytes the run left in the file (written, or found and left alone), when
    the run knows them; ``--resume`` compares the file with it.
    """

    path: str
    status: FileStatus
    fixed: tuple[Diagnostic, ...] = ()
    remaining: tuple[Diagnostic, ...] = ()
    attempts: int = 0
    agent: str | None = None
    diff: str = ""
    error: str | None = None
    cost: float | None = None
    duration: float = 0.0
    commit: str | None = None
    notes: tuple[str, ...] = ()
    sha256: str | None = None


@runtime_checkable
class Linter(Protocol):
    """Finds problems. ``lint`` runs once over many files; it may block (stomper runs it in a
    thread). ``project_wide`` linters (mypy) judge a file in the context of the whole project."""

    @property
    def name(self) -> str: ...

    @property
    def project_wide(self) -> bool: ...

    def lint(self, root: Path, paths: Sequence[str]) -> list[Diagnostic]: ...


@runtime_checkable
class Agent(Protocol):
    """Fixes problems by editing files inside the sandbox it is given."""

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> AgentKind: ...

    def available(self) -> str | None:
        """None when ready to work, otherwise the reason it is not."""
        ...

    async def fix(self, request: FixRequest) -> FixOutcome: ...


@runtime_checkable
class BatchAgent(Agent, Protocol):
    """A deterministic agent that can also fix many files in one call (optional).

    ``fix_batch`` gets one request per file, all with the same ``root`` (one sandbox holding
    every file of the batch), and returns one outcome per request, in order. It must edit only
    the requested files, each as :meth:`fix` would alone. When every agent of the chain is
    one and every validator is ``batchable``, stomper fixes all files in one sandbox
    instead of one sandbox per file (see :mod:`stomper.engine.batch`).
    """

    async def fix_batch(self, requests: Sequence[FixRequest]) -> list[FixOutcome]: ...


@runtime_checkable
class Validator(Protocol):
    """Judges one candidate fix. ``validate`` may block (stomper runs it in a thread).

    A validator may declare ``batchable = True`` when its verdict depends only on what the
    :class:`ValidationContext` holds (bytes, diagnostics, changed paths, the target's own
    path in ``root``), not on the other files of the sandbox: then it can judge fixes made to
    many files in one sandbox. Without that attribute a run keeps one sandbox per file.
    One that never reads ``context.after`` (what the linters say after the fix) may declare
    ``reads_after = False``: the batched path then runs it while the linters are still at
    work, with ``after`` empty.
    """

    @property
    def name(self) -> str: ...

    def validate(self, context: ValidationContext) -> Verdict: ...
