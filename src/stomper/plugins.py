"""The plugin manager factory and the typed facade that is the only caller of ``pm.hook``.

Built-in plugins come from :data:`BUILTIN_PLUGINS` under short names; third-party ones from the
entry-point group ``stomper`` unless ``STOMPER_DISABLE_PLUGIN_AUTOLOAD=1``. Any plugin can be
blocked by name. A plugin that fails to import, or registers a name already taken, is a
:class:`PluginError` naming it and its package.

Start-up cost matters (the pre-commit hook's no-op path must cost about what the linters
cost), so a built-in module is imported only when one of its hooks is first called (a
:class:`~stomper.lazy_plugins.LazyModule` stands in for it, registered in the same place), and
``importlib.metadata`` only when some installed distribution may declare a ``stomper`` entry
point. Hook order, names and errors are those of eager loading.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple, TypeVar

import pluggy

from stomper import hookspecs
from stomper.errors import FatalError, PluginError
from stomper.lazy_plugins import LazyModule, may_declare_entry_points

if TYPE_CHECKING:
    from stomper.config import Config
    from stomper.types import Agent, FileResult, Linter, Validator

ENTRY_POINT_GROUP = "stomper"
AUTOLOAD_ENV = "STOMPER_DISABLE_PLUGIN_AUTOLOAD"

BUILTIN_PLUGINS: tuple[tuple[str, str], ...] = (
    ("ruff", "stomper_plugins.ruff"),
    ("mypy", "stomper_plugins.mypy"),
    ("ruff-fix", "stomper_plugins.ruff_fix"),
    ("validators", "stomper_plugins.validators"),
    ("pytest", "stomper_plugins.tests_validator"),
    ("claude", "stomper_plugins.claude"),
    ("codex", "stomper_plugins.codex"),
    ("cursor", "stomper_plugins.cursor"),
    ("gemini", "stomper_plugins.gemini"),
    ("aider", "stomper_plugins.aider"),
    ("openai", "stomper_plugins.openai"),
)
# The hooks each built-in module implements, so it can be imported only when one is called
# (tests/test_perf_correctness.py keeps this in step with the modules).
BUILTIN_HOOKS: dict[str, tuple[str, ...]] = {
    "ruff": ("stomper_register_linters",),
    "mypy": ("stomper_register_linters",),
    "validators": ("stomper_register_validators",),
    "pytest": ("stomper_register_validators",),
    **dict.fromkeys(
        ("ruff-fix", "claude", "codex", "cursor", "gemini", "aider", "openai"),
        ("stomper_register_agents",),
    ),
}

_Obj = TypeVar("_Obj")


class PluginInfo(NamedTuple):
    """Where a plugin came from, for ``stomper plugins`` and error messages."""

    name: str
    package: str
    version: str
    builtin: bool


class Plugins:
    """A loaded plugin manager plus the objects its plugins registered."""

    def __init__(self, manager: pluggy.PluginManager, infos: Sequence[PluginInfo]) -> None:
        self.manager = manager
        self.infos = tuple(infos)

    def owner(self, obj: object) -> PluginInfo | None:
        """The plugin whose module defined ``obj``'s class, when it can be told."""
        module = type(obj).__module__
        for info in self.infos:
            plugin = self.manager.get_plugin(info.name)
            plugin_module = getattr(plugin, "__name__", type(plugin).__module__)
            if module == plugin_module or module.startswith(plugin_module + "."):
                return info
        return None

    def linters(self, config: Config) -> dict[str, Linter]:
        """Every registered linter by name."""
        return self._collect(self.manager.hook.stomper_register_linters, config, "linter")

    def agents(self, config: Config) -> dict[str, Agent]:
        """Every registered agent by name."""
        return self._collect(self.manager.hook.stomper_register_agents, config, "agent")

    def validators(self, config: Config) -> dict[str, Validator]:
        """Every registered validator by name."""
        return self._collect(self.manager.hook.stomper_register_validators, config, "validator")

    def take_results(self) -> bool:
        """Whether any plugin implements ``stomper_file_done`` or ``stomper_session_finish``
        (then a run's results carry their diffs, which plugins may read)."""
        hook = self.manager.hook
        return bool(
            hook.stomper_file_done.get_hookimpls() or hook.stomper_session_finish.get_hookimpls()
        )

    def file_done(self, result: FileResult) -> None:
        """Tell every plugin that one file finished; a plugin's exception is logged only."""
        self._notify(lambda: self.manager.hook.stomper_file_done(result=result))

    def session_finish(self, results: Sequence[FileResult], exit_code: int) -> None:
        """Tell every plugin that the run is over."""
        self._notify(
            lambda: self.manager.hook.stomper_session_finish(results=results, exit_code=exit_code)
        )

    def _collect(self, hook: Callable[..., object], config: Config, role: str) -> dict[str, _Obj]:
        found: dict[str, _Obj] = {}

        def register(obj: _Obj) -> None:
            name = getattr(obj, "name", None)
            if not isinstance(name, str) or not name:
                raise PluginError(f"{self._describe(obj)} registered a {role} without a name")
            if name in found:
                first, second = self._describe(found[name]), self._describe(obj)
                raise PluginError(f"{role} name {name!r} from {second} is already taken by {first}")
            found[name] = obj

        try:
            hook(register=register, config=config)
        except FatalError:
            raise
        except Exception as error:
            raise PluginError(f"a plugin failed while registering {role}s: {error!r}") from error
        return found

    def _describe(self, obj: object) -> str:
        info = self.owner(obj)
        if info is None:
            return f"{type(obj).__module__}.{type(obj).__qualname__}"
        return f"plugin {info.name!r} (package {info.package})"

    @staticmethod
    def _notify(call: Callable[[], object]) -> None:
        try:
            call()
        except Exception:
            import logging  # only here: its import costs the hook's fast path

            logging.getLogger(__name__).warning(
                "a plugin's notification hook raised", exc_info=True
            )


