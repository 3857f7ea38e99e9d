"""``stomper fix --report``: JSON against its published schema, SARIF 2.1.0, Markdown."""

from __future__ import annotations

import base64
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fake_agents import FakeAgent, add_noqa, remove_unused_imports
from fix_support import AMBIGUOUS, UNUSED, make_project, use_agents

from stomper import FixRequest
from stomper.cli import main
from stomper.fix_sarif import replacements
from stomper.testing import GitRepo

KINDS = {"notApplicable", "pass", "fail", "review", "open", "informational"}
LEVELS = {"none", "note", "warning", "error"}
BASELINE_STATES = {"new", "unchanged", "updated", "absent"}


@pytest.fixture(autouse=True)
def isolated(private_tmpdir: Path) -> Path:
    return private_tmpdir


def behaviour(request: FixRequest) -> None:
    """good.py gets a real fix; anything else a suppression comment, which is rejected."""
    if request.path == "good.py":
        remove_unused_imports(request)
    else:
        add_noqa(request)


@pytest.fixture
def reports(repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """One run (F401 fixed in good.py, E741 silenced and rejected in bad.py), all formats."""
    make_project(repo, {"good.py": UNUSED, "bad.py": AMBIGUOUS, "clean.py": "X = 1\n"})
    use_agents(monkeypatch, FakeAgent("fake", behaviour))
    paths = {kind: tmp_path / f"report.{kind}" for kind in ("json", "sarif", "md")}
    args = [item for path in paths.values() for item in ("--report", str(path))]
    assert main(["fix", "--no-commit", *args]) == 1
    return paths


def test_json_report_validates_against_the_published_schema(reports: dict[str, Path]) -> None:
    schema_text = resources.files("stomper").joinpath("data/fix-report.schema.json").read_text()
    schema = json.loads(schema_text)
    jsonschema.Draft202012Validator.check_schema(schema)
    document = json.loads(reports["json"].read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    assert document["summary"]["statuses"]["fixed"] == 1
    assert document["summary"]["statuses"]["unchanged"] == 1
    rows = {row["code"]: row for row in document["by_code"]}
    assert rows["F401"] | {"linter": "ruff"} == {
        "linter": "ruff", "code": "F401", "found": 1, "fixed": 1, "remaining": 0,
        "suppressed_rejected": 0,
    }  # fmt: skip
    assert (rows["E741"]["remaining"], rows["E741"]["suppressed_rejected"]) == (1, 1)
    assert document["cache"] == {"hits": 0, "misses": 2, "stores": 2}


def test_the_schema_rejects_what_it_should(reports: dict[str, Path]) -> None:
    schema = json.loads(
        resources.files("stomper").joinpath("data/fix-report.schema.json").read_text()
    )
    document = json.loads(reports["json"].read_text())
    document["results"][0]["status"] = "mostly-fixed"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)


def apply_replacements(before: bytes, found: list[dict[str, Any]]) -> bytes:
    """What a SARIF consumer does: each deletedRegion refers to the unmodified file."""
    textual = all("charOffset" in r["deletedRegion"] for r in found)
    data: Any = before.decode("utf-8") if textual else before
    for replacement in sorted(found, key=_offset, reverse=True):
        region, inserted = replacement["deletedRegion"], replacement.get("insertedContent", {})
        start = _offset(replacement)
        end = start + region["charLength" if textual else "byteLength"]
        new = inserted.get("text", "") if textual else base64.b64decode(inserted.get("binary", ""))
        data = data[:start] + new + data[end:]
    return data.encode("utf-8") if textual else data  # type: ignore[no-any-return]


def _offset(replacement: dict[str, Any]) -> int:
    region = replacement["deletedRegion"]
    return int(region.get("charOffset", region.get("byteOffset", 0)))


def check_sarif(document: dict[str, Any]) -> list[dict[str, Any]]:
    """What the SARIF 2.1.0 schema requires of the parts stomper writes (sarifLog: version,
    runs; run: tool.driver.name; result: message.text, a ruleIndex naming the rule of its
    ruleId, enumerated kind, level and baselineState; fix: artifactChanges with at least one
    replacement, each with a deletedRegion of non-negative offsets); returns every result."""
    assert document["version"] == "2.1.0"
    assert isinstance(document["$schema"], str)
    found = []
    for run in document["runs"]:
        driver = run["tool"]["driver"]
        assert isinstance(driver["name"], str)
        assert driver["name"]
        rule_ids = [rule["id"] for rule in driver["rules"]]
        assert len(rule_ids) == len(set(rule_ids))
        for result in run["results"]:
            assert isinstance(result["message"]["text"], str)
            assert result["message"]["text"]
            assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
            assert result["kind"] in KINDS
            assert result["level"] in LEVELS
            assert result["baselineState"] in BASELINE_STATES
            if result["kind"] != "fail":
                assert result["level"] == "none"  # SARIF 3.27.10
            (location,) = result["locations"]
            physical = location["physicalLocation"]
            assert physical["artifactLocation"]["uri"]
            assert physical["region"]["startLine"] >= 1
            for fix in result.get("fixes", []):
                assert fix["description"]["text"]
                assert fix["artifactChanges"]
                for change in fix["artifactChanges"]:
                    assert change["artifactLocation"]["uri"]
                    assert change["replacements"]
                    for replacement in change["replacements"]:
                        assert set(replacement) <= {"deletedRegion", "insertedContent"}
                        assert all(value >= 0 for value in replacement["deletedRegion"].values())
            found.append(result)
    return found


def test_sarif_lists_what_remains_and_what_was_fixed(
    reports: dict[str, Path], repo: GitRepo
) -> None:
    document = json.loads(reports["sarif"].read_text())
    results = check_sarif(document)
    by_code = {result["ruleId"]: result for result in results}
    assert (by_code["E741"]["kind"], by_code["E741"]["baselineState"]) == ("fail", "unchanged")
    fixed = by_code["F401"]
    assert (fixed["kind"], fixed["baselineState"]) == ("pass", "absent")
    (fix,) = fixed["fixes"]
    (change,) = fix["artifactChanges"]
    assert change["artifactLocation"]["uri"] == "good.py"
    after = apply_replacements(UNUSED.encode(), change["replacements"])
    assert after == repo.read("good.py")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (b"a\nb\nc\n", b"a\nc\n"),
        (b"a\nb\nc\n", b"a\nB\nc\nd\n"),
        (b"", b"x = 1\n"),
        (b"x = 1\n", b""),
        (b"no newline", b"no newline at all"),
        ("caf\u00e9 = 1\nl = 2\n".encode(), "caf\u00e9 = 1\nlength = 2\n".encode()),
        (b"s = '\xe9'\r\nl = 1\r\n", b"s = '\xe9'\r\nlength = 1\r\n"),  # latin-1: byte regions
    ],
)
def test_replacements_rebuild_the_fixed_file(before: bytes, after: bytes) -> None:
    found = replacements(before, after)
    assert apply_replacements(before, found) == after
    assert found == replacements(before, after)  # deterministic


