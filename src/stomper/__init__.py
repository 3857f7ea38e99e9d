"""stomper: fix what linters and type checkers report, proving every fix in a git sandbox.

The public API for plugin authors is what this module exports, plus :mod:`stomper.testing`.
Importing it costs next to nothing: every name is loaded from its module on first use
(:pep:`562`), so ``stomper --version`` and the pre-commit hook's no-op path never import
asyncio (agent processes), the prompt templates or the secret scanner they do not use.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # not `from typing import`: typing alone costs more than the rest

if TYPE_CHECKING:
    from stomper.agent_process import ProcessResult, agent_env, run_agent_process
    from stomper.config import Config
    from stomper.errors import (
        ConfigError,
        FatalError,
        LinterError,
        PluginError,
        ToolError,
        UsageError,
    )
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
        BatchAgent,
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

# Public name -> (module, name there). Kept in step with the TYPE_CHECKING imports above by
# tests/test_perf_correctness.py.
_LAZY: dict[str, tuple[str, str]] = {
    **{name: ("stomper.agent_process", name)
       for name in ("ProcessResult", "agent_env", "run_agent_process")},
    "Config": ("stomper.config", "Config"),
    **{name: ("stomper.errors", name) for name in
       ("ConfigError", "FatalError", "LinterError", "PluginError", "ToolError", "UsageError")},
    "hookimpl": ("stomper.hookspecs", "hookimpl"),
    **{name: ("stomper.prompts", name)
       for name in ("PROMPT_VERSION", "build_prompt", "system_prompt")},
    "SecretFinding": ("stomper.secrets", "Finding"),
    "is_denied": ("stomper.secrets", "is_denied"),
    "redact_secrets": ("stomper.secrets", "redact"),
    "restore_secrets": ("stomper.secrets", "restore"),
    "scan_secrets": ("stomper.secrets", "scan"),
    **{name: ("stomper.tools", name) for name in ("ToolResult", "find_executable", "run_tool")},
    **{name: ("stomper.types", name) for name in (
        "Agent", "AgentKind", "BatchAgent", "ChangedPath", "Diagnostic", "FileResult", "FileStatus",
        "FixOutcome", "FixRequest", "Linter", "ValidationContext", "Validator", "Verdict")},
}  # fmt: skip


def __getattr__(name: str) -> object:
    """Load a public name from its module the first time it is asked for."""
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        # AttributeError, not KeyError: `from stomper import journal` then imports the
        # submodule, as it does for a package without __getattr__.
        raise AttributeError(f"module 'stomper' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module_name), attribute)
    globals()[name] = value  # the next lookup is an ordinary attribute read
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "PROMPT_VERSION",
    "Agent",
    "AgentKind",
    "BatchAgent",
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
