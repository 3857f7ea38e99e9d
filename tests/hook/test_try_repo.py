"""The published manifest (.pre-commit-hooks.yaml) works through `pre-commit try-repo`.

pre-commit builds its own virtual environment from this checkout (language: python), as it
would for a user's `repo:` entry, so this is the slowest hook test: one install per session.
"""

from __future__ import annotations

from pathlib import Path

from hook_support import BIN, HookRepo, make_hook_repo

CHECKOUT = Path(__file__).parents[2]
UNUSED_IMPORT = b"import os\nimport sys\n\nprint(sys.argv)\n"


def try_repo(repo: HookRepo, hook_id: str, *files: str) -> tuple[int, str]:
    ran = repo.run(str(BIN / "pre-commit"), "try-repo", str(CHECKOUT), hook_id, "--files", *files)
    return ran.returncode, ran.stdout + ran.stderr


def test_try_repo_fixes_and_checks(tmp_path: Path, pre_commit_home: Path) -> None:
    repo = make_hook_repo(tmp_path / "repo", pre_commit_home)
    repo.write("app.py", UNUSED_IMPORT)
    repo.write("ok.py", b"VALUE = 1\n")
    repo.add()

    code, output = try_repo(repo, "stomper-check", "app.py", "ok.py")
    assert code == 1, output
    assert "F401" in output
    assert repo.read("app.py") == UNUSED_IMPORT

    code, output = try_repo(repo, "stomper", "app.py", "ok.py")
    assert code == 1, output
    assert "files were modified by this hook" in output
    assert repo.read("app.py") == b"import sys\n\nprint(sys.argv)\n"

    code, output = try_repo(repo, "stomper", "ok.py")
    assert code == 0, output
