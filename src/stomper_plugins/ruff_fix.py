"""Built-in plugin ``ruff-fix``: ruff's own fixes as a deterministic agent.

Runs ``ruff check --fix --select <targeted codes> -- <file>`` in the sandbox. Selecting only
the targeted codes keeps the diff minimal (no fix of a rule nobody asked about) and keeps the
``relint`` comparison honest; the rest of the user's ruff configuration (per-file ignores,
``unfixable``, ``target-version``) still applies. Unsafe fixes follow stomper's
``unsafe_fixes`` key, never the user's ruff setting, so stomper's default stays safe.

Options: ``[tool.stomper.plugins.ruff-fix] executable`` (path or name of ruff); when unset,
the ``ruff`` linter's ``executable`` and ``args`` are used, so both run the same ruff.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from stomper import ConfigError, Diagnostic, FixOutcome, FixRequest, find_executable, hookimpl
from stomper_plugins._cli_linter import path_arguments
from stomper_plugins._options import reject_unknown, string_option

if TYPE_CHECKING:
    from stomper import Agent, AgentKind, Config

NAME = "ruff-fix"
# The ruff linter's code for a file ruff cannot parse; ruff has no fix for it.
_UNFIXABLE = frozenset({"invalid-syntax", "E999", ""})


@hookimpl
def stomper_register_agents(register: Callable[[Agent], None], config: Config) -> None:
    """Register the ``ruff-fix`` agent."""
    options = config.plugin_options(NAME)
    reject_unknown(NAME, options, ("executable",))
    linter_options = config.plugin_options("ruff")
    executable = string_option(NAME, options, "executable") or string_option(
        "ruff", linter_options, "executable"
    )
    register(RuffFixAgent(executable, _strings(linter_options.get("args", ())), config))


class RuffFixAgent:
    """Applies ruff's fixes for the targeted ruff diagnostics to one file in the sandbox."""

    name = NAME
    kind: AgentKind = "deterministic"

    def __init__(self, executable: str | None, args: Sequence[str], config: Config) -> None:
        self.executable = executable
        self.args = tuple(args)
        self.unsafe_fixes = config.unsafe_fixes

    def program(self) -> str | None:
        """The ruff to run, or None when there is none."""
        wanted = self.executable or "ruff"
        if os.sep in wanted or "/" in wanted:
            return wanted if os.path.isfile(wanted) and os.access(wanted, os.X_OK) else None
        return find_executable(wanted)

    def available(self) -> str | None:
        """None when ruff is found, else where it was looked for."""
        if self.program() is not None:
            return None
        return (
            f"{self.executable or 'ruff'} not found (looked beside {sys.executable} and on "
            f"PATH); install ruff or set [tool.stomper.plugins.{NAME}] executable"
        )

    async def fix(self, request: FixRequest) -> FixOutcome:
        """Run ruff's fixer on ``request.path``; claim success only if the file changed."""
        codes = self.codes(request.diagnostics)
        if not codes:
            return FixOutcome(NAME, False, "no targeted diagnostic has a ruff fix")
        program = self.program()
        if program is None:
            return FixOutcome(NAME, False, self.available() or "ruff not found")
        target = request.root / request.path
        try:
            before = target.read_bytes()
        except OSError as error:
            return FixOutcome(NAME, False, f"cannot read {request.path}: {error.strerror}")
        argv = [program, *self.command(codes), "--", _safe_path(request.path)]
        try:
            returncode, stdout, stderr = await run_process(argv, request.root, request.timeout)
        except asyncio.TimeoutError:
            return FixOutcome(NAME, False, f"ruff did not finish within {request.timeout:g} s")
        if returncode not in (0, 1):
            return FixOutcome(NAME, False, f"ruff failed ({returncode}): {_tail(stderr)}")
        changed = target.read_bytes() != before
        return FixOutcome(NAME, changed, _report(codes, changed, stdout, self.unsafe_fixes))

    async def fix_batch(self, requests: Sequence[FixRequest]) -> list[FixOutcome]:
        """:meth:`fix` for many files of one sandbox: one ruff process per distinct set of
        targeted codes (each file gets exactly the fixes it would get alone)."""
        outcomes: list[FixOutcome] = [
            FixOutcome(NAME, False, "no targeted diagnostic has a ruff fix") for _ in requests
        ]
        groups: dict[tuple[str, ...], list[int]] = {}
        for index, request in enumerate(requests):
            codes = tuple(self.codes(request.diagnostics))
            if codes:
                groups.setdefault(codes, []).append(index)
        program = self.program()
        for codes, indices in groups.items():
            chosen = [requests[index] for index in indices]
            if program is None:
                found = [FixOutcome(NAME, False, self.available() or "ruff not found")] * len(
                    chosen
                )
            else:
                found = await self._fix_group(program, codes, chosen)
            for index, outcome in zip(indices, found, strict=True):
                outcomes[index] = outcome
        return outcomes

    async def _fix_group(
        self, program: str, codes: Sequence[str], requests: Sequence[FixRequest]
    ) -> list[FixOutcome]:
        root, timeout = requests[0].root, max(request.timeout for request in requests)
        before = {request.path: _read(root / request.path) for request in requests}
        paths = [request.path for request in requests if before[request.path] is not None]
        with path_arguments(paths) as arguments:
            argv = [program, *self.command(codes), "--", *arguments]
            try:
                returncode, _, stderr = await run_process(argv, root, timeout)
            except asyncio.TimeoutError:
                failed = FixOutcome(NAME, False, f"ruff did not finish within {timeout:g} s")
                return [failed] * len(requests)
        if returncode not in (0, 1):
            failed = FixOutcome(NAME, False, f"ruff failed ({returncode}): {_tail(stderr)}")
            return [failed] * len(requests)
        outcomes = []
        for request in requests:
            original = before[request.path]
            if original is None:
                outcomes.append(FixOutcome(NAME, False, f"cannot read {request.path}"))
                continue
            changed = _read(root / request.path) != original
            outcomes.append(
                FixOutcome(NAME, changed, _report(codes, changed, b"", self.unsafe_fixes))
            )
        return outcomes

    def codes(self, diagnostics: Sequence[Diagnostic]) -> list[str]:
        """The distinct codes of the ruff diagnostics ruff says it can fix, in order."""
        found = (d.code for d in diagnostics if d.linter == "ruff" and d.fixable)
        return list(dict.fromkeys(code for code in found if code not in _UNFIXABLE))

    def command(self, codes: Sequence[str]) -> list[str]:
        """The arguments after the program, up to the path."""
        unsafe = "--unsafe-fixes" if self.unsafe_fixes else "--no-unsafe-fixes"
        # --no-cache: the sandbox is thrown away, and a .ruff_cache in it is a stray new path.
        return [
            "check",
            "--fix",
            unsafe,
            "--no-cache",
            "--force-exclude",
            "--output-format",
            "json",
            *self.args,
            "--select",
            ",".join(codes),
        ]


