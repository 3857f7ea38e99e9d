"""The run as a whole: concurrency, fail-fast, budgets, notifications, cancellation."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from engine_support import UNUSED, UNUSED_FIXED, child_processes, fake, fix, make_project
from fake_agents import (
    AgentPlugin,
    ConcurrencyProbe,
    FakeAgent,
    raise_error,
    remove_unused_imports,
    run_sleeping_process,
)

from stomper import Agent, FileResult, FixRequest, hookimpl
from stomper.config import Config, load_config
from stomper.engine import run_fix
from stomper.testing import GitRepo, plugins_with


def test_fail_fast_starts_no_new_file(repo: GitRepo) -> None:
    files = {f"m{index}.py": UNUSED for index in range(3)}
    make_project(repo, files)
    _, plugins = fake(raise_error)
    run = fix(
        repo, plugins, sorted(files), agents=("fake",), max_parallel_files=1,
        continue_on_error=False,
    )  # fmt: skip
    assert [result.status for result in run.results] == ["failed", "skipped", "skipped"]
    assert "fail-fast" in run.results[1].notes[0]


def test_an_unavailable_agent_is_noted_once(repo: GitRepo) -> None:
    make_project(repo, {"a.py": UNUSED, "b.py": UNUSED})
    agent = FakeAgent("offline", remove_unused_imports)
    agent.available = lambda: "no network"  # type: ignore[method-assign]
    plugins = plugins_with(("fake-agents", AgentPlugin(agent)))
    run = fix(repo, plugins, ["a.py", "b.py"], agents=("offline",))
    assert [note for note in run.notes if "offline" in note] == [
        "agent offline is unavailable, skipped: no network"
    ]
    assert [result.status for result in run.results] == ["unchanged", "unchanged"]
    assert agent.requests == []


def test_concurrency_is_bounded_by_jobs(repo: GitRepo, capsys: pytest.CaptureFixture[str]) -> None:
    files = {f"pkg/m{index:02}.py": UNUSED for index in range(16)}
    make_project(repo, files)
    probe = ConcurrencyProbe(seconds=0.5)
    _, plugins = fake(probe)
    started = time.monotonic()
    run = fix(repo, plugins, sorted(files), agents=("fake",), max_parallel_files=4, commit=False)
    elapsed = time.monotonic() - started
    assert [result.status for result in run.results] == ["fixed"] * 16
    assert probe.calls == 16
    assert probe.max_in_flight == 4
    with capsys.disabled():
        print(f"\n16 files x 0.5 s agent, jobs=4: {elapsed:.2f} s (ideal 2.0 s + linting)")


def test_files_without_diagnostics_get_no_sandbox(repo: GitRepo, private_tmpdir: Path) -> None:
    make_project(repo, {"clean.py": "print('ok')\n"})
    agent, plugins = fake(remove_unused_imports)
    run = fix(repo, plugins, ["clean.py"], agents=("fake",))
    assert (run.results, run.exit_code, run.files_checked) == ((), 0, 1)
    assert agent.requests == []
    assert list(private_tmpdir.iterdir()) == []


def test_the_agent_call_budget_stops_ai_calls(repo: GitRepo) -> None:
    make_project(repo, {"a.py": UNUSED, "b.py": UNUSED})
    agent, plugins = fake(remove_unused_imports)
    run = fix(
        repo, plugins, ["a.py", "b.py"], agents=("fake",), max_parallel_files=1,
        max_agent_calls=1, commit=False,
    )  # fmt: skip
    assert [result.status for result in run.results] == ["fixed", "skipped"]
    assert run.results[1].notes == ("fake not called: budget spent: 1 AI agent calls",)
    assert len(agent.requests) == 1


# LangGraph never starts the queued third file's task, and says so when it is collected.
@pytest.mark.filterwarnings("ignore:coroutine 'arun_with_retry' was never awaited")
def test_a_cancelled_run_cleans_up_sandboxes_and_processes(repo: GitRepo) -> None:
    files = {f"m{index}.py": UNUSED for index in range(3)}
    make_project(repo, files)
    _, plugins = fake(run_sleeping_process)
    config = load_config(repo.path, {"agents": ("fake",), "max_parallel_files": 2})

    async def cancel_soon() -> None:
        task = asyncio.ensure_future(run_fix(repo.path, config, plugins, sorted(files)))
        while len(child_processes()) < 2:  # both sandboxes' agents are running
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_soon())
    assert all(repo.read(path).decode() == UNUSED for path in files)
    # nothing_left_behind checks sandboxes, refs, temporary directories and processes.


class RecordingPlugin:
    """A plugin as a third party writes one: registers an agent, listens to the run."""

    def __init__(self) -> None:
        self.agent = FakeAgent("fake", remove_unused_imports)
        self.done: list[FileResult] = []
        self.finished: list[tuple[list[FileResult], int]] = []

    @hookimpl
    def stomper_register_agents(self, register: Callable[[Agent], None], config: Config) -> None:
        register(self.agent)

    @hookimpl
    def stomper_file_done(self, result: FileResult) -> None:
        self.done.append(result)

    @hookimpl
    def stomper_session_finish(self, results: Sequence[FileResult], exit_code: int) -> None:
        self.finished.append((list(results), exit_code))


def test_plugins_hear_of_each_file_and_of_the_end(repo: GitRepo) -> None:
    make_project(repo, {"a.py": UNUSED, "b.py": UNUSED + "\nl = 1\n"})
    plugin = RecordingPlugin()
    run = fix(repo, plugins_with(("recorder", plugin)), ["a.py", "b.py"], agents=("fake",))
    assert sorted(result.path for result in plugin.done) == ["a.py", "b.py"]
    assert plugin.finished == [(list(run.results), 1)]
    assert all("-import os" in result.diff for result in plugin.done)


def test_without_diffs_the_per_file_results_leave_them_out(repo: GitRepo) -> None:
    make_project(repo, {"a.py": UNUSED})
    plugin = RecordingPlugin()
    run = fix(repo, plugins_with(("recorder", plugin)), ["a.py"], agents=("fake",), diffs=False)
    assert [(r.path, r.status, r.diff) for r in run.results] == [("a.py", "fixed", "")]
    assert repo.read("a.py") == UNUSED_FIXED.encode()


def test_the_fix_command_makes_diffs_only_for_a_reader(tmp_path: Path) -> None:
    """Shown (--show-diff, --dry-run), reported (--report), or handed to a plugin."""
    from stomper.cli import build_parser
    from stomper.commands._fix_run import wants_diffs

    parse = build_parser().parse_args
    nobody = plugins_with()
    assert not wants_diffs(parse(["fix"]), nobody)
    assert not wants_diffs(parse(["fix", "--patch-out", str(tmp_path / "p.json")]), nobody)
    for flags in (["--show-diff"], ["--dry-run"], ["--report", str(tmp_path / "r.md")]):
        assert wants_diffs(parse(["fix", *flags]), nobody), flags
    assert wants_diffs(parse(["fix"]), plugins_with(("recorder", RecordingPlugin())))


INTERRUPTED_RUN = """
import asyncio, sys
sys.path[:0] = {paths!r}
from fake_agents import AgentPlugin, FakeAgent, run_sleeping_process
from stomper.config import load_config
from stomper.engine import run_fix
from stomper.testing import plugins_with
from pathlib import Path

