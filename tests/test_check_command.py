"""`stomper check` end to end: real git, real ruff and mypy, the console script in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from stomper.testing import GitRepo

BIN = Path(sys.executable).parent
PROBLEMS = {
    "pkg/__init__.py": "",
    "pkg/imports.py": "import os\nimport sys\n\n\ndef f(x):\n    if x == None:\n        return 1\n",
    "pkg/types.py": (
        "def add(a: int, b: int) -> int:\n    return a + b\n\n\n"
        'value: int = "text"\nadd(1, "2")\nprint(undefined_name)\n'
    ),
}


def stomper(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "stomper"), *args], cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.fixture
def problems(repo: GitRepo) -> GitRepo:
    for path, text in PROBLEMS.items():
        repo.write(path, text)
    repo.commit("problems")
    return repo


def direct_ruff(root: Path) -> list[tuple[str, str, int, int]]:
    out = subprocess.run(
        [str(BIN / "ruff"), "check", "--output-format", "json", "--no-fix", "."],
        cwd=root, capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    return sorted(
        (
            Path(item["filename"]).resolve().relative_to(root.resolve()).as_posix(),
            item["code"],
            item["location"]["row"],
            item["location"]["column"],
        )
        for item in json.loads(out)
    )


def direct_mypy(root: Path) -> list[tuple[str, str, int, int]]:
    out = subprocess.run(
        [str(BIN / "mypy"), "-O", "json", "pkg"],
        cwd=root, capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    rows = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return sorted(
        (row["file"], row["code"], row["line"], row["column"] + 1)
        for row in rows
        if row["severity"] == "error"
    )


def test_json_matches_ruff_and_mypy_exactly(problems: GitRepo) -> None:
    result = stomper(problems.path, "check", "--format", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    ours = report["diagnostics"]
    for linter, direct in (("ruff", direct_ruff), ("mypy", direct_mypy)):
        mine = sorted(
            (d["path"], d["code"], d["line"], d["column"]) for d in ours if d["linter"] == linter
        )
        theirs = direct(problems.path)
        assert theirs, f"{linter} found nothing: the fixture is wrong"
        assert mine == theirs
    assert Counter(d["code"] for d in ours)["F401"] == 2
    assert report["summary"]["total"] == len(ours)


def test_text_output_groups_by_file_with_a_summary(problems: GitRepo) -> None:
    result = stomper(problems.path, "check")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert "pkg/imports.py" in lines
    assert any("ruff F401" in line and "[fixable]" in line for line in lines)
    assert any(line.startswith("Found ") for line in lines)


def test_clean_files_exit_zero(repo: GitRepo) -> None:
    repo.write("ok.py", "VALUE = 1\n")
    repo.commit("ok")
    result = stomper(repo.path, "check", "ok.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No problems found in 1 file." in result.stdout


def test_select_ignore_and_output_file(problems: GitRepo) -> None:
    report_path = problems.path.parent / "out.json"
    result = stomper(
        problems.path, "check", "--select", "F", "--ignore", "F821", "--format", "json",
        "--output", str(report_path),
    )  # fmt: skip
    assert result.returncode == 1
    codes = {d["code"] for d in json.loads(report_path.read_text())["diagnostics"]}
    assert codes == {"F401"}
    assert "Written to" in result.stdout


def test_sarif_is_what_code_scanning_needs(problems: GitRepo) -> None:
    result = stomper(problems.path, "check", "--format", "sarif")
    log = json.loads(result.stdout)
    assert log["version"] == "2.1.0"
    drivers = {run["tool"]["driver"]["name"] for run in log["runs"]}
    assert drivers == {"stomper/ruff", "stomper/mypy"}
    for run in log["runs"]:
        rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
        for item in run["results"]:
            assert rule_ids[item["ruleIndex"]] == item["ruleId"]
            location = item["locations"][0]["physicalLocation"]
            assert not location["artifactLocation"]["uri"].startswith("/")
            assert location["region"]["startLine"] >= 1
            assert location["region"]["startColumn"] >= 1


def test_undecodable_and_broken_files_are_diagnostics(repo: GitRepo) -> None:
    repo.write("latin.py", b"name = '\xe9t\xe9'\n")
    repo.write("broken.py", "def f(:\n    pass\n")
    repo.commit("bad files")
    result = stomper(repo.path, "check", "--format", "json")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    paths = {d["path"] for d in json.loads(result.stdout)["diagnostics"]}
    assert {"latin.py", "broken.py"} <= paths


@pytest.mark.parametrize(
    ("setup", "args", "words"),
    [
        (None, ("check", "../elsewhere.py"), "outside"),
        ("[tool.stomper\n", ("check",), "malformed TOML"),
        ("[tool.stomper]\nfoo = 1\n", ("check",), "unknown key 'foo'"),
        ("[tool.stomper]\nmax_files = 'x'\n", ("check",), "max_files"),
        (
            '[tool.stomper.plugins.ruff]\nexecutable = "/nonexistent/ruff"\n',
            ("check",),
            "ruff",
        ),
        (
            '[tool.stomper.plugins.mypy]\nexecutable = "/nonexistent/mypy"\n',
            ("check",),
            "mypy",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    problems: GitRepo, setup: str | None, args: tuple[str, ...], words: str
) -> None:
    (problems.path.parent / "elsewhere.py").write_text("x = 1\n")
    if setup is not None:
        problems.write("pyproject.toml", setup)
    result = stomper(problems.path, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert words in lines[0]


def test_git_selectors_outside_a_repository(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import os\n")
    result = stomper(tmp_path, "check", "--staged")
    assert result.returncode == 2
    assert "git" in result.stderr


def test_check_works_outside_git(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import os\n")
    result = stomper(tmp_path, "check", "--linters", "ruff")
    assert result.returncode == 1
    assert "F401" in result.stdout


def test_verbose_shows_the_traceback(problems: GitRepo) -> None:
    problems.write("pyproject.toml", "[tool.stomper]\nfoo = 1\n")
    result = stomper(problems.path, "check", "--verbose")
    assert result.returncode == 2
    assert "Traceback" in result.stderr


def test_stomper_passes_its_own_check() -> None:
    root = Path(__file__).parents[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    result = subprocess.run(
        [str(BIN / "stomper"), "check", "src"], cwd=root, capture_output=True, text=True,
        check=False, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def reported_paths(result: subprocess.CompletedProcess[str]) -> set[str]:
    assert result.returncode in (0, 1), result.stderr
    return {d["path"] for d in json.loads(result.stdout)["diagnostics"]}


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (("--file", "pkg/imports.py"), {"pkg/imports.py"}),
        (("--files", "pkg/imports.py,pkg/types.py"), {"pkg/imports.py", "pkg/types.py"}),
        (("--directory", "pkg"), {"pkg/imports.py", "pkg/types.py"}),
        (("--pattern", "pkg/imp*.py"), {"pkg/imports.py"}),
        (("--exclude", "pkg/types.py"), {"pkg/imports.py"}),
        (("--max-files", "2"), {"pkg/imports.py"}),
    ],
)
def test_the_earlier_tools_flags_select_files(
    problems: GitRepo, flags: tuple[str, ...], expected: set[str]
) -> None:
    result = stomper(problems.path, "check", "--linters", "ruff", "--format", "json", *flags)
    assert reported_paths(result) == expected


def test_the_earlier_tools_git_and_code_flags(problems: GitRepo) -> None:
    problems.write("pkg/imports.py", PROBLEMS["pkg/imports.py"] + "import json\n")
    problems.write("staged.py", "import re\n")
    problems.add("staged.py")
    args = ("check", "--linters", "ruff", "--format", "json")
    assert reported_paths(stomper(problems.path, *args, "--git-staged")) == {"staged.py"}
    changed = reported_paths(stomper(problems.path, *args, "--git-changed"))
    assert changed == {"staged.py", "pkg/imports.py"}
    since = reported_paths(stomper(problems.path, *args, "--git-diff", "HEAD"))
    assert since == changed
    typed = stomper(problems.path, *args, "--error-type", "F401", "--max-errors", "1")
    codes = {d["code"] for d in json.loads(typed.stdout)["diagnostics"]}
    assert codes == {"F401"}
    paths = [d["path"] for d in json.loads(typed.stdout)["diagnostics"]]
    assert paths == ["pkg/imports.py", "staged.py"]  # --max-errors 1: one per file