async def run_process(argv: Sequence[str], cwd: Path, timeout: float) -> tuple[int, bytes, bytes]:
    """Run ``argv`` without blocking the event loop; kill its process group on timeout or
    cancellation. Raises TimeoutError when ``timeout`` seconds pass."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    finally:
        if process.returncode is None:
            _kill_group(process.pid)
            await process.wait()
    return process.returncode or 0, stdout, stderr


def _kill_group(pid: int) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows has no process groups
            os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def _report(codes: Sequence[str], changed: bool, stdout: bytes, unsafe: bool) -> str:
    remaining = _remaining_codes(stdout)
    left = f"; still reported: {', '.join(remaining)}" if remaining else ""
    if changed:
        return f"ruff applied fixes for {', '.join(codes)}{left}"
    hint = "" if unsafe else " (unsafe fixes are off: unsafe_fixes = true allows them)"
    return f"ruff applied no fix for {', '.join(codes)}{hint}{left}"


def _remaining_codes(stdout: bytes) -> list[str]:
    try:
        items = json.loads(stdout)
    except ValueError:
        return []
    if not isinstance(items, list):
        return []
    codes = (item.get("code") for item in items if isinstance(item, dict))
    return sorted({str(code) for code in codes if code})


def _read(location: Path) -> bytes | None:
    try:
        with open(location, "rb", buffering=0) as file:  # unbuffered: a third of the cost
            return file.readall()
    except OSError:
        return None


def _strings(value: object) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        expected = "expected a list of strings"
        raise ConfigError(f"[tool.stomper.plugins.ruff] args: {expected}, got {value!r}")
    return list(value)


def _safe_path(path: str) -> str:
    # After "--" ruff takes it as a path anyway; "./" also stops "@name" being an argfile.
    return f"./{path}" if path[:1] in ("-", "@") else path


def _tail(output: bytes, limit: int = 500) -> str:
    text = output.decode(errors="replace").strip()
    return text if len(text) <= limit else "..." + text[-limit:]
