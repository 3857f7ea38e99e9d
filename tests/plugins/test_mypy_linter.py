"""The built-in ``mypy`` linter against the real mypy, in real git repositories."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stomper import ConfigError, Diagnostic, LinterError, find_executable
from stomper.config import default_config
from stomper.testing import GitRepo
from stomper_plugins import _cli_linter
from stomper_plugins.mypy import MypyLinter, attach_notes, parse_lines

TYPE_ERRORS = """\
def f(x: int) -> str:
    return str(x)


y: int = "s"
f("a")
z = undefined_name
"""
WITH_NOTES = """\
from helper import g


g(y=1)


class A:
    def m(self, x: int) -> int:
        return x


class B(A):
    def m(self, x: str) -> int:
        return 1
"""
USER_SETTINGS = """\
[tool.mypy]
pretty = true
show_error_context = true
color_output = true
error_summary = true
show_column_numbers = false
show_absolute_path = true
show_error_end = true
show_error_code_links = true
hide_error_codes = true
"""


def lint(root: Path, paths: list[str], **plugin_options: Any) -> list[Diagnostic]:
    config = default_config(root)
    if plugin_options:
        config = config.replace(plugins={"mypy": plugin_options})
    return MypyLinter(config).lint(root, paths)


def mypy_directly(root: Path, paths: list[str]) -> list[tuple[str, str, int, int, int, int]]:
    """What ``mypy -O json`` itself reports, columns shifted to 1-based, as tuples."""
    mypy = find_executable("mypy")
    assert mypy is not None
    completed = subprocess.run(
        [mypy, "-O", "json", *paths], cwd=root, capture_output=True, check=False
    )
    reported = []
    for line in completed.stdout.splitlines():
        item = json.loads(line)
        if item["severity"] == "error" and item["file"] in paths:
            start = (item["line"], item["column"] + 1)
            end = (item["end_line"], item["end_column"] + 1)
            reported.append((item["file"], item["code"], *start, *end))
    return sorted(reported)


def positions(found: list[Diagnostic]) -> list[tuple[str, str, int, int, int, int]]:
    return sorted(
        (d.path, d.code, d.line, d.column, d.end_line or 0, d.end_column or 0) for d in found
    )


def fake_tool(directory: Path, body: str) -> str:
    """An executable Python script standing in for mypy."""
    script = directory / "fake-mypy"
    script.write_text(f"#!{sys.executable}\nimport sys\n{body}\n", encoding="utf-8")
    script.chmod(0o755)
    return str(script)


def test_known_errors_codes_and_positions(repo: GitRepo) -> None:
    repo.write("pkg/a.py", TYPE_ERRORS)
    found = lint(repo.path, ["pkg/a.py"])
    assert [(d.code, d.line, d.column) for d in found] == [
        ("assignment", 5, 10),
        ("arg-type", 6, 3),
        ("name-defined", 7, 5),
    ]
    # 1-based start, exclusive end: `"a"` spans columns 3 to 5 of `f("a")`.
    assert (found[1].end_line, found[1].end_column) == (6, 6)
    assert {(d.path, d.linter) for d in found} == {("pkg/a.py", "mypy")}
    assert found[0].url == "https://mypy.readthedocs.io/en/stable/_refs.html#code-assignment"
    assert positions(found) == mypy_directly(repo.path, ["pkg/a.py"])


def test_notes_are_attached_to_their_error(repo: GitRepo) -> None:
    repo.write("helper.py", "def g(x: str) -> None: ...\n")
    repo.write("a.py", WITH_NOTES)
    found = lint(repo.path, ["a.py"])
    assert [d.code for d in found] == ["call-arg", "override"]
    assert found[0].notes == ('"g" defined in "helper"',)
    assert found[1].notes[0] == "This violates the Liskov substitution principle"
    assert len(found[1].notes) == 2
    assert all(d.severity == "error" for d in found)


def test_users_display_settings_do_not_change_the_result(repo: GitRepo) -> None:
    repo.write("a.py", TYPE_ERRORS)
    repo.write("b.py", WITH_NOTES)
    repo.write("helper.py", "def g(x: str) -> None: ...\n")
    plain = lint(repo.path, ["a.py", "b.py"])
    repo.write("pyproject.toml", USER_SETTINGS)
    assert lint(repo.path, ["a.py", "b.py"]) == plain


def test_users_type_checking_settings_apply(repo: GitRepo) -> None:
    repo.write("a.py", "def f(x):\n    return x\n")
    assert lint(repo.path, ["a.py"]) == []
    repo.write("setup.cfg", "[mypy]\ndisallow_untyped_defs = True\n")
    assert [d.code for d in lint(repo.path, ["a.py"])] == ["no-untyped-def"]


def test_only_requested_files_not_their_imports(repo: GitRepo) -> None:
    repo.write("helper.py", 'x: int = "no"\n')
    repo.write("main.py", "import helper\n\nhelper.x = 1\n")
    assert lint(repo.path, ["main.py"]) == []
    assert [d.path for d in lint(repo.path, ["main.py", "helper.py"])] == ["helper.py"]


def test_syntax_error_is_a_diagnostic(repo: GitRepo) -> None:
    repo.write("bad.py", "x = 1\ndef f(:\n    pass\n")
    repo.write("pyproject.toml", USER_SETTINGS)
    found = lint(repo.path, ["bad.py"])
    assert found
    assert {(d.path, d.code, d.line) for d in found} == {("bad.py", "syntax", 2)}


def test_non_utf8_file_is_a_diagnostic_even_when_pretty(repo: GitRepo) -> None:
    repo.write("latin.py", b'x = "\xff\xfe"\n')
    repo.write("pyproject.toml", USER_SETTINGS)
    found = lint(repo.path, ["latin.py"])
    assert [(d.path, d.line, d.column) for d in found] == [("latin.py", 1, 1)]
    assert found[0].message.startswith("Cannot decode file: 'utf-8' codec can't decode byte")


def test_a_lone_note_is_not_a_problem(repo: GitRepo) -> None:
    repo.write("a.py", "reveal_type(1)\n")
    assert lint(repo.path, ["a.py"]) == []


def test_blocking_error_in_an_import_is_a_linter_error(repo: GitRepo) -> None:
    repo.write("broken.py", "def f(:\n")
    repo.write("main.py", "import broken\n")
    with pytest.raises(LinterError, match=r"mypy: .*blocking error in broken\.py:1"):
        lint(repo.path, ["main.py"])


def test_usage_error_is_a_linter_error(repo: GitRepo) -> None:
    repo.write("a.py", "x = 1\n")
    with pytest.raises(LinterError, match="unrecognized arguments: --no-such-flag"):
        lint(repo.path, ["a.py"], args=["--no-such-flag"])


def test_root_behind_a_symlink(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("sub/a.py", TYPE_ERRORS)
    link = tmp_path / "link"
    link.symlink_to(repo.path, target_is_directory=True)
    assert {d.path for d in lint(link, ["sub/a.py"])} == {"sub/a.py"}


def test_empty_paths_do_not_run_mypy(tmp_path: Path) -> None:
    assert lint(tmp_path, [], executable=str(tmp_path / "no-such-mypy")) == []


def test_missing_executable_is_a_linter_error(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    with pytest.raises(LinterError, match=r"mypy: .*not found.*pip install mypy"):
        lint(tmp_path, ["a.py"], executable=str(tmp_path / "no-such-mypy"))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "sys.stderr.write('Traceback\\nRuntimeError: boom\\n'); sys.exit(2)",
            "RuntimeError: boom",
        ),
        ("sys.stderr.write('killed\\n'); sys.exit(3)", "exited with 3: killed"),
        ("print('a.py:1: error: INTERNAL ERROR -- please report'); sys.exit(2)", "INTERNAL"),
        ("print('garbage'); sys.exit(1)", "exited with 1 but reported nothing: garbage"),
    ],
)
def test_crash_is_a_linter_error(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    with pytest.raises(LinterError, match=message):
        lint(tmp_path, ["a.py"], executable=fake_tool(tmp_path, body))


def test_bad_args_option_is_a_config_error(tmp_path: Path) -> None:
    config = default_config(tmp_path).replace(plugins={"mypy": {"args": "--strict"}})
    with pytest.raises(ConfigError, match=r"\[tool\.stomper\.plugins\.mypy\] args"):
        MypyLinter(config)


def test_text_form_is_parsed_like_json() -> None:
    lines = [
        "a.py:3: error: invalid syntax  [syntax]",
        "b.py:4:7:4:9: error: Bad thing  [misc]",
        "b.py:4:2: note: about the bad thing",
        "b.py:9: note: a note on its own",
        "c.py: error: Cannot decode file: oops",
        "usage: mypy [-h]",
        '{"file": "d.py", "line": 2, "column": 0, "end_line": 2, "end_column": 3,'
        ' "message": "m", "hint": "h1\\nh2", "code": "arg-type", "severity": "error"}',
        '{"file": "d.py", "line": 2, "column": 5, "end_line": 2, "end_column": 6,'
        ' "message": "n", "hint": null, "code": null, "severity": "note"}',
    ]
    errors = attach_notes(parse_lines(lines))
    summary = [(e.file, e.line, e.column, e.end_column, e.code, e.notes) for e in errors]
    assert summary == [
        ("a.py", 3, 1, None, "syntax", ()),
        ("b.py", 4, 7, None, "misc", ("about the bad thing",)),
        ("c.py", 1, 1, None, None, ()),
        ("d.py", 2, 1, 4, "arg-type", ("h1", "h2", "n")),
    ]


def test_long_path_lists_go_through_an_argument_file(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_cli_linter, "ARGV_BUDGET", 0)
    names = [f"m{index}.py" for index in range(20)] + ["-dash.py"]
    for name in names:
        repo.write(name, 'x: int = "s"\n')
    found = lint(repo.path, names)
    assert sorted(d.path for d in found) == sorted(names)
