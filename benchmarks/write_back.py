"""The batched write-back alone: temporary files reused and swapped in, or made and renamed.

Run:  .venv/bin/python benchmarks/write_back.py  [--files 500] [--runs 6]

Generates a git repository of ``--files`` modules and writes a fix of every one back with
:func:`stomper.apply.write_back_many`, ``--runs`` times each way, alternately:

- reused: the temporary files the last write-back kept (``stomper.spares``), filled and
  swapped in with ``renameat2(RENAME_EXCHANGE)``; the replaced files are kept for the next run;
- made: new temporary files each run, renamed over the targets (the replaced files freed),
  as before the spares, and as where ``renameat2`` is missing.

Only :func:`write_back_many` is timed (the temporary files are made or claimed beforehand, as
the batched path does while the fixes are proven), after an ``os.sync()``: its ``syncfs``
flushes whatever else is waiting on the file system, here the snapshot's 500 new objects
(~0.9 s on this machine, either way). Prints the median of each and the file system the
repository is on.
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

from deterministic import make_project  # the same generated project

from stomper import spares
from stomper.apply import keep_temporaries, make_temporaries, write_back_many
from stomper.sandbox import release_snapshot, take_snapshot


def one_run(root: Path, paths: list[str], run: int, *, reuse: bool) -> float:
    """Write a new line onto every file; the write-back's seconds."""
    fixes = {}
    for path in paths:
        original = (root / path).read_bytes()
        fixes[path] = (original, original + f"# run {run}\n".encode())
    snapshot = take_snapshot(root, f"bench{run}")
    try:
        made = make_temporaries(snapshot, len(paths))
        os.sync()  # the snapshot's new objects: the write-back's syncfs would flush them too
        started = time.perf_counter()
        outcomes = write_back_many(snapshot, fixes, made)
        elapsed = time.perf_counter() - started
        if reuse:
            keep_temporaries(snapshot)
    finally:
        release_snapshot(snapshot)
    if not all(outcome.written for outcome in outcomes.values()):
        raise SystemExit(f"run {run}: not every fix was written")
    return elapsed


def file_system(path: Path) -> str:
    done = subprocess.run(["df", "-T", str(path)], capture_output=True, text=True, check=False)
    lines = done.stdout.splitlines()
    return lines[-1].split()[1] if len(lines) > 1 else "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--runs", type=int, default=6)
    options = parser.parse_args()
    if spares._exchange() is None:
        sys.exit("renameat2(RENAME_EXCHANGE) is not available here: nothing to compare")
    exchange = spares._exchange
    timings: dict[str, list[float]] = {"reused": [], "made": []}
    with tempfile.TemporaryDirectory(prefix="stomper-bench-wb-") as temp:
        root = Path(temp) / "project"
        paths = make_project(root, options.files)
        one_run(root, paths, 0, reuse=True)  # the first run makes the files it keeps
        kept, aside = spares.spare_dir(root / ".git"), root / ".git" / "spare-aside"
        for run in range(1, options.runs + 1):
            timings["reused"].append(one_run(root, paths, 2 * run, reuse=True))
            kept.rename(aside)  # the made way starts with no spare files
            spares._exchange = lambda: None
            try:
                timings["made"].append(one_run(root, paths, 2 * run + 1, reuse=False))
            finally:
                spares._exchange = exchange
                kept.parent.mkdir(exist_ok=True)  # the made run's end removed it, empty
                aside.rename(kept)
    print(f"{options.files} files written back, {options.runs} runs each way, alternately,")
    print(f"on {file_system(Path(tempfile.gettempdir()))} ({tempfile.gettempdir()})")
    for way, values in timings.items():
        listed = " ".join(f"{value * 1000:.0f}" for value in values)
        print(f"{way:>7}: median {statistics.median(values) * 1000:6.1f} ms  ({listed})")


if __name__ == "__main__":
    main()
