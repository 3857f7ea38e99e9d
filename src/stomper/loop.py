"""Running the engine's coroutines to the end from synchronous code."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run_to_end"]

T = TypeVar("T")


def run_to_end(main: Coroutine[Any, Any, T]) -> T:
    """:func:`asyncio.run`, with ``main``'s result handed back past the main task.

    As it ends, ``asyncio.run`` looks up its SIGINT handler, a partial holding the main task;
    ``signal.getsignal`` tries it as a ``Handlers`` enum value, and the failed lookup formats
    the partial's ``repr``: the task's, which includes its result. A run's 500 results took
    30 ms to format, twice. Here the main task's result is None.
    """
    box: list[T] = []

    async def boxed() -> None:
        box.append(await main)

    asyncio.run(boxed())
    return box[0]
