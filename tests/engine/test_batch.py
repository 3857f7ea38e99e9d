"""The batched deterministic path: a chain of batch fixers, one sandbox, no graph."""

from __future__ import annotations

import subprocess
import sys

import pytest
from engine_support import FIXABLE, FIXABLE_AFTER, UNUSED, UNUSED_FIXED, fix, make_project, status
from fake_agents import (
    AgentPlugin,
    FakeAgent,
    FakeBatchAgent,
    ValidatorPlugin,
    add_noqa,
    edit_other_file,
    raise_error,
    remove_unused_imports,
    rename_variable,
)

from stomper.config import load_config
from stomper.engine.batch import batchable
from stomper.engine.context import FixContext, RunResources
from stomper.testing import GitRepo, plugins_with
from stomper.types import FixRequest, ValidationContext, Verdict

# F401 only, I001 only, and both: each file must get exactly the fixes it would get alone.
ONLY_SORTING = "import sys\nimport os\n\nprint(sys.argv, os.sep)\n"
ONLY_SORTING_AFTER = "import os\nimport sys\n\nprint(sys.argv, os.sep)\n"


def test_each_file_gets_the_fixes_ruff_gives_it_alone(repo: GitRepo) -> None:
    files = {"a.py": UNUSED, "b.py": ONLY_SORTING, "c.py": FIXABLE, "clean.py": "X = 1\n"}
    make_project(repo, files)
    run = fix(repo, plugins_with(), sorted(files), agents=("ruff-fix",), commit=False)
    assert {r.path: r.status for r in run.results} == {"a.py": "fixed", "b.py": "fixed",
                                                      "c.py": "fixed"}  # fmt: skip
    assert repo.read("a.py") == UNUSED_FIXED.encode()
    assert repo.read("b.py") == ONLY_SORTING_AFTER.encode()
    assert repo.read("c.py") == FIXABLE_AFTER.encode()
    assert repo.read("clean.py") == b"X = 1\n"
    assert run.exit_code == 0
    assert all(result.agent == "ruff-fix" and result.diff for result in run.results)


def test_without_diffs_the_results_leave_them_out_and_the_fixes_are_the_same(
    repo: GitRepo,
) -> None:
    make_project(repo, {"a.py": UNUSED, "c.py": FIXABLE})
    run = fix(repo, plugins_with(), ["a.py", "c.py"], agents=("ruff-fix",), commit=False,
              diffs=False)  # fmt: skip
    assert [(r.path, r.status, r.diff) for r in run.results] == [
        ("a.py", "fixed", ""), ("c.py", "fixed", "")
    ]  # fmt: skip
    assert repo.read("a.py") == UNUSED_FIXED.encode()
    assert repo.read("c.py") == FIXABLE_AFTER.encode()


def test_a_ruff_fix_run_never_imports_langgraph(repo: GitRepo) -> None:
    make_project(repo, {"a.py": FIXABLE})
    repo.write("pyproject.toml", repo.read("pyproject.toml").decode() + 'agents = ["ruff-fix"]\n')
    repo.commit("only ruff's fixes")
    probe = (
        "import sys; from stomper.cli import main; code = main(['fix', '--no-commit', '-q']); "
        "print('langgraph' in sys.modules, code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=repo.path, capture_output=True, text=True, check=False
    )
    assert done.stdout.splitlines()[-1] == "False 0", done.stdout + done.stderr
    assert repo.read("a.py") == FIXABLE_AFTER.encode()


def test_the_batched_path_is_chosen_only_when_it_can_keep_every_guarantee(repo: GitRepo) -> None:
    make_project(repo, {"a.py": UNUSED})
    config = load_config(repo.path)
    batch_agent = FakeBatchAgent("batchy", remove_unused_imports)
    ai_agent = FakeAgent("ai", remove_unused_imports)
    plugins = plugins_with(("agents", AgentPlugin(batch_agent, ai_agent)))

    class Holistic:
        """A validator without ``batchable``: it may look at the whole sandbox."""

        name = "holistic"

        def validate(self, context: ValidationContext) -> Verdict:
            return Verdict(True)

    def context(chain: list[object], validators: list[object]) -> FixContext:
        return FixContext(
            root=repo.path, config=config, plugins=plugins, linters=[], chain=chain,  # type: ignore[arg-type]
            validators=validators, resources=RunResources(None),  # type: ignore[arg-type]
            run_id="x", relint_config=config,
        )  # fmt: skip

    builtin = list(plugins.validators(config).values())
    assert batchable(context([batch_agent], builtin))
    assert not batchable(context([batch_agent, ai_agent], builtin))
    assert not batchable(context([FakeAgent("det", raise_error, kind="deterministic")], builtin))
    assert not batchable(context([batch_agent], [*builtin, Holistic()]))
    assert not batchable(context([], builtin))
    tests_on = load_config(repo.path, {"test_validation": "related"})
    with_tests = list(plugins_with().validators(tests_on).values())
    assert not batchable(context([batch_agent], with_tests))


