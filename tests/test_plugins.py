"""The plugin manager: built-ins, real entry points, blocking, broken and clashing plugins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stomper import Diagnostic, hookimpl
from stomper.config import default_config
from stomper.errors import PluginError
from stomper.plugins import make_plugins
from stomper.testing import GitRepo, install_distribution, plugins_with

TODO_PLUGIN = """
from __future__ import annotations
from pathlib import Path
from stomper import Diagnostic, hookimpl

class TodoLinter:
    name = "todo"
    project_wide = False

    def lint(self, root, paths):
        found = []
        for path in paths:
            text = (Path(root) / path).read_text(encoding="utf-8", errors="replace")
            for number, line in enumerate(text.splitlines(), start=1):
                column = line.find("TODO")
                if column >= 0:
                    found.append(Diagnostic("todo", path, number, column + 1, "TD001", "a TODO"))
        return found

@hookimpl
def stomper_register_linters(register, config):
    register(TodoLinter())
"""


def run_stomper(
    cwd: Path, *args: str, site: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "STOMPER_DISABLE_PLUGIN_AUTOLOAD"}
    if site is not None:
        env["PYTHONPATH"] = str(site)
    return subprocess.run(
        [sys.executable, "-m", "stomper", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def site(tmp_path: Path) -> Path:
    directory = tmp_path / "site"
    directory.mkdir()
    return directory


@pytest.fixture
def todo_repo(repo: GitRepo) -> GitRepo:
    repo.write("pyproject.toml", '[tool.stomper]\nlinters = ["todo"]\n')
    repo.write("app.py", "x = 1  # TODO: name this\n")
    repo.commit("app")
    return repo


def test_third_party_linter_is_listed_and_runs(todo_repo: GitRepo, site: Path) -> None:
    install_distribution(site, "stomper-todo", "stomper_todo", textwrap.dedent(TODO_PLUGIN))
    listed = run_stomper(todo_repo.path, "plugins", site=site)
    assert listed.returncode == 0, listed.stderr
    assert "stomper_todo  (stomper-todo 1.2.3)" in listed.stdout
    assert "linter todo" in listed.stdout

    checked = run_stomper(todo_repo.path, "check", "--format", "json", site=site)
    assert checked.returncode == 1, checked.stderr
    report = json.loads(checked.stdout)
    assert [(d["code"], d["path"], d["line"], d["column"]) for d in report["diagnostics"]] == [
        ("TD001", "app.py", 1, 10)
    ]


def test_broken_plugin_is_one_line_naming_it(todo_repo: GitRepo, site: Path) -> None:
    install_distribution(site, "stomper-broken", "stomper_broken", "import no_such_module\n")
    result = run_stomper(todo_repo.path, "check", site=site)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "'stomper_broken'" in lines[0]
    assert "stomper-broken" in lines[0]
    assert "no_such_module" in lines[0]


def test_blocking_by_name_on_the_command_line_and_in_config(todo_repo: GitRepo, site: Path) -> None:
    install_distribution(site, "stomper-broken", "stomper_broken", "import no_such_module\n")
    install_distribution(site, "stomper-todo", "stomper_todo", textwrap.dedent(TODO_PLUGIN))
    blocked = run_stomper(
        todo_repo.path, "plugins", "--disable-plugin", "stomper_broken", site=site
    )
    assert blocked.returncode == 0, blocked.stderr
    assert "stomper_broken" not in blocked.stdout.replace("blocked: stomper_broken", "")

    todo_repo.write(
        "pyproject.toml", '[tool.stomper]\nlinters = ["todo"]\ndisable = ["stomper_broken"]\n'
    )
    checked = run_stomper(todo_repo.path, "check", site=site)
    assert checked.returncode == 1, checked.stderr
    assert "TD001" in checked.stdout


def test_autoload_switch_turns_entry_points_off(todo_repo: GitRepo, site: Path) -> None:
    install_distribution(site, "stomper-broken", "stomper_broken", "import no_such_module\n")
    env_off = subprocess.run(
        [sys.executable, "-m", "stomper", "plugins"],
        cwd=todo_repo.path,
        env={**os.environ, "PYTHONPATH": str(site), "STOMPER_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert env_off.returncode == 0, env_off.stderr
    assert "stomper_broken" not in env_off.stdout


class ClashingLinter:
    name = "ruff"
    project_wide = False

    def lint(self, root: Path, paths: object) -> list[Diagnostic]:
        return []


class Clash:
    @hookimpl
    def stomper_register_linters(self, register: object, config: object) -> None:
        register(ClashingLinter())  # type: ignore[operator]


def test_a_name_taken_twice_names_both_plugins(tmp_path: Path) -> None:
    plugins = plugins_with(("clash", Clash()))
    with pytest.raises(PluginError) as caught:
        plugins.linters(default_config(tmp_path))
    message = str(caught.value)
    assert "'ruff'" in message
    assert "already taken" in message
    assert "plugin 'ruff' (package stomper)" in message


def test_builtins_can_be_blocked(tmp_path: Path) -> None:
    plugins = make_plugins(["mypy"], autoload=False)
    assert [info.name for info in plugins.infos if info.name == "mypy"] == []
    assert "mypy" not in plugins.linters(default_config(tmp_path))


def test_notification_hooks_never_raise(tmp_path: Path) -> None:
    seen: list[str] = []

    class Listener:
        @hookimpl
        def stomper_file_done(self, result: object) -> None:
            seen.append("done")
            raise RuntimeError("listener bug")

    plugins = plugins_with(("listener", Listener()))
    from stomper.types import FileResult

    plugins.file_done(FileResult("a.py", "fixed"))
    assert seen == ["done"]


def readme_plugin_example() -> str:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    start = readme.index("# stomper_noprint.py")
    return readme[start : readme.index("```", start)]


def test_the_readme_plugin_example_works(repo: GitRepo, site: Path) -> None:
    install_distribution(site, "stomper-noprint", "stomper_noprint", readme_plugin_example())
    repo.write("pyproject.toml", '[tool.stomper]\nlinters = ["noprint"]\n')
    repo.write("app.py", 'def main() -> None:\n    print("hi")\n')
    repo.commit("app")
    result = run_stomper(repo.path, "check", "--format", "json", site=site)
    assert result.returncode == 1, result.stderr
    found = json.loads(result.stdout)["diagnostics"]
    assert [(d["code"], d["line"], d["column"]) for d in found] == [("NP001", 2, 5)]
