"""Pure comparisons of a candidate file's bytes with the original, for the built-in validators.

Everything works on bytes: a file may be in any encoding a coding declaration names, and
line endings, a BOM and the final newline must be seen exactly as they are on disk.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from difflib import SequenceMatcher
from typing import NamedTuple

# A line an AI writes instead of code it did not reproduce. Only comment or ellipsis lines
# count, so ordinary code that mentions "existing" or "unchanged" never matches.
_PLACEHOLDER_LINE = re.compile(rb"^\s*(#|\.\.\.|//)")
_PLACEHOLDER_PHRASE = re.compile(
    rb"rest of|(existing|remaining|previous|original|other) (code|implementation|methods|"
    rb"functions|imports|content|lines)|unchanged|omitted|for brevity|same as (before|above)|"
    rb"as before|(code|implementation) (goes )?here",
    re.IGNORECASE,
)
_PLACEHOLDER_MARKERS = (b"#", b"...", b"//")  # what _PLACEHOLDER_LINE matches after spaces

# Comments and decorators that silence a linter instead of fixing what it reports. Formatter
# pragmas (`# fmt: off`) and coverage pragmas are left out: they hide no diagnostic.
SUPPRESSIONS: dict[str, re.Pattern[bytes]] = {
    name: re.compile(pattern, re.IGNORECASE)
    for name, pattern in {
        "# noqa": rb"#\s*noqa\b",
        "# ruff: noqa": rb"#\s*ruff\s*:\s*noqa\b",
        "# flake8: noqa": rb"#\s*flake8\s*:\s*noqa\b",
        "# type: ignore": rb"#\s*type\s*:\s*ignore\b",
        "# pyright: ignore": rb"#\s*pyright\s*:\s*(ignore|basic)\b",
        "# pyre-ignore": rb"#\s*pyre-(ignore|fixme)\b",
        "# pylint: disable": rb"#\s*pylint\s*:\s*disable\b",
        "# mypy: ignore-errors": rb"#\s*mypy\s*:\s*(ignore-errors|disable-error-code)\b",
        "# nosec": rb"#\s*nosec\b",
        # ruff's isort rules (I001) honour isort's action comments.
        "# isort: skip": rb"#\s*(ruff\s*:\s*)?isort\s*:\s*(skip_file|skip|off)\b",
        "@no_type_check": rb"@\s*(typing\.)?no_type_check\b",
    }.items()
}
# Whether ``data`` may hold any suppression: every line one matches in, the whole data
# matches in too (the patterns start with "#" or "@" and end at a word boundary).
_ANY_SUPPRESSION = re.compile(
    b"|".join(pattern.pattern for pattern in SUPPRESSIONS.values()), re.IGNORECASE
)
# What a suppression names after its marker: `: E501, F401`, `[attr-defined]`, `=unused-import`.
_SUPPRESSED_CODE = re.compile(rb"[A-Za-z][\w-]*")


class LineChanges(NamedTuple):
    """How a candidate differs from the original, line by line."""

    changed: int
    """Lines changed: the larger of lines removed and lines added, so a moved line (an
    import sorted into place) counts once, and a rewritten line once."""
    removed_at_end: int
    """Original lines missing from the end of the file, as a cut-off candidate loses them."""
    endings_changed: int
    """Lines whose text is untouched but whose line ending changed (CRLF to LF or back)."""
    first_ending_change: tuple[int, bytes, bytes] | None
    """The first such line: its 1-based number in the original, old and new ending."""


def split_lines(data: bytes) -> list[bytes]:
    """The lines of ``data``, each with its own line ending (``\\n``, ``\\r\\n`` or ``\\r``)."""
    return data.splitlines(keepends=True)


def line_changes(original: Sequence[bytes], candidate: Sequence[bytes]) -> LineChanges:
    """Compare two files' lines by text, then look at the endings of the lines kept."""
    old = [line.rstrip(b"\r\n") for line in original]
    new = [line.rstrip(b"\r\n") for line in candidate]
    removed = added = removed_at_end = endings = 0
    first: tuple[int, bytes, bytes] | None = None
    for tag, old_start, old_end, new_start, new_end in _opcodes(old, new):
        if tag != "equal":
            removed += old_end - old_start
            added += new_end - new_start
            if old_end == len(old):
                removed_at_end = max(0, (old_end - old_start) - (new_end - new_start))
            continue
        if original[old_start:old_end] == candidate[new_start:new_end]:
            continue  # same text and same endings throughout: no ending changed
        for offset in range(old_end - old_start):
            before = _ending(original[old_start + offset])
            after = _ending(candidate[new_start + offset])
            # A missing ending is the last line's; adding one there is what W292 fixes.
            if before and after and before != after:
                endings += 1
                if first is None:
                    first = (old_start + offset + 1, before, after)
    return LineChanges(max(removed, added), removed_at_end, endings, first)


