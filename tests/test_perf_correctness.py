"""What the performance work must not change: every shortcut answers as the slow path did.

- a watched sandbox (inotify + comparison with the snapshot's tree) reports exactly what a
  full ``git status`` + ``ls-files --others`` scan reports, and resets to pristine;
- ``import stomper`` is lazy but complete; built-in plugins load lazily but register the same;
- the hook's no-op path imports no AI agent module, no asyncio, no importlib.metadata.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

import stomper
from stomper import plugins as plugin_module
from stomper.config import load_config
from stomper.lazy_plugins import may_declare_entry_points
from stomper.sandbox import Sandbox, Sandboxes, changed_paths, release_snapshot, take_snapshot
from stomper.sandbox_tree import KEEP_DIRS, _scan_all
from stomper.sandbox_watch import watch_for
from stomper.testing import GitRepo

Mutation = Callable[[Path], object]


def _symlink_over(root: Path) -> None:
    (root / "pkg" / "a.py").unlink()
    (root / "pkg" / "a.py").symlink_to("b.py")


def _dir_over_file(root: Path) -> None:
    (root / "pkg" / "a.py").unlink()
    (root / "pkg" / "a.py").mkdir()
    (root / "pkg" / "a.py" / "inner.py").write_text("x = 1\n")


def _new_tree(root: Path) -> None:
    (root / "new" / "deep").mkdir(parents=True)
    (root / "new" / "deep" / "m.py").write_text("y = 2\n")


def _replace_dir(root: Path) -> None:
    shutil.rmtree(root / "pkg")
    (root / "pkg").mkdir()
    (root / "pkg" / "a.py").write_text("different\n")


MUTATIONS: dict[str, Mutation] = {
    "nothing": lambda root: None,
    "modify": lambda root: (root / "pkg" / "a.py").write_text("changed\n"),
    "same bytes again": lambda root: (root / "pkg" / "a.py").write_text("a = 1\n"),
    "add file": lambda root: (root / "pkg" / "c.py").write_text("c = 3\n"),
    "add ignored file": lambda root: (root / ".env").write_text("SECRET=1\n"),
    "delete": lambda root: (root / "pkg" / "b.py").unlink(),
    "chmod +x": lambda root: (root / "pkg" / "a.py").chmod(0o755),
    "symlink over file": _symlink_over,
    "directory over file": _dir_over_file,
    "new directory tree": _new_tree,
    "delete directory": lambda root: shutil.rmtree(root / "pkg"),
    "replace directory": _replace_dir,
    "pycache": lambda root: (root / "pkg" / "__pycache__").mkdir(),
    "kept cache": lambda root: (root / ".mypy_cache" / "x").mkdir(parents=True, exist_ok=True),
    "rename": lambda root: (root / "pkg" / "a.py").rename(root / "pkg" / "z.py"),
    "move directory": lambda root: (root / "pkg").rename(root / "pkg2"),
    "git add": lambda root: _git(root, "add", "-A"),
    "git commit": lambda root: _git(root, "commit", "-qam", "agent"),
}


# git's `ls-files --others` does not look inside a directory standing where the index has a
# file; the watched scan does, and reports the directory as added as well.
STRICTER = {"directory over file"}


def _git(root: Path, *args: str) -> None:
    (root / "pkg" / "a.py").write_text("staged\n")
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GitRepo:
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    repo = GitRepo.create(tmp_path / "repo")
    repo.write(".gitignore", ".env\n__pycache__/\n.mypy_cache/\n")
    repo.write("pkg/a.py", "a = 1\n")
    repo.write("pkg/b.py", "b = 2\n")
    repo.write("run.sh", "#!/bin/sh\n")
    (repo.path / "run.sh").chmod(0o755)
    repo.commit("project")
    return repo


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux only")
@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_watched_scan_equals_full_scan(project: GitRepo, name: str) -> None:
    snapshot = take_snapshot(project.path, "perf")

    async def check() -> None:
        async with Sandboxes(snapshot, size=1) as sandboxes:
            for _round in range(2):  # the second time in a reused sandbox
                sandbox = await sandboxes.acquire(name)
                assert watch_for(sandbox.root) is not None
                MUTATIONS[name](sandbox.root)
                watched = await changed_paths(sandbox)
                full = await _full(sandbox)
                if name in STRICTER:
                    assert set(watched) > set(full)
                else:
                    assert watched == full
                await sandboxes.release(sandbox)
                sandbox = await sandboxes.acquire("after")
                assert await _full(sandbox) == ()
                await sandboxes.release(sandbox)

    try:
        asyncio.run(check())
    finally:
        release_snapshot(snapshot)


async def _full(sandbox: Sandbox) -> tuple[object, ...]:
    from stomper.sandbox_tree import _git_files_tampered, _head_moved

    tampered = _git_files_tampered(sandbox.root, sandbox.snapshot)
    moved = tampered or _head_moved(sandbox.root, sandbox.snapshot)
    found = await _scan_all(
        sandbox.root, sandbox.snapshot, KEEP_DIRS, head_moved=moved, tampered=tampered
    )
    return found.changes


def test_every_public_name_resolves() -> None:
    for name in stomper.__all__:
        assert getattr(stomper, name) is not None
    assert set(stomper._LAZY) | {"__version__"} == set(stomper.__all__)
    with pytest.raises(AttributeError):
        _ = stomper.no_such_name  # type: ignore[attr-defined]


def test_builtin_hooks_match_the_modules() -> None:
    for name, module_name in plugin_module.BUILTIN_PLUGINS:
        module = importlib.import_module(module_name)
        implemented = {attr for attr in dir(module) if attr.startswith("stomper_")}
        assert set(plugin_module.BUILTIN_HOOKS[name]) == implemented, name


def test_lazy_builtins_register_what_the_modules_do(tmp_path: Path) -> None:
    plugins = plugin_module.make_plugins(autoload=False)
    config = load_config(tmp_path, {})
    assert set(plugins.linters(config)) == {"ruff", "mypy"}
    agents = plugins.agents(config)
    assert {"ruff-fix", "claude", "openai"} <= set(agents)
    info = plugins.owner(agents["claude"])
    assert info is not None
    assert info.name == "claude"


def test_hook_no_op_path_imports_nothing_it_does_not_use(repo: GitRepo) -> None:
    repo.write("clean.py", '"""Clean."""\n')
    code = (
        "import sys\nfrom stomper.cli import main\n"
        "code = main(['hook', '--linters', 'ruff', 'clean.py'])\n"
        "print(code, sorted(m for m in sys.modules if m.split('.')[0] in "
        "('asyncio', 'langgraph', 'rich', 'importlib', 'stomper_plugins')))"
    )
    env = {**os.environ, "STOMPER_DISABLE_PLUGIN_AUTOLOAD": ""}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=repo.path,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    exit_code, _, modules = out.stdout.partition(" ")
    assert exit_code == "0"
    loaded = set(eval(modules))  # a printed list of module names
    assert "asyncio" not in loaded
    assert "importlib.metadata" not in loaded
    assert {"stomper_plugins.ruff", "stomper_plugins.mypy"} <= loaded
    assert not loaded & {"stomper_plugins.claude", "stomper_plugins.openai"}


def test_entry_point_precheck_finds_a_declaring_distribution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    assert not may_declare_entry_points("stomper")
    info = tmp_path / "thing-1.0.dist-info"
    info.mkdir()
    (info / "entry_points.txt").write_text("[stomper]\nthing = thing\n")
    assert may_declare_entry_points("stomper")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "archive.zip")])
    (tmp_path / "archive.zip").write_bytes(b"")
    assert may_declare_entry_points("stomper")
