"""``[tool.stomper]`` in pyproject.toml, read into a frozen :class:`Config`.

Every key is declared once in :data:`KEYS` with its type, default and documentation; the docs'
configuration reference is checked against that table. Unknown keys, wrong types and bad
values are :class:`ConfigError` naming the key and the file. Command-line flags override the
file through :func:`load_config`'s ``overrides``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple

from stomper.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

TestValidation = Literal["none", "related", "full"]
TEST_VALIDATION_CHOICES = ("none", "related", "full")
DEFAULT_COMMIT_STYLE = "fix(lint): resolve {codes} in {path}"
DEFAULT_DENY = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "*.p12",
    "*.pfx",
    ".netrc",
    ".pypirc",
)


class Key(NamedTuple):
    """One configuration key: its type (for checking and docs), default and meaning."""

    kind: str
    default: Any
    doc: str
    choices: tuple[str, ...] = ()


KEYS: dict[str, Key] = {
    "linters": Key("list[str]", ("ruff", "mypy"), "Linters to run, by name."),
    "agents": Key(
        "list[str]",
        ("ruff-fix",),
        "The agent chain, in order: deterministic fixers first, then AI agents.",
    ),
    "validators": Key(
        "list[str]",
        ("syntax", "scope", "no-suppression", "relint", "tests"),
        "Validators every candidate fix must pass.",
    ),
    "disable": Key("list[str]", (), "Plugins to block by name (built-in or third-party)."),
    "max_parallel_files": Key(
        "int", 4, "AI agent calls at once (--jobs); twice as many files are under way."
    ),
    "max_attempts": Key("int", 2, "AI attempts per file, each told what the last one left."),
    "test_validation": Key(
        "str", "none", "Run tests on each fix: none, related or full.", TEST_VALIDATION_CHOICES
    ),
    "continue_on_error": Key("bool", True, "A failing file never stops the others."),
    "commit": Key("bool", True, "stomper fix commits each fixed file on its own."),
    "commit_style": Key(
        "str",
        DEFAULT_COMMIT_STYLE,
        "Commit message template; {codes} and {path} are filled in.",
    ),
    "select": Key("list[str]", (), "Only these codes or code prefixes (e.g. F, E501)."),
    "ignore": Key("list[str]", (), "Never these codes or code prefixes."),
    "include": Key("list[str]", ("**/*.py", "**/*.pyi"), "Glob patterns of files to consider."),
    "exclude": Key("list[str]", (), "Glob patterns of files to leave alone."),
    "max_files": Key("int|none", None, "Handle at most this many files (first by path)."),
    "max_errors": Key("int|none", None, "Handle at most this many diagnostics per file."),
    "unsafe_fixes": Key("bool", False, "Let ruff-fix apply ruff's unsafe fixes too."),
    "allow_suppressions": Key(
        "bool", False, "Accept fixes that add # noqa or # type: ignore comments."
    ),
    "agent_timeout": Key("float", 300.0, "Seconds one agent call may take before it is killed."),
    "max_agent_calls": Key("int|none", None, "Budget: AI agent calls per run."),
    "max_run_seconds": Key("float|none", None, "Budget: wall-clock seconds per run."),
    "max_cost_usd": Key("float|none", None, "Budget: dollars per run, where agents report cost."),
    "hook_timeout": Key("float", 120.0, "Seconds `stomper hook` may take in all."),
    "deny": Key("list[str]", DEFAULT_DENY, "Glob patterns of files never sent to an AI agent."),
    "prompt_template": Key("str|none", None, "Path of a prompt template to use instead of ours."),
    "plugins": Key("table", {}, "Per-plugin options: [tool.stomper.plugins.<name>]."),
    "cache": Key("bool", True, "Replay AI agents' earlier outcomes for identical input."),
    "cache_dir": Key(
        "str|none", None, "Where the result cache lives; default <git common dir>/stomper/cache."
    ),
}


# The fields of :class:`Config`, in order.
_FIELDS = (
    "root",
    "source",
    "linters",
    "agents",
    "validators",
    "disable",
    "max_parallel_files",
    "max_attempts",
    "test_validation",
    "continue_on_error",
    "commit",
    "commit_style",
    "select",
    "ignore",
    "include",
    "exclude",
    "max_files",
    "max_errors",
    "unsafe_fixes",
    "allow_suppressions",
    "agent_timeout",
    "max_agent_calls",
    "max_run_seconds",
    "max_cost_usd",
    "hook_timeout",
    "deny",
    "prompt_template",
    "plugins",
    "cache",
    "cache_dir",
)


class Config:
    """The run's configuration; build it with :func:`load_config`.

    Frozen, compared and hashed field by field (as a frozen dataclass would be); a plain
    class because :mod:`dataclasses` costs the pre-commit hook's fast path its start-up time.
    """

    __slots__ = _FIELDS

    root: Path
    source: Path | None
    linters: tuple[str, ...]
    agents: tuple[str, ...]
    validators: tuple[str, ...]
    disable: tuple[str, ...]
    max_parallel_files: int
    max_attempts: int
    test_validation: TestValidation
    continue_on_error: bool
    commit: bool
    commit_style: str
    select: tuple[str, ...]
    ignore: tuple[str, ...]
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    max_files: int | None
    max_errors: int | None
    unsafe_fixes: bool
    allow_suppressions: bool
    agent_timeout: float
    max_agent_calls: int | None
    max_run_seconds: float | None
    max_cost_usd: float | None
    hook_timeout: float
    deny: tuple[str, ...]
    prompt_template: str | None
    plugins: Mapping[str, Mapping[str, Any]]
    cache: bool
    cache_dir: str | None

    def __init__(  # noqa: PLR0917 - positional, as the dataclass it replaces took them
        self,
        root: Path,
        source: Path | None,
        linters: tuple[str, ...],
        agents: tuple[str, ...],
        validators: tuple[str, ...],
        disable: tuple[str, ...],
        max_parallel_files: int,
        max_attempts: int,
        test_validation: TestValidation,
        continue_on_error: bool,
        commit: bool,
        commit_style: str,
        select: tuple[str, ...],
        ignore: tuple[str, ...],
        include: tuple[str, ...],
        exclude: tuple[str, ...],
        max_files: int | None,
        max_errors: int | None,
        unsafe_fixes: bool,
        allow_suppressions: bool,
        agent_timeout: float,
        max_agent_calls: int | None,
        max_run_seconds: float | None,
        max_cost_usd: float | None,
        hook_timeout: float,
        deny: tuple[str, ...],
        prompt_template: str | None,
        plugins: Mapping[str, Mapping[str, Any]],
        cache: bool,
        cache_dir: str | None,
    ) -> None:
        values = locals()
        for name in FIELDS:
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Config)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in FIELDS)
        return f"{type(self).__qualname__}({fields})"

    def __reduce__(self) -> tuple[type[Config], tuple[Any, ...]]:
        return (type(self), self._values())

    def plugin_options(self, name: str) -> Mapping[str, Any]:
        """Options from ``[tool.stomper.plugins.<name>]``; empty when there are none."""
        return self.plugins.get(name, {})

    def replace(self, **changes: Any) -> Config:
        """A copy with ``changes`` checked and applied, as command-line flags do."""
        values = {name: getattr(self, name) for name in FIELDS}
        for key, value in changes.items():
            values[key] = _check(key, value, "command line")
        return Config(**values)


FIELDS: tuple[str, ...] = _FIELDS


def default_config(root: Path) -> Config:
    """The configuration with every key at its default."""
    return _build(root, None, {})


def load_config(root: Path, overrides: Mapping[str, Any] | None = None) -> Config:
    """Read ``root/pyproject.toml``'s ``[tool.stomper]`` and apply ``overrides`` on top."""
    pyproject = root / "pyproject.toml"
    table = read_table(pyproject) if pyproject.is_file() else {}
    config = _build(root, pyproject if table else None, table)
    changes = {key: value for key, value in (overrides or {}).items() if value is not None}
    return config.replace(**changes) if changes else config