def make_plugins(
    disabled: Iterable[str] = (),
    *,
    autoload: bool | None = None,
    extra: Sequence[tuple[str, object]] = (),
) -> Plugins:
    """Build a plugin manager: built-ins, entry points (unless turned off) and ``extra``.

    ``extra`` holds ``(name, plugin)`` pairs registered directly, as tests and embedders do.
    """
    manager = pluggy.PluginManager("stomper")
    manager.add_hookspecs(hookspecs)
    blocked = set(disabled)
    for name in blocked:
        manager.set_blocked(name)
    infos: list[PluginInfo] = []
    version = _own_version()
    for name, module_name in BUILTIN_PLUGINS:
        if name in blocked:
            continue
        _register(manager, name, LazyModule.make(module_name, BUILTIN_HOOKS[name]), "stomper")
        infos.append(PluginInfo(name, "stomper", version, builtin=True))
    if autoload is None:
        autoload = not os.environ.get(AUTOLOAD_ENV)
    if autoload and may_declare_entry_points(ENTRY_POINT_GROUP):
        infos.extend(_load_entry_points(manager, blocked))
    for name, plugin in extra:
        if name in blocked:
            continue
        _register(manager, name, plugin, "(registered directly)")
        infos.append(PluginInfo(name, "(registered directly)", "", builtin=False))
    return Plugins(manager, infos)


def _load_entry_points(manager: pluggy.PluginManager, blocked: set[str]) -> list[PluginInfo]:
    from importlib import metadata

    infos = []
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in blocked:
            continue
        dist = entry_point.dist
        package = dist.metadata["Name"] if dist is not None else "unknown package"
        version = dist.version if dist is not None else ""
        try:
            plugin = entry_point.load()
        except Exception as error:
            raise PluginError(
                f"plugin {entry_point.name!r} (package {package}) failed to load: "
                f"{type(error).__name__}: {error}"
            ) from error
        _register(manager, entry_point.name, plugin, package)
        infos.append(PluginInfo(entry_point.name, package, version, builtin=False))
    return infos


def _register(manager: pluggy.PluginManager, name: str, plugin: object, package: str) -> None:
    if manager.has_plugin(name):
        raise PluginError(f"plugin name {name!r} (package {package}) is already taken")
    try:
        manager.register(plugin, name=name)
    except (ValueError, pluggy.PluginValidationError) as error:
        raise PluginError(f"plugin {name!r} (package {package}) is invalid: {error}") from error


def _own_version() -> str:
    from stomper import __version__

    return __version__
