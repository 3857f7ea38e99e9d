"""The safety suite's tools: a repository-state snapshot, SAFETY.md's invariants, leftovers.

:func:`capture` records everything a user could lose: every file (tracked, untracked and
ignored: bytes, mode, symlink target), the index entries, HEAD, every ref, the worktrees, and
any process carrying the fake agents' marker. :func:`violations` compares two captures under
the invariants; :func:`leftovers` lists what a run must never leave behind. Both return lists
of findings (empty = fine), so a test can count a case before it asserts.

Figures: when ``STOMPER_SAFETY_FIGURES`` names a file, :func:`record` appends one JSON line per
case; ``benchmarks/safety_figures.py`` adds them up.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from stomper.testing import GitRepo

HERE = Path(__file__).resolve().parent
MARKER = "stomper-safety-agent"
FIGURES_ENV = "STOMPER_SAFETY_FIGURES"
# What every stomper subprocess may take at most; a hang fails the test instead of the suite.
RUN_TIMEOUT = 120
KEPT = frozenset({"cache", "resume.jsonl", "spare"})


class Entry(NamedTuple):
    """One path of the work tree: ``kind`` is file, link or dir; ``data`` bytes or link target."""

    kind: str
    mode: int
    data: bytes


class RepoState(NamedTuple):
    """Everything about a repository that stomper must not change behind the user's back."""

    files: dict[str, Entry]
    index: tuple[str, ...]
    head: str
    head_ref: str
    refs: dict[str, str]
    worktrees: int
    processes: tuple[int, ...]


def record(figure: str, ok: bool, case: str = "") -> None:
    """Count one case of ``figure`` for the figures script (no-op outside it)."""
    target = os.environ.get(FIGURES_ENV)
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps({"figure": figure, "ok": ok, "case": case}) + "\n")


def _walk(root: Path) -> dict[str, Entry]:
    found = {}
    for directory, subdirs, files in os.walk(root):
        base = Path(directory)
        subdirs[:] = [name for name in subdirs if not (base == root and name == ".git")]
        for name in [*files, *subdirs]:
            path = base / name
            info = path.lstat()
            relative = path.relative_to(root).as_posix()
            if stat.S_ISLNK(info.st_mode):
                found[relative] = Entry("link", 0, os.fsencode(os.readlink(path)))
            elif stat.S_ISDIR(info.st_mode):
                found[relative] = Entry("dir", stat.S_IMODE(info.st_mode), b"")
            else:
                found[relative] = Entry("file", stat.S_IMODE(info.st_mode), path.read_bytes())
    return found


def child_processes() -> list[int]:
    """The live (not zombie) child processes of this process."""
    found = []
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            found.append(int(status.parent.name))
    return found


