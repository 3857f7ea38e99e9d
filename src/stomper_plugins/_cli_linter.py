"""What the built-in ``ruff`` and ``mypy`` linters share: running a command-line linter.

Options from ``[tool.stomper.plugins.<name>]`` (``executable``, ``args``), finding the tool,
passing many paths safely, mapping the paths a tool prints back to the ones asked for, and
summarising a failed tool's output in one line. Uses only the public ``stomper`` API.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import Any

from stomper import ConfigError, LinterError, ToolError, ToolResult, find_executable, run_tool
from stomper_plugins._options import reject_unknown, string_option

# Beyond this many characters of paths, pass them through an argument file (`@file`, one
# per line; ruff and mypy both read one) rather than argv: Windows caps a whole command
# line at 32,767 characters, Linux a single argv at ~2 MB including the environment.
ARGV_BUDGET = 24_000
# POSIX paths compare as plain strings (Windows ones ignore case: PurePath compares those).
_POSIX_PATHS = os.name == "posix"


class ToolOptions:
    """The validated ``executable`` and ``args`` options of one linter plugin."""

    def __init__(self, plugin: str, options: Mapping[str, Any]) -> None:
        reject_unknown(plugin, options, ("executable", "args"))
        self.plugin = plugin
        self.executable = string_option(plugin, options, "executable")
        self.args = self._strings(options, "args")

    def program(self) -> str:
        """The tool to run: ``executable`` if set, else beside the running Python, else PATH."""
        wanted = self.executable or self.plugin
        found = wanted if "/" in wanted or os.sep in wanted else find_executable(wanted)
        if found is None or not os.path.isfile(found):
            raise LinterError(
                self.plugin,
                f"{wanted} not found (looked beside {sys.executable} and on PATH); install it "
                f"in the project's environment (pip install {self.plugin}) or set "
                f"[tool.stomper.plugins.{self.plugin}] executable",
            )
        return found

    def _strings(self, options: Mapping[str, Any], key: str) -> tuple[str, ...]:
        value = options.get(key, ())
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            where = f"[tool.stomper.plugins.{self.plugin}] {key}"
            raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
        return tuple(value)


def run(plugin: str, argv: Sequence[str], root: Path) -> ToolResult:
    """Run a linter in ``root``; failing to start it is a :class:`LinterError`."""
    try:
        return run_tool(argv, root)
    except ToolError as error:
        raise LinterError(plugin, str(error)) from error


@contextmanager
def path_arguments(paths: Sequence[str]) -> Iterator[list[str]]:
    """``paths`` as arguments: on argv when short, else through a temporary ``@`` file."""
    # "./" keeps a path that starts with "-" or "@" from being read as an option or argfile.
    safe = [f"./{path}" if path[:1] in ("-", "@") else path for path in paths]
    if sum(len(path) + 1 for path in safe) <= ARGV_BUDGET:
        yield safe
        return
    import tempfile  # only for long path lists: start-up cost matters to the hook

    encoding, errors = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
    with tempfile.TemporaryDirectory(prefix="stomper-") as directory:
        argfile = Path(directory, "paths.txt")
        argfile.write_text("".join(f"{path}\n" for path in safe), encoding, errors)
        yield [f"@{argfile}"]


class PathMap:
    """Turns the file names a tool prints back into the caller's relative paths.

    Tools print names relative to their working directory or absolute, and join relative
    names to the *real* working directory, so a root behind a symlink (/tmp on macOS) comes
    back spelled through its target. Comparing real paths maps every spelling back to the
    path that was asked for; names that were not asked for map to None.
    """

    def __init__(self, root: Path, paths: Sequence[str]) -> None:
        self.root = os.path.abspath(root)
        self.real_root = os.path.realpath(root)
        self.paths = tuple(paths)
        self.wanted = set(paths)
        self.bases = (PurePath(self.root), PurePath(self.real_root))
        # On POSIX a name under a base is the base, "/" and the relative path: a string prefix
        # does what the PurePath comparisons below do (but for a root of "/" or "//").
        bases = (self.root, self.real_root)
        plain = _POSIX_PATHS and not any(base.endswith("/") for base in bases)
        self.prefixes = tuple(dict.fromkeys(f"{base}/" for base in bases)) if plain else ()
        self._by_real: dict[str, str] | None = None  # built on the first name needing it
        self.seen: dict[str, str | None] = {}

    @property
    def by_real(self) -> dict[str, str]:
        """Each requested path by its real path (resolving symlinks costs a few system calls
        per path, so only when some name matched no requested path as spelled)."""
        if self._by_real is None:
            root = self.root
            self._by_real = {os.path.realpath(Path(root, path)): path for path in self.paths}
        return self._by_real

    def __call__(self, reported: str) -> str | None:
        """``reported`` as one of the requested paths, or None."""
        try:
            return self.seen[reported]  # a file with many diagnostics is looked up once
        except KeyError:
            found = self.seen[reported] = self._locate(reported)
            return found

    def _locate(self, reported: str) -> str | None:
        normal = os.path.normpath(os.path.join(self.root, reported))
        for prefix in self.prefixes:
            if normal.startswith(prefix) and normal[len(prefix) :] in self.wanted:
                return normal[len(prefix) :]
        absolute = PurePath(normal)
        for base in self.bases:
            if absolute.is_relative_to(base):
                relative = absolute.relative_to(base).as_posix()
                if relative in self.wanted:
                    return relative
        return self.by_real.get(os.path.realpath(absolute))


def summary(output: bytes | str, limit: int = 300) -> str:
    """A tool's output in one line: its first line naming an error, else its last line."""
    text = output.decode(errors="replace") if isinstance(output, bytes) else output
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return "no output"
    errors = [line for line in lines if "error" in line.lower()]
    line = errors[0] if errors else lines[-1]
    return line if len(line) <= limit else line[: limit - 3] + "..."
