"""Issue 7, target 3: re-checking one edited file with mypy in a sandbox, next to a cold run.

Run:  .venv/bin/python benchmarks/mypy_recheck.py  [--modules 1000] [--repeat 5]

It generates a git repository of ``--modules`` modules (100 to a package, each importing and
calling up to three earlier ones, so a module near the top pulls in most of the project),
then times a cold ``mypy`` of the whole project (no cache; the reference, once), warms the
main tree's cache with a second whole-project run, and times stomper's own way of
re-checking one edited file in a sandbox: a pool of ``Sandboxes`` seeded with
``.mypy_cache`` as the engine seeds it, the file edited there, and the mypy linter's
``lint(sandbox.root, [path])``. Each repetition takes a fresh pool (the first check in a new
sandbox is the one that matters) and edits a different module; it also checks that an
introduced type error is reported. Target: the median re-check <= 5 % of the cold run.

Byte-code caching is on for the mypy subprocesses (as in benchmarks/hook_fast_path.py).
Prints the load average next to the figures. Nothing is left behind.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from stomper.config import load_config
from stomper.sandbox import Sandboxes, release_snapshot, take_snapshot
from stomper_plugins.mypy import MypyLinter

BIN = Path(sys.executable).parent
PER_PACKAGE = 100
TARGET = 0.05


def module_source(index: int) -> str:
    """Module ``index``: ~200 lines of classes and functions typed against earlier modules.

    Real modules run to a few hundred lines (sympy's 1,548 average ~400); mypy's cost of a
    cold run grows with the lines, a warm re-check's mostly with the number of modules.
    """
    deps = sorted({index - 1, index // 2, index * 7 // 10} - {index}) if index else []
    imports = "".join(f"from {module_name(dep)} import Item{dep}_0, make_{dep}\n" for dep in deps)
    calls = " + ".join(f"make_{dep}(count).total()" for dep in deps) or "0"
    units = "".join(UNIT.format(index=index, unit=unit) for unit in range(UNITS))
    return MODULE.format(index=index, imports=imports, calls=calls, units=units)


UNITS = 6
MODULE = '''"""Module {index}."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

{imports}
{units}

def make_{index}(count: int) -> Item{index}_0:
    """An item built from the items this module depends on."""
    return Item{index}_0(count + {calls}, "item {index}")
'''
UNIT = '''

class Point{index}_{unit}(NamedTuple):
    """A point of unit {unit}."""

    x: float
    y: float

    def scaled(self, factor: float) -> Point{index}_{unit}:
        """The point scaled by ``factor``."""
        return Point{index}_{unit}(self.x * factor, self.y * factor)


class Item{index}_{unit}:
    """A value of unit {unit}."""

    def __init__(self, count: int, label: str, tags: Iterable[str] = ()) -> None:
        self.count = count
        self.label = label
        self.tags = sorted(set(tags))
        self.points: list[Point{index}_{unit}] = []

    def total(self) -> int:
        """The count plus the label's length."""
        return self.count + len(self.label) + len(self.tags)

    def add(self, x: float, y: float) -> Point{index}_{unit}:
        """Record a point."""
        point = Point{index}_{unit}(x, y)
        self.points.append(point)
        return point

    def spread(self) -> tuple[float, float]:
        """The width and height the points cover."""
        if not self.points:
            return 0.0, 0.0
        xs = [point.x for point in self.points]
        ys = [point.y for point in self.points]
        return max(xs) - min(xs), max(ys) - min(ys)


def labels_{index}_{unit}(items: Iterable[Item{index}_{unit}]) -> dict[str, int]:
    """Each item's label with its total."""
    return {{item.label: item.total() for item in items}}


def merge_{index}_{unit}(first: Mapping[str, int], second: Mapping[str, int]) -> dict[str, int]:
    """The sum of two counts per label."""
    merged = dict(first)
    for label, count in second.items():
        merged[label] = merged.get(label, 0) + count
    return merged
'''


def module_name(index: int) -> str:
    return f"proj.p{index // PER_PACKAGE}.m{index}"


def module_path(index: int) -> str:
    return module_name(index).replace(".", "/") + ".py"


def make_project(root: Path, modules: int) -> None:
    """A git repository of ``modules`` modules with a strict mypy configuration."""
    root.mkdir()
    (root / "pyproject.toml").write_text("[tool.mypy]\nstrict = true\n")
    (root / ".gitignore").write_text(".mypy_cache/\n")
    for package in range((modules + PER_PACKAGE - 1) // PER_PACKAGE):
        directory = root / "proj" / f"p{package}"
        directory.mkdir(parents=True)
        (directory / "__init__.py").write_text("")
    (root / "proj" / "__init__.py").write_text("")
    for index in range(modules):
        (root / module_path(index)).write_text(module_source(index))
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "project"], cwd=root, check=True)


def whole_project(root: Path) -> float:
    """Seconds for ``mypy proj`` in ``root``; it must find no error."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(root.parent / "pycache")
    started = time.perf_counter()
    argv = [str(BIN / "mypy"), "proj"]
    done = subprocess.run(argv, cwd=root, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"mypy exited {done.returncode}: {done.stdout[-400:]!r}")
    return elapsed


async def recheck(root: Path, indexes: tuple[int, int]) -> tuple[float, float]:
    """Seconds to re-check an edited module in a new seeded sandbox, then in the reused one."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(root.parent / "pycache")
    linter = MypyLinter(load_config(root))
    snapshot = take_snapshot(root, f"bench-mypy-{indexes[0]}")
    try:
        async with Sandboxes(snapshot, size=1, seed=[".mypy_cache"]) as sandboxes:
            first = await edit_and_check(sandboxes, linter, indexes[0])
            again = await edit_and_check(sandboxes, linter, indexes[1])
    finally:
        release_snapshot(snapshot)
    return first, again


async def edit_and_check(sandboxes: Sandboxes, linter: MypyLinter, index: int) -> float:
    """Seconds for the clean check of an edit of module ``index``; asserts an error is caught."""
    path = module_path(index)
    async with sandboxes.open(path) as sandbox:
        target = sandbox.root / path
        edited = target.read_text() + f"\n\ndef extra_{index}() -> int:\n    return 1\n"
        target.write_text(edited)
        started = time.perf_counter()
        found = await asyncio.to_thread(linter.lint, sandbox.root, [path])
        elapsed = time.perf_counter() - started
        assert found == [], f"clean edit reported {found}"
        target.write_text(edited + f"\n\nbroken: int = make_{index}(1)\n")
        found = await asyncio.to_thread(linter.lint, sandbox.root, [path])
        assert [diagnostic.code for diagnostic in found] == ["assignment"], found
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stomper-bench-mypy-") as temp:
        root = Path(temp) / "project"
        started = time.perf_counter()
        make_project(root, args.modules)
        generated = time.perf_counter() - started
        cold = whole_project(root)
        warm = whole_project(root)
        top = args.modules - 1  # imports most of the project
        picks = [
            (top - number * 97 % 400, top - number * 89 % 300 - 1) for number in range(args.repeat)
        ]
        checks = [asyncio.run(recheck(root, pair)) for pair in picks]
    news, reused = [new for new, _ in checks], [again for _, again in checks]
    median = statistics.median(news)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"modules: {args.modules} (generated in {generated:.1f} s), load {load}")
    print(f"  cold mypy, whole project      {cold:8.2f} s")
    print(f"  warm mypy, whole project      {warm:8.2f} s")
    runs = ", ".join(f"{value:.2f}" for value in news)
    print(f"  re-check, new sandbox         {median:8.2f} s   ({runs})")
    runs = ", ".join(f"{value:.2f}" for value in reused)
    print(f"  re-check, reused sandbox      {statistics.median(reused):8.2f} s   ({runs})")
    print(f"  ratio                         {median / cold:8.1%}   (target: <= {TARGET:.0%})")


if __name__ == "__main__":
    main()
