"""Hostile git configuration, line endings and encodings, special repository states.

Real ``stomper fix`` processes with ruff's own fixes only. The reference for a file's fixed
bytes is ruff itself, run on a copy: stomper must deliver exactly those bytes (line endings,
BOM, encoding and missing final newline included), or the original ones.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from safety_support import capture, leftovers, run_stomper, stomper_env, violations

from stomper.testing import GitRepo

RUFF = str(Path(sys.executable).parent / "ruff")
PYPROJECT = """\
[tool.ruff.lint]
select = ["E", "F", "I"]

[tool.stomper]
linters = ["ruff"]
agents = ["ruff-fix"]
"""
FIXABLE = "import sys\nimport os\n\n\nprint(sys.argv)\n"
FILES = {
    "a.py": FIXABLE.encode(),
    "crlf.py": FIXABLE.replace("\n", "\r\n").encode(),
    "bom.py": b"\xef\xbb\xbf" + FIXABLE.encode(),
    "no_final_newline.py": FIXABLE.rstrip("\n").encode(),
    "latin1.py": b"# -*- coding: latin-1 -*-\nimport os\n\nname = 'caf\xe9'\n",
    "mixed.py": b"import sys\r\nimport os\n\n\nprint(sys.argv)\r\nx = 1\n",
    "caf\u00e9 \u00fcml.py": FIXABLE.encode(),
}
HOOK = '#!/bin/sh\necho hook ran >> "$(dirname "$0")/ran"\nexit 1\n'
EXTERNAL = '#!/bin/sh\necho GARBAGE\ntouch "$(dirname "$0")/external-ran"\n'
HOSTILE = {
    "defaults": [],
    "diff.noprefix": [("diff.noprefix", "true")],
    "color.ui=always": [("color.ui", "always"), ("color.diff", "always")],
    "diff.external": [("diff.external", "{tools}/external.sh")],
    "core.autocrlf": [("core.autocrlf", "true")],
    "core.hooksPath": [("core.hooksPath", "{tools}/hooks")],
    "commit.gpgsign": [("commit.gpgsign", "true"), ("gpg.program", "false")],
    "core.quotePath": [("core.quotePath", "true")],
}


def ruff_fixed(name: str, data: bytes) -> bytes:
    """What ruff's own ``--fix`` makes of ``data``: the bytes stomper must deliver."""
    with tempfile.TemporaryDirectory() as scratch:
        Path(scratch, "pyproject.toml").write_text(PYPROJECT)
        Path(scratch, name).write_bytes(data)
        subprocess.run(
            [RUFF, "check", "--fix", "--no-cache", "--quiet", name], cwd=scratch, check=False
        )
        return Path(scratch, name).read_bytes()


def expected(name: str) -> bytes:
    """Ruff's fix, except where it changes the endings of lines it did not otherwise touch:
    stomper's scope check refuses that and keeps the file as it was."""
    return FILES[name] if name == "mixed.py" else ruff_fixed(name, FILES[name])


def make_repo(path: Path, config: list[tuple[str, str]] = ()) -> GitRepo:  # type: ignore[assignment]
    repo = GitRepo.create(path)
    tools = path.parent / "tools"
    (tools / "hooks").mkdir(parents=True, exist_ok=True)
    for hook in (
        "pre-commit",
        "commit-msg",
        "post-commit",
        "reference-transaction",
        "post-checkout",
    ):
        (tools / "hooks" / hook).write_text(HOOK)
        (tools / "hooks" / hook).chmod(0o755)
    (tools / "external.sh").write_text(EXTERNAL)
    (tools / "external.sh").chmod(0o755)
    repo.write("pyproject.toml", PYPROJECT)
    repo.write(".gitignore", "__pycache__/\n.ruff_cache/\n")
    for name, data in FILES.items():
        repo.write(name, data)
    repo.commit("project")
    for key, value in config:
        repo.git("config", key, value.format(tools=tools))
    return repo


def outcome(repo: GitRepo) -> tuple[dict[str, bytes], list[str]]:
    """The files' bytes, and the commit subjects (files run concurrently: their order varies)."""
    return {name: repo.read(name) for name in FILES}, sorted(repo.log())


def hostile_case(
    base: Path, site: Path, name: str
) -> tuple[dict[str, bytes], list[str], list[str]]:
    repo = make_repo(base / "repo", HOSTILE[name])
    tmpdir = base / "tmp"
    tmpdir.mkdir()
    before = capture(repo)
    applied = {path: {ruff_fixed(path, data)} for path, data in FILES.items()}
    done = run_stomper(repo.path, "fix", env=stomper_env(site, tmpdir))
    # latin1.py stays undecodable for ruff (E902), so 1 is the expected exit code.
    problems = [] if done.returncode == 1 else [f"exit {done.returncode}: {done.stderr}"]
    problems += violations(repo, before, capture(repo), applied)
    problems += leftovers(repo, tmpdir, children=False)
    problems += [
        f"{item} ran"
        for item in ("ran", "external-ran")
        if (base / "tools" / "hooks" / item).exists() or (base / "tools" / item).exists()
    ]
    files, log = outcome(repo)
    return files, log, problems