plugins = plugins_with(("fake-agents", AgentPlugin(FakeAgent("fake", run_sleeping_process))))
config = load_config(Path.cwd(), {{"agents": ("fake",), "max_parallel_files": 2}})
try:
    asyncio.run(run_fix(Path.cwd(), config, plugins, ["m0.py", "m1.py", "m2.py"]))
except KeyboardInterrupt:
    sys.exit(130)
"""


def test_ctrl_c_stops_agents_and_cleans_up(repo: GitRepo, private_tmpdir: Path) -> None:
    make_project(repo, {f"m{index}.py": UNUSED for index in range(3)})
    tests = Path(__file__).resolve().parents[1]
    script = INTERRUPTED_RUN.format(paths=[str(tests), str(tests / "engine")])
    process = subprocess.Popen([sys.executable, "-c", script], cwd=repo.path)
    try:
        deadline = time.monotonic() + 30
        while len(sleeping_agents()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(sleeping_agents()) == 2
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 130
    finally:
        process.kill()
        process.wait()
    assert sleeping_agents() == []
    assert [
        path for path in ("m0.py", "m1.py", "m2.py") if repo.read(path) != UNUSED.encode()
    ] == []


def sleeping_agents() -> list[str]:
    """The fake agents' ``sleep 37.25`` processes, wherever they were re-parented to."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if cmdline.read_bytes() == b"sleep\0" + b"37.25\0":
                found.append(cmdline.parent.name)
        except OSError:
            continue
    return found


def test_older_objects_stay_out_of_the_collector_during_a_run_only(repo: GitRepo) -> None:
    import gc

    make_project(repo, {"a.py": UNUSED})
    frozen: list[int] = []

    def note_and_fix(request: FixRequest) -> None:
        frozen.append(gc.get_freeze_count())
        remove_unused_imports(request)

    before = gc.get_freeze_count()
    _, plugins = fake(note_and_fix)
    run = fix(repo, plugins, ["a.py"], agents=("fake",))
    assert [r.status for r in run.results] == ["fixed"]
    assert len(frozen) == 1
    assert frozen[0] > before  # the objects made before the run, frozen
    assert gc.get_freeze_count() == before  # and thawed after: collected as ever
