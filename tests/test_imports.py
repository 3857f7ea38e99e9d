from __future__ import annotations

import subprocess
import sys


def imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def heavy(modules: set[str]) -> set[str]:
    roots = {name.split(".")[0] for name in modules}
    return roots & {"langgraph", "langchain_core", "git", "rich", "pydantic"}


def test_import_stomper_is_light() -> None:
    assert heavy(imported_after("import stomper")) == set()


def test_cli_and_check_path_are_light() -> None:
    modules = imported_after(
        "import stomper.cli, stomper.commands.check, stomper.report, stomper.diagnostics"
    )
    assert heavy(modules) == set()
    assert "stomper.cli" in modules


def test_version_flag() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "stomper", "--version"], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0
    assert completed.stdout.startswith("stomper ")


def test_version_imports_no_event_loop_or_tls() -> None:
    # --version builds every subcommand's parser: none may import asyncio (and with it ssl).
    modules = imported_after(
        "from stomper.cli import main\ntry:\n    main(['--version'])\nexcept SystemExit:\n    pass"
    )
    assert "stomper.commands.apply" in modules
    assert {"asyncio", "ssl"} & modules == set()
