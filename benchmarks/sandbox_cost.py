"""What one file's sandbox costs, by mechanism and repository size.

Run:  .venv/bin/python benchmarks/sandbox_cost.py  [--sizes 2000 20000] [--repeat 5]
      [--pool-repeat 30]

For each size it generates a repository of that many small Python files in a temporary
directory, then times, per file, creating a pristine sandbox of the snapshot and getting rid of
it again (destroy, or reset for reuse):

- worktree:   ``git worktree add --detach`` + ``git worktree remove --force`` (full checkout)
- sparse:     ``git worktree add --no-checkout`` + a one-file sparse checkout + remove
              (cheap, but mypy and agents cannot see the rest of the project)
- private:    a private git dir borrowing the objects (alternates) + full ``read-tree -u`` +
              ``rm -rf`` -- stomper's sandbox without the pool
- pool:       ``stomper.sandbox.Sandboxes``: acquire, edit one file, release (scan + reset of
              what changed + verification scan); the one-off set-up (first acquire) is reported
              separately

The default run takes a few minutes on 2 cores. Nothing is left behind.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from stomper.git import git_env
from stomper.sandbox import Sandboxes, changed_paths, release_snapshot, take_snapshot

ENV = git_env(
    None,
    GIT_AUTHOR_NAME="bench",
    GIT_AUTHOR_EMAIL="bench@example.com",
    GIT_COMMITTER_NAME="bench",
    GIT_COMMITTER_EMAIL="bench@example.com",
)


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True)


def make_repo(root: Path, files: int) -> list[str]:
    """A repository of ``files`` modules of ~1 kB, 100 to a package; returns their paths."""
    git(root.parent, "init", "-q", "-b", "main", str(root))
    paths = []
    for number in range(files):
        package = root / "src" / f"pkg{number // 100:04d}"
        package.mkdir(parents=True, exist_ok=True)
        path = package / f"mod{number % 100:02d}.py"
        body = "".join(f"def f{n}(x: int) -> int:\n    return x + {n}\n\n" for n in range(20))
        path.write_text(f'"""Module {number}."""\n\nimport os\n\n{body}')
        paths.append(path.relative_to(root).as_posix())
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "generated")
    return paths


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def worktree_cost(root: Path, work: Path, paths: list[str], repeat: int) -> list[float]:
    def once(number: int) -> None:
        target = work / f"wt{number}"
        git(root, "worktree", "add", "-q", "--detach", str(target), "HEAD")
        git(root, "worktree", "remove", "--force", str(target))

    return [timed(lambda n=n: once(n)) for n in range(repeat)]  # type: ignore[misc]


def sparse_cost(root: Path, work: Path, paths: list[str], repeat: int) -> list[float]:
    def once(number: int) -> None:
        target = work / f"sp{number}"
        git(root, "worktree", "add", "-q", "--no-checkout", "--detach", str(target), "HEAD")
        git(target, "sparse-checkout", "set", "--no-cone", "/" + paths[number * 7 % len(paths)])
        git(target, "read-tree", "-mu", "HEAD")
        git(root, "worktree", "remove", "--force", str(target))

    return [timed(lambda n=n: once(n)) for n in range(repeat)]  # type: ignore[misc]


def private_cost(root: Path, work: Path, paths: list[str], repeat: int) -> list[float]:
    objects = root / ".git" / "objects"
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, env=ENV, check=True, capture_output=True, text=True
    ).stdout.strip()

    def once(number: int) -> None:
        target, git_dir = work / f"pv{number}", work / f"pv{number}.git"
        (git_dir / "objects" / "info").mkdir(parents=True)
        (git_dir / "refs").mkdir()
        (git_dir / "HEAD").write_text("ref: refs/heads/main\n")
        (git_dir / "objects" / "info" / "alternates").write_text(f"{objects}\n")
        target.mkdir()
        args = ("--git-dir", str(git_dir), "--work-tree", str(target))
        git(target, *args, "-c", "checkout.workers=0", "read-tree", "--reset", "-u", commit)
        shutil.rmtree(target)
        shutil.rmtree(git_dir)

    return [timed(lambda n=n: once(n)) for n in range(repeat)]  # type: ignore[misc]


def pool_costs(root: Path, paths: list[str], files: int) -> tuple[float, list[float]]:
    """The pool's set-up time and, per file, acquire + edit + changed_paths + release (ms)."""
    snapshot = take_snapshot(root, "bench-isolation")

    async def measure() -> tuple[float, list[float]]:
        async with Sandboxes(snapshot, size=1) as sandboxes:
            start = time.perf_counter()
            first = await sandboxes.acquire("set-up")
            setup = (time.perf_counter() - start) * 1000
            seen = sum(1 for path in paths if (first.root / path).is_file())
            assert seen == len(paths), f"the sandbox holds {seen} of {len(paths)} files"
            await sandboxes.release(first)
            costs = []
            for number in range(files):
                path = paths[number * 137 % len(paths)]
                start = time.perf_counter()
                sandbox = await sandboxes.acquire(path)
                target = sandbox.root / path
                target.write_bytes(target.read_bytes() + b"\nfixed = True\n")
                assert [change.path for change in await changed_paths(sandbox)] == [path]
                await sandboxes.release(sandbox)
                costs.append((time.perf_counter() - start) * 1000)
            return setup, costs

    try:
        return asyncio.run(measure())
    finally:
        release_snapshot(snapshot)


def summary(costs: list[float]) -> tuple[float, float]:
    ordered = sorted(costs)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return statistics.median(ordered), p90


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--repeat", type=int, default=5, help="files per per-file mechanism")
    parser.add_argument("--pool-repeat", type=int, default=30, help="files through the pool")
    options = parser.parse_args()
    rows: list[tuple[str, int, float | None, float, float]] = []
    for size in options.sizes:
        with tempfile.TemporaryDirectory(prefix="sandbox-bench-") as temp:
            root, work = Path(temp) / "repo", Path(temp) / "work"
            work.mkdir()
            start = time.perf_counter()
            paths = make_repo(root, size)
            print(f"# {size} files generated in {time.perf_counter() - start:.1f} s", flush=True)
            for name, cost in (
                ("worktree", worktree_cost),
                ("sparse", sparse_cost),
                ("private", private_cost),
            ):
                rows.append((name, size, None, *summary(cost(root, work, paths, options.repeat))))
            setup, costs = pool_costs(root, paths, options.pool_repeat)
            rows.append(("pool", size, setup, *summary(costs)))
    print(f"{'mechanism':<10} {'files':>7} {'set-up ms':>10} {'median ms':>10} {'p90 ms':>9}")
    for name, files, one_off, median, p90 in rows:
        one_off_text = "-" if one_off is None else f"{one_off:.0f}"
        print(f"{name:<10} {files:>7} {one_off_text:>10} {median:>10.1f} {p90:>9.1f}")


if __name__ == "__main__":
    main()
