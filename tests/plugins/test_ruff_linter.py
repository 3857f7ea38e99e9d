"""The built-in ``ruff`` linter against the real ruff, in real git repositories."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from stomper import ConfigError, Diagnostic, Linter, LinterError, find_executable
from stomper.config import default_config
from stomper.testing import GitRepo, plugins_with
from stomper_plugins import _cli_linter
from stomper_plugins.ruff import RuffLinter

PYPROJECT = """\
[tool.ruff.lint]
select = ["E", "F"]
"""
EXCLUDE = '[tool.ruff]\nextend-exclude = ["generated"]\n\n[tool.ruff.lint]'
UNUSED_AND_NONE = "import os\nx = None\nif x == None:\n    pass\n"


@pytest.fixture
def ruff_repo(repo: GitRepo) -> GitRepo:
    """A repository whose ruff configuration selects E and F only, whatever ruff's defaults."""
    repo.write("pyproject.toml", PYPROJECT)
    return repo


def lint(root: Path, paths: list[str], **plugin_options: Any) -> list[Diagnostic]:
    config = default_config(root)
    if plugin_options:
        config = config.replace(plugins={"ruff": plugin_options})
    return RuffLinter(config).lint(root, paths)


def ruff_directly(root: Path, paths: list[str]) -> list[tuple[str, str, int, int, int, int]]:
    """What ``ruff check --output-format json`` itself reports, as comparable tuples."""
    ruff = find_executable("ruff")
    assert ruff is not None
    completed = subprocess.run(
        [ruff, "check", "--output-format", "json", "--no-fix", *paths],
        cwd=root,
        capture_output=True,
        check=False,
    )
    return sorted(
        (
            Path(item["filename"]).relative_to(root.resolve()).as_posix(),
            item["code"],
            item["location"]["row"],
            item["location"]["column"],
            item["end_location"]["row"],
            item["end_location"]["column"],
        )
        for item in json.loads(completed.stdout)
    )


def positions(found: list[Diagnostic]) -> list[tuple[str, str, int, int, int, int]]:
    return sorted(
        (d.path, d.code, d.line, d.column, d.end_line or 0, d.end_column or 0) for d in found
    )


def fake_tool(directory: Path, body: str) -> str:
    """An executable Python script standing in for a tool."""
    script = directory / "fake-tool"
    script.write_text(f"#!{sys.executable}\nimport sys\n{body}\n", encoding="utf-8")
    script.chmod(0o755)
    return str(script)


def test_known_codes_positions_and_urls(ruff_repo: GitRepo) -> None:
    ruff_repo.write("pkg/a.py", UNUSED_AND_NONE)
    found = lint(ruff_repo.path, ["pkg/a.py"])
    assert [(d.code, d.line, d.column) for d in found] == [("F401", 1, 8), ("E711", 3, 9)]
    assert {d.path for d in found} == {"pkg/a.py"}
    assert {d.linter for d in found} == {"ruff"}
    assert found[0].url == "https://docs.astral.sh/ruff/rules/unused-import"
    assert positions(found) == ruff_directly(ruff_repo.path, ["pkg/a.py"])


def test_fixable_follows_applicability_and_unsafe_fixes(ruff_repo: GitRepo) -> None:
    ruff_repo.write("a.py", UNUSED_AND_NONE)
    safe_only = {d.code: d.fixable for d in lint(ruff_repo.path, ["a.py"])}
    assert safe_only == {"F401": True, "E711": False}  # E711's fix is unsafe
    config = default_config(ruff_repo.path).replace(unsafe_fixes=True)
    with_unsafe = {d.code: d.fixable for d in RuffLinter(config).lint(ruff_repo.path, ["a.py"])}
    assert with_unsafe == {"F401": True, "E711": True}


def test_syntax_error_is_a_diagnostic(ruff_repo: GitRepo) -> None:
    ruff_repo.write("bad.py", "def f(:\n    pass\n")
    found = lint(ruff_repo.path, ["bad.py"])
    assert found
    assert {d.code for d in found} == {"invalid-syntax"}
    assert (found[0].line, found[0].column) == (1, 7)
    assert not any(d.fixable for d in found)


