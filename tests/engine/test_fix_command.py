"""``stomper fix`` and ``stomper clean`` end to end: real git, real ruff and mypy, in-process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from engine_support import FIXABLE, FIXABLE_AFTER, make_project, status
from fix_support import ATEXIT_PLUGIN, run_program

from stomper import spares
from stomper.cli import main
from stomper.testing import GitRepo

DEMO = Path(__file__).resolve().parents[2] / "demo"
DEMO_PROJECT = DEMO / "project"
RUFF = str(Path(sys.executable).parent / "ruff")


def ruff_finds(repo: GitRepo) -> str:
    """What ruff itself still reports in the repository (empty when clean)."""
    completed = subprocess.run(
        [RUFF, "check", "--no-cache", "--output-format", "concise", "--quiet", "."],
        cwd=repo.path,
        capture_output=True,
        text=True,
        check=False,
    )
    return completed.stdout


def committed_paths(repo: GitRepo, commit: str) -> list[str]:
    return repo.git("show", "--name-only", "--format=", commit).split()


def test_ten_files_ten_commits_and_staged_work_untouched(repo: GitRepo) -> None:
    files = {f"pkg/mod{index}.py": FIXABLE for index in range(10)}
    make_project(repo, files)
    repo.write("notes.txt", "staged by the user\n")
    repo.add("notes.txt")
    start = repo.head()
    assert main(["fix", "-j", "4"]) == 0
    new_commits = repo.git("rev-list", f"{start}..HEAD").split()
    assert len(new_commits) == 10
    assert sorted(path for c in new_commits for path in committed_paths(repo, c)) == sorted(files)
    assert all(len(committed_paths(repo, commit)) == 1 for commit in new_commits)
    assert repo.log()[0].startswith("fix(lint): resolve F401, I001 in pkg/mod")
    assert repo.git("diff", "--cached", "--name-only").split() == ["notes.txt"]
    assert all(repo.read(path).decode() == FIXABLE_AFTER for path in files)
    assert ruff_finds(repo) == ""
    assert main(["check"]) == 0


def test_a_users_uncommitted_edit_survives_and_is_not_committed(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    make_project(repo, {"app.py": FIXABLE, "lib.py": FIXABLE})
    users_edit = "\n\ndef added_by_the_user() -> int:\n    return 1\n"
    repo.write("app.py", FIXABLE + users_edit)
    start = repo.head()
    assert main(["fix", "--report", "report.json"]) == 0
    assert repo.read("app.py").decode() == FIXABLE_AFTER + users_edit
    commits = repo.git("rev-list", f"{start}..HEAD").split()
    assert [committed_paths(repo, commit) for commit in commits] == [["lib.py"]]
    assert status(repo).splitlines() == [" M app.py", "?? report.json"]
    report = json.loads((repo.path / "report.json").read_text())
    app = next(result for result in report["results"] if result["path"] == "app.py")
    assert app["status"] == "fixed"
    assert app["commit"] is None
    assert any("uncommitted" in note for note in app["notes"]), app["notes"]
    assert "fixed            app.py  F401, I001\n" in capsys.readouterr().out


def test_report_and_summary(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    make_project(repo, {"app.py": FIXABLE + "\nl = 1\n"})
    assert main(["fix", "--no-commit", "--report", "out.json"]) == 1
    out = capsys.readouterr().out
    assert "partially-fixed  app.py  F401, I001" in out
    assert "ruff F401" in out
    assert "ruff E741" in out
    report = json.loads((repo.path / "out.json").read_text())
    assert report["version"] == 1
    assert report["summary"]["statuses"]["partially-fixed"] == 1
    (result,) = report["results"]
    assert [d["code"] for d in result["remaining"]] == ["E741"]
    assert sorted(d["code"] for d in result["fixed"]) == ["F401", "I001"]
    assert result["agent"] == "ruff-fix"
    assert result["attempts"] == 1
    assert "-import os" in result["diff"]
    assert len(repo.log()) == 2


def test_dry_run_prints_the_diff_and_writes_nothing(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    make_project(repo, {"app.py": FIXABLE})
    head = repo.head()
    main(["fix", "--dry-run"])
    assert "-import os" in capsys.readouterr().out
    assert (repo.read("app.py").decode(), repo.head(), status(repo)) == (FIXABLE, head, "")


def test_fix_outside_git_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "app.py").write_text(FIXABLE)
    monkeypatch.chdir(plain)
    assert main(["fix"]) == 2
    assert "needs a git repository" in capsys.readouterr().err
    assert (plain / "app.py").read_text() == FIXABLE


def test_unknown_agent_is_a_usage_error(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    make_project(repo, {"app.py": FIXABLE})
    assert main(["fix", "--agent", "nosuchagent"]) == 2
    assert "nosuchagent" in capsys.readouterr().err


def leave_a_dead_run(repo: GitRepo) -> None:
    """A process takes a snapshot and dies without releasing it, as kill -9 would leave it."""
    script = (
        "import os, pathlib; from stomper.snapshot import take_snapshot; "
        "take_snapshot(pathlib.Path('.'), 'deadrun'); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", script], cwd=repo.path, check=True)
    assert repo.git("for-each-ref", "refs/stomper/") != ""


def test_fix_removes_what_a_killed_run_left(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    make_project(repo, {"app.py": FIXABLE})
    leave_a_dead_run(repo)
    assert main(["fix", "-v"]) == 0
    out = capsys.readouterr().out
    assert "removed a leftover of an earlier run: ref refs/stomper/deadrun/snapshot" in out


def test_clean_removes_what_a_killed_run_left(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    make_project(repo, {"app.py": FIXABLE})
    leave_a_dead_run(repo)
    assert main(["clean"]) == 0
    out = capsys.readouterr().out
    assert "refs/stomper/deadrun/snapshot" in out
    assert repo.git("for-each-ref", "refs/stomper/") == ""
    assert main(["clean"]) == 0
    assert "Nothing to clean." in capsys.readouterr().out


@pytest.mark.skipif(spares._exchange() is None, reason="renameat2(RENAME_EXCHANGE) is Linux-only")
def test_clean_removes_the_spare_files_write_backs_keep(
    repo: GitRepo, capsys: pytest.CaptureFixture[str]
) -> None:
    make_project(repo, {f"pkg/mod{index}.py": FIXABLE for index in range(3)})
    assert main(["fix", "--no-commit"]) == 0
    assert repo.read("pkg/mod0.py") == FIXABLE_AFTER.encode()
    spare = repo.path / ".git" / "stomper" / "spare"
    kept = len(list(spare.iterdir()))
    assert kept == 3  # the files the fixes replaced
    capsys.readouterr()
    assert main(["clean"]) == 0
    assert f"removed {kept} spare files of earlier write-backs" in capsys.readouterr().out
    assert not spare.exists()


def test_the_demo_is_fixed_offline_by_ruff_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "demo"
    shutil.copytree(DEMO_PROJECT, copy, ignore=shutil.ignore_patterns(".mypy_cache", ".ruff_cache"))
    repo = GitRepo.create(copy)
    repo.commit("demo")
    monkeypatch.chdir(copy)
    monkeypatch.setenv("STOMPER_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert main(["fix"]) == 1
    out = capsys.readouterr().out
    assert "fixed            src/inventory/items.py" in out
    assert "partially-fixed  src/inventory/report.py" in out
    remaining = ruff_finds(repo)
    assert "E741" in remaining
    assert "UP031" in remaining
    assert "F401" not in remaining
    assert "I001" not in remaining
    assert "E711" not in remaining
    assert "F541" not in remaining
    assert "mypy return-value" in out
    assert len(repo.log()) == 1 + 2


def test_the_demo_script_runs_end_to_end(private_tmpdir: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(DEMO / "run.py")], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "fix(lint): resolve E711, F401, I001, UP006, UP035, UP045 in src/inventory/items.py" in (
        completed.stdout
    )
    assert "Found 3 problems in 2 files" in completed.stdout


def test_the_program_ends_with_its_output_report_and_exit_code(
    repo: GitRepo, tmp_path: Path
) -> None:
    make_project(repo, {"a.py": FIXABLE, "b.py": FIXABLE + "l = 1\n"})
    report = tmp_path / "report.json"
    done = run_program(repo, "fix", "--no-commit", "--report", str(report), "a.py", "b.py")
    assert done.returncode == 1, done.stdout + done.stderr  # b.py's E741 has no fix
    assert "2 files with diagnostics: 1 fixed" in done.stdout
    assert done.stdout.splitlines()[-1].startswith("Run: ")  # all of it out, to the last line
    results = json.loads(report.read_text())["results"]
    assert [(r["path"], r["status"]) for r in results] == [
        ("a.py", "fixed"),
        ("b.py", "partially-fixed"),
    ]
    assert "-import os" in results[0]["diff"]  # reported: made
    assert repo.read("a.py") == FIXABLE_AFTER.encode()


def test_a_third_party_plugin_still_gets_its_exit_functions_after_a_fix(
    repo: GitRepo, tmp_path: Path
) -> None:
    from stomper.testing import install_distribution

    site = tmp_path / "site"
    site.mkdir()
    install_distribution(site, "stomper-atexit", "stomper_atexit", ATEXIT_PLUGIN)
    make_project(repo, {"a.py": FIXABLE})
    mark = tmp_path / "mark"
    done = run_program(repo, "fix", "--no-commit", "-q", "a.py",
                       PYTHONPATH=str(site), ATEXIT_MARK=str(mark))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert mark.read_text() == "ran"
    assert repo.read("a.py") == FIXABLE_AFTER.encode()


EXIT_AT_ONCE = """
import atexit, logging, logging.handlers, sys, threading
from stomper import cli

log = logging.getLogger("probe")
target = logging.FileHandler(sys.argv[1])
log.addHandler(logging.handlers.MemoryHandler(100, target=target))  # flushed at shutdown
log.warning("buffered")
if sys.argv[2] == "other-exit-function":
    atexit.register(print, "other exit function ran")
if sys.argv[2] == "thread":
    threading.Thread(target=threading.Event().wait, args=(1,)).start()
cli._exit_at_once(3)
print("exited as usual")
"""


@pytest.mark.parametrize(
    ("case", "code", "out"),
    [
        ("alone", 3, ""),
        ("other-exit-function", 0, "exited as usual\nother exit function ran\n"),
        ("thread", 0, "exited as usual\n"),
    ],
)
def test_exiting_at_once_runs_stomper_s_own_exit_functions_or_nothing(
    tmp_path: Path, case: str, code: int, out: str
) -> None:
    log = tmp_path / "log.txt"
    done = subprocess.run(
        [sys.executable, "-c", EXIT_AT_ONCE, str(log), case],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (code, out), done.stderr
    assert log.read_text() == "buffered\n"  # logging's handlers were flushed either way
