"""Every command-line adapter against a fake executable speaking its documented protocol.

The fake records how it was started; the command line is checked exactly, the environment
for scrubbing, stdin for being closed, and each output shape (including the error ones) for
what the adapter makes of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from fake_cli import TARGET, TARGET_TEXT, Fake, MakeFake, make_config, make_request

from stomper import Agent, Config, FixOutcome, FixRequest
from stomper_plugins.aider import AiderAgent
from stomper_plugins.claude import ClaudeAgent
from stomper_plugins.codex import CodexAgent
from stomper_plugins.cursor import CursorAgent
from stomper_plugins.gemini import GeminiAgent

EDIT = 'edit("import os\\n", "")\n'
Argv = Callable[[Fake, Path, str, str], list[str]]


class Case(NamedTuple):
    """One adapter: how to build it, what it must run, what a success looks like."""

    plugin: str
    factory: Callable[[Config], Agent]
    options: dict[str, Any]
    argv: Argv
    success: str
    parsed: tuple[float | None, int | None, int | None]
    own_keys: tuple[str, ...]


def claude_argv(fake: Fake, root: Path, prompt: str, scratch: str) -> list[str]:
    return [
        *(str(fake.path), "-p", prompt, "--output-format", "json"),
        *("--permission-mode", "acceptEdits", "--allowedTools", "Read,Edit,Write,Glob,Grep"),
        *("--max-turns", "7", "--max-budget-usd", "0.5", "--model", "sonnet"),
    ]


def codex_argv(fake: Fake, root: Path, prompt: str, scratch: str) -> list[str]:
    return [
        *(str(fake.path), "exec", "--json", "--sandbox", "workspace-write", "-C", str(root)),
        *("--skip-git-repo-check", "-m", "gpt-5", "--ephemeral", prompt),
    ]


def cursor_argv(fake: Fake, root: Path, prompt: str, scratch: str) -> list[str]:
    return [
        *(str(fake.path), "-p", "--force", "--output-format", "json", "--model", "m1"),
        *("--workspace", str(root), prompt),
    ]


def gemini_argv(fake: Fake, root: Path, prompt: str, scratch: str) -> list[str]:
    return [
        *(str(fake.path), "-p", prompt, "--output-format", "json"),
        *("--approval-mode", "auto_edit", "-m", "gemini-2.5-pro"),
    ]


def aider_argv(fake: Fake, root: Path, prompt: str, scratch: str) -> list[str]:
    return [
        *(str(fake.path), "--model", "sonnet", "--edit-format", "diff", "--yes-always"),
        *("--no-auto-commits", "--no-dirty-commits", "--no-pretty", "--no-stream"),
        *("--no-check-update", "--no-analytics", "--map-tokens", "0"),
        *("--message-file", f"{scratch}/prompt.md", "--no-auto-lint", "--no-gitignore"),
        *("--chat-history-file", f"{scratch}/chat.md"),
        *("--input-history-file", f"{scratch}/input", TARGET),
    ]


CLAUDE_RESULT = {
    "type": "result",
    "subtype": "success",
    "is_error": False,
    "result": "Removed the unused import.",
    "session_id": "s1",
    "num_turns": 3,
    "duration_ms": 1200,
    "total_cost_usd": 0.0123,
    "usage": {
        "input_tokens": 100,
        "cache_creation_input_tokens": 20,
        "cache_read_input_tokens": 30,
        "output_tokens": 40,
    },
}
CODEX_EVENTS = [
    {"type": "thread.started", "thread_id": "t1"},
    {"type": "turn.started"},
    {"type": "item.completed", "item": {"id": "i1", "type": "file_change", "changes": []}},
    {"type": "item.completed", "item": {"id": "i2", "type": "agent_message", "text": "Fixed."}},
    {
        "type": "turn.completed",
        "usage": {"input_tokens": 500, "cached_input_tokens": 100, "output_tokens": 60},
    },
    {"type": "turn.started"},
    {"type": "turn.completed", "usage": {"input_tokens": 50, "output_tokens": 5}},
]
CURSOR_RESULT = {
    "type": "result",
    "subtype": "success",
    "is_error": False,
    "result": "Done",
    "duration_ms": 900,
    "session_id": "c1",
}
GEMINI_RESULT = {
    "session_id": "g1",
    "response": "Removed the import.",
    "stats": {
        "models": {
            "gemini-2.5-pro": {"tokens": {"prompt": 900, "candidates": 30, "total": 1000}},
            "gemini-2.5-flash": {"tokens": {"prompt": 100, "candidates": 5, "total": 110}},
        }
    },
}

CASES = [
    Case(
        "claude",
        ClaudeAgent,
        {"model": "sonnet", "max_turns": 7, "max_budget_usd": 0.5},
        claude_argv,
        f"{EDIT}emit({CLAUDE_RESULT!r})",
        (0.0123, 150, 40),
        ("ANTHROPIC_API_KEY",),
    ),
    Case(
        "codex",
        CodexAgent,
        {"model": "gpt-5"},
        codex_argv,
        EDIT + "".join(f"emit({event!r})\n" for event in CODEX_EVENTS),
        (None, 550, 65),
        ("OPENAI_API_KEY",),
    ),
    Case(
        "cursor",
        CursorAgent,
        {"model": "m1"},
        cursor_argv,
        f"{EDIT}emit({CURSOR_RESULT!r})",
        (None, None, None),
        ("CURSOR_API_KEY",),
    ),
    Case(
        "gemini",
        GeminiAgent,
        {"model": "gemini-2.5-pro"},
        gemini_argv,
        f"{EDIT}emit({GEMINI_RESULT!r})",
        (None, 1000, 35),
        ("GEMINI_API_KEY",),
    ),
    Case(
        "aider",
        AiderAgent,
        {"model": "sonnet"},
        aider_argv,
        EDIT + 'print("Applied edit to pkg/mod.py")\n'
        'print("Tokens: 2.3k sent, 120 received. Cost: $0.01 message, $0.02 session.")\n',
        (0.01, 2300, 120),
        ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY"),
    ),
]
BACKEND_KEYS = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "CURSOR_API_KEY", "GEMINI_API_KEY")


def run_fix(agent: Agent, request: FixRequest) -> FixOutcome:
    return asyncio.run(agent.fix(request))


def build(case: Case, fake: Fake, root: Path, **options: Any) -> Agent:
    return case.factory(
        make_config(root, case.plugin, executable=str(fake.path), **case.options, **options)
    )


def scratch_of(seen: dict[str, Any]) -> str:
    return str(Path(seen["prompt_file_path"]).parent) if seen["prompt_file_path"] else ""


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> None:
    """Git's hook variables, unrelated tokens and every backend's key in the environment."""
    monkeypatch.setenv("GIT_DIR", "/nonexistent/.git")
    monkeypatch.setenv("GIT_INDEX_FILE", "/nonexistent/index")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "someone")
    monkeypatch.setenv("GITHUB_TOKEN", "canary-github-token-3f9a")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "canary-aws-secret-77c1")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    for key in BACKEND_KEYS:
        monkeypatch.setenv(key, f"value-of-{key}")


@pytest.mark.usefixtures("planted")
@pytest.mark.parametrize("case", CASES, ids=[case.plugin for case in CASES])
def test_command_line_environment_and_output(
    case: Case, make_fake: MakeFake, sandbox: Path
) -> None:
    fake = make_fake(case.success)
    agent = build(case, fake, sandbox)
    assert agent.available() is None
    assert agent.kind == "ai"
    request = make_request(sandbox)

    outcome = run_fix(agent, request)

    seen = fake.last()
    assert seen["argv"] == case.argv(fake, sandbox, request.prompt, scratch_of(seen))
    assert Path(seen["cwd"]) == sandbox.resolve()
    assert seen["stdin"] == "devnull"
    env = seen["env"]
    assert not [name for name in env if name.startswith("GIT_")]
    assert "GITHUB_TOKEN" not in env
    assert "AWS_SECRET_ACCESS_KEY" not in env
    assert env["PATH"]
    assert env["LC_ALL"] == "C.UTF-8"
    for key in BACKEND_KEYS:
        assert (key in env) == (key in case.own_keys), key
    assert (sandbox / TARGET).read_text() == TARGET_TEXT.replace("import os\n", "")
    assert outcome.agent == case.plugin
    assert outcome.claimed_success, outcome.message
    assert (outcome.cost_usd, outcome.input_tokens, outcome.output_tokens) == case.parsed


def test_aider_prompt_file_lives_outside_the_sandbox_and_is_removed(
    make_fake: MakeFake, sandbox: Path
) -> None:
    fake = make_fake('print("Applied edit to pkg/mod.py")')
    agent = build(CASES[-1], fake, sandbox)
    request = make_request(sandbox)

    run_fix(agent, request)

    seen = fake.last()
    prompt_file = Path(seen["prompt_file_path"])
    assert seen["prompt_file"] == request.prompt
    assert sandbox.resolve() not in prompt_file.resolve().parents
    assert not prompt_file.exists()
    assert sorted(path.name for path in sandbox.rglob("*")) == ["mod.py", "pkg"]


ERROR_SHAPES = [
    pytest.param(
        "claude",
        f"emit([{{'type': 'system', 'subtype': 'init'}}, {CLAUDE_RESULT!r}])",
        True,
        "finished in 3 turns",
        id="claude-array-of-messages",
    ),
    pytest.param(
        "claude",
        "emit({'type': 'result', 'subtype': 'success', 'is_error': True, "
        "'result': 'Credit balance is too low', 'total_cost_usd': 0})\nsys.exit(1)",
        False,
        "Credit balance is too low",
        id="claude-is-error",
    ),
    pytest.param(
        "claude",
        "emit({'type': 'result', 'subtype': 'error_max_turns', 'is_error': False, "
        "'num_turns': 7, 'total_cost_usd': 0.2})",
        False,
        "turn limit (--max-turns 7)",
        id="claude-max-turns",
    ),
    pytest.param(
        "claude",
        "emit({'type': 'result', 'subtype': 'error_max_budget_usd', 'is_error': True})",
        False,
        "budget limit (--max-budget-usd 0.5)",
        id="claude-max-budget",
    ),
    pytest.param(
        "claude",
        "print('not json at all'); sys.stderr.write('boom\\n'); sys.exit(2)",
        False,
        "claude exited 2: boom",
        id="claude-garbage",
    ),
    pytest.param(
        "codex",
        "emit({'type': 'turn.started'})\n"
        "emit({'type': 'turn.failed', 'error': {'message': 'context window exceeded'}})\n"
        "sys.exit(1)",
        False,
        "codex failed: context window exceeded",
        id="codex-turn-failed",
    ),
    pytest.param(
        "codex",
        "emit({'type': 'error', 'message': 'invalid model'})\nsys.exit(1)",
        False,
        "codex failed: invalid model",
        id="codex-error-event",
    ),
    pytest.param(
        "gemini",
        "emit({'session_id': 's', 'response': '', 'error': {'type': 'TurnLimit', "
        "'message': 'Reached max session turns'}})\nsys.exit(53)",
        False,
        "gemini stopped at the turn limit: Reached max session turns",
        id="gemini-53",
    ),
    pytest.param(
        "gemini",
        "sys.stderr.write('Please set an Auth method\\n'); sys.exit(41)",
        False,
        "gemini authentication failed",
        id="gemini-41",
    ),
    pytest.param(
        "cursor",
        f"{EDIT}emit({CURSOR_RESULT!r})\nhang()",
        True,
        "did not exit after its result and was stopped",
        id="cursor-result-then-hang",
    ),
    pytest.param(
        "aider",
        "print('litellm.AuthenticationError: bad key'); sys.exit(1)",
        False,
        "aider exited 1: litellm.AuthenticationError",
        id="aider-failure",
    ),
]


@pytest.mark.parametrize("shape", [pytest.param(p.values, id=p.id) for p in ERROR_SHAPES])
def test_output_shapes(
    shape: tuple[str, str, bool, str], make_fake: MakeFake, sandbox: Path
) -> None:
    plugin, body, claimed, message = shape
    case = next(case for case in CASES if case.plugin == plugin)
    fake = make_fake(body)
    agent = build(case, fake, sandbox)

    outcome = run_fix(agent, make_request(sandbox, timeout=20.0))

    assert outcome.claimed_success is claimed
    assert message in outcome.message
    assert len(fake.runs()) == 1


def test_cursor_hanging_after_its_result_is_stopped_quickly(
    make_fake: MakeFake, sandbox: Path
) -> None:
    fake = make_fake(f"{EDIT}emit({CURSOR_RESULT!r})\nhang()")
    agent = build(CASES[2], fake, sandbox)
    loop_started = asyncio.run(_timed(agent, make_request(sandbox, timeout=60.0)))
    assert loop_started < 10.0
    assert (sandbox / TARGET).read_text() == TARGET_TEXT.replace("import os\n", "")


async def _timed(agent: Agent, request: FixRequest) -> float:
    loop = asyncio.get_running_loop()
    started = loop.time()
    await agent.fix(request)
    return loop.time() - started


def test_agent_reading_stdin_does_not_hang(make_fake: MakeFake, sandbox: Path) -> None:
    # codex waits for stdin to end: with stdin closed it sees end of file at once.
    body = "data = sys.stdin.read()\n" + "".join(f"emit({e!r})\n" for e in CODEX_EVENTS)
    fake = make_fake(body)
    agent = build(CASES[1], fake, sandbox)

    outcome = run_fix(agent, make_request(sandbox, timeout=20.0))

    assert outcome.claimed_success, outcome.message
    assert fake.last()["stdin"] == "devnull"


def test_claude_takes_a_prompt_too_long_for_argv_on_stdin(
    make_fake: MakeFake, sandbox: Path
) -> None:
    fake = make_fake(f"emit({CLAUDE_RESULT!r})")
    agent = build(CASES[0], fake, sandbox)
    prompt = "Fix it.\n" + "x = 1\n" * 40_000

    outcome = run_fix(agent, make_request(sandbox, prompt=prompt))

    seen = fake.last()
    assert outcome.claimed_success
    assert seen["stdin"] == "pipe"
    assert seen["stdin_text"] == prompt
    assert seen["argv"][1:3] == ["-p", "--output-format"]
