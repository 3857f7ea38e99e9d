"""What surrounds every ``stomper fix`` run: run lock, recovery, journal, Ctrl-C handling.

:func:`run_guard` is entered first and left last by :func:`stomper.engine.run_fix`, so it
covers the snapshot, every sandbox and every write-back:

1. the run lock (:mod:`stomper.runlock`) when the run may write (not for a dry run);
2. :func:`stomper.recovery.recover`: what dead runs left half done is settled first;
3. a fresh journal (:mod:`stomper.journal`), closed (removed) at the end, after any write or
   commit still running in a thread is over;
4. SIGINT handling (:mod:`stomper.interrupts`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from stomper.git import common_dir
from stomper.interrupts import handle_interrupts
from stomper.journal import Journal
from stomper.recovery import recover
from stomper.runlock import hold_run_lock, lock_wait

__all__ = ["run_guard"]

# A write-back or commit left running in a thread by a Ctrl-C takes milliseconds; this is
# only a bound for a hung file system.
_IDLE_WAIT_SECONDS = 60.0
log = logging.getLogger(__name__)


@asynccontextmanager
async def run_guard(root: Path, *, writes: bool) -> AsyncIterator[Journal]:
    """Hold the repository for one run (see the module docstring); yields its journal."""
    common = await asyncio.to_thread(common_dir, root)
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(_remove_empty_dirs, common)  # last: after the run lock is gone
        if writes:
            await stack.enter_async_context(hold_run_lock(common, lock_wait()))
        for line in await asyncio.to_thread(recover, root):
            log.info("recovered: %s", line)
        journal = await asyncio.to_thread(Journal.open, common)
        stack.push_async_callback(_close, journal)
        with handle_interrupts(journal):
            yield journal


async def _close(journal: Journal) -> None:
    if not await asyncio.to_thread(journal.wait_idle, _IDLE_WAIT_SECONDS):
        log.warning("a write-back was still running when the run ended")
    journal.close()


def _remove_empty_dirs(common: Path) -> None:
    for directory in (common / "stomper" / "journal", common / "stomper"):
        with contextlib.suppress(OSError):
            directory.rmdir()
