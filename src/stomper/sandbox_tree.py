"""One sandbox's files on disk: its private git directory, finding what changed, undoing it.

A sandbox at ``root`` has its git directory at ``root.git`` (beside it, outside the tree an
agent works in); ``root/.git`` is a ``gitdir:`` link to it. Every git call here names both
explicitly, so an agent rewriting ``root/.git`` cannot redirect stomper's own checks.

Finding changes is ``git status`` (HEAD is the snapshot commit) plus ``git ls-files --others``
without exclude files, so ignored files count too. If an agent moved HEAD, ``git diff <snapshot>``
takes over. Undoing deletes what changed and checks out just those paths again.

Why ``status`` and not ``git diff <snapshot>``: a fresh checkout writes files and index within
the same second, so git cannot trust the stat data ("racily clean") and re-reads every file on
each scan (150 ms at 20,000 files). ``status`` writes back the index it refreshed, so from the
first scan a second after the checkout on, only stat calls remain (25-35 ms at 20,000 files).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, NamedTuple

from stomper.git import agit, git_env, split_z
from stomper.sandbox_compare import cached_tree, compare_paths, restore_files, snapshot_tree
from stomper.sandbox_watch import watch_for
from stomper.snapshot import Snapshot
from stomper.types import ChangedPath

KEEP_DIRS = (".mypy_cache", ".ruff_cache")
DISPOSABLE_DIRS = ("__pycache__", ".pytest_cache", ".hypothesis")
_NO_CONVERSION = b"* -text -eol -crlf -filter -ident -working-tree-encoding\n"
_SANDBOX_CONFIG = (
    *("-c", "core.autocrlf=false", "-c", "core.safecrlf=false", "-c", "core.fsmonitor=false"),
    *("-c", "core.hooksPath=/dev/null", "-c", "filter.lfs.smudge=", "-c", "filter.lfs.process="),
    *("-c", "filter.lfs.required=false", "-c", "checkout.workers=0"),
)
ENV = git_env(None, GIT_LFS_SKIP_SMUDGE="1", GIT_LITERAL_PATHSPECS="1")
Kind = Literal["added", "deleted", "modified", "renamed", "mode", "type"]
_RAW_KINDS: dict[str, Kind] = {"A": "added", "D": "deleted", "T": "type"}


def git_dir(root: Path) -> Path:
    """Where the sandbox at ``root`` keeps its git directory."""
    return root.with_name(root.name + ".git")


def sandbox_git(root: Path) -> tuple[str, ...]:
    """Global git options that pin a call to the sandbox and turn conversions and hooks off."""
    return ("--git-dir", str(git_dir(root)), "--work-tree", str(root), *_SANDBOX_CONFIG)


def pristine_files(root: Path, common: Path) -> dict[Path, bytes]:
    """The files that decide how git sees a sandbox; an agent changing them is a change."""
    config = (
        "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n"
        "\tsymlinks = true\n\tlogallrefupdates = false\n\tautocrlf = false\n"
        "\tsafecrlf = false\n\tfsmonitor = false\n\thooksPath = /dev/null\n"
        "[gc]\n\tauto = 0\n[user]\n\tname = stomper sandbox\n\temail = sandbox@stomper.invalid\n"
        '[filter "lfs"]\n\tsmudge =\n\tprocess =\n\trequired = false\n'
    )
    return {
        root / ".git": b"gitdir: " + os.fsencode(git_dir(root)) + b"\n",
        git_dir(root) / "config": config.encode(),
        git_dir(root) / "info" / "attributes": _NO_CONVERSION,
        git_dir(root) / "objects" / "info" / "alternates": os.fsencode(common / "objects") + b"\n",
    }


def write_git_dir(root: Path, snapshot: Snapshot) -> None:
    """(Re)write the sandbox's git directory and link; HEAD at the snapshot, detached."""
    for sub in ("objects/info", "refs/heads", "refs/tags", "info"):
        (git_dir(root) / sub).mkdir(parents=True, exist_ok=True)
    root.mkdir(exist_ok=True)
    for path, content in pristine_files(root, snapshot.common_dir).items():
        remove(path)
        path.write_bytes(content)
    (git_dir(root) / "HEAD").write_text(snapshot.commit + "\n", encoding="ascii")
    shallow = snapshot.common_dir / "shallow"
    if shallow.is_file():
        shutil.copyfile(shallow, git_dir(root) / "shallow")


def remove(path: Path) -> None:
    """Delete whatever is at ``path`` (file, symlink or directory tree), never following links."""
    try:
        is_dir = path.is_dir() and not path.is_symlink()
    except OSError:
        return
    if is_dir:
        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


class Scan(NamedTuple):
    """What differs from the snapshot; ``index_dirty`` when git's own state was touched too."""

    changes: tuple[ChangedPath, ...]
    disposable: tuple[str, ...]
    index_dirty: bool

    @property
    def clean(self) -> bool:
        return not (self.changes or self.disposable or self.index_dirty)


def _head_moved(root: Path, snapshot: Snapshot) -> bool:
    try:
        return (git_dir(root) / "HEAD").read_bytes().strip() != snapshot.commit.encode()
    except OSError:
        return True