def new_lines(
    original: Sequence[bytes], candidate: Sequence[bytes], wanted: Callable[[bytes], object]
) -> list[tuple[int, bytes]]:
    """Candidate lines matching ``wanted`` beyond those the original already had (multiset).

    Returns ``(line number, stripped text)`` pairs, so a moved line is not counted as new.
    """
    available = Counter(line.strip() for line in original if wanted(line))
    found = []
    for number, line in enumerate(candidate, start=1):
        if not wanted(line):
            continue
        text = line.strip()
        if available[text] > 0:
            available[text] -= 1
        else:
            found.append((number, text))
    return found


def new_placeholders(
    original: Sequence[bytes], candidate: Sequence[bytes]
) -> list[tuple[int, bytes]]:
    """:func:`new_lines` matching :func:`is_placeholder`: the candidate's new placeholders."""
    # A placeholder starts with one of these markers: a candidate without any has none.
    data = b"".join(candidate)
    if not any(marker in data for marker in _PLACEHOLDER_MARKERS):
        return []
    return new_lines(original, candidate, is_placeholder)


def is_placeholder(line: bytes) -> bool:
    """Whether ``line`` is a comment or ellipsis standing in for code left out."""
    return bool(_PLACEHOLDER_LINE.match(line) and _PLACEHOLDER_PHRASE.search(line))


def suppression_counts(data: bytes) -> Counter[str]:
    """How often each kind of suppression occurs in ``data``."""
    return Counter({name: len(pattern.findall(data)) for name, pattern in SUPPRESSIONS.items()})


def new_suppressions(original: bytes, candidate: bytes) -> list[str]:
    """The kinds of suppression ``candidate`` has beyond ``original``'s, one entry per new one.

    Each suppression counts with the codes it names (``# noqa: E501, E741`` silences two), so
    one that silences more than before is new even though the count of comments is the same:
    ``# noqa: E501`` widened to ``# noqa: E501, E741`` or to a bare ``# noqa``. Narrowing one
    (dropping a code, the fix of what it silenced) is not.
    """
    if not _ANY_SUPPRESSION.search(candidate):
        return []  # nothing to be new; most candidates have no suppression at all
    available = _suppressions(original)
    wanted = _suppressions(candidate)
    for item in list(wanted):  # the same suppression kept: matched first
        if item in available:
            available.remove(item)
            wanted.remove(item)
    added = []
    for name, codes in wanted:
        wider = next(
            (
                old
                for old in available
                if old[0] == name and (old[1] is None or (codes is not None and codes <= old[1]))
            ),
            None,
        )
        if wider is None:
            added.append(name)
        else:
            available.remove(wider)
    return added


def _suppressions(data: bytes) -> list[tuple[str, frozenset[bytes] | None]]:
    """Each suppression in ``data``: its kind and the codes it names (None: all of them)."""
    found: list[tuple[str, frozenset[bytes] | None]] = []
    for line in data.splitlines():
        if b"#" not in line and b"@" not in line:
            continue  # every suppression is a comment or a decorator
        for name, pattern in SUPPRESSIONS.items():
            for match in pattern.finditer(line):
                tail = line[match.end() :].split(b"#", 1)[0]
                codes = frozenset(code.lower() for code in _SUPPRESSED_CODE.findall(tail))
                found.append((name, codes or None))
    return found


def show(text: bytes, limit: int = 80) -> str:
    """``text`` decoded for a message, shortened to ``limit`` characters."""
    decoded = text.decode("utf-8", errors="replace")
    return decoded if len(decoded) <= limit else decoded[: limit - 3] + "..."


def _ending(line: bytes) -> bytes:
    return line[len(line.rstrip(b"\r\n")) :]


def _opcodes(old: list[bytes], new: list[bytes]) -> Iterator[tuple[str, int, int, int, int]]:
    """``SequenceMatcher`` opcodes for the two files, in order.

    Common head and tail are trimmed before the (quadratic in the worst case) matcher, since a
    fix usually touches a few lines in the middle of a long file.
    """
    head = 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    yield "equal", 0, head, 0, head
    matcher = SequenceMatcher(None, old[head : len(old) - tail], new[head : len(new) - tail])
    for tag, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        yield tag, head + old_start, head + old_end, head + new_start, head + new_end
    yield "equal", len(old) - tail, len(old), len(new) - tail, len(new)
