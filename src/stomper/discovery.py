"""Which files a command works on: paths, directories, globs, git selectors, include/exclude.

- Candidates: inside git, ``git ls-files --cached --others --exclude-standard`` (tracked plus
  untracked-not-ignored); outside git, a walk that skips :data:`SKIPPED_DIRS` and virtualenvs.
  Directories and globs expand to candidates only, so ``.gitignore`` holds; a file named
  explicitly is taken even when ignored: the user asked for it by name.
- ``--staged``: index against HEAD (all staged files on an unborn HEAD). ``--changed``: index
  or work tree against HEAD, plus untracked. ``--since REF``: ``git diff REF`` (commits since
  REF and uncommitted edits) plus untracked; a branch's changes are
  ``--since $(git merge-base main HEAD)``. Explicit paths narrow a git selection.
- A file counts once, under its real path relative to the root. Symlinks out of the
  repository, deleted, binary and non-regular files, and anything in ``.git`` are skipped.
- include/exclude: see :func:`stomper.globs.compile_globs`.

The number of git calls does not grow with the number of files (the hook's fast path).
"""

from __future__ import annotations

import itertools
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from stomper.config import Config
from stomper.errors import ToolError, UsageError
from stomper.git import git, git_env, remember_common_dir, split_z
from stomper.globs import Matcher, compile_globs, compile_regex, glob_to_regex

# ruff's default `exclude` list, plus caches it leaves out; used only outside git.
SKIPPED_DIRS = frozenset(
    {
        ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".ipynb_checkpoints",
        ".mypy_cache", ".nox", ".pants.d", ".pyenv", ".pytest_cache", ".pytype",
        ".ruff_cache", ".svn", ".tox", ".venv", ".vscode", "__pycache__", "__pypackages__",
        "_build", "buck-out", "build", "dist", "node_modules", "site-packages", "venv",
    }
)  # fmt: skip
GLOB_CHARS = frozenset("*?[")
BINARY_PROBE = 8192


def find_root(cwd: Path) -> tuple[Path, bool]:
    """(repository root, True) inside a git work tree; (cwd resolved, False) outside one."""
    try:
        # The common directory too: every run asks for it next (see common_dir).
        out = git(cwd, "rev-parse", "--show-toplevel", "--path-format=absolute", "--git-common-dir")
    except ToolError as error:
        # "not a git repository" and "git could not be started" both mean plain-directory mode;
        # anything else (dubious ownership, inside .git) is a real problem to report.
        if "not a git repository" in str(error) or "could not be started" in str(error):
            return cwd.resolve(), False
        raise
    lines = out.split(b"\n")
    top = Path(os.fsdecode(lines[0])).resolve()
    if len(lines) == 3 and not lines[2]:  # else a path holds a newline: git is asked later
        remember_common_dir(top, Path(os.fsdecode(lines[1])))
    return top, True


def select_files(
    root: Path,
    config: Config,
    *,
    paths: Sequence[str],
    staged: bool,
    changed: bool,
    since: str | None,
    in_git: bool,
    cwd: Path,
) -> list[str]:
    """Sorted, de-duplicated POSIX paths relative to root."""
    selector = (
        "--staged" if staged else "--changed" if changed else "--since" if since is not None else ""
    )
    if selector and not in_git:
        raise UsageError(f"{selector} needs a git repository")
    selection = _git_selection(root, staged=staged, since=since) if selector else None
    included, excluded = compile_globs(config.include), compile_globs(config.exclude)

    def wanted(path: str) -> bool:
        selected = selection is None or path in selection  # paths narrow a git selection
        return selected and included(path) and not excluded(path)

    tree = _Tree(root, in_git, wanted)
    chosen = _expand(tree, paths, cwd) if paths else tree.canonical_under("")
    # Filter again: a symlink alias passed the filters under its own name, not its target's.
    ordered = sorted(path for path in chosen if wanted(path))
    # Reading for NUL bytes is the only per-file cost beyond a stat, so stop at max_files.
    texts = (path for path in ordered if not _is_binary(os.path.join(root, path)))
    return list(itertools.islice(texts, config.max_files))


