"""The small projects the safety suite runs stomper on, in the four repository states."""

from __future__ import annotations

from pathlib import Path

from stomper.testing import GitRepo

PYPROJECT = """\
[tool.ruff]
line-length = 100

[tool.ruff.lint]
select = ["E", "F", "I"]

[tool.stomper]
linters = ["ruff"]
agents = {agents}
"""
# ruff's fixes, then the safety agent: one sandbox per file, through the graph.
GRAPH_CHAIN = ("ruff-fix", "safety")
# ruff's fixes alone: the batched path (one sandbox, no graph).
BATCH_CHAIN = ("ruff-fix",)
GITIGNORE = "__pycache__/\n.mypy_cache/\n.ruff_cache/\n.env\nbuild/\n"
# F401 + I001 for ruff's own fixes, then E741 (`l`) for the safety agent: every fault point
# of a run is reached, the agent's included.
TARGET = "import sys\nimport os\n\n\nprint(sys.argv)\nl = 1\n"
USER_EDIT = "\n\ndef added_by_the_user() -> int:\n    return 1\n"
STAGED_EDIT = "\n\ndef staged_by_the_user() -> int:\n    return 2\n"
STATES = ("clean", "dirty", "partially-staged", "untracked-ignored")


def make_project(path: Path, state: str, agents: tuple[str, ...] = GRAPH_CHAIN) -> GitRepo:
    """A committed project (``a.py``, ``b.py`` to fix; ``notes.txt``), then ``state``."""
    repo = GitRepo.create(path)
    chain = "[" + ", ".join(f'"{name}"' for name in agents) + "]"
    repo.write("pyproject.toml", PYPROJECT.format(agents=chain))
    repo.write(".gitignore", GITIGNORE)
    repo.write("a.py", TARGET)
    repo.write("b.py", TARGET)
    repo.write("notes.txt", "notes\n")
    repo.write("run.sh", "#!/bin/sh\necho hi\n")
    (repo.path / "run.sh").chmod(0o755)
    repo.commit("project")
    if state == "dirty":
        repo.write("a.py", TARGET + USER_EDIT)
        repo.write("notes.txt", "notes, edited\n")
    elif state == "partially-staged":
        repo.write("a.py", TARGET + STAGED_EDIT)
        repo.add("a.py")
        repo.write("a.py", TARGET + STAGED_EDIT + USER_EDIT)
    elif state == "untracked-ignored":
        repo.write("new.py", TARGET)
        repo.write("scratch.txt", "untracked notes\n")
        repo.write(".env", "API_KEY=sk-canary-0123456789abcdef0123\n")
        repo.write("build/out.py", "import os\n")
    elif state != "clean":
        raise ValueError(state)
    return repo


def targets(repo: GitRepo) -> list[str]:
    """The files stomper fixes in these projects."""
    return [name for name in ("a.py", "b.py", "new.py") if (repo.path / name).exists()]
