"""Starting a tool before stomper has made sure it will run it, and handing it over if it does.

The pre-commit hook costs what its linters cost plus stomper's own start-up in front of them
(imports, configuration, plugins, file selection). :func:`start` runs a command line at once,
with nothing imported but :mod:`os` and :mod:`sys`, so that stomper's start-up overlaps the
linters instead of preceding them. :func:`stomper.tools.run_tool` then takes the running
process (:func:`take`) only when it is asked for exactly that command line in exactly that
directory, with the defaults a linter uses (inherited environment, no input, no time limit);
:func:`discard` kills whatever was not taken. So a wrong guess costs a wasted process, never
a different result.

A started process is the one ``subprocess.run(argv, cwd=os.getcwd(), stdin=DEVNULL,
capture_output=True)`` would start: same arguments, directory and environment, stdin on
``/dev/null``, stdout and stderr on pipes, the signals Python ignores (SIGPIPE, SIGXFSZ) back
to their defaults, no other descriptor inherited. (glibc's posix_spawn leaves its two internal
signals ignored; the C library installs them again whenever it uses them.) ``posix_spawn``
rather than :mod:`subprocess` because importing subprocess (locale, re, enum, threading)
costs more than starting the process. Where ``posix_spawn`` is missing, nothing starts early.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not `from typing import`: typing costs more than this whole module
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Started", "discard", "start", "take"]

# Descriptors 0-2 of the child; anything the pipes are given at or below this is refused.
_STANDARD_FDS = 2
_CHUNK = 65536


class Started:
    """A process :func:`start` started: its id and the read ends of its stdout and stderr."""

    def __init__(self, pid: int, stdout: int, stderr: int, environ: dict[str, str]) -> None:
        self.pid = pid
        self.pipes = [stdout, stderr]
        self.environ = environ  # as it was when the process started
        self.reaped = False

    def communicate(self) -> tuple[int, bytes, bytes]:
        """Wait for it: (exit code as :mod:`subprocess` gives it, stdout, stderr).

        Both pipes are drained at once (stderr in a thread), so a tool that fills one while
        stomper reads the other cannot block. Interrupted (Ctrl-C), it kills the process
        first, as ``subprocess.run`` does.
        """
        import threading

        stdout, stderr = self.pipes
        errors: list[bytes | OSError] = []

        def read_errors() -> None:
            try:
                errors.append(_drain(stderr))
            except OSError as error:  # raised below, in the caller's thread
                errors.append(error)

        reader = threading.Thread(target=read_errors, daemon=True)
        try:
            reader.start()
            output = _drain(stdout)
            reader.join()
            code = self._reap()
        except BaseException:
            self.kill()
            raise
        self._close()
        if isinstance(errors[0], OSError):
            raise errors[0]
        return code, output, errors[0]

    def kill(self) -> None:
        """Kill and reap it (it may have finished already), then close its pipes."""
        if not self.reaped:  # once reaped, its id may belong to another process
            os.kill(self.pid, _signal_number("SIGKILL") or 9)  # a zombie too can be signalled
            self._reap()
        self._close()

    def _reap(self) -> int:
        """Wait for the process to end: its exit code, or minus the signal that ended it."""
        _, status = os.waitpid(self.pid, 0)
        self.reaped = True
        return os.waitstatus_to_exitcode(status)

    def _close(self) -> None:
        # Each descriptor once: closed twice, its number may by then be another thread's file.
        pipes, self.pipes = self.pipes, []
        _close(*pipes)


_started: dict[tuple[tuple[str, ...], str], Started] = {}


def start(argv: Sequence[str]) -> bool:
    """Start ``argv`` (``argv[0]`` a path) in the current directory; whether it was started.

    A command line already started and not yet taken is not started twice. Failing to start
    (no ``posix_spawn``, a missing program, descriptors that cannot be made private) is not an
    error: the tool then starts when it is asked for, as it always did.
    """
    spawn = getattr(os, "posix_spawn", None)
    key = (tuple(argv), os.getcwd())
    if spawn is None or key in _started or not _descriptors_private():
        return False
    environ = dict(os.environ)
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    try:
        if min(out_read, out_write, err_read, err_write) <= _STANDARD_FDS:
            raise OSError("a standard descriptor is closed")  # dup2 onto itself would leak it
        pid = spawn(
            argv[0],
            list(argv),
            environ,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDWR, 0),
                (os.POSIX_SPAWN_DUP2, out_write, 1),
                (os.POSIX_SPAWN_DUP2, err_write, 2),
            ],
            setsigdef=_defaulted_signals(),
        )
    except OSError:
        _close(out_read, err_read)
        return False
    finally:
        _close(out_write, err_write)
    _started[key] = Started(pid, out_read, err_read, environ)
    return True


def take(argv: Sequence[str], cwd: str) -> Started | None:
    """The process :func:`start` started for exactly ``argv`` in ``cwd``, handed over once,
    provided the environment is still the one it started with (a plugin may have set a
    variable the tool reads since); else None, and :func:`discard` kills it."""
    key = (tuple(argv), cwd)
    started = _started.get(key)
    if started is None or started.environ != os.environ:
        return None
    return _started.pop(key)


def discard() -> None:
    """Kill every started process nobody took (a guess that turned out wrong)."""
    while _started:
        _, started = _started.popitem()
        started.kill()


def _descriptors_private() -> bool:
    """Make every descriptor above 2 close on exec, as ``close_fds=True`` would in the child.

    Python opens its own descriptors that way; ones inherited from the caller (pre-commit,
    git) may not be. stomper never relies on passing them on: :mod:`subprocess` closes them
    in every child anyway. False when the open descriptors cannot be listed.
    """
    for directory in ("/proc/self/fd", "/dev/fd"):
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        for name in names:
            fd = int(name)
            if fd > _STANDARD_FDS:
                try:  # noqa: SIM105 - contextlib would be an import before the start
                    os.set_inheritable(fd, False)
                except OSError:  # the listing's own descriptor, closed by now
                    pass
        return True
    return False


def _defaulted_signals() -> list[int]:
    """The signals :mod:`subprocess` resets in a child (``restore_signals``): Python ignores
    them, and an ignored signal stays ignored across exec."""
    names = ("SIGPIPE", "SIGXFZ", "SIGXFSZ")
    return [number for name in names if (number := _signal_number(name)) is not None]


def _signal_number(name: str) -> int | None:
    # `_signal` is loaded at interpreter start; `signal` would import enum.
    module = sys.modules.get("_signal") or sys.modules.get("signal")
    if module is None:
        import signal as module
    number = getattr(module, name, None)
    return number if isinstance(number, int) else None


def _drain(fd: int) -> bytes:
    """Everything the pipe ``fd`` holds until the writer closes it."""
    chunks = []
    while chunk := os.read(fd, _CHUNK):
        chunks.append(chunk)
    return b"".join(chunks)


def _close(*fds: int) -> None:
    for fd in fds:
        try:  # noqa: SIM105 - contextlib would be an import before the start
            os.close(fd)
        except OSError:  # closed already
            pass
