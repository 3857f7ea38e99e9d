"""Run the safety suite (and the pre-commit hook tests) and print the figures of SAFETY.md.

    .venv/bin/python benchmarks/safety_figures.py

Each safety test appends one JSON line per case to the file named by STOMPER_SAFETY_FIGURES
(tests/safety/safety_support.py: record); this script adds them up. Leftovers after the suite:
processes carrying the fake agents' marker, and stomper-* entries that appeared in the
temporary directory while the suite ran. Exit 0 when every figure is 100 % / 0.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "safety"))

from safety_support import marker_processes  # noqa: E402 - needs the path above


def pytest(target: str, env: dict[str, str]) -> tuple[int, int, str]:
    """Run pytest on ``target``: (passed, tried, summary line)."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (passed|failed|error)", summary)}
    passed = counts.get("passed", 0)
    return passed, passed + counts.get("failed", 0) + counts.get("error", 0), summary


def stomper_temp_entries() -> set[str]:
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith("stomper-")}


def main() -> int:
    with tempfile.TemporaryDirectory() as scratch:
        figures = Path(scratch) / "figures.jsonl"
        env = os.environ | {"STOMPER_SAFETY_FIGURES": str(figures)}
        temp_before = stomper_temp_entries()
        _, _, summary = pytest("tests/safety", env)
        records = (
            [json.loads(line) for line in figures.read_text().splitlines()]
            if figures.exists()
            else []
        )
        leaked_entries = stomper_temp_entries() - temp_before
    ok, tried = Counter(), Counter()
    for item in records:
        tried[item["figure"]] += 1
        ok[item["figure"]] += bool(item["ok"])
    hook_dir = ROOT / "tests" / "hook"
    lines = [
        f"safety suite: {summary}",
        f"crash points survived / tried:              {ok['crash']} / {tried['crash']}",
        f"bad agent behaviours rejected / tried:      {ok['bad-agent']} / {tried['bad-agent']}",
        "parallel sandbox creations failed / tried:  "
        f"{tried['sandbox'] - ok['sandbox']} / {tried['sandbox']}",
    ]
    if hook_dir.is_dir():
        passed, hook_tried, _ = pytest("tests/hook", dict(os.environ))
        lines.append(f"pre-commit cases passed / tried:            {passed} / {hook_tried}")
        all_good = passed == hook_tried
    else:
        lines.append("pre-commit cases: not yet measured")
        all_good = False
    leaked = tried["canary"] - ok["canary"]
    lines.append(f"canaries leaked / planted:                  {leaked} / {tried['canary']}")
    left = len(marker_processes()) + len(leaked_entries)
    lines.append(f"leftovers after the suite (processes, temp dirs): {left}")
    print("\n".join(lines))
    all_good = (
        all_good
        and left == 0
        and all(ok[name] == tried[name] > 0 for name in ("crash", "bad-agent", "sandbox", "canary"))
    )
    return 0 if all_good else 1


if __name__ == "__main__":
    sys.exit(main())
