"""24 sandboxes created at once, ten rounds: no creation may fail, each must be pristine."""

from __future__ import annotations

import asyncio
from pathlib import Path

from safety_support import leftovers, record

from stomper.sandbox import Sandboxes, changed_paths, release_snapshot, take_snapshot
from stomper.testing import GitRepo

ROUNDS, AT_ONCE = 10, 24


async def one_round(sandboxes: Sandboxes) -> list[str]:
    """Create ``AT_ONCE`` sandboxes concurrently; the failures, as messages."""
    made = await asyncio.gather(
        *(sandboxes.acquire(f"file{n}") for n in range(AT_ONCE)), return_exceptions=True
    )
    failures = [f"{type(box).__name__}: {box}" for box in made if isinstance(box, BaseException)]
    for box in made:
        if isinstance(box, BaseException):
            continue
        if (box.root / "pkg" / "m7.py").read_bytes() != b"value = 7\n" or await changed_paths(box):
            failures.append(f"sandbox {box.id} is not pristine")
    return failures


def test_24_sandboxes_at_once_ten_rounds(tmp_path: Path, private_tmpdir: Path) -> None:
    repo = GitRepo.create(tmp_path / "repo")
    for number in range(40):
        repo.write(f"pkg/m{number}.py", f"value = {number}\n")
    repo.commit("many")
    snapshot = take_snapshot(repo.path, "parallel")

    async def rounds() -> list[str]:
        failures = []
        for _ in range(ROUNDS):
            async with Sandboxes(snapshot, size=AT_ONCE) as sandboxes:  # a fresh pool: all new
                failures += await one_round(sandboxes)
        return failures

    try:
        failures = asyncio.run(rounds())
    finally:
        release_snapshot(snapshot)
    for index in range(ROUNDS * AT_ONCE):
        record("sandbox", index >= len(failures), f"creation {index}")
    assert failures == []
    assert leftovers(repo, private_tmpdir) == []