async def scan(root: Path, snapshot: Snapshot, keep: Sequence[str]) -> Scan:
    """Compare the sandbox with the snapshot commit: tracked, untracked and ignored files.

    With a :class:`~stomper.sandbox_watch.TreeWatch` on the sandbox, only the paths it saw
    touched are compared (and git leaves the index alone, so a changed index means someone
    else wrote it); without one, or when it cannot vouch for its list, everything is.
    """
    # In a thread: a few small reads and a hash of each touched file, which, with many files
    # under way, would otherwise delay every other file's next step.
    look = await asyncio.to_thread(_look, root, snapshot, keep)
    if look.found is not None:
        return look.found
    if look.touched is not None:
        return await _scan_paths(root, keep, look.touched)
    found = await _scan_all(
        root, snapshot, keep, head_moved=look.head_moved, tampered=look.tampered
    )
    watch = None if look.head_moved else watch_for(root)
    if watch is not None and not found.index_dirty:
        watch.note_own_index_write()  # status refreshed it; nothing is staged
    return found


class _Look(NamedTuple):
    """What :func:`scan` learns without git: the answer itself when the watch vouches for its
    list of touched paths and they compare in Python, else what git must be asked."""

    tampered: bool
    head_moved: bool
    touched: list[str] | None
    found: Scan | None


def _look(root: Path, snapshot: Snapshot, keep: Sequence[str]) -> _Look:
    tampered = _git_files_tampered(root, snapshot)
    head_moved = tampered or _head_moved(root, snapshot)
    watch = None if head_moved else watch_for(root)
    touched = watch.touched() if watch is not None else None
    if not touched:  # None: the watch cannot vouch (or there is none); []: nothing changed
        found = None if touched is None else Scan((), (), False)
        return _Look(tampered, head_moved, touched, found)
    tree = cached_tree(snapshot.root, snapshot.commit)
    if tree is None:
        tree = snapshot_tree(snapshot.root, snapshot.commit)
    compared = compare_paths(root, tree, touched, keep, DISPOSABLE_DIRS)
    if compared is not None:
        return _Look(False, False, touched, Scan(tuple(compared[0]), tuple(compared[1]), False))
    return _Look(False, False, touched, None)


async def _scan_paths(root: Path, keep: Sequence[str], paths: Sequence[str]) -> Scan:
    """:func:`scan` of ``paths`` only, by git (HEAD and the git files already checked)."""
    git_args = (*sandbox_git(root)[:4], "--no-optional-locks", *sandbox_git(root)[4:])
    status = ("status", "--porcelain=v2", "-z", "--untracked-files=no", "--no-renames")
    others = ("ls-files", "-z", "--others", "--directory", *(f"--exclude={k}/" for k in keep))
    tracked, untracked = await asyncio.gather(
        agit(root, *git_args, *status, "--ignore-submodules=none", "--", *paths, env=ENV),
        agit(root, *git_args, *others, "--", *paths, env=ENV),
    )
    return _found(_parse_status(tracked), untracked, tampered=False, head_moved=False)


async def _scan_all(
    root: Path, snapshot: Snapshot, keep: Sequence[str], *, head_moved: bool, tampered: bool
) -> Scan:
    if head_moved:
        tracked_args: tuple[str, ...] = ("diff", "--raw", "-z", "--no-renames", "--no-ext-diff")
        tracked_args += ("--ignore-submodules=none", snapshot.commit)
    else:
        tracked_args = ("status", "--porcelain=v2", "-z", "--untracked-files=no", "--no-renames")
        tracked_args += ("--ignore-submodules=none",)
    tracked, untracked = await asyncio.gather(
        agit(root, *sandbox_git(root), *tracked_args, env=ENV),
        agit(root, *sandbox_git(root), "ls-files", "-z", "--others", "--directory",
             *(f"--exclude={name}/" for name in keep), env=ENV),
    )  # fmt: skip
    parsed = _parse_raw(tracked) if head_moved else _parse_status(tracked)
    return _found(parsed, untracked, tampered=tampered, head_moved=head_moved)


def _found(
    parsed: tuple[list[ChangedPath], bool], untracked: bytes, *, tampered: bool, head_moved: bool
) -> Scan:
    changes, staged = parsed
    disposable = []
    for entry in split_z(untracked):
        if entry.endswith("/") and entry.rstrip("/").rsplit("/", 1)[-1] in DISPOSABLE_DIRS:
            disposable.append(entry)
        else:
            changes.append(ChangedPath(entry.rstrip("/"), "added"))
    if tampered:
        changes.append(ChangedPath(".git", "modified"))
    return Scan(tuple(sorted(set(changes))), tuple(disposable), head_moved or staged)


def _kind(head_mode: str, work_mode: str) -> Kind:
    if work_mode == "000000":
        return "deleted"
    if head_mode == "000000":
        return "added"
    if head_mode[:2] != work_mode[:2]:  # 100xxx file, 120000 symlink, 160000 submodule
        return "type"
    return "mode" if head_mode != work_mode else "modified"


