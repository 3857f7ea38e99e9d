"""The engine with fake agents: what is accepted, what is rejected and why, concurrency."""

from __future__ import annotations

import pytest
from engine_support import FIXABLE, UNUSED, UNUSED_FIXED, fake, fix, make_project, status
from fake_agents import (
    AgentPlugin,
    CrashingValidator,
    FakeAgent,
    ValidatorPlugin,
    add_noqa,
    add_type_error,
    break_syntax,
    do_nothing,
    edit_other_file,
    raise_error,
    remove_unused_imports,
    rename_variable,
)

from stomper import FixRequest
from stomper.testing import GitRepo, plugins_with


def test_a_good_fix_is_written_and_committed(repo: GitRepo) -> None:
    make_project(repo, {"app.py": UNUSED})
    agent, plugins = fake(remove_unused_imports)
    head = repo.head()
    run = fix(repo, plugins, ["app.py"], agents=("fake",))
    (result,) = run.results
    assert result.status == "fixed", result
    assert [d.code for d in result.fixed] == ["F401"]
    assert result.agent == "fake"
    assert result.attempts == 1
    assert repo.read("app.py").decode() == UNUSED_FIXED
    assert repo.log()[0] == "fix(lint): resolve F401 in app.py"
    assert repo.git("rev-parse", "HEAD~1").strip() == head
    assert result.commit == repo.head()
    assert "F401" in agent.requests[0].prompt
    assert run.exit_code == 0


@pytest.mark.parametrize(
    ("behaviour", "reason", "linters"),
    [
        (add_noqa, "rejected: no-suppression: new suppression", ("ruff",)),
        (edit_other_file, "rejected: scope: out of scope: edited other file other.py", ("ruff",)),
        (break_syntax, "rejected: syntax: syntax error", ("ruff",)),
        (add_type_error, "rejected: relint: new diagnostics: mypy assignment", ("ruff", "mypy")),
        (do_nothing, "no change", ("ruff",)),
    ],
)
def test_bad_fixes_are_rejected_with_the_reason(
    repo: GitRepo, behaviour: object, reason: str, linters: tuple[str, ...]
) -> None:
    make_project(repo, {"app.py": UNUSED, "other.py": "VALUE = 1\n"}, linters)
    agent, plugins = fake(behaviour)
    before, head = status(repo), repo.head()
    run = fix(repo, plugins, ["app.py", "other.py"], agents=("fake",), max_attempts=2)
    (result,) = run.results
    assert result.status == "unchanged", result
    assert result.attempts == 2
    assert [note.split(reason)[0] for note in result.notes] == [
        "fake attempt 1 ",
        "fake attempt 2 ",
    ], result.notes
    assert agent.requests[1].feedback
    assert repo.read("app.py").decode() == UNUSED
    assert repo.read("other.py").decode() == "VALUE = 1\n"
    assert (status(repo), repo.head()) == (before, head)
    assert run.exit_code == 1


def test_a_rejected_attempt_is_undone_and_the_retry_gets_feedback(repo: GitRepo) -> None:
    make_project(repo, {"app.py": UNUSED})

    def noqa_then_fix(request: FixRequest) -> None:
        (add_noqa if request.attempt == 1 else remove_unused_imports)(request)

    agent, plugins = fake(noqa_then_fix)
    (result,) = fix(repo, plugins, ["app.py"], agents=("fake",), commit=False).results
    assert result.status == "fixed", result
    assert result.attempts == 2
    # The second attempt started from the original file, not from the rejected noqa version.
    assert "noqa" not in repo.read("app.py").decode()
    assert [r.attempt for r in agent.requests] == [1, 2]
    assert "no-suppression" in (agent.requests[1].feedback or "")
    assert "noqa" in agent.requests[1].prompt


def test_a_crashing_agent_fails_its_file_only(repo: GitRepo) -> None:
    files = {f"m{index}.py": UNUSED for index in range(4)}
    make_project(repo, files)

    def crash_on_m2(request: FixRequest) -> None:
        (raise_error if request.path == "m2.py" else remove_unused_imports)(request)

    _, plugins = fake(crash_on_m2)
    run = fix(repo, plugins, sorted(files), agents=("fake",), max_parallel_files=2)
    statuses = {result.path: result.status for result in run.results}
    assert statuses == {"m0.py": "fixed", "m1.py": "fixed", "m2.py": "failed", "m3.py": "fixed"}
    failed = run.results[2]
    assert "'fake' raised RuntimeError: the fake agent crashed" in (failed.error or "")
    assert repo.read("m2.py").decode() == UNUSED
    assert len(repo.log()) == 2 + 3


