"""``stomper plugins``: every plugin, its package and version, what it registers."""

from __future__ import annotations

import argparse
from typing import Any

from stomper.commands import _common


def add_parser(subparsers: Any) -> None:
    """Add ``stomper plugins`` to the CLI."""
    parser = subparsers.add_parser(
        "plugins",
        help="list plugins, their linters, agents and validators",
        description="List every loaded plugin with its package and version, and what it "
        "registers; for agents, whether they are available and why not.",
    )
    _common.add_common_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print one block per plugin."""
    project = _common.open_project(args)
    plugins, config = project.plugins, project.config
    rows: dict[str, list[str]] = {info.name: [] for info in plugins.infos}
    registered: list[tuple[str, object]] = [
        *(("linter", obj) for obj in plugins.linters(config).values()),
        *(("agent", obj) for obj in plugins.agents(config).values()),
        *(("validator", obj) for obj in plugins.validators(config).values()),
    ]
    for role, obj in registered:
        info = plugins.owner(obj)
        rows.setdefault(info.name if info else "(unknown)", []).append(_describe(role, obj))
    for info in plugins.infos:
        package = f"{info.package} {info.version}".strip()
        origin = f"built-in, {package}" if info.builtin else package
        print(f"{info.name}  ({origin})")
        for line in rows.get(info.name, []) or ["  registers nothing"]:
            print(line)
    if config.disable:
        print(f"blocked: {', '.join(config.disable)}")
    return 0


def _describe(role: str, obj: object) -> str:
    name = getattr(obj, "name", "?")
    if role != "agent":
        return f"  {role} {name}"
    kind = getattr(obj, "kind", "?")
    reason = obj.available() if hasattr(obj, "available") else None
    status = "available" if reason is None else f"unavailable: {reason}"
    return f"  agent {name} ({kind}): {status}"
