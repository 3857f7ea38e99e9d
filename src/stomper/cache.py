"""The result cache: what an AI agent made of one exact input, replayed instead of asked again.

Every AI agent call is keyed by everything that decides its outcome: the file's path and
bytes, the diagnostics it was asked to fix (positions included), the attempt number and the
feedback it got, the prompt (whose text carries :data:`stomper.prompts.PROMPT_VERSION` and
any custom template), the agent's name, package version and options (its ``model``), the
linters' versions, stomper's version and the configuration keys that judge a fix. The value
is the bytes the agent left in the target file (or that it deleted it).

A hit writes those bytes into the sandbox instead of calling the agent; the engine then
validates them exactly as it would the agent's own edit, so a replayed fix is proven again
(cheaply: no agent) and a replayed failure fails again the same way without an agent call.
Only the target file is replayed, never what else the agent touched. A call the agent itself
reports as failed (rate limit, timeout, network) is not stored: the next run asks again.

Entries live outside the work tree (default ``<git common dir>/stomper/cache``, or
``cache_dir``), one JSON file per key, written to a temporary file and renamed, so
concurrent runs never see half an entry. Files on the deny list never reach an AI agent, so
they never reach the cache either; :meth:`ResultCache.store` refuses them all the same.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from stomper.errors import ConfigError

CACHE_FORMAT = 1
# Keys of the configuration that change how a candidate is judged, hence what is kept.
JUDGING_KEYS = (
    "linters",
    "validators",
    "select",
    "ignore",
    "max_errors",
    "allow_suppressions",
    "unsafe_fixes",
    "test_validation",
    "agent_timeout",
)


class Entry(NamedTuple):
    """One cached agent outcome: the target's bytes afterwards (None: the agent deleted it)."""

    candidate: bytes | None
    cost_usd: float | None = None


class CacheStats:
    """How the cache served a run, for the summary and the reports."""

    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0
        self.stores = 0

    def as_dict(self) -> dict[str, int]:
        """The counts by name."""
        return {"hits": self.hits, "misses": self.misses, "stores": self.stores}


def cache_dir(root: Path, common_dir: Path, configured: str | None) -> Path:
    """Where the cache lives: ``configured`` (``~`` expanded, relative to ``root``), else
    ``<git common dir>/stomper/cache``. A directory inside the work tree is refused: ``git
    add -A`` would pick it up."""
    if configured is None:
        return common_dir / "stomper" / "cache"
    location = Path(configured).expanduser()
    location = (root / location if not location.is_absolute() else location).resolve()
    inside_tree = location.is_relative_to(root.resolve())
    if inside_tree and not location.is_relative_to(common_dir.resolve()):
        raise ConfigError(
            f"[tool.stomper] cache_dir: {location} is inside the work tree; choose a directory "
            "outside it (the default is inside the git directory)"
        )
    return location


class ResultCache:
    """Entries by key under ``directory`` (created on the first store, private to the user)."""

    def __init__(self, directory: Path, deny: Sequence[str] = ()) -> None:
        self.directory = directory
        self.deny = tuple(deny)
        self.stats = CacheStats()

    def _entry_path(self, key: str) -> Path:
        return self.directory / f"v{CACHE_FORMAT}" / key[:2] / f"{key}.json"

    def load(self, key: str) -> Entry | None:
        """The entry stored under ``key``; None when absent or unreadable (a miss)."""
        try:
            data = json.loads(self._entry_path(key).read_text(encoding="utf-8"))
            candidate = data["candidate"]
            content = None if candidate is None else base64.b64decode(candidate, validate=True)
            cost = data.get("cost_usd")
            entry = Entry(content, float(cost) if cost is not None else None)
        except (OSError, ValueError, KeyError, TypeError):
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        return entry

    def store(self, key: str, path: str, entry: Entry) -> bool:
        """Write ``entry`` for ``key`` atomically; refuse (False) a file on the deny list."""
        from stomper.secrets import is_denied  # its scanner's import costs 3-9 ms

        if is_denied(path, self.deny):  # as the snapshot reads the list
            return False
        content = None if entry.candidate is None else base64.b64encode(entry.candidate).decode()
        document = {"format": CACHE_FORMAT, "candidate": content, "cost_usd": entry.cost_usd}
        target = self._entry_path(key)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_atomically(target, json.dumps(document).encode())
        self.stats.stores += 1
        return True

    def clear(self) -> int:
        """Remove every entry; return how many there were."""
        count = sum(1 for _ in self.directory.rglob("*.json")) if self.directory.is_dir() else 0
        shutil.rmtree(self.directory, ignore_errors=True)
        return count


def _write_atomically(target: Path, data: bytes) -> None:
    fd, temp_name = tempfile.mkstemp(prefix=".entry.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


def fingerprint(document: Any) -> str:
    """A sha256 of ``document`` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, (tuple, set, frozenset)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    if isinstance(value, Mapping):
        return dict(value)
    return repr(value)


def judging_config(config: Any) -> dict[str, Any]:
    """The configuration keys of :data:`JUDGING_KEYS`, by name."""
    return {key: getattr(config, key) for key in JUDGING_KEYS}
