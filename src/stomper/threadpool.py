"""Room in the event loop's thread pool for every file's blocking work.

asyncio's default executor has ``min(32, cpus + 4)`` threads: 6 on 2 cores. The engine runs
linters, validators, write-backs and git reads in threads (``asyncio.to_thread``); with 16
files at once, one file's linter holding a thread for 100 ms makes another file's 1 ms read
wait behind it, and ``--jobs`` stops meaning what it says. The threads mostly wait on child
processes, so many of them cost little.
"""

from __future__ import annotations

import asyncio
import weakref
from concurrent.futures import ThreadPoolExecutor

__all__ = ["widen_default_executor"]

# Threads per file fixed at once: its linters (one each, concurrently), a validator, a read.
THREADS_PER_FILE = 4
_widened: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, int] = weakref.WeakKeyDictionary()


def widen_default_executor(jobs: int) -> None:
    """Give the running loop a default executor with threads for ``jobs`` files at once."""
    loop = asyncio.get_running_loop()
    workers = max(32, THREADS_PER_FILE * jobs)
    if _widened.get(loop, 0) >= workers:
        return
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stomper")
    loop.set_default_executor(executor)  # asyncio.run shuts it down with the loop
    _widened[loop] = workers
