"""Running an AI agent's command-line tool safely: the one place that starts agent processes.

An agent CLI is untrusted code with the user's credentials. It runs with cwd = the sandbox,
stdin closed unless the prompt goes there (codex hangs forever on an open stdin), in its own
process group (so the whole tree can be killed, grandchildren included), with a scrubbed
environment, under a wall-clock timeout, with its output capped in memory, and with an
optional early-exit hook for CLIs that print their result and then never exit (cursor-agent).
Whatever happens (success, timeout, cancellation), the process group is gone when
:func:`run_agent_process` returns or raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from stomper import journal
from stomper.errors import ToolError
from stomper.faults import afault

# What any program needs to run at all; credentials are added per backend, never wholesale.
BASE_ENV_ALLOW = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TERM",
    "TZ",
    "TMPDIR",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    # Backends reach their API through the user's proxy and trust store.
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    # Windows cannot start most programs without these.
    "SYSTEMROOT",
    "COMSPEC",
    "PATHEXT",
    "APPDATA",
    "LOCALAPPDATA",
    "USERPROFILE",
)
DEFAULT_OUTPUT_LIMIT = 1024 * 1024
DEFAULT_KILL_GRACE = 2.0
# How long a CLI that declared itself done may take to exit on its own before it is killed.
DONE_SETTLE = 0.5
_POLL = 0.05
_CHUNK = 64 * 1024
_MAX_LINE = 8 * 1024 * 1024


class ProcessResult(NamedTuple):
    """How an agent process ended. ``returncode`` is negative when a signal ended it."""

    returncode: int
    stdout: str
    stderr: str
    timed_out: bool
    duration: float
    finished_early: bool = False
    truncated: bool = False


def agent_env(allow: Iterable[str] = (), base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for an agent: :data:`BASE_ENV_ALLOW` plus ``allow``, nothing else.

    Names ending in ``*`` are prefixes (``CLAUDE_CODE_*``). ``GIT_*`` never passes, whatever
    ``allow`` says: under a git hook those variables point at the commit being made.
    """
    source = os.environ if base is None else base
    patterns = (*BASE_ENV_ALLOW, *allow)
    exact = {pattern for pattern in patterns if not pattern.endswith("*")}
    prefixes = tuple(pattern[:-1] for pattern in patterns if pattern.endswith("*"))
    return {
        name: value
        for name, value in source.items()
        if not name.startswith("GIT_") and (name in exact or name.startswith(prefixes))
    }


class OutputBuffer:
    """Keeps the first and the last ``limit`` bytes of a stream, so memory stays bounded."""

    def __init__(self, limit: int = DEFAULT_OUTPUT_LIMIT) -> None:
        self.limit = limit
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        """Append ``chunk``, dropping the middle once more than ``2 * limit`` bytes arrived."""
        room = self.limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        excess = len(self.tail) - self.limit
        if excess > 0:
            del self.tail[:excess]
            self.dropped += excess

    def text(self) -> str:
        """Everything kept, decoded; a marker stands where bytes were dropped."""
        marker = f"\n[... {self.dropped} bytes dropped ...]\n".encode() if self.dropped else b""
        return bytes(self.head + marker + self.tail).decode("utf-8", "replace")


class _LineWatcher:
    """Splits streamed stdout into lines and asks ``done`` about each complete one."""

    def __init__(self, done: Callable[[str], bool], event: asyncio.Event) -> None:
        self.done = done
        self.event = event
        self.partial = bytearray()

    def feed(self, chunk: bytes) -> None:
        if b"\n" not in chunk:
            # No line ends here: keep collecting, but never more than one long line's worth.
            self.partial += chunk
            if len(self.partial) > _MAX_LINE:
                self.partial.clear()
            return
        self.partial += chunk
        *lines, rest = bytes(self.partial).split(b"\n")
        self.partial = bytearray(rest if len(rest) <= _MAX_LINE else b"")
        for line in lines:
            if not self.event.is_set() and self.done(line.decode("utf-8", "replace")):
                self.event.set()

    def close(self) -> None:
        self.feed(b"\n")


