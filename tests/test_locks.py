"""Locks shared by threads and processes, that leave no file behind."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from stomper.locks import LockTimeoutError, async_file_lock, file_lock

HOLD = """
import sys, time
from pathlib import Path
from stomper.locks import file_lock
with file_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold_in_child(lock: Path, seconds: float) -> subprocess.Popen[bytes]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock), str(seconds)], stdout=subprocess.PIPE
    )
    assert child.stdout is not None
    assert child.stdout.readline() == b"held\n"
    return child


def test_threads_take_turns_and_the_file_goes_away(tmp_path: Path) -> None:
    lock = tmp_path / "sub" / "x.lock"
    inside: list[int] = []
    overlaps: list[int] = []

    def work(number: int) -> None:
        for _ in range(20):
            with file_lock(lock):
                inside.append(number)
                if len(inside) > 1:
                    overlaps.append(number)
                time.sleep(0.0005)
                inside.remove(number)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []
    assert not lock.exists()


def test_processes_exclude_each_other_and_the_timeout_names_the_holder(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    child = hold_in_child(lock, 30)
    try:
        with (
            pytest.raises(LockTimeoutError, match=rf"apply lock \(held by process {child.pid}\)"),
            file_lock(lock, timeout=0.2, what="apply lock"),
        ):
            pass
    finally:
        child.kill()
        child.wait()


def test_a_killed_holder_frees_the_lock(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    child = hold_in_child(lock, 30)
    child.send_signal(signal.SIGKILL)
    child.wait()
    with file_lock(lock, timeout=5):
        pass
    assert not lock.exists()


def test_a_waiter_gets_the_lock_when_the_holder_exits(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    child = hold_in_child(lock, 0.3)
    started = time.monotonic()
    with file_lock(lock, timeout=10):
        assert child.poll() is not None or time.monotonic() - started > 0.2
    child.wait()
    assert not lock.exists()


def test_async_waiting_does_not_block_the_loop(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"

    async def main() -> int:
        ticks = 0
        holder_ready = asyncio.Event()

        async def holder() -> None:
            async with async_file_lock(lock):
                holder_ready.set()
                await asyncio.sleep(0.3)

        async def ticker() -> None:
            nonlocal ticks
            for _ in range(10):
                await asyncio.sleep(0.02)
                ticks += 1

        async def waiter() -> None:
            await holder_ready.wait()
            async with async_file_lock(lock):
                pass

        await asyncio.gather(holder(), waiter(), ticker())
        return ticks

    assert asyncio.run(main()) == 10
    assert not lock.exists()


def test_a_cancelled_async_waiter_does_not_keep_the_lock(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"

    async def main() -> None:
        with file_lock(lock):
            waiting = asyncio.ensure_future(_take(lock))
            await asyncio.sleep(0.05)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        # the waiter's thread wins the lock after the cancel, then gives it back
        await asyncio.sleep(0.2)
        async with async_file_lock(lock, timeout=2):
            pass

    asyncio.run(main())
    assert not lock.exists()


async def _take(lock: Path) -> None:
    async with async_file_lock(lock):
        await asyncio.sleep(10)
