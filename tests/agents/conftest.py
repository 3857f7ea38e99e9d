"""Fixtures for the agent adapter tests: fake executables and a sandbox directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_cli import TARGET, TARGET_TEXT, MakeFake, fake_factory


@pytest.fixture
def make_fake(tmp_path: Path) -> MakeFake:
    """Write a fake executable whose behaviour is ``body`` (Python, after the prelude)."""
    return fake_factory(tmp_path)


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """A directory standing in for a sandbox, holding the target file."""
    root = tmp_path / "sandbox"
    (root / "pkg").mkdir(parents=True)
    (root / TARGET).write_text(TARGET_TEXT)
    return root
