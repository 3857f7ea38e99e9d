from __future__ import annotations

from pathlib import Path

import pytest
from hook_support import HookRepo, make_hook_repo


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def hook_repo(tmp_path: Path, pre_commit_home: Path) -> HookRepo:
    return make_hook_repo(tmp_path / "repo", pre_commit_home)