def batch_plugins(agent: FakeBatchAgent) -> object:
    return plugins_with(("batch-agents", AgentPlugin(agent)))


def test_a_step_that_changes_another_path_is_rejected_for_every_file(repo: GitRepo) -> None:
    make_project(repo, {"a.py": UNUSED, "b.py": UNUSED, "other.py": "VALUE = 1\n"})
    before = status(repo)
    agent = FakeBatchAgent("batchy", edit_other_file)
    run = fix(repo, batch_plugins(agent), ["a.py", "b.py"], agents=("batchy",))  # type: ignore[arg-type]
    assert [r.status for r in run.results] == ["unchanged", "unchanged"]
    assert all("changed paths outside the batch: other.py" in r.notes[0] for r in run.results)
    assert repo.read("a.py") == UNUSED.encode()
    assert repo.read("other.py") == b"VALUE = 1\n"
    assert status(repo) == before
    assert [len(batch) for batch in agent.batches] == [2]  # one call for both files


def test_after_a_stray_step_the_next_agent_works_in_a_clean_sandbox(repo: GitRepo) -> None:
    make_project(repo, {"a.py": UNUSED, "other.py": "VALUE = 1\n"})
    agent = FakeBatchAgent("batchy", edit_other_file)
    run = fix(repo, batch_plugins(agent), ["a.py"], agents=("batchy", "ruff-fix"), commit=False)  # type: ignore[arg-type]
    (result,) = run.results
    assert result.status == "fixed"
    assert result.agent == "ruff-fix"  # other.py was put back: ruff-fix's step is no stray
    assert repo.read("a.py") == UNUSED_FIXED.encode()
    assert repo.read("other.py") == b"VALUE = 1\n"


def test_a_validator_rejects_one_file_and_the_others_are_kept(repo: GitRepo) -> None:
    make_project(repo, {"good.py": UNUSED, "silenced.py": UNUSED})

    def behaviour(request: FixRequest) -> None:
        (add_noqa if request.path == "silenced.py" else remove_unused_imports)(request)

    agent = FakeBatchAgent("batchy", behaviour)
    run = fix(repo, batch_plugins(agent), ["good.py", "silenced.py"], agents=("batchy",),  # type: ignore[arg-type]
              commit=False)  # fmt: skip
    results = {r.path: r for r in run.results}
    assert results["good.py"].status == "fixed"
    assert repo.read("good.py") == UNUSED_FIXED.encode()
    assert results["silenced.py"].status == "unchanged"
    assert "no-suppression" in results["silenced.py"].notes[0]
    assert repo.read("silenced.py") == UNUSED.encode()


def test_a_failing_batch_agent_keeps_the_fixes_before_it(repo: GitRepo) -> None:
    # F401 and I001 for ruff-fix, E741 for the second agent, which crashes.
    make_project(repo, {"a.py": FIXABLE + "l = 1\n"})
    agent = FakeBatchAgent("crashy", raise_error)
    run = fix(repo, batch_plugins(agent), ["a.py"], agents=("ruff-fix", "crashy"), commit=False)  # type: ignore[arg-type]
    (result,) = run.results
    assert result.status == "partially-fixed"
    assert result.error is not None
    assert "the fake agent crashed" in result.error
    assert repo.read("a.py") == (FIXABLE_AFTER + "l = 1\n").encode()
    assert [d.code for d in result.remaining] == ["E741"]


def test_a_fix_the_user_overtook_is_a_conflict_and_their_bytes_stay(repo: GitRepo) -> None:
    make_project(repo, {"a.py": UNUSED, "b.py": UNUSED})

    def behaviour(request: FixRequest) -> None:
        remove_unused_imports(request)
        if request.path == "b.py":  # the user saves b.py while the batch works
            repo.write("b.py", "# mine\n")

    agent = FakeBatchAgent("batchy", behaviour)
    run = fix(repo, batch_plugins(agent), ["a.py", "b.py"], agents=("batchy",), commit=False)  # type: ignore[arg-type]
    assert {r.path: r.status for r in run.results} == {"a.py": "fixed", "b.py": "conflict"}
    assert repo.read("a.py") == UNUSED_FIXED.encode()
    assert repo.read("b.py") == b"# mine\n"


@pytest.mark.parametrize("commit", [True, False])
def test_commits_one_file_each_or_none(repo: GitRepo, commit: bool) -> None:
    make_project(repo, {"a.py": FIXABLE, "b.py": UNUSED})
    head = repo.git("rev-parse", "HEAD").strip()
    run = fix(repo, plugins_with(), ["a.py", "b.py"], agents=("ruff-fix",), commit=commit)
    commits = repo.git("rev-list", f"{head}..HEAD").split()
    assert len(commits) == (2 if commit else 0)
    assert all((r.commit is not None) == commit for r in run.results)
    if commit:
        assert status(repo) == ""


