"""The ``openai`` adapter against a real HTTP server on 127.0.0.1 speaking chat completions."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from fake_cli import TARGET, make_config, make_request

from stomper import ConfigError, FixOutcome
from stomper_plugins.openai import OpenAIAgent

FIXED = "import sys\n\n\nprint(sys.argv)\n"


class Reply(NamedTuple):
    """One scripted answer; ``truncate`` announces twice the bytes it sends."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    truncate: bool = False


Script = Callable[[dict[str, Any]], Reply]


class ChatServer:
    """A chat-completions server that answers from a script and records every request."""

    def __init__(self) -> None:
        self.script: list[Reply | Script] = []
        self.requests: list[dict[str, Any]] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                seen = {"path": self.path, "headers": dict(self.headers), "raw": raw}
                server.requests.append(seen)
                step = server.script.pop(0)
                reply = step(json.loads(raw)) if callable(step) else step
                self.send_response(reply.status)
                for name, value in reply.headers:
                    self.send_header(name, value)
                announced = len(reply.body) * (2 if reply.truncate else 1)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(announced))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the test output is not the place for access logs."""

        return Handler


@pytest.fixture
def server() -> Iterator[ChatServer]:
    chat = ChatServer()
    chat.thread.start()
    yield chat
    chat.httpd.shutdown()
    chat.httpd.server_close()


@pytest.fixture(autouse=True)
def no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def completion(
    content: str, finish_reason: str = "stop", prompt_tokens: int = 120, completion_tokens: int = 30
) -> Reply:
    document = {
        "id": "c1",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
    }
    return Reply(200, json.dumps(document).encode())


def agent_for(root: Path, server: ChatServer, **options: Any) -> OpenAIAgent:
    settings = {"model": "local-model", "base_url": server.base_url, "retry_delay": 0.01}
    return OpenAIAgent(make_config(root, "openai", **{**settings, **options}))


def fix(agent: OpenAIAgent, root: Path, **changes: Any) -> FixOutcome:
    return asyncio.run(agent.fix(make_request(root, **changes)))


def test_success_rewrites_the_file_keeping_crlf(
    server: ChatServer, sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key-for-local-server-only")
    (sandbox / TARGET).write_bytes(b"import os\r\nimport sys\r\n\r\n\r\nprint(sys.argv)\r\n")
    server.script.append(completion(f"Here is the file:\n```python\n{FIXED}```\n"))
    agent = agent_for(sandbox, server)
    request = make_request(sandbox)

    outcome = asyncio.run(agent.fix(request))

    assert outcome.claimed_success, outcome.message
    assert (sandbox / TARGET).read_bytes() == b"import sys\r\n\r\n\r\nprint(sys.argv)\r\n"
    assert (outcome.input_tokens, outcome.output_tokens, outcome.cost_usd) == (120, 30, None)
    sent = server.requests[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["headers"]["Authorization"] == "Bearer sk-test-key-for-local-server-only"
    body = json.loads(sent["raw"])
    assert body["model"] == "local-model"
    assert body["temperature"] == 0
    assert body["stream"] is False
    assert body["max_tokens"] == 16384
    assert [message["role"] for message in body["messages"]] == ["system", "user"]
    assert "exactly one fenced" in body["messages"][0]["content"]
    assert body["messages"][1]["content"] == request.prompt


def test_missing_final_newline_stays_missing(server: ChatServer, sandbox: Path) -> None:
    (sandbox / TARGET).write_text("import os\nimport sys\nprint(sys.argv)")
    server.script.append(completion("```python\nimport sys\nprint(sys.argv)\n```"))

    outcome = fix(agent_for(sandbox, server), sandbox)

    assert outcome.claimed_success
    assert (sandbox / TARGET).read_text() == "import sys\nprint(sys.argv)"
    assert "Authorization" not in server.requests[0]["headers"]


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (completion(f"```python\n{FIXED[:10]}", "length"), "cut off at max_tokens (16384)"),
        (completion("I removed the import."), "no fenced code block"),
        (completion(f"```python\n{FIXED}```\nand\n```python\n{FIXED}```\n"), "2 code blocks"),
        (completion(""), "the reply is empty"),
        (completion(f"```python\n{FIXED}"), "never closed"),
        (Reply(200, completion(f"```\n{FIXED}```").body, truncate=True), "cut off mid-body"),
        (Reply(200, b'{"choices": [{"message": '), "not valid JSON"),
        (Reply(500, b'{"error": "boom"}'), "HTTP 500"),
        (Reply(200, b'{"object": "error"}'), "no choices[0].message"),
    ],
    ids=[
        "length",
        "no-fence",
        "two-blocks",
        "empty",
        "unclosed",
        "truncated",
        "json",
        "500",
        "shape",
    ],
)
def test_unusable_replies_are_rejected(
    reply: Reply, message: str, server: ChatServer, sandbox: Path
) -> None:
    before = (sandbox / TARGET).read_bytes()
    server.script.append(reply)

    outcome = fix(agent_for(sandbox, server), sandbox)

    assert not outcome.claimed_success
    assert message in outcome.message
    assert (sandbox / TARGET).read_bytes() == before
    assert len(server.requests) == 1


def test_429_backs_off_then_succeeds(server: ChatServer, sandbox: Path) -> None:
    limited = Reply(429, b'{"error": {"message": "Rate limit reached"}}', (("Retry-After", "0"),))
    server.script += [
        limited,
        Reply(529, b'{"error": "Overloaded"}'),
        completion(f"```\n{FIXED}```"),
    ]

    outcome = fix(agent_for(sandbox, server), sandbox)

    assert outcome.claimed_success, outcome.message
    assert len(server.requests) == 3
    assert (sandbox / TARGET).read_text() == FIXED


def test_rate_limit_retries_are_bounded(server: ChatServer, sandbox: Path) -> None:
    server.script += [Reply(429, b"{}")] * 3

    outcome = fix(agent_for(sandbox, server, max_retries=2), sandbox)

    assert not outcome.claimed_success
    assert "HTTP 429" in outcome.message
    assert len(server.requests) == 3


def test_prompt_at_an_ollama_context_cap_is_reported(server: ChatServer, sandbox: Path) -> None:
    server.script.append(completion(f"```\n{FIXED}```", prompt_tokens=2048))
    long_prompt = "Fix the file.\n" + "# context line\n" * 2000

    outcome = fix(agent_for(sandbox, server), sandbox, prompt=long_prompt)

    assert outcome.claimed_success
    assert "exactly 2048 prompt tokens" in outcome.message
    assert "probably truncated" in outcome.message


def test_prices_give_a_cost(server: ChatServer, sandbox: Path) -> None:
    server.script.append(completion(f"```\n{FIXED}```", prompt_tokens=1000, completion_tokens=500))
    agent = agent_for(sandbox, server, price_per_1k_input=0.01, price_per_1k_output=0.03)

    outcome = fix(agent, sandbox)

    assert outcome.cost_usd == pytest.approx(0.01 + 0.015)


AWS_KEY = "AKIA" + "Q2CANARY1111ZZ99"
SECRET_FILE = f'import os\nimport sys\nKEY = "{AWS_KEY}"\nprint(sys.argv, KEY)\n'


def echo_without_import(body: dict[str, Any]) -> Reply:
    """A model that returns the file from the prompt, minus the unused import."""
    prompt = body["messages"][1]["content"]
    fence = re.search(r"^(`{3,})python\n(.*?)^\1$", prompt, re.MULTILINE | re.DOTALL)
    assert fence is not None
    return completion(f"```python\n{fence.group(2).replace('import os' + chr(10), '')}```")


def test_secrets_never_leave_and_are_restored(
    server: ChatServer, sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "canary-github-token-3f9a")
    (sandbox / TARGET).write_text(SECRET_FILE)
    server.script.append(echo_without_import)

    outcome = fix(agent_for(sandbox, server), sandbox)

    raw = server.requests[0]["raw"].decode()
    assert AWS_KEY not in raw
    assert "canary-github-token" not in raw + json.dumps(server.requests[0]["headers"])
    assert "[REDACTED-aws-access-key-1]" in raw
    assert outcome.claimed_success, outcome.message
    assert (sandbox / TARGET).read_text() == SECRET_FILE.replace("import os\n", "")
    assert "1 secret-looking string(s) redacted" in outcome.message


def test_a_reply_that_drops_a_redacted_value_is_rejected(server: ChatServer, sandbox: Path) -> None:
    (sandbox / TARGET).write_text(SECRET_FILE)
    server.script.append(completion("```python\nimport sys\nprint(sys.argv)\n```"))

    outcome = fix(agent_for(sandbox, server), sandbox)

    assert not outcome.claimed_success
    assert "dropped a redacted value" in outcome.message
    assert (sandbox / TARGET).read_text() == SECRET_FILE


def test_availability(sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def available(**options: Any) -> str | None:
        return OpenAIAgent(make_config(sandbox, "openai", **options)).available()

    assert available(base_url="http://127.0.0.1:1/v1") == "set [tool.stomper.plugins.openai] model"
    assert available(model="m") == "set OPENAI_API_KEY (or base_url for a local server)"
    assert available(model="m", base_url="http://localhost:11434/v1") is None
    monkeypatch.setenv("OPENAI_API_KEY", "sk-whatever-0123456789abcdef")
    assert available(model="m") is None
    reason = available(model="m", base_url="http://models.example.com/v1")
    assert reason == "refusing to send OPENAI_API_KEY over plain http to models.example.com"
    with pytest.raises(ConfigError, match="base_url: not an http"):
        available(model="m", base_url="ftp://example.com")
    with pytest.raises(ConfigError, match="unknown option 'executable'"):
        available(model="m", executable="x")
