"""stomper: fix what linters and type checkers report, proving every fix in a git sandbox.

The public API for plugin authors is what this module exports, plus :mod:`stomper.testing`.
Importing it stays cheap: no langgraph, no rich.
"""

from __future__ import annotations

from stomper.agent_process import ProcessResult, agent_env, run_agent_process
from stomper.config import Config
from stomper.errors import ConfigError, FatalError, LinterError, PluginError, ToolError, UsageError
from stomper.hookspecs import hookimpl
from stomper.prompts import PROMPT_VERSION, build_prompt, system_prompt
from stomper.secrets import Finding as SecretFinding
from stomper.secrets import is_denied
from stomper.secrets import redact as redact_secrets
from stomper.secrets import restore as restore_secrets
from stomper.secrets import scan as scan_secrets
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
    "PROMPT_VERSION",
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
    "ProcessResult",
    "SecretFinding",
    "ToolError",
    "ToolResult",
    "UsageError",
    "ValidationContext",
    "Validator",
    "Verdict",
    "__version__",
    "agent_env",
    "build_prompt",
    "find_executable",
    "hookimpl",
    "is_denied",
    "redact_secrets",
    "restore_secrets",
    "run_agent_process",
    "run_tool",
    "scan_secrets",
    "system_prompt",
]