def test_a_dry_run_writes_nothing(repo: GitRepo) -> None:
    make_project(repo, {"a.py": FIXABLE})
    run = fix(repo, plugins_with(), ["a.py"], agents=("ruff-fix",), dry_run=True)
    (result,) = run.results
    assert result.status == "fixed"
    assert "dry run: nothing written" in result.notes
    assert repo.read("a.py") == FIXABLE.encode()


def test_a_fix_that_breaks_an_importer_is_undone(repo: GitRepo) -> None:
    # ruff drops lib.py's unused `import os`; main.py imports it from lib: mypy sees it break.
    lib = "import os\n\n\ndef value() -> int:\n    return 1\n"
    main = "from lib import os, value\n\nprint(os.sep, value())\n"
    plain = "import os\n\n\ndef other() -> int:\n    return 2\n"
    make_project(
        repo, {"lib.py": lib, "main.py": main, "plain.py": plain}, linters=("ruff", "mypy")
    )
    run = fix(repo, plugins_with(), ["lib.py", "plain.py"], agents=("ruff-fix",), commit=False)
    results = {r.path: r for r in run.results}
    assert results["lib.py"].status == "unchanged"
    assert "the fix broke main.py" in results["lib.py"].notes[0]
    assert repo.read("lib.py") == lib.encode()
    assert results["plain.py"].status == "fixed"  # imported by nobody: kept
    assert repo.read("plain.py") == b"\n\ndef other() -> int:\n    return 2\n"


def test_a_validator_that_raises_fails_the_batch_and_writes_nothing(repo: GitRepo) -> None:
    from fake_agents import CrashingValidator

    make_project(repo, {"a.py": FIXABLE})
    validator = CrashingValidator()
    validator.batchable = True  # type: ignore[attr-defined]
    plugins = plugins_with(("crashing-validator", ValidatorPlugin(validator)))
    run = fix(repo, plugins, ["a.py"], agents=("ruff-fix",),
              validators=("syntax", "crashing"))  # fmt: skip
    (result,) = run.results
    assert result.status == "failed"
    assert result.error is not None
    assert "crashing" in result.error
    assert repo.read("a.py") == FIXABLE.encode()


def test_a_second_batch_agent_is_not_blamed_for_the_first_ones_fixes(repo: GitRepo) -> None:
    # a.py: ruff-fix leaves nothing; b.py: E741 is left for the second agent. Its step sees
    # a.py changed in the sandbox, by the first agent: that is no stray path.
    make_project(repo, {"a.py": FIXABLE, "b.py": FIXABLE + "l = 1\n"})
    agent = FakeBatchAgent("renamer", rename_variable("l", "length"))
    run = fix(repo, batch_plugins(agent), ["a.py", "b.py"], agents=("ruff-fix", "renamer"),  # type: ignore[arg-type]
              commit=False)  # fmt: skip
    assert {r.path: r.status for r in run.results} == {"a.py": "fixed", "b.py": "fixed"}
    assert [[request.path for request in batch] for batch in agent.batches] == [["b.py"]]
    assert repo.read("a.py") == FIXABLE_AFTER.encode()
    assert repo.read("b.py") == (FIXABLE_AFTER + "length = 1\n").encode()
    assert run.results[1].agent == "ruff-fix, renamer"


class RecordingValidator:
    """Rejects every candidate, noting what each call saw of the linters' verdict."""

    batchable = True

    def __init__(self, name: str, *, reads_after: bool | None = None) -> None:
        self.name = name
        self.seen: list[tuple[str, tuple[str, ...]]] = []
        if reads_after is not None:
            self.reads_after = reads_after

    def validate(self, context: ValidationContext) -> Verdict:
        self.seen.append((context.path, tuple(d.code for d in context.after)))
        return Verdict(False, f"{self.name} says no")


def test_validators_that_read_no_lint_judge_first_and_every_verdict_counts_in_order(
    repo: GitRepo,
) -> None:
    # E741 stays after ruff's fixes: a validator reading `after` must see it.
    make_project(repo, {"b.py": FIXABLE + "l = 1\n"})
    reading, blind = RecordingValidator("reading"), RecordingValidator("blind", reads_after=False)
    plugins = plugins_with(("recording", ValidatorPlugin(reading, blind)))
    run = fix(repo, plugins, ["b.py"], agents=("ruff-fix",), commit=False,
              validators=("reading", "syntax", "blind"))  # fmt: skip
    (result,) = run.results
    assert reading.seen == [("b.py", ("E741",))]
    assert blind.seen == [("b.py", ())]  # judged before the linters spoke
    assert result.status == "unchanged"
    assert any("reading: reading says no; blind: blind says no" in note for note in result.notes)
    assert repo.read("b.py") == (FIXABLE + "l = 1\n").encode()
