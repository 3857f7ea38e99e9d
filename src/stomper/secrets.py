"""Keeping secrets on the machine: the deny list, and a scanner that redacts outgoing text.

Files matching ``config.deny`` are never sent to an AI agent (the engine skips them). Every
agent adapter passes its prompt through :func:`redact` before it leaves the machine (argv,
stdin, a prompt file, an HTTP body). A redacted value becomes a placeholder such as
``[REDACTED-aws-access-key-1]``; :func:`restore` puts the values back into an agent's reply,
so a fix never destroys a secret the file legitimately holds.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import PurePosixPath

_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "private-key",
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        r"[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
    ),
    ("aws-access-key", r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"),
    ("github-token", r"\b(?:gh[pousr]_[A-Za-z0-9]{30,255}|github_pat_[A-Za-z0-9_]{22,255})\b"),
    ("anthropic-key", r"\bsk-ant-[A-Za-z0-9_\-]{20,}"),
    ("openai-key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),
    ("slack-token", r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"),
    ("google-api-key", r"\bAIza[0-9A-Za-z_\-]{35}"),
    ("jwt", r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
)
_SCANNER = re.compile("|".join(f"(?P<{kind.replace('-', '_')}>{rx})" for kind, rx in _PATTERNS))
# `password = "..."`, `API_KEY: ...`, `client_secret=...`: only the value is redacted, and
# only when it looks random (a name like `password = settings.password` is not a secret).
_ASSIGNMENT = re.compile(
    r"(?i)\b[\w-]*(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key"
    r"|auth[_-]?key|private[_-]?key|credentials?)[\w-]*['\"]?\s*(?:=|:|=>)\s*"
    r"(?P<quote>['\"]?)(?P<value>[^\s'\"(),;{}\[\]]{12,})(?P=quote)"
)
_MIN_ENTROPY = 3.0
# A dotted name without digits (`settings.password_field`) is code, not a secret.
_CODE_NAME = re.compile(r"[A-Za-z_][A-Za-z_.]*")
_PLACEHOLDER = re.compile(r"\[REDACTED-([a-z-]+)-(\d+)\]")


@dataclasses.dataclass(frozen=True)
class Finding:
    """One secret-looking string: what kind, on which line, and its placeholder.

    ``value`` holds the secret itself so :func:`restore` can put it back; it is left out of
    ``repr`` so a finding that reaches a log carries no secret.
    """

    kind: str
    line: int
    placeholder: str
    value: str = dataclasses.field(repr=False)


def is_denied(path: str, patterns: Iterable[str]) -> bool:
    """Whether ``path`` (POSIX, relative to the repository root) matches the deny list.

    A pattern without ``/`` matches any path component (``.env`` denies ``app/.env``); one
    with ``/`` matches the whole path. Matching ignores case: ``.ENV`` is a ``.env``.
    """
    components, whole = _deny_matchers(tuple(patterns))
    lowered = path.lower()
    parts: Sequence[str] = lowered.split("/")
    if "" in parts or "." in parts:  # not a normal path: normalised as pathlib does
        pure = PurePosixPath(lowered)
        lowered, parts = str(pure), pure.parts
    if whole is not None and whole.match(lowered):
        return True
    return components is not None and any(components.match(part) for part in parts)


def denied_by(path: str, patterns: Iterable[str]) -> str | None:
    """The first pattern of the deny list that ``path`` matches (see :func:`is_denied`), or
    None: for messages that name it."""
    patterns = tuple(patterns)
    if not is_denied(path, patterns):
        return None
    return next(pattern for pattern in patterns if is_denied(path, (pattern,)))


@functools.lru_cache(maxsize=16)
def _deny_matchers(
    patterns: tuple[str, ...],
) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
    """One regular expression for the patterns matching a path component, one for those
    matching the whole path (each alternative is :func:`fnmatch.fnmatchcase`'s): a deny list
    is checked against every file of a snapshot, and a pattern at a time cost 28 µs a path."""
    components: list[str] = []
    whole: list[str] = []
    for pattern in patterns:
        lowered = pattern.lower().removeprefix("./")
        if "/" in lowered.rstrip("/"):
            whole.extend(sorted({lowered, lowered.removeprefix("**/")}))
        else:
            components.append(lowered.rstrip("/"))
    return _any_of(components), _any_of(whole)


def _any_of(patterns: Sequence[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(pattern)})" for pattern in patterns))


def scan(text: str) -> list[Finding]:
    """Every secret-looking string in ``text``, in order, each with its placeholder."""
    return redact(text)[1]


def redact(text: str, known: Mapping[str, str] | None = None) -> tuple[str, list[Finding]]:
    """``text`` with every secret-looking string replaced, and what was replaced.

    The same value always gets the same placeholder; ``known`` (value to placeholder, e.g.
    from redacting the file an agent will also read) keeps two texts consistent.
    Deterministic: the same input gives the same output.
    """
    placeholders = dict(known or {})
    numbers: Counter[str] = Counter()
    for placeholder in placeholders.values():
        parsed = _PLACEHOLDER.match(placeholder)
        if parsed:
            kind, number = parsed.group(1), int(parsed.group(2))
            numbers[kind] = max(numbers[kind], number)
    findings: list[Finding] = []
    pieces: list[str] = []
    position = 0
    for kind, start, end in _spans(text):
        value = text[start:end]
        if value not in placeholders:
            numbers[kind] += 1
            newlines = "\n" * value.count("\n")
            placeholders[value] = f"[REDACTED-{kind}-{numbers[kind]}]{newlines}"
        line = text.count("\n", 0, start) + 1
        findings.append(Finding(kind, line, placeholders[value], value))
        pieces.extend((text[position:start], placeholders[value]))
        position = end
    pieces.append(text[position:])
    return "".join(pieces), findings


def restore(text: str, findings: Iterable[Finding]) -> str | None:
    """``text`` with the values behind ``findings``' placeholders put back.

    None when a placeholder is missing: whoever edited ``text`` dropped a secret, and
    keeping the edit would delete the user's value.
    """
    unique = {item.placeholder: item for item in findings}.values()
    if any(item.placeholder.rstrip("\n") not in text for item in unique):
        return None
    for finding in unique:
        if finding.placeholder in text:
            text = text.replace(finding.placeholder, finding.value)
        else:
            # The newlines that kept line numbers stable were reflowed: the token alone
            # still identifies the value.
            text = text.replace(finding.placeholder.rstrip("\n"), finding.value)
    return text


def _spans(text: str) -> list[tuple[str, int, int]]:
    spans = [
        (_kind(match), match.start(), match.end())
        for match in _SCANNER.finditer(text)
        if match.lastgroup is not None
    ]
    for match in _ASSIGNMENT.finditer(text):
        value = match.group("value")
        if _looks_random(value) and not value.startswith("[REDACTED-"):
            spans.append(("assigned-secret", match.start("value"), match.end("value")))
    spans.sort(key=lambda span: (span[1], -span[2]))
    merged: list[tuple[str, int, int]] = []
    for span in spans:
        if merged and span[1] < merged[-1][2]:
            continue
        merged.append(span)
    return merged


def _kind(match: re.Match[str]) -> str:
    return (match.lastgroup or "secret").replace("_", "-")


def _looks_random(value: str) -> bool:
    classes = sum(
        (
            any(char.islower() for char in value),
            any(char.isupper() for char in value),
            any(char.isdigit() for char in value),
            any(not char.isalnum() for char in value),
        )
    )
    if _CODE_NAME.fullmatch(value):
        return False
    return classes >= 2 and _entropy(value) >= _MIN_ENTROPY


def _entropy(value: str) -> float:
    counts = Counter(value)
    total = len(value)
    return -sum(count / total * math.log2(count / total) for count in counts.values())
