"""Turning diagnostics into text, JSON and SARIF 2.1.0.

Pure functions returning strings or JSON-ready data; the commands decide where output goes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from stomper import __version__
from stomper.diagnostics import by_file, count_by_code
from stomper.types import Diagnostic

JSON_SCHEMA_VERSION = 1
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/stomper/"


def diagnostic_json(diagnostic: Diagnostic) -> dict[str, Any]:
    """A diagnostic as a JSON object (every field, by name)."""
    data = diagnostic._asdict()
    data["notes"] = list(diagnostic.notes)
    return data


def check_json(diagnostics: Sequence[Diagnostic], files_checked: int) -> str:
    """The ``stomper check --format json`` document."""
    document = {
        "version": JSON_SCHEMA_VERSION,
        "tool": {"name": "stomper", "version": __version__},
        "files_checked": files_checked,
        "summary": _summary(diagnostics),
        "diagnostics": [diagnostic_json(diagnostic) for diagnostic in diagnostics],
    }
    return json.dumps(document, indent=2) + "\n"


def _summary(diagnostics: Sequence[Diagnostic]) -> dict[str, Any]:
    return {
        "total": len(diagnostics),
        "files": len(by_file(diagnostics)),
        "fixable": sum(diagnostic.fixable for diagnostic in diagnostics),
        "by_code": [
            {"linter": linter, "code": code, "count": count}
            for (linter, code), count in count_by_code(diagnostics).items()
        ],
    }


def check_text(diagnostics: Sequence[Diagnostic], files_checked: int) -> str:
    """Diagnostics grouped by file, then a per-linter, per-code summary."""
    lines: list[str] = []
    for path, found in by_file(diagnostics).items():
        lines.append(path)
        for diagnostic in found:
            fixable = " [fixable]" if diagnostic.fixable else ""
            where = f"{diagnostic.line}:{diagnostic.column}"
            code = f"{diagnostic.linter} {diagnostic.code}"
            lines.append(f"  {where:>8}  {code}  {diagnostic.message}{fixable}")
            lines.extend(f"{'':>12}note: {note}" for note in diagnostic.notes)
    if lines:
        lines.append("")
    lines.extend(_text_summary(diagnostics, files_checked))
    return "\n".join(lines) + "\n"


def summary_line(diagnostics: Sequence[Diagnostic], files_checked: int) -> str:
    """One sentence: how many problems in how many files, how many fixable."""
    if not diagnostics:
        return f"No problems found in {_plural(files_checked, 'file')}."
    files = len(by_file(diagnostics))
    fixable = sum(diagnostic.fixable for diagnostic in diagnostics)
    return (
        f"Found {_plural(len(diagnostics), 'problem')} in {_plural(files, 'file')} "
        f"({files_checked} checked); {fixable} fixable by ruff."
    )


def _text_summary(diagnostics: Sequence[Diagnostic], files_checked: int) -> list[str]:
    lines = [summary_line(diagnostics, files_checked)]
    for (linter, code), count in count_by_code(diagnostics).items():
        lines.append(f"  {count:>6}  {linter} {code}")
    return lines


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def sarif(diagnostics: Sequence[Diagnostic]) -> str:
    """A SARIF 2.1.0 log with one run per linter, as GitHub code scanning accepts it."""
    runs = []
    for linter in sorted({diagnostic.linter for diagnostic in diagnostics} or {"stomper"}):
        found = [diagnostic for diagnostic in diagnostics if diagnostic.linter == linter]
        runs.append(_sarif_run(linter, found))
    document = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": runs}
    return json.dumps(document, indent=2) + "\n"


def _sarif_run(linter: str, diagnostics: Sequence[Diagnostic]) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    for diagnostic in diagnostics:
        rule = rules.setdefault(
            diagnostic.code,
            {"id": diagnostic.code, "shortDescription": {"text": diagnostic.code}},
        )
        if diagnostic.url:
            rule["helpUri"] = diagnostic.url
    rule_ids = list(rules)
    return {
        "tool": {
            "driver": {
                "name": f"stomper/{linter}",
                "version": __version__,
                "informationUri": INFORMATION_URI,
                "rules": list(rules.values()),
            }
        },
        "columnKind": "unicodeCodePoints",
        "results": [_sarif_result(d, rule_ids.index(d.code)) for d in diagnostics],
    }


def _sarif_result(diagnostic: Diagnostic, rule_index: int) -> dict[str, Any]:
    region: dict[str, int] = {"startLine": diagnostic.line, "startColumn": diagnostic.column}
    if diagnostic.end_line is not None:
        region["endLine"] = diagnostic.end_line
    if diagnostic.end_column is not None:
        region["endColumn"] = diagnostic.end_column
    message = diagnostic.message
    if diagnostic.notes:
        message += "\n" + "\n".join(diagnostic.notes)
    return {
        "ruleId": diagnostic.code,
        "ruleIndex": rule_index,
        "level": "note" if diagnostic.severity == "note" else diagnostic.severity,
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {
                        "uri": quote(PurePosixPath(diagnostic.path).as_posix()),
                        "uriBaseId": "%SRCROOT%",
                    },
                    "region": region,
                }
            }
        ],
    }
