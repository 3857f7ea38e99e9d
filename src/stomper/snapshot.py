"""The snapshot a run works from: the user's work tree as one commit object.

A snapshot is one commit object holding every tracked and untracked-not-ignored file exactly as
its bytes are on disk (no eol conversion, no clean filter), built through a temporary copy of
the user's index so their index, HEAD and refs stay untouched. ``refs/stomper/<run>/snapshot``
keeps it safe from ``git gc`` until :func:`release_snapshot`, or until
:func:`~stomper.runs.clean_leftovers` finds the run that made it dead (see ``stomper.runs``).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from stomper import runs
from stomper.blobs import close_readers, read_blob
from stomper.errors import UsageError
from stomper.git import common_dir, git, git_env
from stomper.runs import clean_leftovers

__all__ = [
    "Snapshot",
    "clean_leftovers",
    "record_temp_dir",
    "release_snapshot",
    "snapshot_bytes",
    "snapshot_entry",
    "take_snapshot",
]

_IDENTITY = {
    "GIT_AUTHOR_NAME": "stomper",
    "GIT_AUTHOR_EMAIL": "stomper@localhost",
    "GIT_COMMITTER_NAME": "stomper",
    "GIT_COMMITTER_EMAIL": "stomper@localhost",
}
# Keep `git add` from converting bytes or needing git-lfs; what it still converts is re-hashed raw.
_RAW_ADD = (
    *("-c", "core.autocrlf=false", "-c", "core.safecrlf=false", "-c", "core.fsmonitor=false"),
    *("-c", "filter.lfs.clean=", "-c", "filter.lfs.process=", "-c", "filter.lfs.required=false"),
)
_CONVERTING_ATTRS = ("text", "eol", "crlf", "filter", "ident", "working-tree-encoding")


class Snapshot(NamedTuple):
    """The user's state when the run started, as one commit object."""

    root: Path
    common_dir: Path
    commit: str
    head: str | None
    run_id: str


def _head_and_index(root: Path) -> tuple[str | None, Path]:
    """HEAD's commit (None on an unborn branch) and the user's index file, in one git call
    (two when the index's path holds a newline)."""
    out = git(root, "rev-parse", "--git-path", "index", "--verify", "-q", "HEAD^{commit}",
              check=False)  # fmt: skip
    parts = out.split(b"\n")  # [index, head, b""], or [index, b""] on an unborn branch
    index, head = parts[0], parts[1] if len(parts) == 3 else b""
    if len(parts) not in (2, 3) or parts[-1] or (head and not _OID.fullmatch(head)):
        index = git(root, "rev-parse", "--git-path", "index")[:-1]
        head = git(root, "rev-parse", "-q", "--verify", "HEAD^{commit}", check=False).strip()
    path = Path(os.fsdecode(index))
    return head.decode() or None, path if path.is_absolute() else root / path


_OID = re.compile(rb"[0-9a-f]{40}|[0-9a-f]{64}")


def _top_level(root: Path) -> bytes:
    """The top of the work tree holding ``root``: ``root`` itself (resolved, as git prints
    it) when it has a ``.git``, as the engine's roots do, without asking git."""
    if os.path.lexists(os.path.join(root, ".git")):
        return os.fsencode(os.path.realpath(root))
    return git(root, "rev-parse", "--show-toplevel", check=False).rstrip(b"\n")


def take_snapshot(root: Path, run_id: str, *, exclude: Sequence[str] = ()) -> Snapshot:
    """Capture the work tree at ``root`` as a commit, leaving the user's index, HEAD and refs
    as they were. Raises :class:`UsageError` outside a work tree or for a run id in use.
    Paths matching the ``exclude`` deny patterns are left out, so no sandbox (and no agent
    working in one) ever holds them."""
    top = _top_level(root)
    if not top:
        raise UsageError(f"{root} is not inside a git work tree")
    root = Path(os.fsdecode(top))
    common = common_dir(root)
    run_dir = runs.start_run(common, run_id)
    head, user_index = _head_and_index(root)
    snapshot = Snapshot(root, common, "", head, run_id)
    try:
        commit = _snapshot_commit(snapshot, user_index, run_dir / "index", exclude)
        ref = f"{runs.REF_PREFIX}{run_id}/snapshot"
        # No hooks: a user's failing reference-transaction hook must not veto stomper's ref.
        git(root, "-c", "core.hooksPath=/dev/null", "update-ref", "-m", "stomper snapshot", ref,
            commit, "0" * 40)  # fmt: skip
    except BaseException:
        release_snapshot(snapshot)
        raise
    return snapshot._replace(commit=commit)


def _snapshot_commit(
    snapshot: Snapshot, user_index: Path, temp_index: Path, exclude: Sequence[str]
) -> str:
    root = snapshot.root
    if user_index.exists():
        # A copy keeps the user's stat data, so only files changed on disk are read again.
        # copy2 keeps the index's own mtime too: git's racy-clean check compares entries
        # with it, and a fresh mtime would let a same-size edit made in the same tick as
        # the last index write pass as unchanged.
        shutil.copy2(user_index, temp_index)
    env = git_env(None, GIT_INDEX_FILE=str(temp_index), **_IDENTITY)
    try:
        git(root, *_RAW_ADD, "add", "-A", "--ignore-errors", "--", ":/", env=env)
        paths = _store_raw_bytes(root, env)
        _drop_denied(root, env, exclude, paths)
        tree = git(root, *_RAW_ADD, "write-tree", env=env).decode().strip()
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp_index.unlink()
    parents = ("-p", snapshot.head) if snapshot.head else ()
    message = f"stomper snapshot {snapshot.run_id}".encode()
    return git(root, "commit-tree", tree, *parents, stdin=message, env=env).decode().strip()


