"""stomper: fix what linters and type checkers report, proving every fix in a git sandbox.

The public API for plugin authors is what this module exports, plus :mod:`stomper.testing`.
Importing it stays cheap: no langgraph, no rich.
"""

from __future__ import annotations

from stomper.config import Config
from stomper.errors import ConfigError, FatalError, LinterError, PluginError, ToolError, UsageError
from stomper.hookspecs import hookimpl
from stomper.tools import ToolResult, find_executable, run_tool
from stomper.types import (
    Agent,
    AgentKind,
    ChangedPath,
    Diagnostic,
    FileResult,
    FileStatus,
    FixOutcome,
    FixRequest,
    Linter,
    ValidationContext,
    Validator,
    Verdict,
)

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "AgentKind",
    "ChangedPath",
    "Config",
    "ConfigError",
    "Diagnostic",
    "FatalError",
    "FileResult",
    "FileStatus",
    "FixOutcome",
    "FixRequest",
    "Linter",
    "LinterError",
    "PluginError",
    "ToolError",
    "ToolResult",
    "UsageError",
    "ValidationContext",
    "Validator",
    "Verdict",
    "__version__",
    "find_executable",
    "hookimpl",
    "run_tool",
]
