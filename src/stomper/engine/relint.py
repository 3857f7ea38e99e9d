"""Running the enabled linters and the validators on a file inside a sandbox."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from stomper.types import Diagnostic, Linter, ValidationContext, Validator, Verdict


async def lint_in_sandbox(linters: Sequence[Linter], root: Path, path: str) -> list[Diagnostic]:
    """Every enabled linter on ``path`` under ``root``, concurrently, each in its own thread."""

    async def one(linter: Linter) -> list[Diagnostic]:
        try:
            found = await asyncio.to_thread(linter.lint, root, [path])
        except Exception as error:
            raise RuntimeError(
                f"linter {linter.name!r} failed in the sandbox: {type(error).__name__}: {error}"
            ) from error
        return [diagnostic for diagnostic in found if diagnostic.path == path]

    batches = await asyncio.gather(*(one(linter) for linter in linters))
    return [diagnostic for batch in batches for diagnostic in batch]


def unreproduced(
    targeted: Sequence[Diagnostic], in_sandbox: Sequence[Diagnostic]
) -> list[Diagnostic]:
    """The targeted diagnostics the sandbox shows fewer of (compared by identity).

    A sandbox holds the snapshot only: ignored files (a local config, generated code) are not
    there. When the linters see the file differently there, no fix judged there can be
    trusted, so the file is skipped before any agent is called.
    """
    missing = Counter(d.identity for d in targeted) - Counter(d.identity for d in in_sandbox)
    return [diagnostic for diagnostic in targeted if diagnostic.identity in missing]


def run_validators(validators: Sequence[Validator], context: ValidationContext) -> list[Verdict]:
    """Every validator's verdict on ``context``, in order; one that raises is a RuntimeError."""
    verdicts = []
    for validator in validators:
        try:
            verdict = validator.validate(context)
        except Exception as error:
            raise RuntimeError(
                f"validator {validator.name!r} raised {type(error).__name__}: {error}"
            ) from error
        verdicts.append(
            verdict if verdict.validator else verdict._replace(validator=validator.name)
        )
    return verdicts
