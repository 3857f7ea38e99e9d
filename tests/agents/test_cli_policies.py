"""What every command-line adapter does beyond one call: secrets, rate limits, caps, options."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from fake_cli import TARGET, MakeFake, make_config, make_request
from test_cli_conformance import CASES, CLAUDE_RESULT, Case, build

from stomper import ConfigError, FixOutcome
from stomper_plugins.aider import AiderAgent
from stomper_plugins.claude import ClaudeAgent

AWS_KEY = "AKIA" + "Z7CANARY0000QX42"
GITHUB_TOKEN = "ghp_" + "canaryCANARY0123456789abcdefghijKLMN"
PASSWORD = "canary-Pw7#x9Qz2Lm4"
SECRET_FILE = (
    "import os\n"
    f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n'
    f'TOKEN = "{GITHUB_TOKEN}"\n'
    f'db_password = "{PASSWORD}"\n'
    "\n"
    "print(TOKEN)\n"
)
CANARIES = (AWS_KEY, GITHUB_TOKEN, PASSWORD)


@pytest.mark.parametrize("case", CASES, ids=[case.plugin for case in CASES])
def test_secrets_in_the_file_never_reach_the_agent(
    case: Case, make_fake: MakeFake, sandbox: Path
) -> None:
    (sandbox / TARGET).write_text(SECRET_FILE)
    body = 'edit("import os\\n", "")\n' + case.success.split("\n", 1)[1]
    fake = make_fake(body)
    agent = build(case, fake, sandbox)
    request = make_request(sandbox, feedback=f"still leaking {AWS_KEY}")
    assert all(canary in request.prompt for canary in CANARIES)

    outcome = asyncio.run(agent.fix(request))

    recorded = json.dumps(fake.last())
    assert not [canary for canary in CANARIES if canary in recorded]
    assert "[REDACTED-" in fake.last()["target_seen"]
    # The agent's edit is kept and every secret is back in place.
    assert (sandbox / TARGET).read_text() == SECRET_FILE.replace("import os\n", "")
    assert "3 secret-looking string(s) redacted" in outcome.message
    assert not [canary for canary in CANARIES if canary in outcome.message]


def test_an_agent_that_drops_a_redacted_value_has_its_edit_undone(
    make_fake: MakeFake, sandbox: Path
) -> None:
    (sandbox / TARGET).write_text(SECRET_FILE)
    body = (
        "import re\n"
        "text = open(TARGET).read()\n"
        "open(TARGET, 'w').write(re.sub(r'TOKEN = .*\\n', '', text))\n"
        f"emit({CLAUDE_RESULT!r})\n"
    )
    fake = make_fake(body)
    agent = build(CASES[0], fake, sandbox)

    asyncio.run(agent.fix(make_request(sandbox)))

    assert (sandbox / TARGET).read_text() == SECRET_FILE


def test_rate_limit_backs_off_and_retries(make_fake: MakeFake, sandbox: Path) -> None:
    overloaded = {
        "type": "result",
        "subtype": "error_during_execution",
        "is_error": True,
        "result": "API Error: 529 Overloaded",
        "total_cost_usd": 0.001,
    }
    body = f"""
if runs() < 3:
    emit({overloaded!r})
    sys.exit(1)
emit({CLAUDE_RESULT!r})
"""
    fake = make_fake(body)
    agent = build(CASES[0], fake, sandbox, retry_delay=0.01)

    outcome = asyncio.run(agent.fix(make_request(sandbox)))

    assert outcome.claimed_success, outcome.message
    assert len(fake.runs()) == 3
    assert outcome.cost_usd == pytest.approx(0.0123 + 0.002)


def test_rate_limit_retries_are_bounded(make_fake: MakeFake, sandbox: Path) -> None:
    fake = make_fake(
        "sys.stderr.write('429 Too Many Requests: rate limit reached\\n'); sys.exit(1)"
    )
    agent = build(CASES[0], fake, sandbox, retry_delay=0.01, max_retries=2)

    outcome = asyncio.run(agent.fix(make_request(sandbox)))

    assert not outcome.claimed_success
    assert len(fake.runs()) == 3
    assert "gave up after 2 retries" in outcome.message


def test_a_plain_failure_is_not_retried(make_fake: MakeFake, sandbox: Path) -> None:
    fake = make_fake("sys.stderr.write('syntax error in prompt\\n'); sys.exit(1)")
    agent = build(CASES[0], fake, sandbox, retry_delay=0.01)

    asyncio.run(agent.fix(make_request(sandbox)))

    assert len(fake.runs()) == 1


def test_concurrency_is_capped_per_agent(make_fake: MakeFake, sandbox: Path) -> None:
    fake = make_fake(f"time.sleep(0.3)\nnote(ended=time.time())\nemit({CLAUDE_RESULT!r})")
    agent = build(CASES[0], fake, sandbox, max_concurrent=2)

    async def five() -> list[FixOutcome]:
        return await asyncio.gather(*(agent.fix(make_request(sandbox)) for _ in range(5)))

    outcomes = asyncio.run(five())

    assert all(outcome.claimed_success for outcome in outcomes)
    spans = [(run["started"], run["ended"]) for run in fake.runs()]
    most = max(sum(start <= moment < end for start, end in spans) for moment, _ in spans)
    assert most == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_turns": "ten"}, "max_turns: expected an integer"),
        ({"max_turns": 0}, "max_turns: expected an integer of at least 1"),
        ({"max_budget_usd": -1}, "max_budget_usd: expected a number"),
        ({"max_concurrent": 0}, "max_concurrent"),
        ({"args": "--verbose"}, "args: expected a list of strings"),
        ({"modle": "x"}, "unknown option 'modle'"),
    ],
)
def test_bad_options_are_config_errors(
    options: dict[str, object], message: str, sandbox: Path
) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as caught:
        ClaudeAgent(make_config(sandbox, "claude", **options))
    assert "[tool.stomper.plugins.claude]" in str(caught.value)


def test_options_only_some_backends_take_are_rejected_elsewhere(sandbox: Path) -> None:
    with pytest.raises(ConfigError, match="unknown option 'max_turns'"):
        AiderAgent(make_config(sandbox, "aider", max_turns=3))


def test_missing_executable_is_reported_not_raised(sandbox: Path) -> None:
    agent = ClaudeAgent(make_config(sandbox, "claude", executable="/nonexistent/claude"))
    reason = agent.available()
    assert reason is not None
    assert "/nonexistent/claude not found" in reason
    outcome = asyncio.run(agent.fix(make_request(sandbox)))
    assert not outcome.claimed_success
    assert "not found" in outcome.message


def test_aider_needs_a_model(make_fake: MakeFake, sandbox: Path) -> None:
    fake = make_fake("")
    agent = AiderAgent(make_config(sandbox, "aider", executable=str(fake.path)))
    assert agent.available() == '[tool.stomper.plugins.aider] model is not set (e.g. "sonnet")'


def test_request_options_override_the_configuration(make_fake: MakeFake, sandbox: Path) -> None:
    fake = make_fake(f"emit({CLAUDE_RESULT!r})")
    agent = build(CASES[0], fake, sandbox)
    request = make_request(sandbox, options={"model": "opus", "executable": str(fake.path)})

    asyncio.run(agent.fix(request))

    argv = fake.last()["argv"]
    assert argv[argv.index("--model") + 1] == "opus"