class _Tree:
    """The candidate files below ``root``: git's listing inside git, a directory walk outside."""

    def __init__(self, root: Path, in_git: bool, wanted: Matcher) -> None:
        self.root = root
        self.in_git = in_git
        self.wanted = wanted
        self._listed: frozenset[str] | None = None
        self._plain_dirs = {"": True}

    def listed(self) -> frozenset[str]:
        """Tracked and untracked-not-ignored files, listed once and only when needed."""
        if self._listed is None:
            args = ("ls-files", "-z", "--cached", "--others", "--exclude-standard")
            self._listed = frozenset(split_z(_git(self.root, *args)))
        return self._listed

    def under(self, directory: str) -> Iterator[str]:
        """Candidate paths (as listed, not yet canonical) inside ``directory`` ("" = root)."""
        if not self.in_git:
            yield from (path for path in _walk(self.root, directory) if self.admits(path))
            return
        prefix = f"{directory}/" if directory else ""
        yield from (path for path in self.listed() if path.startswith(prefix))

    def admits(self, path: str) -> bool:
        """Whether the canonical ``path`` is itself a candidate (not ignored, not skipped)."""
        if self.in_git:
            return path in self.listed()
        return not SKIPPED_DIRS.intersection(path.split("/")[:-1])

    def canonical_under(self, directory: str, match: Matcher | None = None) -> set[str]:
        """Canonical candidates below ``directory`` whose path there satisfies ``match``."""
        skip = len(directory) + 1 if directory else 0
        found = (
            self._canonical(path)
            for path in self.under(directory)
            if self.wanted(path) and (match is None or match(path[skip:]))
        )
        return {path for path in found if path is not None}

    def _canonical(self, path: str) -> str | None:
        # Listed paths have no symlinked parents, so only a symlink needs resolving; plain
        # strings here because pathlib costs more than the stat on a large repository.
        try:
            mode = os.lstat(os.path.join(self.root, path)).st_mode
        except OSError:  # deleted since git listed it
            return None
        if not self._plain_dir(path.rpartition("/")[0]):
            return None
        if stat.S_ISREG(mode):
            return path
        real = _canonical(self.root, self.root / path) if stat.S_ISLNK(mode) else None
        return real if real is not None and self.admits(real) else None

    def _plain_dir(self, directory: str) -> bool:
        # git keeps listing `d/a.py` after the user replaces `d` with a symlink, which may lead
        # out of the repository; one lstat per directory, not per file, rules that out.
        if directory not in self._plain_dirs:
            parent = directory.rpartition("/")[0]
            try:
                is_dir = stat.S_ISDIR(os.lstat(os.path.join(self.root, directory)).st_mode)
            except OSError:
                is_dir = False
            self._plain_dirs[directory] = is_dir and self._plain_dir(parent)
        return self._plain_dirs[directory]


def _expand(tree: _Tree, paths: Sequence[str], cwd: Path) -> set[str]:
    """The canonical files named by explicit paths, directories and globs."""
    chosen: set[str] = set()
    for arg in paths:
        literal = cwd / arg
        if GLOB_CHARS.isdisjoint(arg) or os.path.lexists(literal):
            chosen |= _expand_literal(tree, arg, literal)
        else:
            chosen |= _expand_glob(tree, arg, cwd)
    return chosen


def _expand_literal(tree: _Tree, arg: str, literal: Path) -> set[str]:
    # Resolve the parents but not the last component, so a symlink that leads out of the
    # repository is skipped while a path that is itself outside is an error.
    if literal.name in ("", ".."):
        location = literal.resolve()
    else:
        location = literal.parent.resolve() / literal.name
    _check_inside(tree.root, location, arg)
    if not os.path.lexists(location):
        raise UsageError(f"{arg}: no such file or directory")
    real = location.resolve()
    if real.is_dir() and real.is_relative_to(tree.root):
        return tree.canonical_under(_relative(tree.root, real))
    canonical = _canonical(tree.root, location)
    return {canonical} if canonical is not None else set()


