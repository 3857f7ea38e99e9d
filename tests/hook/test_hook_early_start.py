"""`stomper hook` starts its linters before loading its configuration and plugins.

The guess must never change a result: the real run takes a started process only for exactly
the command line it would start itself, a wrong guess is killed, unusual input means no guess,
and the process exits at once only when nothing (a third-party plugin's exit function) is
left to run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fix_support import ATEXIT_PLUGIN, run_program

from stomper import prestart
from stomper.commands import _common
from stomper.commands.hook import (
    ARGV_BUDGET,
    DEFAULT_INCLUDE,
    DEFAULT_LINTERS,
    plain_arguments,
    start_linters,
)
from stomper.config import KEYS
from stomper.diagnostics import collect, select_linters
from stomper.testing import GitRepo, install_distribution
from stomper.types import Diagnostic
from stomper_plugins import _cli_linter

BIN = Path(sys.executable).parent
BAD = b"import os\n\n\ndef double(value: int) -> str:\n    return value * 2\n"
CLEAN = b'"""Clean."""\n\nVALUE = 1\n'
# A stand-in for ruff or mypy: logs its pid and arguments, then acts clean. Given a file named
# slow.py it first sleeps, so that a guess that included it is still running when killed.
FAKE_LINTER = """#!{python}
import os, sys, time
log = os.environ["FAKE_LOG"]
with open(log, "a") as file:
    file.write(f"start {{os.getpid()}} {{sys.argv[0]}} {{' '.join(sys.argv[1:])}}\\n")
if "slow.py" in sys.argv:
    time.sleep(30)
print("[]" if sys.argv[0].endswith("ruff") else "")
with open(log, "a") as file:
    file.write(f"end {{os.getpid()}}\\n")
"""


@pytest.fixture(autouse=True)
def _nothing_left_started() -> object:
    yield
    prestart.discard()


def lint(paths: list[str], *, early: bool) -> tuple[list[Diagnostic], int]:
    """What the hook's linting finds, and how many started processes nobody took."""
    if early:
        start_linters(paths)
    args = plain_arguments(paths)
    project = _common.open_project(args, {})
    files = _common.select_files(project, _common.Selection(tuple(paths), False, False, None))
    linters = select_linters(project.plugins.linters(project.config), project.config)
    found = collect(linters, project.root, files)
    left = len(prestart._started)
    prestart.discard()
    return found, left


def guessed(monkeypatch: pytest.MonkeyPatch, paths: list[str]) -> list[list[str]]:
    """The command lines the guess would start, without starting them."""
    commands: list[list[str]] = []
    monkeypatch.setattr(prestart, "start", lambda argv: commands.append(list(argv)) or False)
    start_linters(paths)
    return commands


def fake_linters(repo: GitRepo, extra_config: str = "") -> Path:
    """ruff and mypy replaced by loggers through the plugins' `executable` option."""
    for name in ("ruff", "mypy"):
        fake = repo.path.parent / "fakes" / name
        fake.parent.mkdir(exist_ok=True)
        fake.write_text(FAKE_LINTER.format(python=sys.executable))
        fake.chmod(0o755)
    fakes = repo.path.parent / "fakes"
    repo.write(
        "pyproject.toml",
        f"[tool.stomper]\n{extra_config}\n"
        f'[tool.stomper.plugins.ruff]\nexecutable = "{fakes}/ruff"\n\n'
        f'[tool.stomper.plugins.mypy]\nexecutable = "{fakes}/mypy"\n',
    )
    return repo.path.parent / "fake.log"


