"""Each attempt is judged against the last accepted bytes, not the file's first state."""

from __future__ import annotations

from engine_support import fake, fix, make_project
from fake_agents import edit

from stomper.testing import GitRepo

SOURCE = "import os\nimport sys\n\nprint(sys.argv)\nprint(undefined)\n"


def bring_back_the_import(request: object) -> None:
    """Fixes F821, and puts back the import ruff-fix had just removed."""
    edit(request, lambda text: "import os\n" + text.replace("undefined", "sys.path"))  # type: ignore[arg-type]


def test_an_ai_agent_cannot_undo_what_ruff_fix_removed(repo: GitRepo) -> None:
    make_project(repo, {"app.py": SOURCE})
    agent, plugins = fake(bring_back_the_import)
    run = fix(repo, plugins, ["app.py"], agents=("ruff-fix", "fake"), max_attempts=1)
    (result,) = run.results
    assert len(agent.requests) == 1
    assert any("new diagnostics" in note and "F401" in note for note in result.notes)
    assert result.status == "partially-fixed"
    assert [d.code for d in result.remaining] == ["F821"]
    assert "import os" not in repo.read("app.py").decode()
