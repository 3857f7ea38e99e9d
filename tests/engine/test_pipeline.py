"""How the per-file path keeps its agent slots busy: files set up and judged beside the
agents, one lint of all targets before the fan-out, sandboxes removed once nobody needs them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from engine_support import UNUSED, UNUSED_FIXED, fake, fix, make_project
from fake_agents import AgentPlugin, ConcurrencyProbe, FakeAgent, remove_unused_imports

from stomper import Diagnostic, LinterError, hookimpl
from stomper.sandbox import Sandboxes
from stomper.snapshot import release_snapshot, take_snapshot
from stomper.testing import GitRepo, plugins_with
from stomper_plugins.ruff import RuffLinter


class CountingRuff:
    """ruff, counting its runs by the root they ran in; ``fail_sandboxes`` makes every run
    on more than one file outside the user's tree fail."""

    name = "counted"
    project_wide = False

    def __init__(self, config: Any, user_root: Path, *, fail_batches: bool = False) -> None:
        self.ruff = RuffLinter(config)
        self.user_root = user_root
        self.fail_batches = fail_batches
        self.runs: list[tuple[str, int]] = []

    def lint(self, root: Path, paths: Sequence[str]) -> list[Diagnostic]:
        where = "user" if root == self.user_root else "sandbox"
        self.runs.append((where, len(paths)))
        if self.fail_batches and where == "sandbox" and len(paths) > 1:
            raise LinterError(self.name, "cannot lint many files here")
        return [d._replace(linter=self.name) for d in self.ruff.lint(root, paths)]


class LinterPlugin:
    def __init__(self, linter: object) -> None:
        self.linter = linter

    @hookimpl
    def stomper_register_linters(self, register: Callable[[Any], None], config: Any) -> None:
        register(self.linter)


def counted_run(repo: GitRepo, files: dict[str, str], *, fail_batches: bool = False) -> Any:
    make_project(repo, files)
    from stomper.config import load_config

    linter = CountingRuff(load_config(repo.path), repo.path, fail_batches=fail_batches)
    agent = FakeAgent("fake", remove_unused_imports)
    plugins = plugins_with(("linters", LinterPlugin(linter)), ("agents", AgentPlugin(agent)))
    run = fix(repo, plugins, sorted(files), agents=("fake",), linters=("counted",), commit=False)
    return run, linter


def test_all_targets_are_linted_once_in_a_pristine_sandbox(repo: GitRepo) -> None:
    files = {f"m{index}.py": UNUSED for index in range(5)}
    run, linter = counted_run(repo, files)
    assert [r.status for r in run.results] == ["fixed"] * 5
    # The user's tree once, all targets once in a sandbox, then one relint per candidate.
    assert linter.runs[:2] == [("user", 5), ("sandbox", 5)]
    assert sorted(linter.runs[2:]) == [("sandbox", 1)] * 5


def test_when_the_first_lint_fails_each_file_lints_its_own_sandbox(repo: GitRepo) -> None:
    files = {f"m{index}.py": UNUSED for index in range(3)}
    run, linter = counted_run(repo, files, fail_batches=True)
    assert [r.status for r in run.results] == ["fixed"] * 3
    assert all(repo.read(path) == UNUSED_FIXED.encode() for path in files)
    # Each file: its own first lint, then the relint of its candidate.
    assert sorted(linter.runs[2:]) == [("sandbox", 1)] * 6


def test_files_are_set_up_and_judged_while_jobs_agents_run(repo: GitRepo) -> None:
    files = {f"m{index:02}.py": UNUSED for index in range(12)}
    make_project(repo, files)
    probe = ConcurrencyProbe(seconds=0.3)
    _, plugins = fake(probe)
    leased: list[int] = []

    async def leases_meanwhile(task: asyncio.Task[Any]) -> None:
        from stomper import sandbox_watch

        while not task.done():
            leased.append(len(sandbox_watch._watches))  # sandboxes that exist right now
            await asyncio.sleep(0.02)

    from stomper.config import load_config
    from stomper.engine import run_fix

    config = load_config(repo.path, {"agents": ("fake",), "max_parallel_files": 2,
                                     "commit": False})  # fmt: skip

    async def main() -> Any:
        task = asyncio.ensure_future(run_fix(repo.path, config, plugins, sorted(files)))
        await leases_meanwhile(task)
        return task.result()

    run = asyncio.run(main())
    assert [r.status for r in run.results] == ["fixed"] * 12
    assert probe.max_in_flight == 2  # --jobs 2: two agent calls at a time
    assert max(leased) > 2  # files beyond the agent slots were set up meanwhile
    assert max(leased) <= 4  # ... at most twice --jobs of them


def test_a_pool_removes_a_released_sandbox_nobody_will_need(repo: GitRepo) -> None:
    repo.write("a.py", "A = 1\n")
    repo.commit("a")
    snapshot = take_snapshot(repo.path, "expect")

    async def main() -> tuple[bool, bool, bool]:
        async with Sandboxes(snapshot, size=2) as pool:
            pool.expect(3)
            first, second = await pool.acquire("one"), await pool.acquire("two")
            await pool.release(first)  # one acquire still to come: kept for it
            kept = first.root.exists()
            third = await pool.acquire("three")
            await pool.release(second)  # nothing more to come: removed (in the background)
            await pool.release(third)
            return kept, await gone(second.root), await gone(third.root)

    async def gone(root: Path) -> bool:
        for _ in range(500):  # while the pool is still open
            if not root.exists():
                return True
            await asyncio.sleep(0.01)
        return False

    try:
        assert asyncio.run(main()) == (True, True, True)
    finally:
        release_snapshot(snapshot)
