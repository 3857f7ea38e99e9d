"""Sharding the files across jobs, and patch bundles: validated fixes carried between machines.

``--shard I/N`` keeps the files whose path hashes (sha256, so every machine and Python agrees)
to ``I - 1`` modulo ``N``: the shards are disjoint, cover every file, and do not depend on
the order or number of the other files.

A bundle (``--patch-out FILE``) is a JSON document holding, per fixed file, the sha256 of the
bytes the fix was made from and the validated bytes (base64: exact bytes, whatever the
encoding or line endings). :func:`apply_bundles` writes each fix back with the same
compare-and-swap as ``stomper fix`` (only while the file still holds the bytes the fix was
made from, atomically) and commits it the same way, one file per commit.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

from stomper import __version__
from stomper.errors import UsageError
from stomper.types import FileResult

BUNDLE_FORMAT = "stomper-bundle"
BUNDLE_VERSION = 1
ApplyStatus = Literal["applied", "already-applied", "conflict", "refused"]


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` as ``(I, N)``, 1 <= I <= N; a :class:`UsageError` otherwise."""
    index, _, count = text.partition("/")
    try:
        shard = (int(index), int(count))
    except ValueError:
        shard = (0, 0)
    if not 1 <= shard[0] <= shard[1]:
        raise UsageError(f"--shard {text}: expected I/N with 1 <= I <= N, e.g. 1/4")
    return shard


def shard_of(path: str, count: int) -> int:
    """The 1-based shard of ``path`` among ``count`` (stable across machines and runs)."""
    return int(hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest(), 16) % count + 1


def select_shard(files: Sequence[str], index: int, count: int) -> list[str]:
    """The files of shard ``index`` of ``count``, in their order."""
    return [path for path in files if shard_of(path, count) == index]


class Fix(NamedTuple):
    """One validated fix: ``path`` from bytes hashing to ``base_sha256`` to ``content``."""

    path: str
    base_sha256: str
    content: bytes
    codes: tuple[str, ...]


class BundleCollector:
    """Keeps the validated bytes the engine reports (``RunEvents.on_validated``) by path."""

    def __init__(self) -> None:
        self.validated: dict[str, tuple[bytes, bytes]] = {}

    def __call__(self, path: str, original: bytes, fixed: bytes) -> None:
        """Remember the last validated fix of ``path``."""
        self.validated[path] = (original, fixed)

    def fixes(self, results: Sequence[FileResult]) -> list[Fix]:
        """One :class:`Fix` per result that was fixed or partially fixed, in path order."""
        found = []
        for result in sorted(results, key=lambda item: item.path):
            pair = self.validated.get(result.path)
            if result.status in ("fixed", "partially-fixed") and pair is not None:
                codes = tuple(sorted({diagnostic.code for diagnostic in result.fixed}))
                digest = hashlib.sha256(pair[0]).hexdigest()
                found.append(Fix(result.path, digest, pair[1], codes))
        return found


def bundle_json(fixes: Sequence[Fix], shard: str | None) -> str:
    """The bundle document for ``fixes``."""
    document = {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "tool": {"name": "stomper", "version": __version__},
        "shard": shard,
        "fixes": [
            {
                "path": fix.path,
                "base_sha256": fix.base_sha256,
                "content_base64": base64.b64encode(fix.content).decode(),
                "codes": list(fix.codes),
            }
            for fix in fixes
        ],
    }
    return json.dumps(document, indent=2) + "\n"


def read_bundle(location: Path) -> list[Fix]:
    """The fixes of the bundle at ``location``; a :class:`UsageError` naming what is wrong."""
    try:
        document = json.loads(location.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise UsageError(f"{location}: not a readable stomper bundle: {error}") from error
    if not isinstance(document, dict) or document.get("format") != BUNDLE_FORMAT:
        raise UsageError(f"{location}: not a stomper bundle (no format {BUNDLE_FORMAT!r})")
    if document.get("version") != BUNDLE_VERSION:
        raise UsageError(f"{location}: bundle version {document.get('version')!r} unsupported")
    try:
        return [_fix(item) for item in document["fixes"]]
    except (KeyError, TypeError, ValueError) as error:
        raise UsageError(f"{location}: malformed fix entry: {error!r}") from error


def _fix(item: dict[str, Any]) -> Fix:
    path, digest, codes = item["path"], item["base_sha256"], item.get("codes", [])
    if not isinstance(path, str) or not isinstance(digest, str) or len(digest) != 64:
        raise ValueError(f"bad path or base_sha256 in {item!r}")
    content = base64.b64decode(item["content_base64"], validate=True)
    return Fix(path, digest, content, tuple(str(code) for code in codes))


class Applied(NamedTuple):
    """What became of one fix of a bundle."""

    path: str
    status: ApplyStatus
    commit: str | None = None
    reason: str = ""


def apply_bundles(
    root: Path, fixes: Sequence[Fix], *, commit: bool, commit_style: str
) -> Generator[Applied, None, None]:
    """Write back (and commit) each fix under the same rules as ``stomper fix``.

    One snapshot of the work tree is taken first; a fix applies only while its file's bytes
    there hash to the fix's ``base_sha256``, and the write-back itself compares against the
    snapshot again under the lock. The same path fixed twice to the same bytes applies once.
    """
    from stomper.snapshot import release_snapshot, snapshot_bytes, take_snapshot

    snapshot = take_snapshot(root, f"apply-{uuid.uuid4().hex[:12]}")
    applied: dict[str, bytes] = {}
    try:
        for fix in fixes:
            if fix.path in applied:
                yield _repeated(fix, applied[fix.path])
                continue
            try:
                base = snapshot_bytes(snapshot, fix.path)
            except FileNotFoundError:
                yield Applied(fix.path, "refused", reason="not a file in the work tree")
                continue
            outcome = _apply_one(snapshot, fix, base, commit=commit, commit_style=commit_style)
            if outcome.status == "applied":
                applied[fix.path] = fix.content
            yield outcome
    finally:
        release_snapshot(snapshot)


def _repeated(fix: Fix, earlier: bytes) -> Applied:
    """A second fix of a path an earlier bundle already fixed."""
    if earlier == fix.content:
        return Applied(fix.path, "already-applied")
    return Applied(fix.path, "conflict", reason="fixed differently by an earlier bundle")


def _apply_one(snapshot: Any, fix: Fix, base: bytes, *, commit: bool, commit_style: str) -> Applied:
    from stomper.apply import commit_file, write_back

    if base == fix.content:
        return Applied(fix.path, "already-applied")
    if hashlib.sha256(base).hexdigest() != fix.base_sha256:
        return Applied(fix.path, "conflict", reason="the file changed since the fix was made")
    written = write_back(snapshot, fix.path, fix.content)
    if not written.written:
        status: ApplyStatus = "refused" if written.reason.startswith("refused") else "conflict"
        return Applied(fix.path, status, reason=written.reason)
    if not commit:
        return Applied(fix.path, "applied")
    message = commit_style.format(codes=", ".join(fix.codes), path=fix.path)
    committed = commit_file(snapshot, fix.path, fix.content, message)
    return Applied(fix.path, "applied", committed.commit, committed.reason)