def children_settled(timeout: float = 3.0) -> list[int]:
    """Our child processes, after giving exiting ones a moment to be reaped."""
    deadline = time.monotonic() + timeout
    while (children := child_processes()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return children


def marker_processes(tag: str = "") -> tuple[int, ...]:
    """Live processes whose command line carries the fake agents' marker (with ``tag``)."""
    marker = f"{MARKER}-{tag}".encode() if tag else MARKER.encode()
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker in cmdline.read_bytes():
                state = (cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(cmdline.parent.name))
        except (OSError, IndexError):
            continue
    return tuple(sorted(found))


def capture(repo: GitRepo, tag: str = "") -> RepoState:
    """The repository's state now (caches of the linters excluded: they come and go)."""
    files = {
        path: entry
        for path, entry in _walk(repo.path).items()
        if not any(
            part in (".ruff_cache", ".mypy_cache", "__pycache__") for part in path.split("/")
        )
    }
    refs = {}
    for line in repo.git("for-each-ref", "--format=%(refname) %(objectname)").splitlines():
        name, _, sha = line.partition(" ")
        refs[name] = sha
    return RepoState(
        files=files,
        index=tuple(repo.git("ls-files", "-s", "-z").split("\0")),
        head=repo.git("rev-parse", "-q", "--verify", "HEAD", check=False).strip(),
        head_ref=repo.git("symbolic-ref", "-q", "HEAD", check=False).strip(),
        refs=refs,
        worktrees=repo.git("worktree", "list", "--porcelain").count("worktree "),
        processes=marker_processes(tag),
    )


def _stomper_commits(repo: GitRepo, start: str, end: str) -> list[tuple[str, list[str]]]:
    if not start or start == end:
        return []
    out = repo.git("rev-list", "--first-parent", "--format=%s", f"{start}..{end}")
    commits, subject = [], ""
    for line in out.splitlines():
        if line.startswith("commit "):
            sha = line.split()[1]
        else:
            subject = line
            out = repo.git("diff-tree", "-z", "--no-commit-id", "--name-only", "-r", sha)
            paths = [path for path in out.split("\0") if path]
            commits.append((subject, paths))
    return commits


def _write_back_temp(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.startswith(".") and name.endswith(".stomper")


def violations(
    repo: GitRepo, before: RepoState, after: RepoState, applied: Mapping[str, set[bytes]]
) -> list[str]:
    """Where ``after`` breaks SAFETY.md's invariants 1-4 against ``before``.

    ``applied`` maps each path stomper may fix to the validated bytes it may hold (besides
    its bytes in ``before``).
    """
    found = []
    for path in sorted(set(before.files) | set(after.files)):
        old, new = before.files.get(path), after.files.get(path)
        if old == new or (old is None and _write_back_temp(path)):
            continue  # a killed write-back's temporary file is a leftover: see leftovers()
        allowed = applied.get(path, set())
        same_kind = old is not None and new is not None and new.kind == old.kind == "file"
        if same_kind and new.mode == old.mode and new.data in allowed:  # type: ignore[union-attr]
            continue
        found.append(f"{path} changed: {old!r:.80} -> {new!r:.80}")
    commits = _stomper_commits(repo, before.head, after.head) if after.head != before.head else []
    committed = {path for _author, paths in commits for path in paths}
    old_index = {entry.split("\t")[-1]: entry for entry in before.index if entry}
    new_index = {entry.split("\t")[-1]: entry for entry in after.index if entry}
    for path in sorted(set(old_index) | set(new_index)):
        # Only a stomper commit may change an index entry: the one of the path it committed.
        if old_index.get(path) != new_index.get(path) and path not in committed:
            found.append(f"index entry of {path} changed")
    if after.head_ref != before.head_ref:
        found.append(f"HEAD moved from {before.head_ref} to {after.head_ref}")
    if after.head != before.head:
        ancestor = subprocess.run(
            ["git", "merge-base", "--is-ancestor", before.head, after.head],
            cwd=repo.path,
            check=False,
        ).returncode
        if ancestor != 0:
            found.append("HEAD did not move by fast-forward")
    for subject, paths in commits:
        ours = subject.startswith(("fix(lint): ", "revert(lint): "))
        if not ours or len(paths) != 1 or paths[0] not in applied:
            found.append(f"a commit not stomper's own: {subject} {paths}")

    # refs/stomper/ (a run's snapshot) are leftovers, checked after the next start instead.
    def users(refs: dict[str, str]) -> dict[str, str]:
        return {n: s for n, s in refs.items() if n != before.head_ref and "refs/stomper/" not in n}

    if users(after.refs) != users(before.refs):
        found.append(f"refs changed: {sorted(set(after.refs) ^ set(before.refs))}")
    return found


def leftovers(
    repo: GitRepo, tmpdir: Path, tag: str | None = None, *, children: bool = True
) -> list[str]:
    """What a run must never leave behind (SAFETY.md invariant 5); ``tag`` also looks for the
    safety agent's processes of that tag anywhere (a killed stomper's agents are not our
    children)."""
    common = Path(repo.git("rev-parse", "--path-format=absolute", "--git-common-dir").strip())
    found = [f"temporary directory {p.name}" for p in tmpdir.iterdir() if "stomper" in p.name]
    own = common / "stomper"
    # Everything there but the result cache, the resume record and the write-back's spare
    # files (kept on purpose between runs) belongs to one run.
    if own.is_dir():
        found += [str(item) for item in sorted(own.iterdir()) if item.name not in KEPT]
    if repo.git("for-each-ref", "refs/stomper/"):
        found.append("refs/stomper/ refs")
    if repo.git("worktree", "list", "--porcelain").count("worktree ") != 1:
        found.append("worktrees")
    if (common / "index.lock").exists():
        found.append("index.lock")
    found += [f"temporary file {p}" for p in repo.path.rglob(".*.stomper")]
    found += [f"process {pid}" for pid in marker_processes(tag)] if tag is not None else []
    # Cases run in threads have each other's stomper processes as siblings: children=False.
    found += [f"child process {pid}" for pid in children_settled()] if children else []
    return found


def stomper_env(site: Path, tmpdir: Path, **extra: str) -> dict[str, str]:
    """The environment of a stomper subprocess: the safety plugin loadable, TMPDIR private."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("STOMPER_")}
    env.update({"PYTHONPATH": str(site), "TMPDIR": str(tmpdir), "STOMPER_LOCK_WAIT": "60"} | extra)
    return env


def run_stomper(
    cwd: Path, *args: str, env: Mapping[str, str], timeout: float = RUN_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """``stomper ARGS`` in ``cwd`` as a real process."""
    return subprocess.run(
        [sys.executable, "-m", "stomper", *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