def test_deterministic_fixer_first_then_the_ai_agent(repo: GitRepo) -> None:
    source = "import sys\nimport os\n\nl = 1\nprint(l, sys.argv)\n"
    make_project(repo, {"app.py": source})
    agent, plugins = fake(rename_variable("l", "level"))
    run = fix(repo, plugins, ["app.py"], agents=("fake", "ruff-fix"), commit=False)
    (result,) = run.results
    assert result.status == "fixed", result
    assert result.agent == "ruff-fix, fake"
    assert sorted(d.code for d in result.fixed) == ["E741", "F401", "I001"]
    # The AI agent was asked about what ruff could not fix, and nothing else.
    assert [d.code for d in agent.requests[0].diagnostics] == ["E741"]
    assert repo.read("app.py").decode() == "import sys\n\nlevel = 1\nprint(level, sys.argv)\n"


def test_a_partial_fix_is_kept_as_partially_fixed(repo: GitRepo) -> None:
    make_project(repo, {"app.py": "import os\n\nl = 1\nprint(l)\n"})
    _, plugins = fake(remove_unused_imports)
    run = fix(repo, plugins, ["app.py"], agents=("fake",), max_attempts=1, commit=False)
    (result,) = run.results
    assert result.status == "partially-fixed", result
    assert [d.code for d in result.remaining] == ["E741"]
    assert run.exit_code == 1


def test_dry_run_writes_nothing(repo: GitRepo) -> None:
    make_project(repo, {"app.py": UNUSED})
    _, plugins = fake(remove_unused_imports)
    before, head = status(repo), repo.head()
    run = fix(repo, plugins, ["app.py"], dry_run=True, agents=("fake",))
    (result,) = run.results
    assert result.status == "fixed"
    assert "-import os" in result.diff
    assert (status(repo), repo.head(), repo.read("app.py").decode()) == (before, head, UNUSED)


def test_a_file_edited_during_the_run_is_a_conflict(repo: GitRepo) -> None:
    make_project(repo, {"app.py": UNUSED})
    users_edit = UNUSED + "# the user typed this meanwhile\n"

    def fix_while_the_user_edits(request: FixRequest) -> None:
        remove_unused_imports(request)
        (repo.path / "app.py").write_text(users_edit)

    _, plugins = fake(fix_while_the_user_edits)
    head = repo.head()
    (result,) = fix(repo, plugins, ["app.py"], agents=("fake",)).results
    assert result.status == "conflict", result
    assert repo.read("app.py").decode() == users_edit
    assert repo.head() == head
    assert "-import os" in result.diff


def test_the_unused_fixable_constant_matches_ruff(repo: GitRepo) -> None:
    make_project(repo, {"app.py": FIXABLE})
    run = fix(repo, plugins_with(), ["app.py"], commit=False)
    assert [result.status for result in run.results] == ["fixed"]


def test_a_crashing_validator_fails_the_file_naming_it(repo: GitRepo) -> None:
    make_project(repo, {"app.py": UNUSED})
    agent = FakeAgent("fake", remove_unused_imports)
    plugins = plugins_with(
        ("fake-agents", AgentPlugin(agent)),
        ("fake-validators", ValidatorPlugin(CrashingValidator())),
    )
    validators = ("syntax", "crashing")
    run = fix(repo, plugins, ["app.py"], agents=("fake",), validators=validators)
    (result,) = run.results
    assert result.status == "failed"
    assert "validator 'crashing' raised ValueError: the fake validator crashed" in (
        result.error or ""
    )
    assert repo.read("app.py").decode() == UNUSED


def test_an_attempt_that_deletes_and_adds_files_is_undone(repo: GitRepo) -> None:
    make_project(repo, {"app.py": UNUSED, "other.py": "VALUE = 1\n"})
    seen: list[tuple[bool, bool, bool]] = []

    def wreck_then_fix(request: FixRequest) -> None:
        root = request.root
        seen.append(
            ((root / "app.py").is_file(), (root / "other.py").exists(), (root / "new.py").exists())
        )
        if request.attempt == 1:
            (root / "app.py").unlink()
            (root / "other.py").unlink()
            (root / "new.py").write_text("x = 1\n")
        else:
            remove_unused_imports(request)

    _, plugins = fake(wreck_then_fix)
    (result,) = fix(repo, plugins, ["app.py"], agents=("fake",), commit=False).results
    assert result.status == "fixed", result
    assert "was deleted" in result.notes[0]
    # The second attempt found the sandbox as it was before the first.
    assert seen == [(True, True, False), (True, True, False)]
    assert status(repo) == " M app.py\n"