def test_non_utf8_file_is_a_diagnostic(ruff_repo: GitRepo) -> None:
    ruff_repo.write("latin.py", b'x = "\xff\xfe"\n')
    found = lint(ruff_repo.path, ["latin.py"])
    assert [(d.path, d.code) for d in found] == [("latin.py", "E902")]


def test_only_requested_paths_and_clean_files(ruff_repo: GitRepo) -> None:
    ruff_repo.write("a.py", UNUSED_AND_NONE)
    ruff_repo.write("clean.py", "x = 1\n")
    assert lint(ruff_repo.path, ["clean.py"]) == []


def test_root_behind_a_symlink_gives_relative_paths(ruff_repo: GitRepo, tmp_path: Path) -> None:
    ruff_repo.write("sub/a.py", UNUSED_AND_NONE)
    link = tmp_path / "link"
    link.symlink_to(ruff_repo.path, target_is_directory=True)
    found = lint(link, ["sub/a.py"])
    assert [(d.path, d.code) for d in found] == [("sub/a.py", "F401"), ("sub/a.py", "E711")]


def test_users_ruff_exclude_is_honoured(ruff_repo: GitRepo) -> None:
    ruff_repo.write("pyproject.toml", PYPROJECT.replace("[tool.ruff.lint]", EXCLUDE))
    ruff_repo.write("generated/a.py", UNUSED_AND_NONE)
    ruff_repo.write("b.py", UNUSED_AND_NONE)
    found = lint(ruff_repo.path, ["generated/a.py", "b.py"])
    assert {d.path for d in found} == {"b.py"}


def test_args_option_reaches_ruff(ruff_repo: GitRepo) -> None:
    ruff_repo.write("a.py", UNUSED_AND_NONE)
    found = lint(ruff_repo.path, ["a.py"], args=["--select", "E711"])
    assert [d.code for d in found] == ["E711"]


def test_long_path_lists_go_through_an_argument_file(
    ruff_repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_cli_linter, "ARGV_BUDGET", 0)
    names = [f"m{index}.py" for index in range(30)] + ["-dash.py", "with space.py"]
    for name in names:
        ruff_repo.write(name, "import os\n")
    found = lint(ruff_repo.path, names)
    assert sorted(d.path for d in found) == sorted(names)


def test_empty_paths_do_not_run_ruff(tmp_path: Path) -> None:
    assert lint(tmp_path, [], executable=str(tmp_path / "no-such-ruff")) == []


def test_missing_executable_is_a_linter_error(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    for executable in (str(tmp_path / "no-such-ruff"), "no-such-ruff-anywhere"):
        with pytest.raises(LinterError, match=r"ruff: .*not found.*pip install ruff") as caught:
            lint(tmp_path, ["a.py"], executable=executable)
        assert "\n" not in str(caught.value)


def test_missing_on_path_and_beside_python(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LinterError, match="ruff not found"):
        lint(tmp_path, ["a.py"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "sys.stderr.write('ruff failed\\n  Cause: boom\\n'); sys.exit(2)",
            "exited with 2: Cause: boom",
        ),
        ("print('this is not json')", "output is not JSON"),
        ("print('{}')", "not a JSON list"),
    ],
)
def test_crash_or_garbage_is_a_linter_error(tmp_path: Path, body: str, message: str) -> None:
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    with pytest.raises(LinterError, match=message):
        lint(tmp_path, ["a.py"], executable=fake_tool(tmp_path, body))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"args": "--preview"}, r"\[tool\.stomper\.plugins\.ruff\] args: expected a list"),
        ({"args": [1]}, r"\[tool\.stomper\.plugins\.ruff\] args: expected a list"),
        ({"executable": 3}, r"\[tool\.stomper\.plugins\.ruff\] executable"),
        ({"arg": []}, r"\[tool\.stomper\.plugins\.ruff\]: unknown option 'arg'"),
    ],
)
def test_bad_options_are_config_errors(
    tmp_path: Path, options: dict[str, object], message: str
) -> None:
    config = default_config(tmp_path).replace(plugins={"ruff": options})
    with pytest.raises(ConfigError, match=message):
        RuffLinter(config)


def test_registered_as_builtins(tmp_path: Path) -> None:
    config = default_config(tmp_path)
    linters = plugins_with().linters(config)
    assert {"ruff", "mypy"} <= set(linters)
    assert all(isinstance(linters[name], Linter) for name in ("ruff", "mypy"))
    assert linters["ruff"].project_wide is False
    assert linters["mypy"].project_wide is True