def test_markdown_report_for_pull_requests(reports: dict[str, Path]) -> None:
    text = reports["md"].read_text()
    assert text.startswith("## stomper fix\n")
    assert "| file | status | before -> after | agent | attempts | cost |" in text
    assert "| `good.py` | fixed | 1 -> 0 | fake | 1 |" in text
    assert "| `ruff E741` | 1 | 0 | 1 | 1 |" in text
    assert "<details><summary>Diffs</summary>" in text
    assert "-import os" in text


def test_summary_tables_and_show_diff(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_project(repo, {"good.py": UNUSED, "bad.py": AMBIGUOUS})
    use_agents(monkeypatch, FakeAgent("fake", behaviour))
    assert main(["fix", "--no-commit", "--show-diff"]) == 1
    out = capsys.readouterr().out
    assert "-import os\n" in out
    assert "file     status     before -> after  agent  attempts  cost" in out
    assert "bad.py   unchanged  1 -> 1           -      1         $0.0100" in out
    assert "rule       found  fixed  remaining  suppressed+rejected" in out
    assert "ruff E741  1      0      1          1" in out


def test_an_unknown_report_format_is_a_usage_error(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    make_project(repo, {"good.py": UNUSED}, agents=("ruff-fix",))
    assert main(["fix", "--report", "out.html"]) == 2
    assert "name it .json, .sarif or .md" in capsys.readouterr().err
    assert repo.read("good.py").decode() == UNUSED
