"""The live display shows the files in flight and the closing summary; plain lines elsewhere."""

from __future__ import annotations

import asyncio
import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from fake_agents import FakeAgent, remove_unused_imports
from fix_support import UNUSED, make_project, use_agents
from rich.console import Console

from stomper import FixRequest
from stomper.cli import main
from stomper.commands import _fix_run
from stomper.progress import PlainDisplay
from stomper.progress_live import LiveDisplay
from stomper.testing import GitRepo
from stomper.types import FileResult


@pytest.fixture(autouse=True)
def isolated(private_tmpdir: Path) -> Path:
    return private_tmpdir


def text_of(display: LiveDisplay) -> str:
    """What the live area shows now, as plain text."""
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(display.render())
    return console.file.getvalue()  # type: ignore[attr-defined]


class BothInFlight:
    """An agent behaviour that waits until both files are in its hands, then looks at the
    display: no timing, the second call releases the first."""

    def __init__(self) -> None:
        self.display: LiveDisplay | None = None
        self.arrived = 0
        self.both = asyncio.Event()
        self.seen = ""

    async def __call__(self, request: FixRequest) -> None:
        self.arrived += 1
        if self.arrived == 2:
            assert self.display is not None
            self.seen = text_of(self.display)
            self.both.set()
        await self.both.wait()
        remove_unused_imports(request)


def test_the_live_display_shows_files_in_flight_and_the_summary(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(repo, {"one.py": UNUSED, "two.py": UNUSED})
    probe = BothInFlight()
    use_agents(monkeypatch, FakeAgent("fake", probe))
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)

    def live(args: object) -> LiveDisplay:
        probe.display = LiveDisplay(console, auto_refresh=False)
        return probe.display

    monkeypatch.setattr(_fix_run, "make_display", live)
    assert main(["fix", "-j", "2", "--no-commit"]) == 0
    assert "0/2 files done" in probe.seen
    assert "one.py  fixing with fake, attempt 1" in probe.seen
    assert "two.py  fixing with fake, attempt 1" in probe.seen
    output = screen.getvalue()
    for stage in ("preparing a sandbox", "fixing with fake", "validating", "writing back"):
        assert stage in output
    assert "2/2 files done: 2 fixed, 0 failed" in output
    assert "fixed            one.py  F401" in output
    summary = output[output.rindex("2 files with diagnostics") :]
    assert "Files" in summary
    assert "Rules" in summary
    assert "one.py" in summary
    assert "ruff F401" in summary
    assert "$0.0200 spent" in summary


def test_under_a_pseudo_terminal_the_command_draws_live(repo: GitRepo, tmp_path: Path) -> None:
    make_project(repo, {"one.py": UNUSED}, agents=("ruff-fix",))
    leader, follower = pty.openpty()
    env = os.environ | {"TERM": "xterm", "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "stomper", "fix", "--no-commit"],
        cwd=repo.path, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower, env=env,
    )  # fmt: skip
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the follower side closed: the process is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait() == 0
    output = b"".join(chunks).decode("utf-8", "replace")
    assert "\x1b[" in output  # drawn, not printed line by line
    assert "one.py" in output
    assert "files done" in output
    assert "\u2503" in output or "\u2502" in output  # the summary's table borders


def test_plain_lines_when_not_a_terminal_or_with_no_color(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_project(repo, {"one.py": UNUSED}, agents=("ruff-fix",))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["fix", "--no-commit", "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "\x1b[" not in out
    assert "  ... one.py: fixing with ruff-fix, attempt 1\n" in out
    assert "fixed            one.py  F401\n" in out


def test_quiet_prints_only_failures_and_the_summary() -> None:
    out = io.StringIO()
    display = PlainDisplay(out, quiet=True)
    display.stage("a.py", "fixing", "fake, attempt 1")
    display.file_done(FileResult("a.py", "fixed"))
    display.file_done(FileResult("b.py", "failed", error="the agent crashed"))
    assert out.getvalue() == "failed           b.py  [the agent crashed]\n"
    assert display.tally.headline().startswith("collecting diagnostics")
