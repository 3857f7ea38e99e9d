"""Path globs as in ``.gitignore``, for include/exclude and the secret deny list."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

# A glob character class: `[!...]` or `[^...]` negates, a leading `]` is a member (as in
# fnmatch); an unclosed `[` does not match this and stays a literal character.
CHAR_CLASS = re.compile(r"\[[!^]?\]?[^]]*\]")

Matcher = Callable[[str], bool]


def compile_globs(patterns: Collection[str]) -> Matcher:
    """A matcher for include/exclude globs against root-relative POSIX paths.

    As in ``.gitignore``: ``**/`` is zero or more directories, a pattern without ``/`` matches
    at any depth, a leading ``/`` anchors it at the root, a trailing ``/`` or a match on a
    directory takes everything below.
    """
    regexes = []
    for pattern in patterns:
        anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
        body = pattern.lstrip("/").removeprefix("./")
        body = body + "**" if body.endswith("/") else body
        regexes.append(glob_to_regex(body if anchored else f"**/{body}"))
    if not regexes:
        return lambda _path: False
    return compile_regex("|".join(f"(?:{regex})" for regex in regexes))


def compile_regex(regex: str) -> Matcher:
    """A matcher for a regex from :func:`glob_to_regex`; a match on a directory takes all below."""
    compiled = re.compile(f"(?:{regex})(?:/.*)?", re.DOTALL)
    return lambda path: compiled.fullmatch(path) is not None


def glob_to_regex(pattern: str) -> str:
    """A regex source for a path glob: ``**/`` = zero or more directories, ``*`` and ``?``
    stay within one path component, ``[...]`` is a character class (``[!...]`` negated)."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        at_boundary = index == 0 or pattern[index - 1] == "/"
        if at_boundary and pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
        elif at_boundary and pattern[index:] == "**":
            out.append(".*")
            index += 2
        elif pattern[index] == "*":
            out.append("[^/]*")
            while index < len(pattern) and pattern[index] == "*":
                index += 1
        elif pattern[index] == "?":
            out.append("[^/]")
            index += 1
        elif char_class := CHAR_CLASS.match(pattern, index):
            out.append(_char_class(char_class.group()[1:-1]))
            index = char_class.end()
        else:
            out.append(re.escape(pattern[index]))
            index += 1
    return "".join(out)


def _char_class(body: str) -> str:
    negated = body[:1] in ("!", "^")
    members = body[1:] if negated else body
    members = "".join("-" if char == "-" else re.escape(char) for char in members)
    regex = f"[^/{members}]" if negated else f"[{members}]"
    try:
        re.compile(regex)
    except re.error:  # a reversed range such as [z-a]: take the brackets literally
        return re.escape(f"[{body}]")
    return regex
