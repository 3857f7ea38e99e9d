"""stomper.loop.run_to_end: asyncio.run without formatting the result on the way out."""

from __future__ import annotations

import asyncio

import pytest

from stomper.loop import run_to_end


class Loud:
    """A result that counts how often it is formatted."""

    formatted = 0

    def __repr__(self) -> str:
        Loud.formatted += 1
        return "Loud()"


def test_the_result_comes_back_and_is_never_formatted() -> None:
    Loud.formatted = 0

    async def main() -> Loud:
        await asyncio.sleep(0)
        return Loud()

    result = run_to_end(main())

    assert isinstance(result, Loud)
    assert Loud.formatted == 0


def test_an_exception_propagates() -> None:
    async def main() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        run_to_end(main())