async def run_agent_process(
    argv: Sequence[str],
    cwd: Path,
    *,
    env: Mapping[str, str],
    timeout: float,
    stdin: bytes | None = None,
    done: Callable[[str], bool] | None = None,
    output_limit: int = DEFAULT_OUTPUT_LIMIT,
    kill_grace: float = DEFAULT_KILL_GRACE,
) -> ProcessResult:
    """Run ``argv`` in ``cwd`` and return how it ended; its whole process group is killed.

    ``done(line)`` sees each stdout line as it streams; once it returns True the process
    gets :data:`DONE_SETTLE` seconds to exit, then its group is terminated. After
    ``timeout`` seconds the group gets SIGTERM, then SIGKILL ``kill_grace`` seconds later;
    the same happens on cancellation. A program that cannot start is a :class:`ToolError`.
    """
    started = time.monotonic()
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env),
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as error:
        raise ToolError(f"{argv[0]} could not be started: {error}") from error
    done_event = asyncio.Event()
    out, err = OutputBuffer(output_limit), OutputBuffer(output_limit)
    watcher = _LineWatcher(done, done_event) if done is not None else None
    tasks = [
        asyncio.ensure_future(_pump(process.stdout, out, watcher)),
        asyncio.ensure_future(_pump(process.stderr, err, None)),
    ]
    if stdin is not None:
        tasks.append(asyncio.ensure_future(_feed(process, stdin)))
    timed_out = False
    journal.process_started(process.pid)  # a killed stomper's next start kills the group
    try:
        await afault("agent-running")
        timed_out = not await _wait_exit(process, done_event, started + timeout)
    finally:
        await _terminate_group(process, kill_grace)
        journal.process_ended(process.pid)
        await _drain(tasks, kill_grace)
    returncode = process.returncode if process.returncode is not None else -signal.SIGKILL
    return ProcessResult(
        returncode=returncode,
        stdout=out.text(),
        stderr=err.text(),
        timed_out=timed_out,
        duration=time.monotonic() - started,
        finished_early=done_event.is_set(),
        truncated=bool(out.dropped or err.dropped),
    )


async def _wait_exit(
    process: asyncio.subprocess.Process, done_event: asyncio.Event, deadline: float
) -> bool:
    """Wait for exit or a declared "done"; False when the deadline passed first.

    Polls ``returncode`` rather than awaiting ``wait()``: on some Pythons ``wait()`` also
    waits for the pipes, which a grandchild may hold open long after the agent exited.
    """
    settle_until: float | None = None
    while process.returncode is None:
        now = time.monotonic()
        if done_event.is_set():
            settle_until = settle_until or min(now + DONE_SETTLE, deadline)
            if now >= settle_until:
                return True
        if now >= deadline:
            return False
        await asyncio.sleep(_POLL)
    return True


async def _pump(
    stream: asyncio.StreamReader | None, buffer: OutputBuffer, watcher: _LineWatcher | None
) -> None:
    if stream is None:
        return
    while chunk := await stream.read(_CHUNK):
        buffer.add(chunk)
        if watcher is not None:
            watcher.feed(chunk)
    if watcher is not None:
        watcher.close()


async def _feed(process: asyncio.subprocess.Process, data: bytes) -> None:
    writer = process.stdin
    if writer is None:
        return
    # An agent that exits without reading its stdin is its own business, not an error.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        writer.write(data)
        await writer.drain()
    writer.close()


async def _drain(tasks: Sequence[asyncio.Future[None]], grace: float) -> None:
    """Let the readers reach end of file; a pipe held by an escaped process is abandoned."""
    _finished, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, OSError):
            await task


async def _terminate_group(process: asyncio.subprocess.Process, grace: float) -> None:
    """SIGTERM to the group, SIGKILL after ``grace``; a second cancellation still kills."""
    try:
        if not _group_alive(process):
            return
        _signal_group(process, signal.SIGTERM)
        if await _group_gone(process, grace):
            return
    finally:
        # Reached on every path, including a cancellation that interrupted the grace period.
        if _group_alive(process):
            _signal_group(process, signal.SIGKILL)
    await _group_gone(process, 1.0)


async def _group_gone(process: asyncio.subprocess.Process, within: float) -> bool:
    deadline = time.monotonic() + within
    while _group_alive(process):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(_POLL)
    return True


def _group_alive(process: asyncio.subprocess.Process) -> bool:
    if sys.platform == "win32":  # pragma: no cover - no process groups there
        return process.returncode is None
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        # The group id was reused by someone else's process: ours is gone.
        return False
    return _has_live_member(process.pid)


def _has_live_member(pgid: int) -> bool:
    """False when every member left is a zombie: an init that never reaps must not stall us."""
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            return True
    return False


def _signal_group(process: asyncio.subprocess.Process, signum: int) -> None:
    if sys.platform == "win32":  # pragma: no cover - no process groups there
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
