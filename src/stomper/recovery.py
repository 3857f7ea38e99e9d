"""Finishing what dead runs left half done, from their journals (see :mod:`stomper.journal`).

For each journal nobody holds: kill the agent process groups it started, settle its commit in
flight (complete it when HEAD already moved, else remove its own ``index.lock``; a foreign
``index.lock`` is never touched), remove the temporary file of a write-back in flight and
vouch for the target: it holds either the original or the fix (the rename is atomic), or else
something stomper cannot account for. Then it is left as it is, reported, and its original
is kept under ``<common dir>/stomper/recovered/``. Sandboxes, refs and run records are
:func:`stomper.runs.clean_leftovers`' business, which runs after this.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stomper.errors import ToolError
from stomper.git import common_dir, git
from stomper.journal import digest, journal_dir, process_start_ticks

__all__ = ["recover", "recovered_dir"]

log = logging.getLogger(__name__)
Event = dict[str, Any]
# tempfile.mkstemp's names for a write-back of NAME: ".NAME." + 8 random characters + ".stomper".
_TEMP_TAIL = re.compile(r"[a-z0-9_]{8}\.stomper")


def recovered_dir(common: Path) -> Path:
    """Where originals of writes stomper could not vouch for are kept for the user."""
    return common / "stomper" / "recovered"


def recover(root: Path) -> list[str]:
    """Settle every dead run's journal under ``root``'s repository; what was done, one line each."""
    common = common_dir(root)
    directory = journal_dir(common)
    done: list[str] = []
    for path in sorted(directory.glob("*.jsonl")) if directory.is_dir() else []:
        with _dead_journal(path) as events:
            if events is not None:
                done += _settle(root, common, path, events)
    with contextlib.suppress(OSError):
        directory.rmdir()
    return done


@contextlib.contextmanager
def _dead_journal(path: Path) -> Iterator[list[Event] | None]:
    """The events of ``path`` while we hold its lock, or None if its run is alive."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None  # alive, or another process is recovering it right now
            return
        if not path.exists() or not os.path.samestat(os.fstat(fd), path.stat()):
            yield None
            return
        yield _events(path.read_bytes())
        path.unlink()  # while holding its lock, so nobody recovers it twice
    finally:
        os.close(fd)


def _events(data: bytes) -> list[Event]:
    events = []
    for line in data.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue  # the line the process was writing when it died
    return events


def _settle(root: Path, common: Path, path: Path, events: list[Event]) -> list[str]:
    start = events[0] if events and events[0].get("event") == "start" else {}
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(start.get("started", 0)))
    run = f"dead stomper run (pid {start.get('pid', '?')}, started {when})"
    done = [f"journal of a {run}"]
    for event in _open_events(events, "process", "process-end", key="pid"):
        if _kill_group(event["pid"], event.get("ticks")):
            done.append(f"agent process group {event['pid']} of a {run}")
    for event in events:
        if event.get("event") == "temp-dir":
            done += [f"agent process group {g} of a {run}" for g in _kill_within(event["path"])]
    for event in _open_events(events, "commit", "commit-end"):
        done += _settle_commit(root, event, _commit_made(events, event["token"]), run)
    for event in _open_events(_single_writes(events), "write", "write-end"):
        done += _settle_write(root, common, path.stem, event, run)
    saved = path.with_suffix(".saved")
    if saved.is_dir():
        for item in saved.iterdir():
            item.unlink()
        saved.rmdir()
    return done


def _single_writes(events: list[Event]) -> list[Event]:
    """``events`` with each batched ``writes`` / ``writes-end`` record spelled out as the
    ``write`` / ``write-end`` events of its entries."""
    spelled: list[Event] = []
    for event in events:
        kind = event.get("event")
        if kind == "writes":
            spelled += [{"event": "write", **entry} for entry in event.get("writes", [])]
        elif kind == "writes-end":
            spelled += [{"event": "write-end", "token": t} for t in event.get("tokens", [])]
        else:
            spelled.append(event)
    return spelled


