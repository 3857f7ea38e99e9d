"""A file whose diagnostics the sandbox cannot reproduce is skipped before any agent call."""

from __future__ import annotations

from engine_support import fake, fix, make_project
from fake_agents import remove_unused_imports

from stomper.testing import GitRepo


def test_an_ignored_config_the_sandbox_lacks_skips_the_file(repo: GitRepo) -> None:
    make_project(repo, {"app.py": "import os\n\n\ndef main() -> None:\n    pass\n"})
    # A local, ignored ruff.toml enables E501 with a tiny limit: the snapshot does not hold it,
    # so in the sandbox ruff reports no E501 and any edit would look like a fix.
    repo.write(".gitignore", repo.read(".gitignore").decode() + "ruff.toml\n")
    repo.commit("ignore the local ruff config")
    repo.write("ruff.toml", 'line-length = 10\n\n[lint]\nselect = ["E501"]\n')
    agent, plugins = fake(remove_unused_imports)
    before = repo.read("app.py")

    run = fix(repo, plugins, ["app.py"], agents=("fake",))

    (result,) = run.results
    assert result.status == "skipped"
    assert any("does not reproduce E501" in note for note in result.notes), result.notes
    assert agent.requests == []
    assert repo.read("app.py") == before


def test_a_reproduced_file_is_fixed_as_usual(repo: GitRepo) -> None:
    make_project(repo, {"app.py": "import os\n\n\ndef main() -> None:\n    pass\n"})
    agent, plugins = fake(remove_unused_imports)
    run = fix(repo, plugins, ["app.py"], agents=("fake",))
    (result,) = run.results
    assert result.status == "fixed"
    assert len(agent.requests) == 1
