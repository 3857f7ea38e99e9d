"""The agent process runner: timeouts, process groups, capped output, early exit, cancellation."""

from __future__ import annotations

import asyncio
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fake_cli import CLAUDE_LIKE_RESULT, MakeFake, alive, make_config, make_request

from stomper import ProcessResult, agent_env, run_agent_process
from stomper_plugins.claude import ClaudeAgent

GRANDCHILD = """
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time\\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
    "print('ready', flush=True)\\ntime.sleep(1000)"], stdout=subprocess.PIPE)
child.stdout.readline()
note(grandchild=child.pid)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
hang()
"""


def run(
    argv: list[str],
    cwd: Path,
    timeout: float,
    *,
    stdin: bytes | None = None,
    done: Callable[[str], bool] | None = None,
    output_limit: int = 1024 * 1024,
) -> ProcessResult:
    runner = run_agent_process(
        argv,
        cwd,
        env=agent_env(),
        timeout=timeout,
        stdin=stdin,
        done=done,
        output_limit=output_limit,
    )
    return asyncio.run(runner)


def test_environment_keeps_only_the_allow_list() -> None:
    base = {
        "PATH": "/bin",
        "HOME": "/home/u",
        "LC_CTYPE": "C.UTF-8",
        "GIT_DIR": "/x/.git",
        "GIT_INDEX_FILE": "/x/index",
        "GITHUB_TOKEN": "canary",
        "AWS_SECRET_ACCESS_KEY": "canary",
        "CLAUDE_CODE_USE_BEDROCK": "1",
        "ANTHROPIC_API_KEY": "key",
    }
    env = agent_env(("ANTHROPIC_API_KEY", "CLAUDE_CODE_*", "GIT_DIR"), base)
    assert env == {
        "PATH": "/bin",
        "HOME": "/home/u",
        "LC_CTYPE": "C.UTF-8",
        "CLAUDE_CODE_USE_BEDROCK": "1",
        "ANTHROPIC_API_KEY": "key",
    }


def test_hanging_agent_is_killed_at_the_timeout(make_fake: MakeFake, sandbox: Path) -> None:
    fake = make_fake("hang()")
    started = time.monotonic()
    result = run([str(fake.path)], sandbox, timeout=1.0)
    elapsed = time.monotonic() - started

    assert result.timed_out
    assert elapsed < 1.0 + 5.0
    assert result.returncode < 0
    assert not alive(fake.last()["pid"])


def test_grandchild_ignoring_sigterm_is_killed_with_its_group(
    make_fake: MakeFake, sandbox: Path
) -> None:
    fake = make_fake(GRANDCHILD)
    started = time.monotonic()
    result = run([str(fake.path)], sandbox, timeout=2.0)
    elapsed = time.monotonic() - started

    seen = fake.last()
    assert result.timed_out
    assert elapsed < 2.0 + 5.0
    assert not alive(seen["pid"])
    assert not alive(seen["grandchild"])


def test_adapter_kills_a_hanging_agent_and_its_grandchild(
    make_fake: MakeFake, sandbox: Path
) -> None:
    fake = make_fake(GRANDCHILD)
    agent = ClaudeAgent(make_config(sandbox, "claude", executable=str(fake.path)))
    started = time.monotonic()
    outcome = asyncio.run(agent.fix(make_request(sandbox, timeout=2.0)))

    assert time.monotonic() - started < 2.0 + 5.0
    assert not outcome.claimed_success
    assert "did not finish within 2 s" in outcome.message
    seen = fake.last()
    assert not alive(seen["pid"])
    assert not alive(seen["grandchild"])


def test_grandchild_left_running_after_a_normal_exit_is_killed(
    make_fake: MakeFake, sandbox: Path
) -> None:
    body = GRANDCHILD.replace("signal.signal(signal.SIGTERM, signal.SIG_IGN)\nhang()", "")
    fake = make_fake(body + "print('bye')\n")
    started = time.monotonic()
    result = run([str(fake.path)], sandbox, timeout=30.0)

    assert not result.timed_out
    assert result.returncode == 0
    assert "bye" in result.stdout
    assert time.monotonic() - started < 10.0
    assert not alive(fake.last()["grandchild"])


def test_cancellation_kills_the_group(make_fake: MakeFake, sandbox: Path) -> None:
    fake = make_fake(GRANDCHILD)

    async def cancel_midway() -> None:
        task = asyncio.ensure_future(
            run_agent_process([str(fake.path)], sandbox, env=agent_env(), timeout=60.0)
        )
        for _ in range(200):
            await asyncio.sleep(0.05)
            if fake.runs() and "grandchild" in fake.last():
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    started = time.monotonic()
    asyncio.run(cancel_midway())
    assert time.monotonic() - started < 20.0
    seen = fake.last()
    assert not alive(seen["pid"])
    assert not alive(seen["grandchild"])


def test_100_mb_of_output_is_capped_in_memory(make_fake: MakeFake, sandbox: Path) -> None:
    body = """
chunk = ("x" * 1023 + "\\n") * 1024
for _ in range(100):
    sys.stdout.write(chunk)
sys.stdout.write("LAST LINE\\n")
"""
    fake = make_fake(body)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = run([str(fake.path)], sandbox, timeout=60.0, output_limit=256 * 1024)
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB elsewhere

    assert result.truncated
    assert len(result.stdout) < 600 * 1024
    assert result.stdout.rstrip().endswith("LAST LINE")
    assert "bytes dropped" in result.stdout
    assert (peak_after - peak_before) * scale < 50 * 1024 * 1024


def test_done_hook_ends_an_agent_that_never_exits(make_fake: MakeFake, sandbox: Path) -> None:
    fake = make_fake(f"emit({CLAUDE_LIKE_RESULT!r})\nhang()")
    started = time.monotonic()
    result = run(
        [str(fake.path)], sandbox, timeout=60.0, done=lambda line: '"type": "result"' in line
    )

    assert result.finished_early
    assert not result.timed_out
    assert time.monotonic() - started < 10.0
    assert not alive(fake.last()["pid"])


def test_stdin_is_fed_then_closed(make_fake: MakeFake, sandbox: Path) -> None:
    fake = make_fake("")
    result = run([str(fake.path)], sandbox, timeout=30.0, stdin=b"the prompt")
    assert result.returncode == 0
    assert fake.last()["stdin_text"] == "the prompt"