def _drop_denied(
    root: Path, env: dict[str, str], exclude: Sequence[str], paths: Sequence[bytes]
) -> None:
    """Remove the entries matching the deny list (among the index's ``paths``) from the
    snapshot's temporary index."""
    from stomper.secrets import is_denied

    if not exclude:
        return
    denied = [path for path in paths if path and is_denied(os.fsdecode(path), exclude)]
    if denied:
        stdin = b"\0".join(denied) + b"\0"
        git(root, "update-index", "-z", "--force-remove", "--stdin", stdin=stdin, env=env)


def _store_raw_bytes(root: Path, env: dict[str, str]) -> list[bytes]:
    """Replace index entries whose blob is a converted form of the file (eol, filters, ident,
    encodings; or HEAD's blob under ``core.autocrlf``) by the file's bytes as they are.
    Returns every path of the index (its blobs may change here, its paths do not)."""
    entries, paths = {}, []
    for line in git(root, "ls-files", "-s", "-z", env=env).split(b"\0"):
        meta, _, path = line.partition(b"\t")
        if path:
            paths.append(path)
        if line.startswith((b"100644 ", b"100755 ")):
            entries[path] = meta.split()
    autocrlf = git(root, "config", "--get", "core.autocrlf", check=False).strip().lower()
    if autocrlf in (b"true", b"input", b"yes", b"on", b"1"):
        suspects = list(entries)
    else:
        suspects = _paths_with_conversions(root, list(entries), env)
    fixes = []
    for path, sha in _raw_hashes(root, suspects, env).items():
        if sha != entries[path][1]:
            fixes.append(entries[path][0] + b" " + sha + b"\t" + path)
    if fixes:
        fixes_in = b"\0".join(fixes) + b"\0"
        git(root, *_RAW_ADD, "update-index", "-z", "--index-info", stdin=fixes_in, env=env)
    return paths


def _raw_hashes(root: Path, paths: list[bytes], env: dict[str, str]) -> dict[bytes, bytes]:
    """Store the on-disk bytes of the regular files among ``paths``; return their blob ids."""
    present = [path for path in paths if stat.S_ISREG(_lstat_mode(root / os.fsdecode(path)))]
    # --stdin-paths reads lines and unquotes a leading '"': such names go one by one.
    batch = [path for path in present if b"\n" not in path and not path.startswith(b'"')]
    hashes: dict[bytes, bytes] = {}
    if batch:
        stdin = b"\n".join(batch) + b"\n"
        out = git(root, "hash-object", "-w", "--no-filters", "--stdin-paths", stdin=stdin, env=env)
        hashes.update(zip(batch, out.split(), strict=True))
    for path in present:
        if path not in hashes:
            data = (root / os.fsdecode(path)).read_bytes()
            out = git(root, "hash-object", "-w", "--no-filters", "--stdin", stdin=data, env=env)
            hashes[path] = out.strip()
    return hashes


def _lstat_mode(path: Path) -> int:
    try:
        return path.lstat().st_mode
    except OSError:
        return 0


def _paths_with_conversions(root: Path, paths: list[bytes], env: dict[str, str]) -> list[bytes]:
    if not paths:
        return []
    stdin = b"\0".join(paths) + b"\0"
    out = git(root, "check-attr", "-z", "--stdin", *_CONVERTING_ATTRS, stdin=stdin, env=env)
    fields = out.split(b"\0")
    found: dict[bytes, None] = {}
    for index in range(0, len(fields) - 2, 3):
        if fields[index + 2] != b"unspecified":
            found[fields[index]] = None
    return list(found)


def snapshot_entry(snapshot: Snapshot, path: str) -> tuple[str, str] | None:
    """``(mode, object id)`` of ``path`` in the snapshot, or None when it is not there."""
    from stomper.sandbox_compare import cached_tree

    tree = cached_tree(snapshot.root, snapshot.commit)  # loaded once sandboxes exist
    if tree is not None:
        return tree.entries.get(path)
    env = git_env(None, GIT_LITERAL_PATHSPECS="1")
    out = git(snapshot.root, "ls-tree", "-z", "--full-tree", snapshot.commit, "--", path, env=env)
    for record in out.split(b"\0"):
        meta, _, name = record.partition(b"\t")
        if os.fsdecode(name) == path:
            mode, _kind, sha = meta.decode().split()
            return mode, sha
    return None


def snapshot_bytes(snapshot: Snapshot, path: str) -> bytes:
    """The bytes of the file ``path`` in the snapshot; :class:`FileNotFoundError` if absent."""
    entry = snapshot_entry(snapshot, path)
    if entry is None or not entry[0].startswith("100"):
        raise FileNotFoundError(f"{path} is not a file in the snapshot")
    content = read_blob(snapshot.root, entry[1])
    if content is None:
        raise FileNotFoundError(f"{path}: object {entry[1]} is missing")
    return content


def record_temp_dir(snapshot: Snapshot, path: Path) -> None:
    """Note ``path`` (named ``stomper-*``) in the run's record before it is created, so a later
    run removes it if this one dies."""
    runs.record_temp_dir(snapshot.common_dir, snapshot.run_id, path)


def release_snapshot(snapshot: Snapshot) -> None:
    """Delete the snapshot's ref, the run's temporary directories and its record. Idempotent.
    Close the run's :class:`~stomper.sandbox.Sandboxes` first."""
    close_readers(snapshot.root)
    runs.end_run(snapshot.root, snapshot.common_dir, snapshot.run_id)
