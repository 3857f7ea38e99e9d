"""Fixtures of the safety suite; the repository-state snapshot and the invariant checks are
:func:`safety_support.capture`, :func:`safety_support.violations` and
:func:`safety_support.leftovers`, offered here as the ``repo_state`` fixture too."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from safety_support import HERE, RepoState, capture

from stomper.testing import GitRepo


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site directory where the safety agent is an installed plugin (entry point)."""
    directory = tmp_path_factory.mktemp("site")
    (directory / "safety_agent.py").write_bytes((HERE / "safety_agent.py").read_bytes())
    info = directory / "stomper_safety_agent-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: stomper-safety-agent\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text("[stomper]\nsafety = safety_agent\n")
    return directory


@pytest.fixture
def repo_state() -> Callable[[GitRepo], RepoState]:
    """:func:`safety_support.capture`: everything about a repository a user could lose."""
    return capture
