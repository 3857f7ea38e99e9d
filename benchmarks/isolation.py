"""Issue 7, target 1: what one file's sandbox costs, at 2,000 and 20,000 files.

Run:  .venv/bin/python benchmarks/isolation.py  [--sizes 2000 20000] [--files 30] [--repeat 3]

For each size it generates a repository of that many ~1 kB modules (100 to a package), then
times, per file, what the engine does around an agent: take a sandbox from the pool, edit the
target file (the "agent"), find what changed (as extract_diff does) and give the sandbox back
(reset to the snapshot for the next file). The pool's one-off set-up (the first checkout) is
printed apart. It checks that a sandbox holds every file of the project (agents can read it
all) and, as the reference, times a full ``git worktree add`` + ``remove`` of the same
repository (``--repeat`` times; seconds each at 20,000 files).

Targets: median <= 50 ms at the largest size, and at most 1.5x the smallest size's median.
Prints the load average next to the figures. Nothing is left behind.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from sandbox_cost import make_repo, pool_costs, worktree_cost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--files", type=int, default=30, help="files through the pool")
    parser.add_argument("--repeat", type=int, default=3, help="full worktrees (reference)")
    options = parser.parse_args()
    medians: dict[int, float] = {}
    print(f"{'files':>7} {'set-up ms':>10} {'median ms':>10} {'p90 ms':>8} {'worktree ms':>12}")
    for size in options.sizes:
        with tempfile.TemporaryDirectory(prefix="stomper-bench-iso-") as temp:
            root, work = Path(temp) / "repo", Path(temp) / "work"
            work.mkdir()
            paths = make_repo(root, size)
            setup, costs = pool_costs(root, paths, options.files)
            reference = statistics.median(worktree_cost(root, work, paths, options.repeat))
        medians[size] = statistics.median(costs)
        p90 = sorted(costs)[round(0.9 * (len(costs) - 1))]
        print(f"{size:>7} {setup:>10.0f} {medians[size]:>10.1f} {p90:>8.1f} {reference:>12.0f}")
        print(f"        full worktree / stomper sandbox: {reference / medians[size]:.0f}x")
    largest, smallest = max(medians), min(medians)
    growth = medians[largest] / medians[smallest]
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"median at {largest} files: {medians[largest]:.1f} ms   (target: <= 50 ms)")
    print(f"growth {smallest} -> {largest} files: {growth:.2f}x   (target: <= 1.50x)")
    print(f"load average: {load}")


if __name__ == "__main__":
    main()