def read_table(pyproject: Path) -> dict[str, Any]:
    """The ``[tool.stomper]`` table of ``pyproject``, or an empty one."""
    try:
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{pyproject}: malformed TOML: {error}") from error
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{pyproject}: cannot read: {error}") from error
    table = document.get("tool", {}).get("stomper", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.stomper] must be a table")
    return table


def _build(root: Path, source: Path | None, table: Mapping[str, Any]) -> Config:
    where = str(source) if source else "configuration"
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        known = ", ".join(sorted(KEYS))
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} in [tool.stomper] (known: {known})")
    values = {
        key: _check(key, table[key], where) if key in table else _freeze(spec.default)
        for key, spec in KEYS.items()
    }
    return Config(root=root, source=source, **values)


def _check(key: str, value: Any, where: str) -> Any:
    spec = KEYS.get(key)
    if spec is None:
        raise ConfigError(f"{where}: unknown key {key!r}")
    problem = _type_problem(spec.kind, value)
    if problem:
        raise ConfigError(f"{where}: [tool.stomper] {key}: expected {problem}, got {value!r}")
    if spec.choices and value not in spec.choices:
        choices = ", ".join(spec.choices)
        raise ConfigError(f"{where}: [tool.stomper] {key}: {value!r} is not one of {choices}")
    if spec.kind in ("int", "int|none", "float", "float|none") and value is not None:
        minimum = 1 if key in ("max_parallel_files", "max_files") else 0
        if value < minimum:
            raise ConfigError(f"{where}: [tool.stomper] {key}: must be at least {minimum}")
    if key == "plugins":
        for name, options in value.items():
            if not isinstance(options, dict):
                raise ConfigError(f"{where}: [tool.stomper.plugins.{name}] must be a table")
    if key == "commit_style":
        _check_template(value, where)
    return _freeze(float(value) if spec.kind.startswith("float") and value is not None else value)


def _type_problem(kind: str, value: Any) -> str | None:
    optional = kind.endswith("|none")
    base = kind.removesuffix("|none")
    if optional and value is None:
        return None
    checks: dict[str, tuple[str, bool]] = {
        "list[str]": (
            "a list of strings",
            isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value),
        ),
        "int": ("an integer", isinstance(value, int) and not isinstance(value, bool)),
        "float": ("a number", isinstance(value, (int, float)) and not isinstance(value, bool)),
        "bool": ("true or false", isinstance(value, bool)),
        "str": ("a string", isinstance(value, str)),
        "table": ("a table", isinstance(value, dict)),
    }
    description, ok = checks[base]
    return None if ok else description


def _check_template(template: str, where: str) -> None:
    try:
        template.format(codes="F401", path="a.py")
    except (KeyError, IndexError, ValueError) as error:
        raise ConfigError(
            f"{where}: [tool.stomper] commit_style: only {{codes}} and {{path}} may be used "
            f"({error!r})"
        ) from error


def _freeze(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):
        return {key: _freeze(item) for key, item in value.items()}
    return value