def _open_events(events: list[Event], begin: str, end: str, key: str = "token") -> list[Event]:
    """The ``begin`` events with no ``end`` event of the same key."""
    ended = {event.get(key) for event in events if event.get("event") == end}
    return [event for event in events if event.get("event") == begin and event[key] not in ended]


def _commit_made(events: list[Event], token: int) -> str | None:
    """The commit HEAD was about to move to in commit ``token``, if it got that far."""
    for event in events:
        if event.get("event") == "commit-made" and event.get("token") == token:
            return str(event["commit"])
    return None


def _kill_group(pid: int, ticks: int | None) -> bool:
    """SIGKILL the process group ``pid`` if it is still the one the dead run started."""
    leader = process_start_ticks(pid)
    if leader is not None and leader != ticks:
        return False  # the pid now names someone else's process
    if leader is None and not _group_exists(pid):
        return False
    # A pid is never reused while a group of that id has members, so this is still ours.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
        return True
    return False


def _kill_within(directory: str) -> list[int]:
    """SIGKILL the process group of every process working inside ``directory``."""
    groups = set()
    for cwd in Path("/proc").glob("[0-9]*/cwd"):
        try:
            where = os.readlink(cwd)
            if where == directory or where.startswith(directory + "/"):
                groups.add(os.getpgid(int(cwd.parent.name)))
        except OSError:
            continue
    groups.discard(os.getpgrp())
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
    return sorted(groups)


def _group_exists(pgid: int) -> bool:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2 :].split()
        if fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def _settle_commit(root: Path, event: Event, made: str | None, run: str) -> list[str]:
    lock = Path(event["lock"])
    try:
        info = lock.stat()
    except FileNotFoundError:
        return []  # the commit finished, or undid itself, before the process died
    if [info.st_dev, info.st_ino] != event["lock_id"]:
        return []  # not ours: a foreign index.lock is never deleted
    head = git(root, "rev-parse", "-q", "--verify", "HEAD", check=False).decode().strip()
    if made is not None and head == made:
        # HEAD already holds the commit; the index waiting in index.lock is complete.
        os.replace(lock, lock.with_name(lock.name.removesuffix(".lock")))
        return [f"completed the commit of {event['path']} by a {run} (index updated)"]
    lock.unlink()
    return [f"index.lock of a {run} (its commit of {event['path']} never happened)"]


def _settle_write(root: Path, common: Path, stem: str, event: Event, run: str) -> list[str]:
    target = Path(event["target"])
    done = []
    prefix = f".{target.name}."
    with contextlib.suppress(OSError):
        for temp in target.parent.iterdir():
            name = temp.name
            if name.startswith(prefix) and _TEMP_TAIL.fullmatch(name[len(prefix) :]):
                temp.unlink()
                done.append(f"temporary file {temp} of a {run}")
    current = _read_no_follow(target)
    if current is not None and digest(current) in (event["original"], event["new"]):
        which = "the fix" if digest(current) == event["new"] else "its original bytes"
        return [*done, f"write-back of {target} by a {run}: it holds {which}"]
    keep = recovered_dir(common) / f"{stem}-{event['token']}-{target.name}"
    keep.parent.mkdir(parents=True, exist_ok=True)
    if _keep_original(root, event, keep):
        saved = f"its original is saved at {keep}"
    else:
        saved = "its original could not be found (see the git object database)"
    message = (
        f"cannot vouch for {target}: a {run} was writing it and it now holds neither its "
        f"original nor the fix; left as it is, {saved}"
    )
    log.warning("%s", message)
    return [*done, message]


def _keep_original(root: Path, event: Event, keep: Path) -> bool:
    """Put the original of a write-back at ``keep``: its saved copy, or its blob from the
    object database (the snapshot's bytes). Whether it worked."""
    try:
        if "saved" in event:
            os.replace(event["saved"], keep)
        else:
            keep.write_bytes(git(root, "cat-file", "blob", str(event["blob"])))
    except (OSError, KeyError, ToolError):
        return False
    return True


def _read_no_follow(target: Path) -> bytes | None:
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        return handle.read()
