"""``stomper fix --report FILE.sarif``: a SARIF 2.1.0 log of what remains and what was fixed.

One run per linter, as ``stomper check`` writes it. A diagnostic that remains is an ordinary
result (``kind`` fail, ``baselineState`` unchanged). A diagnostic that was fixed is a result
with ``kind`` pass, ``level`` none and ``baselineState`` absent (it was there before the run
and is not after), carrying the applied change as a SARIF ``fix``: the file's replacements,
each a ``deletedRegion`` of the original file and its ``insertedContent``.

Regions count Unicode code points (``columnKind`` unicodeCodePoints) from the start of the
file (``charOffset``/``charLength``); a file that is not UTF-8 gets byte regions
(``byteOffset``/``byteLength``) and base64 ``binary`` content instead, so a fix is exact
whatever the encoding. Replacements refer to the unmodified file and do not overlap.
"""

from __future__ import annotations

import base64
import difflib
import itertools
import json
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from stomper import __version__
from stomper.report import INFORMATION_URI, SARIF_SCHEMA
from stomper.types import Diagnostic, FileResult

if TYPE_CHECKING:
    from stomper.engine import FixRun

# path -> (bytes before, validated bytes after)
Validated = Mapping[str, tuple[bytes, bytes]]


def fix_sarif(fix_run: FixRun, validated: Validated) -> str:
    """The SARIF log of ``fix_run``; ``validated`` holds the applied fixes' bytes by path."""
    applied = {r.path: r for r in fix_run.results if r.status in ("fixed", "partially-fixed")}
    found = [(d, False) for d in fix_run.remaining]
    found += [(d, True) for result in applied.values() for d in result.fixed]
    runs = []
    for linter in sorted({d.linter for d, _ in found} or {"stomper"}):
        mine = [(d, was_fixed) for d, was_fixed in found if d.linter == linter]
        runs.append(_run(linter, mine, applied, validated))
    document = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": runs}
    return json.dumps(document, indent=2) + "\n"


def _run(
    linter: str,
    diagnostics: Sequence[tuple[Diagnostic, bool]],
    applied: Mapping[str, FileResult],
    validated: Validated,
) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    for diagnostic, _ in diagnostics:
        rule = rules.setdefault(
            diagnostic.code, {"id": diagnostic.code, "shortDescription": {"text": diagnostic.code}}
        )
        if diagnostic.url:
            rule["helpUri"] = diagnostic.url
    index = {code: position for position, code in enumerate(rules)}
    results = []
    for diagnostic, was_fixed in diagnostics:
        result = _result(diagnostic, index[diagnostic.code])
        if was_fixed:
            result |= _fixed_part(diagnostic, applied[diagnostic.path], validated)
        results.append(result)
    driver = {
        "name": f"stomper/{linter}",
        "version": __version__,
        "informationUri": INFORMATION_URI,
        "rules": list(rules.values()),
    }
    return {"tool": {"driver": driver}, "columnKind": "unicodeCodePoints", "results": results}


def _artifact(path: str) -> dict[str, str]:
    return {"uri": quote(PurePosixPath(path).as_posix()), "uriBaseId": "%SRCROOT%"}


def _result(diagnostic: Diagnostic, rule_index: int) -> dict[str, Any]:
    region: dict[str, int] = {"startLine": diagnostic.line, "startColumn": diagnostic.column}
    if diagnostic.end_line is not None:
        region["endLine"] = diagnostic.end_line
    if diagnostic.end_column is not None:
        region["endColumn"] = diagnostic.end_column
    message = "\n".join((diagnostic.message, *diagnostic.notes))
    return {
        "ruleId": diagnostic.code,
        "ruleIndex": rule_index,
        "kind": "fail",
        "level": "note" if diagnostic.severity == "note" else diagnostic.severity,
        "baselineState": "unchanged",
        "message": {"text": message},
        "locations": [
            {"physicalLocation": {"artifactLocation": _artifact(diagnostic.path), "region": region}}
        ],
    }


def _fixed_part(diagnostic: Diagnostic, result: FileResult, validated: Validated) -> dict[str, Any]:
    """What turns a result into a fixed one: pass, absent, the message, the applied change."""
    agent = result.agent or "stomper"
    part: dict[str, Any] = {
        "kind": "pass",
        "level": "none",
        "baselineState": "absent",
        "message": {"text": f"Fixed by {agent}: {diagnostic.message}"},
    }
    if diagnostic.path in validated:
        before, after = validated[diagnostic.path]
        changes = replacements(before, after)
        if changes:
            text = f"{agent}: fix {diagnostic.code} in {diagnostic.path} (validated by stomper)"
            change = {"artifactLocation": _artifact(diagnostic.path), "replacements": changes}
            part["fixes"] = [{"description": {"text": text}, "artifactChanges": [change]}]
    return part


def replacements(before: bytes, after: bytes) -> list[dict[str, Any]]:
    """SARIF replacements turning ``before`` into ``after``, line by line, in file order."""
    try:
        old_text, new_text = before.decode("utf-8"), after.decode("utf-8")
    except UnicodeDecodeError:
        return _replacements(before.splitlines(keepends=True), after.splitlines(keepends=True))
    return _replacements(old_text.splitlines(keepends=True), new_text.splitlines(keepends=True))


def _replacements(old: Sequence[Any], new: Sequence[Any]) -> list[dict[str, Any]]:
    """Works on str lines (code point regions) or bytes lines (byte regions)."""
    textual = bool(old or new) and isinstance((old or new)[0], str)
    offsets = [0, *itertools.accumulate(len(line) for line in old)]
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    found = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        start, length = offsets[i1], offsets[i2] - offsets[i1]
        if textual:
            region = {"charOffset": start, "charLength": length}
            content = {"text": "".join(new[j1:j2])}
        else:
            region = {"byteOffset": start, "byteLength": length}
            content = {"binary": base64.b64encode(b"".join(new[j1:j2])).decode()}
        replacement: dict[str, Any] = {"deletedRegion": region}
        if j2 > j1:
            replacement["insertedContent"] = content
        found.append(replacement)
    return found
