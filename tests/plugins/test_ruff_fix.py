"""The ``ruff-fix`` agent with real ruff on real files, and a fake ruff for the hard cases."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from stomper import (
    Agent,
    ChangedPath,
    Diagnostic,
    FatalError,
    FixOutcome,
    FixRequest,
    ValidationContext,
)
from stomper.config import Config, default_config
from stomper.testing import plugins_with

UNUSED_AND_UNSORTED = b"import sys\nimport os\nimport json\n\nprint(sys.argv, json.dumps(1))\n"
UNSAFE_ONLY = b"values = dict()\nprint(values)\n"


def diagnostic(code: str, message: str, line: int = 1, *, fixable: bool = True) -> Diagnostic:
    return Diagnostic("ruff", "pkg/mod.py", line, 1, code, message, fixable=fixable)


F401 = diagnostic("F401", "`os` imported but unused", 2)
I001 = diagnostic("I001", "Import block is un-sorted or un-formatted")
C408 = diagnostic("C408", "Unnecessary `dict()` call (rewrite as a literal)")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A sandbox-like tree with its own ruff configuration (isort and comprehension rules)."""
    root = tmp_path / "sandbox"
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.ruff.lint]\nselect = ["F", "I", "C4"]\n')
    return root


def agent_for(root: Path, **changes: object) -> Agent:
    config: Config = default_config(root)
    if changes:
        config = config.replace(**changes)
    return plugins_with().agents(config)["ruff-fix"]


def fix(agent: Agent, root: Path, *diagnostics: Diagnostic, timeout: float = 60) -> FixOutcome:
    request = FixRequest(root, "pkg/mod.py", diagnostics, timeout=timeout)
    return asyncio.run(agent.fix(request))


def test_registered_as_an_available_deterministic_agent(project: Path) -> None:
    agent = agent_for(project)
    assert isinstance(agent, Agent)
    assert agent.kind == "deterministic"
    assert agent.available() is None


def test_fixes_only_the_targeted_code(project: Path) -> None:
    target = project / "pkg/mod.py"
    target.write_bytes(UNUSED_AND_UNSORTED)
    outcome = fix(agent_for(project), project, F401)
    assert outcome == FixOutcome("ruff-fix", True, "ruff applied fixes for F401")
    # The import block stays unsorted: I001 was not asked for.
    assert target.read_bytes() == b"import sys\nimport json\n\nprint(sys.argv, json.dumps(1))\n"
    assert sorted(path.name for path in project.iterdir()) == ["pkg", "pyproject.toml"]


def test_fixes_several_codes_at_once(project: Path) -> None:
    target = project / "pkg/mod.py"
    target.write_bytes(UNUSED_AND_UNSORTED)
    outcome = fix(agent_for(project), project, I001, F401)
    assert outcome.claimed_success
    assert target.read_bytes() == b"import json\nimport sys\n\nprint(sys.argv, json.dumps(1))\n"


def test_unsafe_fix_only_when_configured(project: Path) -> None:
    target = project / "pkg/mod.py"
    target.write_bytes(UNSAFE_ONLY)
    outcome = fix(agent_for(project), project, C408)
    assert not outcome.claimed_success
    assert "unsafe fixes are off" in outcome.message
    assert "still reported: C408" in outcome.message
    assert target.read_bytes() == UNSAFE_ONLY

    outcome = fix(agent_for(project, unsafe_fixes=True), project, C408)
    assert outcome.claimed_success
    assert target.read_bytes() == b"values = {}\nprint(values)\n"


def test_user_unsafe_fixes_setting_does_not_override_stomper(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.ruff]\nunsafe-fixes = true\n[tool.ruff.lint]\nselect = ["C4"]\n'
    )
    (project / "pkg/mod.py").write_bytes(UNSAFE_ONLY)
    assert not fix(agent_for(project), project, C408).claimed_success
    assert (project / "pkg/mod.py").read_bytes() == UNSAFE_ONLY


@pytest.mark.parametrize(
    "diagnostics",
    [
        (),
        (Diagnostic("mypy", "pkg/mod.py", 1, 1, "name-defined", 'Name "x" is not defined'),),
        (diagnostic("F821", "Undefined name `x`", fixable=False),),
        (diagnostic("invalid-syntax", "Expected an expression"),),
    ],
    ids=["nothing", "mypy-only", "not-fixable", "syntax-error"],
)
def test_does_nothing_without_a_fixable_ruff_diagnostic(
    project: Path, diagnostics: tuple[Diagnostic, ...]
) -> None:
    # An executable that does not exist proves ruff is never started.
    agent = agent_for(project, plugins={"ruff-fix": {"executable": "/nonexistent/ruff"}})
    (project / "pkg/mod.py").write_bytes(UNUSED_AND_UNSORTED)
    outcome = fix(agent, project, *diagnostics)
    assert outcome == FixOutcome("ruff-fix", False, "no targeted diagnostic has a ruff fix")
    assert (project / "pkg/mod.py").read_bytes() == UNUSED_AND_UNSORTED


