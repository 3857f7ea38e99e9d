"""Issue 7, target 4: deterministic fixes cost at most 5x ruff's own fix + check.

Run:  .venv/bin/python benchmarks/deterministic.py  [--files 500] [--repeat 3]

Generates a git repository of ``--files`` modules, each with ruff-fixable errors (F401 unused
import, I001 unsorted imports, UP004/UP006/UP025 old spellings), and times, on fresh copies of
the same inputs:

- stomper: ``stomper fix --no-commit`` with only the ``ruff-fix`` agent (a real process:
  start-up, lint, snapshot, sandbox, fixes, relint, validators, write-back);
- the reference: ``ruff check --fix`` followed by ``ruff check``, the same ruff, same files.

Each side runs ``--repeat`` times, alternately (the repository is reset in between); the
medians and their ratio are printed next to the target (<= 5x), with the load average.
stomper's first run in the repository makes the write-back's temporary files, which later runs
reuse (see ``stomper.spares``): it is printed on its own line, and the median is that of the
runs after it, the way a repository sees stomper from its second run on.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
MODULE = """\
import sys
import os
from typing import List


class Names{index}(object):
    label = u"names"

    def names(self, items: List[str]) -> List[str]:
        return [name for name in items if name != sys.argv[0]]
"""
PYPROJECT = """\
[tool.ruff]
target-version = "py311"

[tool.ruff.lint]
select = ["F", "I", "UP"]

[tool.stomper]
linters = ["ruff"]
agents = ["ruff-fix"]
cache = false
"""


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True)
    return done.stdout


def make_project(root: Path, files: int) -> list[str]:
    """A committed repository of ``files`` modules with ruff-fixable errors."""
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "bench")
    git(root, "config", "user.email", "bench@example.com")
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / ".gitignore").write_text(".ruff_cache/\n__pycache__/\n")
    (root / "pkg").mkdir()
    paths = []
    for index in range(files):
        path = f"pkg/mod_{index:03d}.py"
        (root / path).write_text(MODULE.format(index=index))
        paths.append(path)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "project")
    return paths


def run_ruff(root: Path, paths: list[str]) -> float:
    ruff = str(BIN / "ruff")
    started = time.perf_counter()
    subprocess.run([ruff, "check", "--fix", "--no-cache", "-q", *paths], cwd=root, check=False)
    subprocess.run([ruff, "check", "--no-cache", "-q", *paths], cwd=root, check=False)
    return time.perf_counter() - started


def run_stomper(root: Path, paths: list[str]) -> float:
    argv = [str(BIN / "stomper"), "fix", "--no-commit", "-q", "--no-cache", "pkg"]
    # An installed stomper has its bytecode: let the first run write it, if it is stale.
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=root, env=env, check=False, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"stomper exited {done.returncode}: {done.stdout}{done.stderr}")
    return elapsed


def fixed_files(root: Path) -> int:
    return len(git(root, "diff", "--name-only").split())


def reset(root: Path) -> None:
    """The files back as generated, on disk: neither side pays for flushing the last reset."""
    git(root, "checkout", "-q", "--", ".")
    os.sync()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stomper-bench-det-") as temp:
        root = Path(temp) / "project"
        paths = make_project(root, options.files)
        os.sync()
        ruff_times, stomper_times = [], []
        for _ in range(options.repeat):
            ruff_times.append(run_ruff(root, paths))
            ruff_fixed = fixed_files(root)
            reset(root)
            stomper_times.append(run_stomper(root, paths))
            stomper_fixed = fixed_files(root)
            reset(root)
            if stomper_fixed != ruff_fixed:
                raise SystemExit(f"stomper fixed {stomper_fixed} files, ruff {ruff_fixed}")
    ruff_median = statistics.median(ruff_times)
    stomper_median = statistics.median(stomper_times[1:] or stomper_times)
    ratio = stomper_median / ruff_median
    verdict = "met" if ratio <= 5.0 else "NOT met"
    runs = f"{options.repeat} runs"
    if options.repeat > 1:
        runs += f" (stomper: the {options.repeat - 1} after its first)"
    print(f"{options.files} files, {stomper_fixed} fixed by each; medians of {runs}")
    print(f"ruff check --fix + ruff check: {ruff_median * 1000:8.0f} ms")
    print(f"stomper fix --no-commit:       {stomper_median * 1000:8.0f} ms")
    print(f"  (its first run in the repository: {stomper_times[0] * 1000:.0f} ms)")
    print(f"ratio {ratio:.2f}x  (target <= 5x: {verdict})")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load average: {load}")


if __name__ == "__main__":
    main()
