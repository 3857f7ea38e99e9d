"""Peak memory of stomper's own process on a 200-file run (linters excluded).

Run:  .venv/bin/python benchmarks/memory.py  [--files 200] [--jobs 4] [--per-file]

It generates a git repository of files with ruff-fixable problems in a temporary directory
and runs `stomper fix --no-commit` in a child Python that reports, when the run is over, the
peak resident set size of its own process (`getrusage(RUSAGE_SELF)`, which leaves out the
ruff and mypy processes it started). Target (issue 7): at most 300 MB. Nothing is left behind.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

PROBLEM = '''import os
import sys
from typing import List, Optional


def value_{index}(items: Optional[List[int]] = None) -> int:
    """Sum the items."""
    return sum(items or []) + len(sys.argv) + {index}
'''
CHILD = """
import json, resource, sys
from stomper.cli import main
if "--agent" in sys.argv:
    # An idle AI agent after ruff's fixes: the chain is no longer batch fixers only, so
    # every file goes the per-file way (a sandbox each, through the graph).
    import stomper.commands._common as common
    from stomper import FixOutcome, hookimpl
    from stomper.testing import plugins_with

    class Idle:
        name, kind = "idle", "ai"
        def available(self):
            return None
        async def fix(self, request):
            return FixOutcome(self.name, False, "idle")

    class Plugin:
        @hookimpl
        def stomper_register_agents(self, register, config):
            register(Idle())

    common.make_plugins = lambda *args, **kwargs: plugins_with(("bench", Plugin()))
code = main(sys.argv[1:])
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"code": code, "own_kib": own}), file=sys.stderr)
"""


def make_project(root: Path, count: int) -> None:
    """A committed repository of ``count`` modules, each with F401, I001 and UP fixes."""
    package = root / "pkg"
    package.mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[tool.ruff]\ntarget-version = "py311"\n\n[tool.ruff.lint]\n'
        'select = ["F", "I", "UP"]\n\n[tool.stomper]\nlinters = ["ruff"]\n'
    )
    (package / "__init__.py").write_text("")
    for index in range(count):
        (package / f"mod_{index}.py").write_text(PROBLEM.format(index=index))
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.com"}
    env |= {"GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.com"}
    for argv in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "x"]):
        subprocess.run(argv, cwd=root, env=env, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument(
        "--per-file", action="store_true", help="add an idle AI agent: one sandbox per file"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stomper-bench-memory-") as temp:
        root = Path(temp) / "project"
        make_project(root, args.files)
        argv = ["fix", "--no-commit", "--quiet", "--no-cache", "-j", str(args.jobs)]
        argv += ["--agent", "idle"] if args.per_file else []
        completed = subprocess.run(
            [sys.executable, "-c", CHILD, *argv],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
    report = json.loads(completed.stderr.strip().splitlines()[-1])
    own_mb = report["own_kib"] / 1024
    verdict = "met" if own_mb <= 300 else "NOT met"
    path = "per-file path (graph)" if args.per_file else "batched path (ruff-fix only)"
    print(f"{args.files} files, -j {args.jobs}, {path}, stomper exit code {report['code']}")
    print(f"  stomper's own peak RSS     {own_mb:8.1f} MB   (target <= 300 MB: {verdict})")
    print(f"  load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
