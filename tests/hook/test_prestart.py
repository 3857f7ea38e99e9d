"""stomper.prestart: a process started early is the one `subprocess.run` would have started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stomper import prestart
from stomper.tools import run_tool

LINUX_PROC = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
# Signals 1-31. glibc's posix_spawn leaves its own two internal signals (32 and 33) ignored
# in the child; the C library installs them again whenever it uses them.
STANDARD_SIGNALS = (1 << 31) - 1
NOISY = (
    "import sys\n"
    "sys.stdout.write('o' * 300_000)\n"
    "sys.stderr.write('e' * 300_000)\n"
    "raise SystemExit(3)\n"
)


@pytest.fixture(autouse=True)
def _nothing_left_started() -> object:
    yield
    prestart.discard()


def early_and_ordinary(argv: list[str], cwd: Path) -> tuple[object, object]:
    """run_tool's result with the process started early, then started as usual."""
    assert prestart.start(argv)
    early = run_tool(argv, cwd)
    assert prestart._started == {}
    return early, run_tool(argv, cwd)


def test_output_and_exit_code_are_those_of_an_ordinary_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    early, ordinary = early_and_ordinary([sys.executable, "-c", NOISY], tmp_path)
    assert early == ordinary
    assert early[0] == 3  # type: ignore[index]


def test_a_killed_process_reports_the_signal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    early, ordinary = early_and_ordinary([sys.executable, "-c", code], tmp_path)
    assert early == ordinary
    assert early[0] == -9  # type: ignore[index]


@LINUX_PROC
def test_no_descriptor_leaks_and_signals_are_reset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    read, write = os.pipe()
    os.set_inheritable(write, True)  # as a caller such as pre-commit may leave one
    try:
        code = (
            "import os\n"
            "status = open('/proc/self/status').read().splitlines()\n"
            "ignored = int(next(line for line in status if line.startswith('SigIgn'))[7:], 16)\n"
            "print(hex(ignored & STANDARD))\n"
            "print(sorted(int(fd) for fd in os.listdir('/proc/self/fd')))\n"
        ).replace("STANDARD", hex(STANDARD_SIGNALS))
        early, ordinary = early_and_ordinary([sys.executable, "-c", code], tmp_path)
    finally:
        os.close(read)
        os.close(write)
    assert early == ordinary
    assert str(write).encode() not in early[1].splitlines()[1]  # type: ignore[index]


def test_only_the_exact_command_in_the_exact_directory_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = [sys.executable, "-c", "print('early')"]
    assert prestart.start(argv)
    assert not prestart.start(argv)  # never twice
    assert prestart.take([*argv, "x"], str(tmp_path)) is None
    assert prestart.take(argv, str(tmp_path / "elsewhere")) is None
    assert run_tool(argv, tmp_path, env=dict(os.environ)).stdout == b"early\n"  # ran anew
    started = prestart.take(argv, str(tmp_path))
    assert started is not None
    assert started.communicate() == (0, b"early\n", b"")


def test_a_changed_environment_starts_the_command_anew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STOMPER_TEST_VALUE", raising=False)
    argv = [sys.executable, "-c", "import os; print(os.environ.get('STOMPER_TEST_VALUE'))"]
    assert prestart.start(argv)
    monkeypatch.setenv("STOMPER_TEST_VALUE", "set by a plugin")
    assert run_tool(argv, tmp_path).stdout == b"set by a plugin\n"
    assert len(prestart._started) == 1  # left for discard() to kill


def test_what_nobody_took_is_killed_and_reaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert prestart.start([sys.executable, "-c", "import time; time.sleep(60)"])
    (started,) = prestart._started.values()
    prestart.discard()
    assert prestart._started == {}
    with pytest.raises(ProcessLookupError):
        os.kill(started.pid, 0)


def test_a_program_that_cannot_start_is_not_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert not prestart.start([str(tmp_path / "missing"), "x"])
    assert prestart._started == {}
    completed = subprocess.run(["true"], check=False)  # nothing left in a broken state
    assert completed.returncode == 0
