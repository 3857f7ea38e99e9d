"""A built-in adapter driven by the real engine: fake claude fixes a file in a real repository."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fake_cli import MakeFake
from test_cli_conformance import CLAUDE_RESULT

from stomper.config import load_config
from stomper.engine import run_fix
from stomper.testing import GitRepo, plugins_with

PYPROJECT = '[tool.ruff.lint]\nselect = ["F"]\n\n[tool.stomper]\nlinters = ["ruff"]\n'
SOURCE = "import os\n\n\ndef main() -> None:\n    print('hello')\n"


def test_engine_keeps_a_fix_made_by_the_claude_adapter(
    tmp_path: Path, make_fake: MakeFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = GitRepo.create(tmp_path / "repo")
    repo.write("pyproject.toml", PYPROJECT)
    repo.write(".gitignore", ".ruff_cache/\n")
    repo.write("pkg/mod.py", SOURCE)
    repo.commit("project")
    monkeypatch.setenv("GIT_INDEX_FILE", str(repo.path / ".git" / "index"))
    fake = make_fake(f'edit("import os\\n", "")\nemit({CLAUDE_RESULT!r})')
    overrides = {
        "agents": ["claude"],
        "plugins": {"claude": {"executable": str(fake.path)}},
        "commit": False,
    }
    config = load_config(repo.path, overrides)

    run = asyncio.run(run_fix(repo.path, config, plugins_with(), ["pkg/mod.py"]))

    (result,) = run.results
    assert result.status == "fixed", result
    assert repo.read("pkg/mod.py") == SOURCE.replace("import os\n", "").encode()
    seen = fake.last()
    assert Path(seen["cwd"]) != repo.path.resolve()
    assert not [name for name in seen["env"] if name.startswith("GIT_")]
    assert "F401" in seen["argv"][2]
