"""The one family of failures a user must act on.

The CLI turns each into a single line and an exit code, in one place (``stomper.cli``).
"""

from __future__ import annotations


class FatalError(Exception):
    """A failure that ends the command with a one-line message and ``exit_code``."""

    exit_code = 2


class UsageError(FatalError):
    """Bad command-line input: unknown path, conflicting flags, not a git repository."""


class ConfigError(FatalError):
    """Bad ``[tool.stomper]`` configuration: malformed TOML, unknown key, wrong type or value."""


class PluginError(FatalError):
    """A plugin failed to load or registered a name that is already taken."""


class ToolError(FatalError):
    """An external tool (ruff, mypy, git, an agent CLI) is missing or crashed."""


class LinterError(ToolError):
    """A linter is missing or crashed; never reported as "no problems"."""

    def __init__(self, linter: str, message: str) -> None:
        super().__init__(f"{linter}: {message}")
        self.linter = linter
