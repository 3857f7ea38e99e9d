"""Which Python files import which: enough to find the files a fix may have broken.

Module names come from paths (``src/pkg/mod.py`` is ``src.pkg.mod``, and an import of
``pkg.mod`` or ``mod`` matches it by dotted suffix, whatever the source root). Relative imports
are resolved against the importing file's directory. Only files whose text mentions a touched
module's name are parsed, so a large repository costs little more than reading it.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path, PurePosixPath

__all__ = ["importers_of", "module_name", "python_files"]

_SKIPPED_DIRS = frozenset({"__pycache__", "node_modules"})


def module_name(path: str) -> str:
    """The dotted name of the module at ``path`` (POSIX, relative to the root)."""
    parts = list(PurePosixPath(path).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files(root: Path) -> Iterator[str]:
    """Every ``.py``/``.pyi`` file under ``root``, relative POSIX paths; hidden dirs skipped."""
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [d for d in subdirs if not d.startswith(".") and d not in _SKIPPED_DIRS]
        base = Path(directory).relative_to(root)
        for name in files:
            if name.endswith((".py", ".pyi")):
                yield (base / name).as_posix()


def _matches(imported: str, touched: str) -> bool:
    return touched == imported or touched.endswith("." + imported)


def _imported_names(tree: ast.AST, path: str) -> set[str]:
    """Every module name ``path`` imports, parents and ``from X import name`` included."""
    package = list(PurePosixPath(path).parent.parts)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = [*base, *(node.module.split(".") if node.module else [])]
            names.add(".".join(module))
            names.update(".".join([*module, alias.name]) for alias in node.names)
    parents = {
        ".".join(name.split(".")[:cut]) for name in names for cut in range(1, name.count(".") + 1)
    }
    return {name for name in names | parents if name}


def importers_of(
    root: Path, touched: Sequence[str], candidates: Iterable[str]
) -> dict[str, set[str]]:
    """For each file of ``candidates`` that imports a ``touched`` file: which ones it imports."""
    modules = {path: module_name(path) for path in touched}
    words = {name.rsplit(".", 1)[-1].encode() for name in modules.values() if name}
    found: dict[str, set[str]] = {}
    for path in candidates:
        try:
            source = (root / path).read_bytes()
        except OSError:
            continue
        if not any(word in source for word in words):
            continue
        try:
            tree = ast.parse(source, filename=path)
        except (SyntaxError, ValueError):
            continue
        imported = _imported_names(tree, path)
        hits = {
            other
            for other, name in modules.items()
            if other != path and any(_matches(item, name) for item in imported)
        }
        if hits:
            found[path] = hits
    return found
