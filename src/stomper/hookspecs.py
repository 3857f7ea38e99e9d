"""Every hook stomper calls, typed; each docstring is the reference for plugin authors.

Hooks discover, objects work: the ``register`` hooks run once at start-up and hand back
objects (linters, agents, validators) through the ``register`` callback; the engine then talks
only to those objects. Hooks are synchronous; async work lives on the objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from stomper.config import Config
    from stomper.types import Agent, FileResult, Linter, Validator

hookspec = pluggy.HookspecMarker("stomper")
hookimpl = pluggy.HookimplMarker("stomper")


@hookspec
def stomper_register_linters(register: Callable[[Linter], None], config: Config) -> None:
    """Register linters: call ``register(linter)`` once per :class:`stomper.Linter`.

    A linter's ``name`` must be unique across all plugins. ``config`` is the run's frozen
    configuration; ``config.plugin_options(name)`` holds ``[tool.stomper.plugins.<name>]``.
    """


@hookspec
def stomper_register_agents(register: Callable[[Agent], None], config: Config) -> None:
    """Register agents (deterministic fixers and AI backends): ``register(agent)``.

    Which agents run, and in which order, is the ``agents`` chain in the configuration.
    """


@hookspec
def stomper_register_validators(register: Callable[[Validator], None], config: Config) -> None:
    """Register validators that judge each candidate fix: ``register(validator)``."""


@hookspec
def stomper_file_done(result: FileResult) -> None:
    """Notification: one file finished. Must not raise; an exception is logged and ignored."""


@hookspec
def stomper_session_finish(results: Sequence[FileResult], exit_code: int) -> None:
    """Notification: the run is over, with every file's result and the exit code."""