def test_cwd_does_not_matter(ruff_repo: GitRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    ruff_repo.write("a.py", UNUSED_AND_NONE)
    monkeypatch.chdir(os.sep)
    assert [d.code for d in lint(ruff_repo.path, ["a.py"])] == ["F401", "E711"]


def counting_parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How often ruff's JSON is parsed from now on (one entry per parse)."""
    from stomper_plugins import ruff as ruff_plugin

    calls: list[int] = []
    real = ruff_plugin._parse

    def counted(stdout: bytes, stderr: bytes) -> list[dict[str, Any]]:
        calls.append(1)
        return real(stdout, stderr)  # type: ignore[return-value]

    monkeypatch.setattr(ruff_plugin, "_parse", counted)
    return calls


def test_a_copy_elsewhere_is_parsed_once_and_a_changed_copy_again(
    ruff_repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ruff_repo.write("pkg/a.py", UNUSED_AND_NONE)
    ruff_repo.write("pkg/b.py", "import sys\n")
    copy = tmp_path / "elsewhere" / "copy"
    shutil.copytree(ruff_repo.path, copy, ignore=shutil.ignore_patterns(".git", ".ruff_cache"))
    paths = ["pkg/a.py", "pkg/b.py"]
    linter = RuffLinter(default_config(ruff_repo.path))
    parses = counting_parses(monkeypatch)

    in_repo = linter.lint(ruff_repo.path, paths)
    in_copy = linter.lint(copy, paths)
    assert parses == [1]  # the copy printed the same JSON but for its root
    assert in_copy == in_repo == lint(copy, paths)
    assert [(d.path, d.code) for d in in_copy] == [
        ("pkg/a.py", "F401"), ("pkg/a.py", "E711"), ("pkg/b.py", "F401")
    ]  # fmt: skip

    (copy / "pkg" / "b.py").write_text("import sys\nimport os\n", encoding="utf-8")
    parses.clear()
    changed = linter.lint(copy, paths)
    assert parses == [1]
    assert changed == lint(copy, paths)
    assert [d.code for d in changed if d.path == "pkg/b.py"] == ["F401", "F401"]

    assert linter.lint(ruff_repo.path, ["pkg/a.py"]) == lint(ruff_repo.path, ["pkg/a.py"])


def test_output_naming_its_root_in_a_message_is_parsed_for_each_root(tmp_path: Path) -> None:
    """A tool whose messages name the directory it ran in: the copy's diagnostics must name
    the copy, not the first root."""
    body = (
        "import json, os; root = os.getcwd()\n"
        "print(json.dumps([{'code': 'X1', 'filename': root + '/a.py', 'message': 'in ' + root,"
        " 'location': {'row': 1, 'column': 1}, 'end_location': {'row': 1, 'column': 2}}],"
        " indent=2))\n"
    )
    first, second = tmp_path / "first", tmp_path / "second"
    for root in (first, second):
        root.mkdir()
        (root / "a.py").write_text("x = 1\n", encoding="utf-8")
    config = default_config(first).replace(
        plugins={"ruff": {"executable": fake_tool(tmp_path, body)}}
    )
    linter = RuffLinter(config)
    assert [d.message for d in linter.lint(first, ["a.py"])] == [f"in {first}"]
    assert [d.message for d in linter.lint(second, ["a.py"])] == [f"in {second}"]


@pytest.mark.parametrize(
    ("output", "same"),
    [
        (b'[{"filename": "ROOT/a.py", "message": "m"}]', True),
        (b'[{"filename": "ROOT/a.py", "message": "ROOT/a.py is bad"}]', False),
        (b'[{"filename": "/other/a.py", "message": "m"}]', False),
        (b"[]", True),
    ],
)
def test_only_file_names_may_differ_by_root(tmp_path: Path, output: bytes, same: bool) -> None:
    from stomper_plugins.ruff import _rooted_output

    roots = [tmp_path / 'odd "name', tmp_path / "copy"]
    rooted = [
        _rooted_output(output.replace(b"ROOT", json.dumps(str(root))[1:-1].encode()), root)
        for root in roots
    ]
    assert (rooted[0] is not None and rooted[0] == rooted[1]) is same
