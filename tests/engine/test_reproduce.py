"""A file whose diagnostics the sandbox cannot reproduce is skipped before any agent call."""

from __future__ import annotations

from engine_support import fake, fix, make_project
from fake_agents import remove_unused_imports

from stomper.testing import GitRepo, plugins_with


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


UNUSED_IMPORT = "import os\n\n\ndef main() -> None:\n    pass\n"


def test_a_file_on_the_deny_list_is_skipped_with_that_reason(repo: GitRepo) -> None:
    # The snapshot leaves the file out (a directory pattern, matched whatever the case), so
    # no sandbox holds it: it is skipped for that reason, not as a file that does not reproduce.
    make_project(repo, {"Private/keys.py": UNUSED_IMPORT, "app.py": UNUSED_IMPORT})
    agent, plugins = fake(remove_unused_imports)

    run = fix(repo, plugins, ["Private/keys.py", "app.py"], agents=("fake",), deny=("private",))

    results = {result.path: result for result in run.results}
    assert results["app.py"].status == "fixed"
    denied = results["Private/keys.py"]
    assert denied.status == "skipped"
    assert denied.notes == (
        "skipped: Private/keys.py matches the deny list (private), so no sandbox holds it",
    )
    assert [request.path for request in agent.requests] == ["app.py"]
    assert repo.read("Private/keys.py") == UNUSED_IMPORT.encode()


def test_the_batched_path_names_the_deny_list_too(repo: GitRepo) -> None:
    make_project(repo, {"secrets/tokens.py": UNUSED_IMPORT, "app.py": UNUSED_IMPORT})

    run = fix(
        repo,
        plugins_with(),
        ["secrets/tokens.py", "app.py"],
        agents=("ruff-fix",),
        deny=("secrets/*",),
    )

    results = {result.path: result for result in run.results}
    assert results["app.py"].status == "fixed"
    assert results["secrets/tokens.py"].status == "skipped"
    assert results["secrets/tokens.py"].notes == (
        "skipped: secrets/tokens.py matches the deny list (secrets/*), so no sandbox holds it",
    )
    assert repo.read("secrets/tokens.py") == UNUSED_IMPORT.encode()
