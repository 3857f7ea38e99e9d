"""The deny list, and the scanner that redacts secrets from outgoing prompts."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from pathlib import PurePosixPath

import pytest

from stomper import is_denied, redact_secrets, restore_secrets, scan_secrets
from stomper.config import DEFAULT_DENY

SAMPLES = {
    "aws-access-key": "AKIA" + "IOSFODNN7EXAMPL3",
    "github-token": "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "anthropic-key": "sk-ant-" + "api03-abcdefghijklmnopqrstuvwxyz012345",
    "openai-key": "sk-proj-" + "abcdefghijklmnopqrstuvwxyz0123456789",
    "slack-token": "xoxb-" + "123456789012-abcdefghijkl",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
}
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7x\nabcdef==\n-----END RSA PRIVATE KEY-----"
)


@pytest.mark.parametrize(
    ("path", "denied"),
    [
        (".env", True),
        (".env.local", True),
        ("app/.env", True),
        ("APP/.ENV", True),
        ("certs/server.pem", True),
        ("keys/deploy.key", True),
        (".ssh/id_rsa", True),
        ("home/.netrc", True),
        ("src/app.py", False),
        ("src/environment.py", False),
        ("docs/keys.md", False),
    ],
)
def test_default_deny_list(path: str, denied: bool) -> None:
    assert is_denied(path, DEFAULT_DENY) is denied


def test_patterns_with_a_slash_match_the_whole_path() -> None:
    assert is_denied("secrets/prod.py", ["secrets/*"])
    assert is_denied("a/secrets/prod.py", ["**/secrets/*"])
    assert not is_denied("src/secrets/prod.py", ["secrets/*"])


def _denied_one_pattern_at_a_time(path: str, patterns: Iterable[str]) -> bool:
    """The deny list's meaning, as ``is_denied`` first spelled it (before it compiled the
    patterns into two regular expressions)."""
    pure = PurePosixPath(path.lower())
    for pattern in patterns:
        lowered = pattern.lower().removeprefix("./")
        if "/" in lowered.rstrip("/"):
            candidates = {lowered, lowered.removeprefix("**/")}
            if any(fnmatch.fnmatchcase(str(pure), item) for item in candidates):
                return True
        elif any(fnmatch.fnmatchcase(part, lowered.rstrip("/")) for part in pure.parts):
            return True
    return False


TRICKY_PATTERNS = [
    *DEFAULT_DENY,
    "secrets/*",
    "**/secrets/*",
    "./Config/*.INI",
    "vault/",
    "deep/dir/",
    "[abc]*.txt",
    "*/build/*",
    "**/x",
    "a|b",
    "(x)",
    "+.cfg",
    "[!a]b",
    "",
]
TRICKY_PATHS = [
    ".env",
    "APP/.ENV",
    "src/app.py",
    "secrets/prod.py",
    "a/secrets/prod.py",
    "a/b/secrets/prod.py",
    "config/app.ini",
    "vault",
    "vault/x.py",
    "x/vault/y",
    "deep/dir/file",
    "deep/dir",
    "c.txt",
    "d/b.txt",
    "q/build/out.o",
    "build/out.o",
    "x",
    "y/x",
    "a|b",
    "(x)",
    "+.cfg",
    "bb",
    "ab",
    "./.env",
    "a//.env",
    "/abs/.env",
    "dir/",
    "dir/.",
    "",
    ".",
    "..",
    "a/../.env",
    "line\nbreak.pem",
    "tab\tid_rsa",
]


@pytest.mark.parametrize("path", TRICKY_PATHS)
def test_the_deny_list_means_what_each_pattern_means(path: str) -> None:
    for count in range(len(TRICKY_PATTERNS) + 1):
        patterns = TRICKY_PATTERNS[:count]
        assert is_denied(path, patterns) is _denied_one_pattern_at_a_time(path, patterns), (
            path,
            patterns[-1:],
        )
    for pattern in TRICKY_PATTERNS:
        assert is_denied(path, [pattern]) is _denied_one_pattern_at_a_time(path, [pattern]), (
            path,
            pattern,
        )


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_each_kind_is_found_and_redacted(kind: str) -> None:
    text = f"value = {SAMPLES[kind]!r}\n"
    redacted, findings = redact_secrets(text)
    assert [finding.kind for finding in findings] == [kind]
    assert SAMPLES[kind] not in redacted
    assert f"[REDACTED-{kind}-1]" in redacted


def test_private_key_block_keeps_its_line_count() -> None:
    text = f"KEY = '''\n{PRIVATE_KEY}\n'''\nx = 1\n"
    redacted, findings = redact_secrets(text)
    assert findings[0].kind == "private-key"
    assert "MIIEpAIBAAKCAQEA7x" not in redacted
    assert redacted.count("\n") == text.count("\n")
    assert restore_secrets(redacted, findings) == text


def test_generic_assignments_need_a_random_looking_value() -> None:
    text = (
        'password = "Xk9#mP2$vL7qR4wZ"\n'
        'API_KEY: "8f3a9c2e1b7d4f6a0e5c"\n'
        "password = get_password()\n"
        'password = "changeme"\n'
        "token = settings.auth_token_value\n"
        "max_tokens = 4096\n"
    )
    findings = scan_secrets(text)
    assert [(finding.kind, finding.line) for finding in findings] == [
        ("assigned-secret", 1),
        ("assigned-secret", 2),
    ]


def test_same_value_same_placeholder_and_round_trip() -> None:
    key = SAMPLES["aws-access-key"]
    text = f"a = '{key}'\nb = '{key}'\nc = '{SAMPLES['github-token']}'\n"
    redacted, findings = redact_secrets(text)
    assert redacted.count("[REDACTED-aws-access-key-1]") == 2
    assert len(findings) == 3
    assert redact_secrets(text) == (redacted, findings)
    assert restore_secrets(redacted, findings) == text


def test_known_placeholders_keep_two_texts_consistent() -> None:
    key = SAMPLES["aws-access-key"]
    _file, file_findings = redact_secrets(f"k = '{key}'\n")
    known = {finding.value: finding.placeholder for finding in file_findings}
    other = "AKIA" + "ZZZZZZZZZZZZZZZ2"
    prompt, _found = redact_secrets(f"{other} then {key}", known)
    assert prompt == "[REDACTED-aws-access-key-2] then [REDACTED-aws-access-key-1]"


def test_restore_refuses_text_that_lost_a_placeholder() -> None:
    redacted, findings = redact_secrets(f"k = '{SAMPLES['openai-key']}'\n")
    assert restore_secrets(redacted.replace("[REDACTED-openai-key-1]", ""), findings) is None


def test_a_finding_never_shows_its_value() -> None:
    finding = scan_secrets(SAMPLES["slack-token"])[0]
    assert SAMPLES["slack-token"] not in repr(finding)
    assert SAMPLES["slack-token"] not in str(finding)


def test_denied_by_names_the_first_pattern_that_matches() -> None:
    from stomper.secrets import denied_by

    patterns = ["*.pem", "Private", "**/private/*"]
    assert denied_by("a/private/key.pem", patterns) == "*.pem"
    assert denied_by("a/PRIVATE/notes.txt", patterns) == "Private"
    assert denied_by("src/app.py", patterns) is None
    assert denied_by("src/app.py", []) is None