def _expand_glob(tree: _Tree, arg: str, cwd: Path) -> set[str]:
    # Match the pattern against candidates below its literal leading directories rather than
    # globbing the disk: ignored trees (.venv, node_modules) are never walked.
    parts = Path(arg).parts
    fixed = next(index for index, part in enumerate(parts) if not GLOB_CHARS.isdisjoint(part))
    base = (cwd / Path(*parts[:fixed])).resolve()
    _check_inside(tree.root, base, arg)
    pattern = "/".join(parts[fixed:])
    return tree.canonical_under(_relative(tree.root, base), compile_regex(glob_to_regex(pattern)))


def _check_inside(root: Path, location: Path, arg: str) -> None:
    if not location.is_relative_to(root):
        raise UsageError(f"{arg}: outside the repository {root}")


def _git_selection(root: Path, *, staged: bool, since: str | None) -> set[str]:
    """Paths picked by --staged, --changed or --since (as git lists them, deletions left out)."""
    diff = ("diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", "--diff-filter=d")
    # `git diff --cached` compares with HEAD, or with nothing on an unborn HEAD.
    if staged:
        return set(split_z(_git(root, *diff, "--cached", "--")))
    untracked = split_z(_git(root, "ls-files", "-z", "--others", "--exclude-standard"))
    if since is None:
        index = split_z(_git(root, *diff, "--cached", "--"))
        work_tree = split_z(_git(root, *diff, "--"))
        return {*index, *work_tree, *untracked}
    return {*split_z(_git(root, *diff, _commit(root, since), "--")), *untracked}


def _commit(root: Path, ref: str) -> str:
    # A leading dash would be read as an option (`--output=...`), never as a revision.
    if ref.startswith("-"):
        raise UsageError(f"--since: {ref!r} is not a revision")
    out = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if not out.strip():
        raise UsageError(f"--since: unknown revision {ref!r}")
    return out.decode("ascii").strip()


def _git(root: Path, *args: str, check: bool = True) -> bytes:
    # GIT_OPTIONAL_LOCKS=0: reading must never refresh (write) the user's index.
    return git(root, *args, env=git_env(GIT_OPTIONAL_LOCKS="0"), check=check)


def _walk(root: Path, directory: str) -> Iterator[str]:
    """Files below ``root/directory`` outside git, pruning skipped directories and venvs."""
    for current, dirs, files in os.walk(root / directory):
        here = Path(current)
        dirs[:] = [
            name
            for name in dirs
            if name not in SKIPPED_DIRS and not (here / name / "pyvenv.cfg").exists()
        ]
        yield from (_relative(root, here / name) for name in files)


def _canonical(root: Path, path: Path) -> str | None:
    """The real regular file's path relative to ``root``, or None when there is none."""
    try:
        mode = os.lstat(path).st_mode
        if stat.S_ISLNK(mode):
            path = Path(os.path.realpath(path))
            mode = os.stat(path).st_mode
    except OSError:  # deleted, dangling or unreadable
        return None
    if not stat.S_ISREG(mode) or not path.is_relative_to(root):
        return None
    relative = _relative(root, path)
    return None if ".git" in relative.split("/") else relative


def _relative(root: Path, path: Path) -> str:
    relative = path.relative_to(root).as_posix()
    return "" if relative == "." else relative


def _is_binary(path: str) -> bool:
    try:
        with open(path, "rb", buffering=0) as handle:  # one read: no buffer to fill
            return b"\0" in handle.read(BINARY_PROBE)
    except OSError:
        return True  # unreadable: nothing can fix it, so leave it out
