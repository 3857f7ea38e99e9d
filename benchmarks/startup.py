"""Issue 7, target 7: start-up. What ``stomper --version`` and ``stomper check`` import and cost.

Run:  .venv/bin/python benchmarks/startup.py  [--repeat 15] [--top 12]

In a generated repository with one clean file it times (medians, byte code cached as an
installed package has it) ``python -c pass`` (the interpreter alone, the reference),
``stomper --version`` and ``stomper check clean.py`` with ruff as the only linter, and prints
the ratio to the bare interpreter. It then lists which heavy modules each command imported
(target: none of langgraph, langchain_core, rich, git (GitPython), pydantic, asyncio,
importlib.metadata, ssl, http, email, stomper_plugins' AI agents) and the ``-X importtime``
entries that cost most, so what remains is visible. Prints the load average.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
HEAVY = (
    "langgraph", "langchain_core", "rich", "git", "pydantic", "asyncio", "importlib.metadata",
    "ssl", "http", "email", "stomper_plugins.claude", "stomper_plugins.openai", "stomper.engine",
)  # fmt: skip
LIST_MODULES = (
    "import runpy, sys; sys.argv = ['stomper', *sys.argv[1:]]\n"
    "try:\n    runpy.run_module('stomper', run_name='__main__')\n"
    "except SystemExit:\n    pass\n"
    "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)"
)


def environment(cache: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return env | {"PYTHONPYCACHEPREFIX": str(cache), "STOMPER_DISABLE_PLUGIN_AUTOLOAD": ""}


def median_ms(argv: list[str], cwd: Path, env: dict[str, str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def heavy_imports(args: list[str], cwd: Path, env: dict[str, str]) -> list[str]:
    argv = [sys.executable, "-c", LIST_MODULES, *args]
    modules = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, check=False
    ).stderr
    loaded = set(modules.split())
    return sorted(name for name in HEAVY if name in loaded)


def top_imports(args: list[str], cwd: Path, env: dict[str, str], top: int) -> list[str]:
    argv = [sys.executable, "-X", "importtime", "-c", LIST_MODULES, *args]
    report = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, check=False
    ).stderr
    rows = []
    for line in report.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if match and not match[3]:  # top-level imports only: their totals add up
            rows.append((int(match[2]), match[4]))
    return [f"{total / 1000:7.1f} ms  {name}" for total, name in sorted(rows, reverse=True)[:top]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--top", type=int, default=12)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stomper-bench-startup-") as temp:
        root = Path(temp) / "project"
        root.mkdir()
        (root / "pyproject.toml").write_text("[tool.stomper]\nlinters = ['ruff']\n")
        (root / "clean.py").write_text('"""Clean."""\n')
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        env = environment(Path(temp) / "pycache")
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "stomper --version": [str(BIN / "stomper"), "--version"],
            "stomper check clean.py": [str(BIN / "stomper"), "check", "clean.py"],
        }
        for argv in commands.values():  # compile byte code once, as at installation
            subprocess.run(argv, cwd=root, env=env, capture_output=True, check=True)
        base = None
        for label, argv in commands.items():
            cost = median_ms(argv, root, env, options.repeat)
            base = base or cost
            print(f"{label:<24} {cost:7.1f} ms   {cost / base:5.2f}x the bare interpreter")
        for label, args in (("--version", ["--version"]), ("check", ["check", "clean.py"])):
            found = heavy_imports(args, root, env)
            print(f"heavy modules imported by stomper {label}: {', '.join(found) or 'none'}")
        print("largest top-level imports of `stomper check clean.py` (-X importtime):")
        print("\n".join(top_imports(["check", "clean.py"], root, env, options.top)))
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load average: {load}")


if __name__ == "__main__":
    main()
