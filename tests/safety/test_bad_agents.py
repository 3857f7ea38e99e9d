"""What agents return: every bad behaviour is rejected, with its reason, and costs the user nothing.

Each case is a fake AI agent (the only agent of the chain, one attempt) that does one bad thing
in its sandbox, usually next to a correct fix of the unused import. The run must not apply it:
the file is not fixed, the repository is byte-identical (SAFETY.md invariants 1-4), the reason
names the problem, and nothing is left behind.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fake_agents import AgentPlugin, FakeAgent
from safety_support import capture, leftovers, record, violations

from stomper import FixRequest
from stomper.agent_process import agent_env, run_agent_process
from stomper.config import load_config
from stomper.engine import run_fix
from stomper.testing import GitRepo, plugins_with

BODY = "".join(
    f"\n\ndef function_{n}(value: int) -> int:\n    return value + {n}\n" for n in range(25)
)
APP = "import os\n" + BODY
PYPROJECT = '[tool.ruff.lint]\nselect = ["E", "F", "I"]\n\n[tool.stomper]\nlinters = ["ruff"]\n'


def text(request: FixRequest) -> str:
    return (request.root / request.path).read_text()


def put(request: FixRequest, content: str | bytes, path: str | None = None) -> None:
    target = request.root / (path or request.path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content.encode() if isinstance(content, str) else content)


def fix(request: FixRequest) -> None:
    """The correct fix: drop ``import os``."""
    put(request, text(request).replace("import os\n", "", 1))


def and_fix(extra: Callable[[FixRequest], object]) -> Callable[[FixRequest], None]:
    def behaviour(request: FixRequest) -> None:
        fix(request)
        extra(request)

    return behaviour


def git_in_sandbox(*args: str) -> Callable[[FixRequest], None]:
    def behaviour(request: FixRequest) -> None:
        fix(request)
        env = {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b", "PATH": os.environ["PATH"]}
        env |= {"GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@b", "HOME": str(request.root)}
        subprocess.run(["git", *args], cwd=request.root, env=env, capture_output=True, check=False)

    return behaviour


def process(*argv: str, limit: float = 1.0) -> Callable[[FixRequest], object]:
    async def behaviour(request: FixRequest) -> None:
        await run_agent_process(
            list(argv), request.root, env=agent_env(), timeout=limit, kill_grace=0.5
        )

    return behaviour


def symlink_target(request: FixRequest) -> None:
    target = request.root / request.path
    target.unlink()
    target.symlink_to("/etc/passwd")


def mode_change(request: FixRequest) -> None:
    fix(request)
    (request.root / request.path).chmod(0o755)


def rename_target(request: FixRequest) -> None:
    fix(request)
    (request.root / request.path).rename(request.root / "renamed.py")


def lines_of(request: FixRequest, keep: slice) -> None:
    put(request, "".join(text(request).replace("import os\n", "").splitlines(True)[keep]))


PY = sys.executable
BEHAVIOURS: dict[str, Callable[[FixRequest], object]] = {
    "edits another file": and_fix(lambda r: put(r, "VALUE = 2\n", "other.py")),
    "creates a new file": and_fix(lambda r: put(r, "x = 1\n", "extra.py")),
    "creates a file in a new directory": and_fix(lambda r: put(r, "x\n", "newdir/deep/x.py")),
    "deletes another file": and_fix(lambda r: (r.root / "other.py").unlink()),
    "deletes the target": lambda r: (r.root / r.path).unlink(),
    "renames the target": rename_target,
    "renames another file": and_fix(lambda r: (r.root / "other.py").rename(r.root / "o2.py")),
    "changes the target's mode": mode_change,
    "changes another file's mode": and_fix(lambda r: (r.root / "other.py").chmod(0o755)),
    "replaces the target by a symlink": symlink_target,
    "adds a symlink out of the repo": and_fix(lambda r: (r.root / "link").symlink_to("/etc")),
    "rewrites the .git link": and_fix(lambda r: put(r, "gitdir: /tmp\n", ".git")),
    "writes into .git metadata": and_fix(lambda r: put(r, "x", ".git.hooks/pre-commit")),
    "edits pyproject.toml (linter config)": and_fix(
        lambda r: put(r, PYPROJECT + '\n[tool.ruff]\nextend-ignore = ["F401"]\n', "pyproject.toml")
    ),
    "adds ruff.toml": and_fix(lambda r: put(r, 'lint.ignore = ["F401"]\n', "ruff.toml")),
    "edits CI configuration": and_fix(lambda r: put(r, "on: push\n", ".github/workflows/ci.yml")),
    "adds .pre-commit-config.yaml": and_fix(
        lambda r: put(r, "repos: []\n", ".pre-commit-config.yaml")
    ),
    "adds # noqa": lambda r: put(r, text(r).replace("import os\n", "import os  # noqa\n")),
    "adds # noqa: F401": lambda r: put(
        r, text(r).replace("import os\n", "import os  # noqa: F401\n")
    ),
    "adds # ruff: noqa": lambda r: put(r, "# ruff: noqa\n" + text(r)),
    "adds # type: ignore": lambda r: put(
        r, text(r).replace("import os\n", "import os  # type: ignore\n")
    ),
    "truncates the file": lambda r: put(r, ""),
    "keeps only the first lines": lambda r: lines_of(r, slice(0, 6)),
    "mass deletion": lambda r: lines_of(r, slice(0, 20)),
    "'rest unchanged' placeholder": lambda r: put(
        r, "def f() -> None:\n    pass\n\n# ... rest of the file unchanged ...\n"
    ),
    "ellipsis placeholder": lambda r: (
        lines_of(r, slice(0, 30)) or put(r, text(r) + "\n# ... (rest unchanged)\n")
    ),
    "rewrites the whole file": lambda r: put(
        r, text(r).replace("import os\n", "").replace("value", "number")
    ),
    "syntax error": and_fix(lambda r: put(r, text(r) + "def broken(:\n")),
    "binary content": lambda r: put(r, text(r).replace("import os\n", "").encode() + b"\0\1\2"),
    "invalid UTF-8": lambda r: put(
        r, text(r).replace("import os\n", "").encode() + b"# \xff\xfe\n"
    ),
    "no change, claims success": lambda r: None,
    "new error (undefined name)": and_fix(lambda r: put(r, text(r) + "\nprint(undefined_name)\n")),
    "new error (unused import)": lambda r: put(r, text(r).replace("import os\n", "import sys\n")),
    "converts line endings to CRLF": lambda r: put(
        r, text(r).replace("import os\n", "").replace("\n", "\r\n")
    ),
    "adds a BOM": lambda r: put(r, b"\xef\xbb\xbf" + text(r).replace("import os\n", "").encode()),
    "drops the final newline": lambda r: put(r, text(r).replace("import os\n", "").rstrip("\n")),
    "git rm of another file in the sandbox": git_in_sandbox("rm", "-q", "other.py"),
    "stashes in the sandbox": git_in_sandbox("stash", "-q"),
    "git mv of another file in the sandbox": git_in_sandbox("mv", "other.py", "moved.py"),
    "replaces the target by a directory": lambda r: (
        (r.root / r.path).unlink(),
        (r.root / r.path).mkdir(),
    ),
    "creates a .env file": and_fix(lambda r: put(r, "SECRET=1\n", ".env")),
    "deletes the tests": and_fix(lambda r: (r.root / "tests" / "test_app.py").unlink()),
    "edits .gitignore": and_fix(lambda r: put(r, "*\n", ".gitignore")),
    "raises": lambda r: (_ for _ in ()).throw(RuntimeError("agent crashed")),
    "hangs (killed at the timeout)": process("sleep", "600"),
    "ignores SIGTERM": process("sh", "-c", "trap '' TERM; sleep 600"),
    "forks grandchildren": process("sh", "-c", "sleep 600 & sleep 600 & wait"),
    "prints 100 MB": process(
        PY, "-c", "import sys\nfor _ in range(100): sys.stdout.write('x' * 1048576)"
    ),
}


def make_repo(path: Path) -> GitRepo:
    repo = GitRepo.create(path)
    repo.write("pyproject.toml", PYPROJECT)
    repo.write(".gitignore", "__pycache__/\n.ruff_cache/\n")
    repo.write("app.py", APP)
    repo.write("other.py", "VALUE = 1\n")
    repo.write("tests/test_app.py", "def test_nothing() -> None:\n    pass\n")
    repo.write(".github/workflows/ci.yml", "on: [push]\n")
    repo.commit("project")
    return repo


def test_there_are_at_least_40_bad_behaviours() -> None:
    assert len(BEHAVIOURS) >= 40


@pytest.mark.parametrize("name", sorted(BEHAVIOURS))
def test_a_bad_agent_is_rejected_with_a_reason(
    tmp_path: Path, private_tmpdir: Path, name: str
) -> None:
    repo = make_repo(tmp_path / "repo")
    before = capture(repo)
    agent = FakeAgent("fake", BEHAVIOURS[name])
    plugins = plugins_with(("fake-agents", AgentPlugin(agent)))
    config = load_config(repo.path, {"agents": ("fake",), "max_attempts": 1, "agent_timeout": 1.0})
    run = asyncio.run(run_fix(repo.path, config, plugins, ["app.py"]))
    (result,) = run.results
    reason = " ".join([*result.notes, result.error or ""])
    rejected = result.status in ("unchanged", "failed") and bool(reason.strip())
    problems = violations(repo, before, capture(repo), {}) + leftovers(repo, private_tmpdir)
    record("bad-agent", rejected and not problems, name)
    assert rejected, (result.status, reason)
    assert problems == []
    assert repo.read("app.py") == APP.encode()
