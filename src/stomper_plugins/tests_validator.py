"""Built-in plugin ``pytest``: the ``tests`` validator, by ``test_validation``.

- ``none``: every candidate passes ("tests not run");
- ``related``: pytest runs, in the sandbox, the test files related to the target: named
  ``test_<module>.py`` or ``<module>_test.py``, or importing the module (a cheap text search
  for its dotted name); a target that is itself a test file runs itself. None found: pass;
- ``full``: pytest runs the whole suite in the sandbox.

pytest runs as ``<python> -m pytest -x -q -p no:cacheprovider`` with the project's Python (the
one running stomper, which lives in the project's environment), the sandbox's ``src/`` and
root first on ``PYTHONPATH`` so the candidate is imported rather than an installed copy, no
``GIT_*`` variables, no bytecode written, and the whole process group killed at the timeout.
Exit codes 0 and 5 (no tests collected) pass; anything else is a reject with the output's tail.

Options, in ``[tool.stomper.plugins.pytest]``: ``timeout`` (seconds, default 600) and
``python`` (the interpreter to run pytest with, default the running one).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from stomper import ValidationContext, Verdict, hookimpl
from stomper_plugins._options import number_option, reject_unknown, string_option

if TYPE_CHECKING:
    from stomper import Config, Validator

PLUGIN = "pytest"
PYTEST_FLAGS = ("-x", "-q", "-p", "no:cacheprovider")
PASSING_EXIT_CODES = (0, 5)
# Directories that hold no project tests, or that pytest would not collect anyway.
_SKIP_DIRS = frozenset(
    {"node_modules", "__pycache__", "build", "dist", "site-packages", "venv", "env"}
)
_TAIL_LINES = 40
_TAIL_CHARS = 4000


@hookimpl
def stomper_register_validators(register: Callable[[Validator], None], config: Config) -> None:
    """Register the ``tests`` validator for the configured ``test_validation`` mode."""
    options = config.plugin_options(PLUGIN)
    reject_unknown(PLUGIN, options, ("timeout", "python"))
    timeout = number_option(PLUGIN, options, "timeout", 600.0, minimum=1.0)
    python = string_option(PLUGIN, options, "python") or sys.executable
    register(PytestValidator(config.test_validation, python, timeout))


class PytestValidator:
    """The project's tests still pass with the candidate in place."""

    name = "tests"

    def __init__(self, mode: str, python: str, timeout: float) -> None:
        self.mode = mode
        self.python = python
        self.timeout = timeout

    @property
    def batchable(self) -> bool:
        """Only while no test runs: tests see the whole sandbox, other files' fixes too."""
        return self.mode == "none"

    def validate(self, context: ValidationContext) -> Verdict:
        """Run the related tests or the whole suite in the sandbox, as configured."""
        if self.mode == "none":
            return Verdict(True, "tests not run", self.name)
        tests: list[str] = []
        if self.mode == "related":
            tests = related_tests(context.root, context.path)
            if not tests:
                return Verdict(True, f"no tests related to {context.path}", self.name)
        argv = [self.python, "-m", "pytest", *PYTEST_FLAGS, *tests]
        returncode, output = run_pytest(argv, context.root, self.timeout)
        which = ", ".join(tests) if tests else "the whole suite"
        if returncode is None:
            return Verdict(False, f"tests timed out after {self.timeout:g} s: {which}", self.name)
        if returncode in PASSING_EXIT_CODES:
            return Verdict(True, f"tests passed: {which}", self.name)
        message = f"tests failed (pytest exit code {returncode}) in {which}:\n{_tail(output)}"
        return Verdict(False, message, self.name)


def related_tests(root: Path, path: str) -> list[str]:
    """Test files under ``root`` that test the module at ``path`` (POSIX, relative)."""
    stem = PurePosixPath(path).stem
    names = {f"test_{stem}.py", f"{stem}_test.py"} if stem != "__init__" else set()
    imports = _import_pattern(module_name(root, path))
    found = []
    for test in find_test_files(root):
        if test == path or PurePosixPath(test).name in names or _imports(root / test, imports):
            found.append(test)
    return sorted(found)


def module_name(root: Path, path: str) -> str:
    """The dotted name ``path`` is imported by: its package chain (``__init__.py``) + stem."""
    parts = list(PurePosixPath(path).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    directory = PurePosixPath(path).parent
    depth = 0  # how many enclosing directories are packages
    while directory.parts and (root / directory / "__init__.py").is_file():
        depth += 1
        directory = directory.parent
    keep = depth if PurePosixPath(path).stem == "__init__" else depth + 1
    return ".".join(parts[-keep:]) if keep else ""


def find_test_files(root: Path) -> Iterator[str]:
    """POSIX paths of ``test_*.py`` and ``*_test.py`` files, skipping hidden and tool dirs."""
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [d for d in subdirs if not d.startswith(".") and d not in _SKIP_DIRS]
        for name in files:
            if name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py")):
                yield Path(directory, name).relative_to(root).as_posix()


def run_pytest(argv: Sequence[str], root: Path, timeout: float) -> tuple[int | None, str]:
    """Run pytest in ``root``; ``(exit code, output)``, exit code None on timeout."""
    process = subprocess.Popen(
        argv,
        cwd=root,
        env=_test_env(root),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # so a timeout kills the tests' own children too
    )
    returncode: int | None = None
    try:
        output, _ = process.communicate(timeout=timeout)
        returncode = process.returncode
    except subprocess.TimeoutExpired:
        _kill_group(process)
        output = _drain(process)
    finally:
        if process.poll() is None:
            _kill_group(process)
            process.wait()
    return returncode, output.decode(errors="replace")


def _import_pattern(module: str) -> re.Pattern[bytes] | None:
    if not module:
        return None
    dotted = re.escape(module.encode())
    alternatives = [rb"\bimport\s+" + dotted + rb"\b", rb"\bfrom\s+" + dotted + rb"\b"]
    if "." in module:
        parent, _, stem = module.rpartition(".")
        name = re.escape(stem.encode())
        # from pkg import a, mod  /  from pkg import (\n a,\n mod,\n)
        from_parent = rb"\bfrom\s+" + re.escape(parent.encode()) + rb"\s+import\s+"
        alternatives.append(from_parent + rb"(\([^)]*|[^\n]*)\b" + name + rb"\b")
        # mock.patch("pkg.mod.attr"), importlib.import_module("pkg.mod")
        alternatives.append(rb"[\"']" + dotted + rb"[.\"']")
    return re.compile(b"|".join(alternatives))


def _imports(test: Path, pattern: re.Pattern[bytes] | None) -> bool:
    if pattern is None:
        return False
    try:
        return pattern.search(test.read_bytes()) is not None
    except OSError:
        return False


def _test_env(root: Path) -> dict[str, str]:
    # GIT_* from a git hook would point the tests' git calls at the user's repository.
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    first = [str(root / "src")] if (root / "src").is_dir() else []
    rest = [env["PYTHONPATH"]] if env.get("PYTHONPATH") else []
    env["PYTHONPATH"] = os.pathsep.join([*first, str(root), *rest])
    # __pycache__ written into the sandbox would show up as new files.
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows has no process groups
            process.kill()
    except ProcessLookupError:
        pass


def _drain(process: subprocess.Popen[bytes]) -> bytes:
    # A grandchild that left the process group may hold the pipe open: do not wait forever.
    try:
        output, _ = process.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        return b""
    return output


def _tail(output: str) -> str:
    text = "\n".join(output.rstrip().splitlines()[-_TAIL_LINES:])
    return text if len(text) <= _TAIL_CHARS else "..." + text[-_TAIL_CHARS:]