def test_not_available_when_ruff_is_missing(project: Path) -> None:
    agent = agent_for(project, plugins={"ruff-fix": {"executable": "/nonexistent/ruff"}})
    reason = agent.available()
    assert reason is not None
    assert "/nonexistent/ruff not found" in reason
    (project / "pkg/mod.py").write_bytes(UNUSED_AND_UNSORTED)
    outcome = fix(agent, project, F401)
    assert not outcome.claimed_success
    assert "not found" in outcome.message


def test_uses_the_ruff_linter_executable_when_its_own_is_unset(project: Path) -> None:
    agent = agent_for(project, plugins={"ruff": {"executable": "/nonexistent/ruff"}})
    assert "/nonexistent/ruff not found" in (agent.available() or "")


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"ruff-fix": {"executable": 3}}, "ruff-fix] executable: expected a non-empty string"),
        ({"ruff-fix": {"path": "ruff"}}, "unknown option 'path'"),
        ({"ruff": {"args": "--preview"}}, "ruff] args: expected a list of strings"),
    ],
)
def test_bad_options(project: Path, options: dict[str, object], error: str) -> None:
    with pytest.raises(FatalError, match="ruff") as raised:
        agent_for(project, plugins=options)
    assert error in str(raised.value)


def fake_ruff(root: Path, body: str) -> Path:
    script = root.parent / "fake-ruff"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return script


def wait_for(path: Path) -> int:
    deadline = time.monotonic() + 10
    while not path.exists() or not path.read_text().strip():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)
    return int(path.read_text())


def gone(pid: int) -> bool:
    """Whether ``pid`` ends within a few seconds (a killed orphan waits for init to reap it)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if _state(pid) in ("Z", ""):
            return True
        time.sleep(0.02)
    return False


def _state(pid: int) -> str | None:
    """The process state letter from /proc ("" once gone), None where there is no /proc."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except FileNotFoundError:
        return "" if Path("/proc/self").exists() else None


def hanging_agent(project: Path) -> tuple[Agent, Path]:
    """An agent whose "ruff" starts a grandchild, records its pid, and hangs."""
    pid_file = project.parent / "grandchild.pid"
    script = fake_ruff(project, f"sleep 60 & echo $! > {pid_file}\nwait")
    (project / "pkg/mod.py").write_bytes(UNUSED_AND_UNSORTED)
    return agent_for(project, plugins={"ruff-fix": {"executable": str(script)}}), pid_file


def test_killed_with_its_children_at_the_timeout(project: Path) -> None:
    agent, pid_file = hanging_agent(project)
    started = time.monotonic()
    outcome = fix(agent, project, F401, timeout=0.5)
    assert time.monotonic() - started < 5
    assert outcome == FixOutcome("ruff-fix", False, "ruff did not finish within 0.5 s")
    assert gone(wait_for(pid_file))


def test_killed_with_its_children_when_cancelled(project: Path) -> None:
    agent, pid_file = hanging_agent(project)

    async def cancel_midway() -> None:
        task = asyncio.create_task(agent.fix(FixRequest(project, "pkg/mod.py", (F401,))))
        while not pid_file.exists():  # the event loop stays free while ruff runs
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_midway())
    assert gone(wait_for(pid_file))


def test_a_crashing_ruff_is_reported(project: Path) -> None:
    script = fake_ruff(project, "echo 'error: unexpected argument' >&2\nexit 2")
    (project / "pkg/mod.py").write_bytes(UNUSED_AND_UNSORTED)
    agent = agent_for(project, plugins={"ruff-fix": {"executable": str(script)}})
    outcome = fix(agent, project, F401)
    assert outcome == FixOutcome("ruff-fix", False, "ruff failed (2): error: unexpected argument")


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"], ids=["lf", "crlf"])
def test_ruff_fixes_pass_the_validators(project: Path, newline: bytes) -> None:
    """Real diagnostics from the ruff linter, fixed by ruff-fix, judged by the validators."""
    modules = [f"mod{n:02}" for n in range(60)]
    source = [*(f"import {name}" for name in reversed(modules)), "import os", ""]
    source += [f"print({name})" for name in modules]
    original = newline.join(line.encode() for line in source) + newline
    target = project / "pkg/mod.py"
    target.write_bytes(original)
    config = default_config(project)
    plugins = plugins_with()
    before = plugins.linters(config)["ruff"].lint(project, ["pkg/mod.py"])
    assert {d.code for d in before} == {"F401", "I001"}

    assert fix(plugins.agents(config)["ruff-fix"], project, *before).claimed_success
    candidate = target.read_bytes()
    after = plugins.linters(config)["ruff"].lint(project, ["pkg/mod.py"])
    context = ValidationContext(
        project, "pkg/mod.py", original, candidate, tuple(before), tuple(before), tuple(after),
        (ChangedPath("pkg/mod.py", "modified"),),
    )  # fmt: skip
    verdicts = {name: v.validate(context) for name, v in plugins.validators(config).items()}
    assert all(verdict.ok for verdict in verdicts.values()), verdicts
    # Every line keeps the file's line ending.
    assert candidate.count(newline) == candidate.count(b"\n") == 122


def test_hook_registers_exactly_the_agent(project: Path) -> None:
    from stomper_plugins.ruff_fix import stomper_register_agents

    registered: list[Agent] = []
    stomper_register_agents(register=registered.append, config=default_config(project))
    assert [agent.name for agent in registered] == ["ruff-fix"]
