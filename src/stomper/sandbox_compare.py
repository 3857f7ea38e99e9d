"""Comparing a few paths of a sandbox with the snapshot, without running git.

A sandbox holds the snapshot's bytes exactly (every converting attribute is unset), so a
path is unchanged when its type, mode and git blob id match the snapshot's tree entry. With
the touched paths known (:mod:`stomper.sandbox_watch`), this replaces ``git status`` and
``git ls-files --others`` restricted to those paths: both read the whole index first, which
costs more the larger the project (2 MB at 20,000 files), so the per-file cost would grow.

The answers follow git's: a tracked path reports ``modified``, ``mode``, ``type`` or
``deleted`` (a file turned directory: ``deleted`` plus ``added``); an untracked one ``added``,
a whole new directory once, by its top; ``__pycache__`` and friends are disposable; kept
cache directories do not count. Submodules are left to git (``None``: scan everything).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

from stomper.blobs import read_blob
from stomper.git import git, git_env, split_z
from stomper.types import ChangedPath

__all__ = ["SnapshotTree", "cached_tree", "compare_paths", "snapshot_tree"]

_trees: dict[tuple[Path, str], SnapshotTree] = {}


class SnapshotTree(NamedTuple):
    """The snapshot's entries: path -> (mode, blob id), every directory holding some, and the
    size of all its files together (what a checkout of it writes)."""

    entries: dict[str, tuple[str, str]]
    directories: frozenset[str]
    size: int


def cached_tree(root: Path, commit: str) -> SnapshotTree | None:
    """The tree of ``commit`` if :func:`snapshot_tree` has loaded it already."""
    return _trees.get((root, commit))


def snapshot_tree(root: Path, commit: str) -> SnapshotTree:
    """The tree of ``commit`` (cached: every sandbox of a run shares one)."""
    key = (root, commit)
    if key not in _trees:
        env = git_env(None, GIT_LITERAL_PATHSPECS="1")
        out = git(root, "ls-tree", "-r", "-z", "--long", "--full-tree", commit, env=env)
        entries, size = {}, 0
        for record in split_z(out):
            meta, _, path = record.partition("\t")
            mode, _kind, sha, length = meta.split()
            entries[path] = (mode, sha)
            size += int(length) if length.isdigit() else 0  # "-" for a submodule
        directories = {parent for path in entries for parent in _parents(path)}
        _trees.clear()  # one snapshot at a time is all a run needs
        _trees[key] = SnapshotTree(entries, frozenset(directories), size)
    return _trees[key]


def compare_paths(
    root: Path,
    tree: SnapshotTree,
    paths: Iterable[str],
    keep: Sequence[str],
    disposable: Sequence[str],
) -> tuple[list[ChangedPath], list[str]] | None:
    """Changes and disposable directories among ``paths`` (and below them); None when git
    must decide (a submodule is involved)."""
    changes: set[ChangedPath] = set()
    found_disposable: set[str] = set()
    for path in {_top_untracked(tree, path) for path in paths if path != ".git"}:
        if _excluded(root, path, keep, tree):
            continue
        if path in tree.directories:
            result = _compare_directory(root, tree, path, keep, disposable)
        else:
            result = _compare_one(root, tree, path, disposable)
        if result is None:
            return None
        changes.update(result[0])
        found_disposable.update(result[1])
    return sorted(changes), sorted(found_disposable)


def _parents(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:depth]) for depth in range(1, len(parts))]


def _top_untracked(tree: SnapshotTree, path: str) -> str:
    """``path``, or its highest ancestor that the snapshot does not have as a directory."""
    parts = path.split("/")
    for depth in range(1, len(parts)):
        ancestor = "/".join(parts[:depth])
        if ancestor not in tree.directories:
            return ancestor
    return path


def _excluded(root: Path, path: str, keep: Sequence[str], tree: SnapshotTree) -> bool:
    """An untracked kept cache directory (``--exclude=<name>/`` matches at any depth)."""
    name = path.rsplit("/", 1)[-1]
    return name in keep and path not in tree.entries and _is_dir(root / path)


def _is_dir(location: Path) -> bool:
    return location.is_dir() and not location.is_symlink()


def _compare_one(
    root: Path, tree: SnapshotTree, path: str, disposable: Sequence[str]
) -> tuple[list[ChangedPath], list[str]] | None:
    location = root / path
    try:
        status = location.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return ([ChangedPath(path, "deleted")] if path in tree.entries else []), []
    entry = tree.entries.get(path)
    if entry is None:
        if stat.S_ISDIR(status.st_mode) and path.rsplit("/", 1)[-1] in disposable:
            return [], [f"{path}/"]
        return [ChangedPath(path, "added")], []
    mode, sha = entry
    if mode == "160000":
        return None
    if stat.S_ISDIR(status.st_mode):
        return [ChangedPath(path, "deleted"), ChangedPath(path, "added")], []
    actual = _mode(status.st_mode)
    if actual[:2] != mode[:2]:
        return [ChangedPath(path, "type")], []
    if actual != mode:
        return [ChangedPath(path, "mode")], []
    same = _blob_id(location, status.st_mode) == sha
    return ([] if same else [ChangedPath(path, "modified")]), []


def _compare_directory(
    root: Path, tree: SnapshotTree, path: str, keep: Sequence[str], disposable: Sequence[str]
) -> tuple[list[ChangedPath], list[str]] | None:
    """Everything the snapshot has under ``path``, and everything new there."""
    changes: list[ChangedPath] = []
    found: list[str] = []
    prefix = f"{path}/"
    tracked = [entry for entry in tree.entries if entry.startswith(prefix)]
    pending = [path]
    while pending:
        current = pending.pop()
        try:
            children = list(os.scandir(root / current))
        except OSError:
            continue
        for child in children:
            relative = f"{current}/{child.name}"
            if relative in tree.directories and child.is_dir(follow_symlinks=False):
                pending.append(relative)
            elif relative not in tree.entries and not _excluded_child(child, keep):
                result = _compare_one(root, tree, relative, disposable)
                if result is None:
                    return None
                changes += result[0]
                found += result[1]
    for entry in tracked:
        result = _compare_one(root, tree, entry, disposable)
        if result is None:
            return None
        changes += result[0]
    return changes, found


def _excluded_child(child: os.DirEntry[str], keep: Sequence[str]) -> bool:
    return child.name in keep and child.is_dir(follow_symlinks=False)


def _mode(st_mode: int) -> str:
    if stat.S_ISLNK(st_mode):
        return "120000"
    return "100755" if st_mode & stat.S_IXUSR else "100644"


def _blob_id(location: Path, st_mode: int) -> str:
    """Git's object id of the file (or of the link's target text), as ``hash-object`` gives."""
    data = os.fsencode(os.readlink(location)) if stat.S_ISLNK(st_mode) else location.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def restore_files(root: Path, repository: Path, tree: SnapshotTree, paths: Sequence[str]) -> bool:
    """Write the snapshot's version of each tracked file or link among ``paths`` (already
    removed from the sandbox), reading the blobs with ``git cat-file --batch``, which unlike
    ``checkout-index`` never reads the index. False when some path is not such an entry."""
    wanted = [(path, tree.entries.get(path)) for path in paths]
    if not all(entry is not None and entry[0] in _WRITABLE for _path, entry in wanted):
        return False
    blobs = [read_blob(repository, entry[1]) for _path, entry in wanted if entry is not None]
    if any(blob is None for blob in blobs):
        return False
    for (path, entry), data in zip(wanted, blobs, strict=True):
        assert entry is not None
        assert data is not None
        location = root / path
        location.parent.mkdir(parents=True, exist_ok=True)
        if entry[0] == "120000":
            os.symlink(os.fsdecode(data), location)
        else:
            location.write_bytes(data)
            location.chmod(0o777 & ~_UMASK if entry[0] == "100755" else 0o666 & ~_UMASK)
    return True


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


_WRITABLE = ("100644", "100755", "120000")
_UMASK = _umask()
