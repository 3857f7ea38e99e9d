"""Loading plugins only when they are needed, so a short command stays short.

:class:`LazyModule` stands in for a built-in plugin module: it carries the module's hooks,
each of which imports the module when first called and hands over to it. Registered in the
module's place, it keeps pluggy's hook order and the plugin's name; ``stomper hook`` with
nothing to fix only asks for linters, so the AI agents' modules are never imported.

:func:`may_declare_entry_points` tells, without importing :mod:`importlib.metadata` (which costs
more than the rest of stomper's start-up), whether any installed distribution may declare an
entry point in a group. When it cannot be sure it says yes.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from importlib.machinery import PathFinder
from types import ModuleType
from typing import TYPE_CHECKING, Any

from stomper.hookspecs import hookimpl

if TYPE_CHECKING:
    from stomper.config import Config

__all__ = ["LAZY_HOOKS", "LazyModule", "may_declare_entry_points"]

# The hooks a stand-in can forward: all take ``register`` and ``config``.
LAZY_HOOKS = frozenset(
    {"stomper_register_linters", "stomper_register_agents", "stomper_register_validators"}
)


class LazyModule:
    """A plugin module, imported the first time one of its hooks is called."""

    hooks: tuple[str, ...] = ()

    def __init__(self, module_name: str) -> None:
        self.module_name = module_name
        self._module: ModuleType | None = None

    def __dir__(self) -> list[str]:
        """Only the hooks: pluggy looks for implementations among ``dir(plugin)``, checking
        each name twice with ``inspect.getattr_static``; with the ~30 names every object has,
        registering the built-ins cost the hook's fast path ~7 ms."""
        return list(self.hooks)

    @classmethod
    def make(cls, module_name: str, hooks: Sequence[str]) -> LazyModule:
        """A stand-in for ``module_name``, which implements ``hooks`` (a subset of
        :data:`LAZY_HOOKS`). Its class's ``__module__`` is ``module_name``, so the objects the
        module registers are traced back to this plugin as they would be to the module."""
        unknown = set(hooks) - LAZY_HOOKS
        if unknown:
            raise ValueError(f"{module_name}: hooks that cannot be loaded lazily: {unknown}")
        namespace: dict[str, Any] = {name: _forwarder(name) for name in hooks}
        namespace["__module__"] = module_name
        namespace["hooks"] = tuple(hooks)
        stand_in = type(f"LazyModule[{module_name}]", (cls,), namespace)
        return stand_in(module_name)  # type: ignore[no-any-return]

    def load(self) -> ModuleType:
        """The real module, imported on first use."""
        if self._module is None:
            self._module = importlib.import_module(self.module_name)
        return self._module


def _forwarder(hook: str) -> Callable[..., None]:
    @hookimpl
    def forward(self: LazyModule, register: Callable[[Any], None], config: Config) -> None:
        getattr(self.load(), hook)(register=register, config=config)

    forward.__name__ = forward.__qualname__ = hook
    return forward


def may_declare_entry_points(group: str) -> bool:
    """Whether a distribution on ``sys.path`` may declare an entry point in ``group``.

    Looks where :mod:`importlib.metadata` looks for path-based distributions (``*.dist-info``
    and ``*.egg-info`` directories in each ``sys.path`` directory) and reads their
    ``entry_points.txt``. Zip files, eggs and import hooks that find distributions of their
    own are not looked into: then the answer is yes.
    """
    if any(_finds_distributions(finder) for finder in sys.meta_path):
        return True
    section = f"[{group}]".encode()
    for entry in sys.path:
        if entry.lower().endswith(".egg"):
            return True
        try:
            names = os.listdir(entry or ".")
        except NotADirectoryError:
            return True  # a zip archive on sys.path
        except OSError:
            continue  # missing or unreadable: importlib.metadata finds nothing there either
        for name in names:
            if name.lower().endswith((".dist-info", ".egg-info")):
                path = os.path.join(entry or ".", name, "entry_points.txt")
                if section in _read(path):
                    return True
    return False


def _finds_distributions(finder: object) -> bool:
    """A meta path finder other than the standard one that can find distributions."""
    return finder is not PathFinder and callable(getattr(finder, "find_distributions", None))


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError:
        return b""