def run_hook(repo: GitRepo, *paths: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_program(
        repo, "hook", *paths, **({"FAKE_LOG": str(repo.path.parent / "fake.log")} | env)
    )


def test_the_defaults_it_assumes_are_the_configuration_defaults() -> None:
    assert KEYS["linters"].default == DEFAULT_LINTERS
    assert KEYS["include"].default == DEFAULT_INCLUDE
    assert _cli_linter.ARGV_BUDGET == ARGV_BUDGET


def test_early_and_ordinary_runs_find_the_same(repo: GitRepo) -> None:
    repo.write("bad.py", BAD)
    repo.write("pkg/ok.py", CLEAN)
    paths = ["pkg/ok.py", "bad.py"]
    early, left = lint(paths, early=True)
    ordinary, _ = lint(paths, early=False)
    assert early == ordinary
    assert {(d.linter, d.code) for d in early} >= {("ruff", "F401"), ("mypy", "return-value")}
    assert left == 0  # both started processes were taken: each linter ran once


def test_the_linters_start_before_stomper_imports_its_configuration(repo: GitRepo) -> None:
    repo.write("ok.py", CLEAN)
    code = (
        "import sys\n"
        "seen = []\n"
        "def audit(event, args):\n"
        "    if event == 'os.posix_spawn':\n"
        "        seen.append((str(args[0]).rsplit('/', 1)[-1], set(sys.modules)))\n"
        "sys.addaudithook(audit)\n"
        "from stomper.cli import main\n"
        "code = main(['hook', 'ok.py'])\n"
        "heavy = {'typing', 'pluggy', 'subprocess', 'tomllib', 'pathlib', 'stomper.config'}\n"
        "print(code, [(name, sorted(heavy & modules)) for name, modules in seen])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=repo.path, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "0 [('mypy', []), ('ruff', [])]"


def test_each_linter_runs_once(repo: GitRepo) -> None:
    log = fake_linters(repo)
    repo.write("a.py", CLEAN)
    repo.write("b.py", CLEAN)
    result = run_hook(repo, "b.py", "a.py")
    assert (result.returncode, result.stderr) == (0, "")
    starts = [line.split()[2:] for line in log.read_text().splitlines() if line.startswith("start")]
    assert sorted(Path(start[0]).name for start in starts) == ["mypy", "ruff"]
    assert all(start[-3:] == ["--", "a.py", "b.py"] for start in starts)


def test_a_linter_the_configuration_leaves_out_is_never_started(repo: GitRepo) -> None:
    log = fake_linters(repo, 'linters = ["ruff"]\n')
    repo.write("a.py", CLEAN)
    assert run_hook(repo, "a.py").returncode == 0
    assert [line.split()[2] for line in log.read_text().splitlines() if "start" in line] == [
        str(repo.path.parent / "fakes" / "ruff")
    ]


def test_a_wrong_guess_is_killed_and_changes_nothing(repo: GitRepo) -> None:
    log = fake_linters(repo)
    repo.write("a.py", CLEAN)
    repo.write("slow.py", b"\0binary, left out by file selection\n")
    result = run_hook(repo, "a.py", "slow.py")
    assert (result.returncode, result.stderr) == (0, "")
    lines = log.read_text().splitlines()
    guesses = [line.split()[1] for line in lines if line.startswith("start") and "slow" in line]
    real = [line.split()[1] for line in lines if line.startswith("start") and "slow" not in line]
    assert len(real) == 2  # ruff and mypy, each once, on a.py alone
    assert all(f"end {pid}" in lines for pid in real)
    for pid in guesses:  # killed while asleep, and reaped
        assert f"end {pid}" not in lines
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)


@pytest.mark.parametrize(
    "path",
    ["../out.py", "./a.py", "sub//a.py", "/abs.py", "-a.py", "missing.py", "link.py", "*.py",
     "sub", ".git/x.py"],
)  # fmt: skip
def test_no_guess_for_anything_but_plain_files(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    repo.write("a.py", CLEAN)
    repo.write("sub/a.py", CLEAN)
    (repo.path / "link.py").symlink_to("a.py")
    assert guessed(monkeypatch, ["a.py", path]) == []


def test_no_guess_outside_the_repository_root(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.write("sub/a.py", CLEAN)
    monkeypatch.chdir(repo.path / "sub")
    assert guessed(monkeypatch, ["a.py"]) == []


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("", {"mypy", "ruff"}),
        ('[tool.stomper]\nlinters = ["mypy"]\n', {"mypy"}),
        ('[tool.stomper]\ndisable = ["mypy"]\nlinters = ["ruff"]\n', {"ruff"}),
        ("[tool.stomper.plugins.ruff]\nunknown = 1\n", {"mypy"}),
        ("[tool.stomper]\nlinters = [\n", set()),  # malformed: the real run reports it
        ("[tool.stomper]\nmystery = 1\n", set()),
    ],
)
def test_the_configuration_decides_what_is_started(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, config: str, expected: set[str]
) -> None:
    repo.write("pyproject.toml", config)
    repo.write("a.py", CLEAN)
    assert {Path(argv[0]).name for argv in guessed(monkeypatch, ["a.py"])} == expected


def test_configured_arguments_and_files_are_those_of_the_real_run(repo: GitRepo) -> None:
    repo.write(
        "pyproject.toml",
        '[tool.stomper]\nexclude = ["gen/**"]\n\n[tool.stomper.plugins.mypy]\n'
        'args = ["--strict"]\n\n[tool.ruff.lint]\nselect = ["F"]\n',
    )
    repo.write("gen/made.py", BAD)
    repo.write("bad.py", BAD)
    repo.write("notes.txt", b"not python\n")
    paths = ["notes.txt", "gen/made.py", "bad.py"]
    early, left = lint(paths, early=True)
    assert (early, left) == (lint(paths, early=False)[0], 0)
    assert {d.path for d in early} == {"bad.py"}
    assert ("mypy", "no-untyped-def") not in {(d.linter, d.code) for d in early}  # typed


def test_a_third_party_plugin_still_gets_its_exit_functions(repo: GitRepo, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_distribution(site, "stomper-atexit", "stomper_atexit", ATEXIT_PLUGIN)
    repo.write("pyproject.toml", '[tool.stomper]\nlinters = ["ruff"]\n')
    repo.write("a.py", CLEAN)
    mark = tmp_path / "mark"
    result = run_hook(repo, "a.py", PYTHONPATH=str(site), ATEXIT_MARK=str(mark))
    assert (result.returncode, result.stderr) == (0, "")
    assert mark.read_text() == "ran"
