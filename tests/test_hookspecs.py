"""Every hook is documented in docs/plugins.md (in step with its docstring) and tested."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from stomper import hookspecs

ROOT = Path(__file__).parents[1]
HOOKS = [
    (name, function)
    for name, function in vars(hookspecs).items()
    if name.startswith("stomper_") and inspect.isfunction(function)
]


def test_there_are_hooks() -> None:
    assert len(HOOKS) == 5


@pytest.mark.parametrize(("name", "function"), HOOKS)
def test_hook_is_documented_in_step_with_its_docstring(name: str, function: object) -> None:
    docs = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    parameters = ", ".join(inspect.signature(function).parameters)  # type: ignore[arg-type]
    assert f"`{name}({parameters})`" in docs
    first_line = (inspect.getdoc(function) or "").splitlines()[0]
    as_markdown = re.sub(r":\w+:`([^`]+)`", r"`\1`", first_line).replace("``", "`")
    assert as_markdown in docs


@pytest.mark.parametrize(("name", "function"), HOOKS)
def test_hook_is_used_by_a_test(name: str, function: object) -> None:
    users = [
        path
        for path in (ROOT / "tests").rglob("test_*.py")
        if path.name != "test_hookspecs.py" and name in path.read_text(encoding="utf-8")
    ]
    assert users, f"no test uses {name}"
