"""What `stomper hook` costs when there is nothing to fix, next to the linters alone.

Run:  .venv/bin/python benchmarks/hook_fast_path.py  [--files 50] [--repeat 7]

It generates a git repository of clean Python files in a temporary directory, warms mypy's
cache once, then times, alternating, `stomper hook FILES` and the same linters run directly
on the same files one after the other (`ruff check --output-format json` then `mypy -O json`),
as two separate pre-commit hooks would. It prints the medians, the difference and the ratio
next to the targets (issue 5: within 150 ms; issue 7: at most 1.2x), and the load average.

Both sides run with byte-code caching on (``PYTHONPYCACHEPREFIX`` in the temporary directory,
``PYTHONDONTWRITEBYTECODE`` unset), as an installed package has its ``.pyc`` files: without
them every start-up would compile stomper's modules again. Nothing is left behind.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

BIN = Path(sys.executable).parent
MODULE = '''"""Module {index}."""

from __future__ import annotations


def value_{index}(number: int) -> int:
    """Double ``number``."""
    return number * 2 + {index}
'''


def make_project(root: Path, count: int) -> list[str]:
    """A git repository with ``count`` clean modules and a stomper/ruff/mypy config."""
    root.mkdir()
    (root / "pyproject.toml").write_text(
        "[tool.ruff.lint]\nselect = ['E', 'F', 'I', 'UP']\n\n[tool.mypy]\nstrict = true\n"
    )
    package = root / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    files = []
    for index in range(count):
        (package / f"mod_{index}.py").write_text(MODULE.format(index=index))
        files.append(f"pkg/mod_{index}.py")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    return files


def bytecode_env(cache: Path) -> dict[str, str]:
    """The environment with byte-code caching on, into ``cache``."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return env | {"PYTHONPYCACHEPREFIX": str(cache)}


def timed(argv: Sequence[str], cwd: Path, expect: int = 0) -> float:
    started = time.perf_counter()
    env = bytecode_env(cwd.parent / "pycache")
    completed = subprocess.run(list(argv), cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != expect:
        sys.exit(f"{argv[0]} exited {completed.returncode}: {completed.stdout[-400:]!r}")
    return elapsed


def measure(root: Path, files: list[str], repeat: int) -> tuple[list[float], list[float]]:
    hook = [str(BIN / "stomper"), "hook", *files]
    ruff = [str(BIN / "ruff"), "check", "--output-format", "json", "--no-fix", *files]
    mypy = [str(BIN / "mypy"), "-O", "json", *files]
    timed(mypy, root)  # a warm cache, as on every commit after the first
    timed(hook, root)  # byte code compiled once, as at installation
    timed(ruff, root)
    ours, theirs = [], []
    for _ in range(repeat):
        ours.append(timed(hook, root))
        theirs.append(timed(ruff, root) + timed(mypy, root))
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stomper-bench-hook-") as temp:
        root = Path(temp) / "project"
        files = make_project(root, args.files)
        ours, theirs = measure(root, files, args.repeat)
    hook, linters = statistics.median(ours), statistics.median(theirs)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"clean files: {args.files}, runs: {args.repeat} each (medians), load {load}")
    print(f"  stomper hook              {hook * 1000:8.0f} ms")
    print(f"  ruff + mypy directly      {linters * 1000:8.0f} ms")
    print(f"  difference                {(hook - linters) * 1000:+8.0f} ms   (target: <= +150 ms)")
    print(f"  ratio                     {hook / linters:8.2f} x   (target: <= 1.20 x)")


if __name__ == "__main__":
    main()
