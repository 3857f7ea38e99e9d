"""Fake agent executables: small Python scripts that record how they were started.

Each fake records its argv, cwd, environment, pid, what its stdin was (``devnull`` or
``pipe`` plus what it held), the prompt file aider is given, and the target file's content as
the agent could read it, to a JSON file; then it runs the behaviour the test chose.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from stomper import Diagnostic, FixRequest, build_prompt
from stomper.config import Config, default_config

TARGET = "pkg/mod.py"
TARGET_TEXT = "import os\nimport sys\n\n\nprint(sys.argv)\n"
CLAUDE_LIKE_RESULT = {"type": "result", "subtype": "success", "is_error": False, "result": "ok"}
DIAGNOSTIC = Diagnostic("ruff", TARGET, 1, 8, "F401", "`os` imported but unused")

_PRELUDE = """
import fcntl, json, os, stat, sys, time, subprocess, signal

RECORD = __RECORD__
TARGET = __TARGET__


def _stdin():
    mode = os.fstat(0).st_mode
    if stat.S_ISCHR(mode) and os.path.samestat(os.fstat(0), os.stat(os.devnull)):
        return "devnull", ""
    if stat.S_ISFIFO(mode):
        return "pipe", sys.stdin.read()
    return "other", ""


def _prompt_file():
    if "--message-file" in sys.argv:
        path = sys.argv[sys.argv.index("--message-file") + 1]
        with open(path, encoding="utf-8") as handle:
            return path, handle.read()
    return None, None


def _update(change):
    # Several fakes may run at once (concurrency tests): one writer at a time.
    with open(RECORD + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = {"runs": []}
        if os.path.exists(RECORD):
            with open(RECORD, encoding="utf-8") as handle:
                data = json.load(handle)
        change(data["runs"])
        with open(RECORD, "w", encoding="utf-8") as handle:
            json.dump(data, handle)


def record(**extra):
    kind, stdin_text = _stdin()
    path, prompt_file = _prompt_file()
    try:
        with open(TARGET, encoding="utf-8") as handle:
            seen = handle.read()
    except OSError:
        seen = None
    entry = dict(
        argv=sys.argv, cwd=os.getcwd(), env=dict(os.environ), pid=os.getpid(),
        stdin=kind, stdin_text=stdin_text, prompt_file_path=path, prompt_file=prompt_file,
        target_seen=seen, started=time.time(), **extra,
    )
    _update(lambda runs: runs.append(entry))


def note(**extra):
    def change(runs):
        next(run for run in runs if run["pid"] == os.getpid()).update(extra)
    _update(change)


def runs():
    with open(RECORD, encoding="utf-8") as handle:
        return len(json.load(handle)["runs"])


def emit(obj):
    print(json.dumps(obj), flush=True)


def edit(old, new):
    with open(TARGET, encoding="utf-8", newline="") as handle:
        text = handle.read()
    with open(TARGET, "w", encoding="utf-8", newline="") as handle:
        handle.write(text.replace(old, new))


def hang():
    while True:
        time.sleep(1)


record()
"""


class Fake(NamedTuple):
    """A fake executable and where it records what it saw."""

    path: Path
    record: Path

    def runs(self) -> list[dict[str, Any]]:
        """One entry per time the fake was started."""
        if not self.record.exists():
            return []
        runs: list[dict[str, Any]] = json.loads(self.record.read_text())["runs"]
        return runs

    def last(self) -> dict[str, Any]:
        """What the last start saw."""
        return self.runs()[-1]


MakeFake = Callable[[str], Fake]


def fake_factory(directory: Path) -> MakeFake:
    """Write fake executables into ``directory``; each one's behaviour is ``body``."""
    counter = iter(range(1000))

    def make(body: str) -> Fake:
        number = next(counter)
        record = directory / f"record-{number}.json"
        path = directory / "bin" / f"fake-agent-{number}"
        path.parent.mkdir(exist_ok=True)
        prelude = _PRELUDE.replace("__RECORD__", repr(str(record)))
        prelude = prelude.replace("__TARGET__", repr(TARGET))
        path.write_text(f"#!{sys.executable}\n{prelude}\n{textwrap.dedent(body)}\n")
        path.chmod(0o755)
        return Fake(path, record)

    return make


def make_config(root: Path, plugin: str, **options: Any) -> Config:
    """The default configuration with ``options`` for ``plugin``."""
    return default_config(root).replace(plugins={plugin: options})


def make_request(root: Path, **changes: Any) -> FixRequest:
    """A request to fix the target file, with the real prompt for its current content."""
    content = (root / TARGET).read_text()
    prompt = build_prompt(TARGET, content, (DIAGNOSTIC,), root=root)
    request = FixRequest(root, TARGET, (DIAGNOSTIC,), prompt=prompt, timeout=30.0)
    return request._replace(**changes)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs; a zombie nobody reaped (no init in the container) is dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if sys.platform.startswith("linux") and stat.exists():
        try:
            text = stat.read_text()
        except OSError:
            return False
        return text[text.rfind(")") + 2 :].split()[0] != "Z"
    return True
