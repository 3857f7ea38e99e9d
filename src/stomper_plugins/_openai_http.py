"""The HTTP half of the ``openai`` agent: one chat-completions call, and reading its reply.

urllib only (no SDK dependency), run in a worker thread so the event loop keeps going. Every
way a reply can be unusable is a :class:`ReplyError` with a message that says which.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import urllib.error

# A whole file comes back; anything near this size is not a source file.
MAX_BODY = 32 * 1024 * 1024
RETRY_STATUSES = frozenset({429, 503, 529})
_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})[^`]*$")


class ReplyError(Exception):
    """The server's answer cannot be used; ``retry`` when waiting may help (rate limits)."""

    def __init__(self, message: str, *, retry: bool = False, retry_after: float | None = None):
        super().__init__(message)
        self.retry = retry
        self.retry_after = retry_after


class Completion(NamedTuple):
    """What a chat-completions reply said."""

    content: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None


def post_json(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Any:
    """POST ``body`` to ``url`` and return the decoded JSON reply (blocking: run in a thread)."""
    # Imported here: every run registers this agent, few call it (http.client pulls in ssl).
    import http.client
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            announced = response.headers.get("Content-Length")
            data = response.read(MAX_BODY + 1)
    except urllib.error.HTTPError as error:
        raise _http_error(error) from error
    except http.client.IncompleteRead as error:
        raise ReplyError("the reply was cut off mid-body (fewer bytes than announced)") from error
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        raise ReplyError(f"cannot reach {url}: {error}") from error
    if len(data) > MAX_BODY:
        raise ReplyError(f"the reply is larger than {MAX_BODY} bytes")
    # A bounded read returns short instead of raising when the server hangs up early.
    if announced is not None and announced.isdigit() and int(announced) != len(data):
        raise ReplyError(
            f"the reply was cut off mid-body ({len(data)} of {announced} bytes announced)"
        )
    try:
        return json.loads(data)
    except ValueError as error:
        raise ReplyError(f"the reply is not valid JSON (cut off?): {error}") from error


def read_completion(document: Any) -> Completion:
    """``choices[0].message.content``, ``finish_reason`` and ``usage`` from a reply."""
    try:
        choice = document["choices"][0]
        content = choice["message"].get("content") or ""
    except (KeyError, IndexError, TypeError, AttributeError) as error:
        raise ReplyError(f"the reply has no choices[0].message: {str(document)[:200]}") from error
    usage = document.get("usage") if isinstance(document, dict) else None
    usage = usage if isinstance(usage, dict) else {}
    return Completion(
        content=str(content),
        finish_reason=choice.get("finish_reason"),
        prompt_tokens=_int(usage.get("prompt_tokens")),
        completion_tokens=_int(usage.get("completion_tokens")),
    )


def single_fenced_block(content: str) -> str:
    """The body of the one fenced code block in ``content``; anything else is a ReplyError."""
    blocks: list[str] = []
    lines = content.splitlines(keepends=True)
    index = 0
    while index < len(lines):
        opening = _FENCE_OPEN.match(lines[index].rstrip("\r\n"))
        if not opening:
            index += 1
            continue
        marker = opening.group(1)
        closing = re.compile(rf"^ {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}\s*$")
        end = next(
            (i for i in range(index + 1, len(lines)) if closing.match(lines[i].rstrip("\r\n"))),
            None,
        )
        if end is None:
            raise ReplyError("the reply's code block is never closed (cut off?)")
        blocks.append("".join(lines[index + 1 : end]))
        index = end + 1
    if not blocks:
        raise ReplyError("the reply has no fenced code block (expected the whole file in one)")
    if len(blocks) > 1:
        raise ReplyError(f"the reply has {len(blocks)} code blocks; expected exactly one")
    return blocks[0]


def _http_error(error: urllib.error.HTTPError) -> ReplyError:
    try:
        detail = error.read(2000).decode("utf-8", "replace").strip()
    except OSError:
        detail = ""
    overloaded = "overloaded" in detail.lower() or "rate limit" in detail.lower()
    retry_after = _retry_after(error.headers.get("Retry-After") if error.headers else None)
    return ReplyError(
        f"HTTP {error.code} {error.reason}" + (f": {detail[:300]}" if detail else ""),
        retry=error.code in RETRY_STATUSES or overloaded,
        retry_after=retry_after,
    )


def _retry_after(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None  # an HTTP date: fall back to our own back-off


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None