def _parse_status(output: bytes) -> tuple[list[ChangedPath], bool]:
    """``status --porcelain=v2 -z`` records (no renames): changes, and whether any is staged."""
    changes, staged = [], False
    for record in output.split(b"\0"):
        if record.startswith(b"1 "):
            _, xy, _sub, head_mode, _index_mode, work_mode, _h, _i, path = record.split(b" ", 8)
            changes.append(
                ChangedPath(os.fsdecode(path), _kind(head_mode.decode(), work_mode.decode()))
            )
            staged = staged or xy[:1] != b"."
        elif record.startswith(b"u "):
            changes.append(ChangedPath(os.fsdecode(record.split(b" ", 10)[10]), "modified"))
            staged = True
    return changes, staged


def _parse_raw(output: bytes) -> tuple[list[ChangedPath], bool]:
    """``diff --raw -z <snapshot>`` records: the fallback once HEAD has moved."""
    fields = output.split(b"\0")
    changes = []
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        old_mode, new_mode, _old, _new, status = meta.lstrip(b":").decode().split()
        kind = _RAW_KINDS.get(status[0], "modified")
        if kind == "modified" and old_mode != new_mode:
            kind = "mode"
        changes.append(ChangedPath(os.fsdecode(path), kind))
    return changes, True


def _git_files_tampered(root: Path, snapshot: Snapshot) -> bool:
    for path, content in pristine_files(root, snapshot.common_dir).items():
        try:
            if path.is_symlink() or path.read_bytes() != content:
                return True
        except OSError:
            return True
    return False


async def undo(root: Path, snapshot: Snapshot, found: Scan) -> None:
    """Delete what ``found`` lists, then check the snapshot's version of those paths out."""
    await asyncio.to_thread(_delete_changes, root, snapshot, found)
    if found.index_dirty:
        # An agent ran git (add, commit, checkout): rebuild the index from the snapshot.
        await agit(root, *sandbox_git(root), "read-tree", "--reset", "-u", snapshot.commit, env=ENV)
        return
    tracked = [change.path for change in found.changes if change.change != "added"]
    tree = cached_tree(snapshot.root, snapshot.commit) if watch_for(root) is not None else None
    if tracked and tree is not None:
        # From the objects, not through the index: a cost independent of the project's size.
        restore = functools.partial(restore_files, root, snapshot.root, tree, tracked)
        if await asyncio.to_thread(restore):
            return
    if tracked:
        paths = b"".join(os.fsencode(path) + b"\0" for path in tracked)
        # Watched, the index is left as it is (-u would rewrite all of it, 20 ms at 20,000
        # files): a stale stat entry only makes git compare that one file's bytes again.
        refresh = () if watch_for(root) is not None else ("-u",)
        await agit(root, *sandbox_git(root), "checkout-index", "-f", *refresh, "-z", "--stdin",
                   stdin=paths, env=ENV)  # fmt: skip


async def verify_undone(root: Path, snapshot: Snapshot, found: Scan) -> bool:
    """Whether the paths ``found`` listed are back as in the snapshot (a scan of just those)."""
    answer = await asyncio.to_thread(_undone, root, snapshot, found)
    if answer == "scan":
        return (await scan(root, snapshot, ())).clean
    if answer != "status":
        return answer
    tracked = [change.path for change in found.changes if change.change != "added"]
    out = await agit(root, *sandbox_git(root)[:4], "--no-optional-locks", *sandbox_git(root)[4:],
                     "status", "--porcelain=v2", "-z", "--untracked-files=no", "--", *tracked,
                     env=ENV)  # fmt: skip
    return out == b""


def _undone(root: Path, snapshot: Snapshot, found: Scan) -> bool | Literal["scan", "status"]:
    """:func:`verify_undone`'s answer as far as it needs no git (in a thread): "scan" when
    git's own files were touched, "status" when git must compare the tracked paths."""
    if found.index_dirty or _git_files_tampered(root, snapshot):
        return "scan"
    if watch_for(root) is not None:
        tree = cached_tree(snapshot.root, snapshot.commit)
        paths = [change.path for change in found.changes]
        paths += [entry.rstrip("/") for entry in found.disposable]
        compared = None if tree is None else compare_paths(root, tree, paths, KEEP_DIRS, ())
        if compared is not None:
            return compared == ([], [])
    gone = [change.path for change in found.changes if change.change == "added"]
    gone += list(found.disposable)
    if any(os.path.lexists(root / path) for path in gone):
        return False
    tracked = [change.path for change in found.changes if change.change != "added"]
    return "status" if tracked else True


def _delete_changes(root: Path, snapshot: Snapshot, found: Scan) -> None:
    if any(change.path == ".git" for change in found.changes):
        write_git_dir(root, snapshot)
    if found.index_dirty:
        (git_dir(root) / "HEAD").write_text(snapshot.commit + "\n", encoding="ascii")
    for change in found.changes:
        if change.change != "deleted" and change.path != ".git":
            remove(root / change.path)
    for entry in found.disposable:
        remove(root / entry)