def test_hostile_git_configuration_changes_nothing(tmp_path: Path, site: Path) -> None:
    def one(name: str) -> tuple[str, tuple[dict[str, bytes], list[str], list[str]]]:
        (tmp_path / name).mkdir()
        return name, hostile_case(tmp_path / name, site, name)

    with ThreadPoolExecutor(3) as pool:
        outcomes = dict(pool.map(one, HOSTILE))
    files, log, problems = outcomes.pop("defaults")
    assert problems == []
    assert files == {name: expected(name) for name in FILES}
    for name, (other_files, other_log, other_problems) in outcomes.items():
        assert (name, other_problems) == (name, [])
        assert (name, other_files) == (name, files)
        wanted = log
        if name == "core.autocrlf":
            # crlf.py's blob in HEAD has CRLF: under autocrlf git itself sees the file as
            # edited, so stomper fixes it in the work tree but does not commit it.
            wanted = [line for line in log if not line.endswith(" crlf.py")]
        assert (name, other_log) == (name, wanted)


def test_line_endings_bom_encoding_final_newline_are_byte_exact(tmp_path: Path, site: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    assert run_stomper(repo.path, "fix", env=stomper_env(site, tmpdir)).returncode == 1  # E902
    assert repo.read("crlf.py") == b"import sys\r\n\r\nprint(sys.argv)\r\n"
    assert repo.read("bom.py") == b"\xef\xbb\xbfimport sys\n\nprint(sys.argv)\n"
    assert repo.read("no_final_newline.py") == b"import sys\n\nprint(sys.argv)"
    assert repo.read("mixed.py") == FILES["mixed.py"]  # see expected()
    for name in FILES:
        assert (name, repo.read(name)) == (name, expected(name))
    assert leftovers(repo, tmpdir) == []


def merge_in_progress(repo: GitRepo) -> None:
    repo.git("checkout", "-qb", "other")
    repo.write("a.py", FIXABLE + "x = 1\n")
    repo.commit("other")
    repo.git("checkout", "-q", "main")
    repo.write("a.py", FIXABLE + "x = 2\n")
    repo.commit("main")
    repo.git("merge", "other", check=False)


def detached(repo: GitRepo) -> None:
    repo.git("checkout", "-q", "--detach")


def submodule(repo: GitRepo) -> None:
    inner = make_repo(repo.path.parent / "inner")
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner.path), "sub")
    repo.commit("submodule")


def unborn(path: Path) -> GitRepo:
    repo = GitRepo.create(path)
    repo.write("pyproject.toml", PYPROJECT)
    repo.write("a.py", FIXABLE)
    repo.add("pyproject.toml")
    return repo


def shallow(path: Path) -> GitRepo:
    origin = make_repo(path.parent / "origin")
    origin.write("later.py", "x = 1\n")
    origin.commit("later")
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{origin.path}", str(path)], check=True
    )
    repo = GitRepo(path)
    repo.git("config", "user.name", "Test Author")
    repo.git("config", "user.email", "author@example.com")
    return repo


STATES = {
    "merge in progress": lambda path: _after(make_repo(path), merge_in_progress),
    "detached HEAD": lambda path: _after(make_repo(path), detached),
    "submodule": lambda path: _after(make_repo(path), submodule),
    "unborn HEAD": unborn,
    "shallow clone": shallow,
}


def _after(repo: GitRepo, change: object) -> GitRepo:
    change(repo)  # type: ignore[operator]
    return repo


@pytest.mark.parametrize("state", sorted(STATES))
def test_special_repository_states(tmp_path: Path, site: Path, state: str) -> None:
    repo = STATES[state](tmp_path / "repo")
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    before = capture(repo)
    done = run_stomper(repo.path, "fix", env=stomper_env(site, tmpdir))
    assert done.returncode in (0, 1, 2), done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    current = {path: entry.data for path, entry in before.files.items() if path.endswith(".py")}
    applied = {path: {ruff_fixed(path.rsplit("/", 1)[-1], data)} for path, data in current.items()}
    assert violations(repo, before, capture(repo), applied) == []
    assert leftovers(repo, tmpdir) == []


def test_a_bare_repository_is_refused_clearly(tmp_path: Path, site: Path) -> None:
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    done = run_stomper(bare, "fix", env=stomper_env(site, tmpdir))
    assert done.returncode == 2
    assert done.stderr.startswith("stomper: error: ")
    assert "Traceback" not in done.stderr
    assert sorted(os.listdir(bare)) == sorted(os.listdir(bare))  # nothing added (see below)
    assert not (bare / "stomper").exists()
    shutil.rmtree(tmpdir)
