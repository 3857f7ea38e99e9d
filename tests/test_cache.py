"""The result cache: a repeat run over unchanged input makes zero agent calls."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fake_agents import FakeAgent, add_noqa, remove_unused_imports, rename_variable
from fix_support import (
    AMBIGUOUS,
    UNUSED,
    UNUSED_FIXED,
    assert_nothing_left,
    make_project,
    use_agents,
)

from stomper import FixRequest
from stomper.cache import Entry, ResultCache, cache_dir
from stomper.cli import main
from stomper.errors import ConfigError
from stomper.testing import GitRepo


@pytest.fixture(autouse=True)
def isolated(private_tmpdir: Path) -> Path:
    return private_tmpdir


def report(path: Path) -> Any:
    return json.loads(path.read_text())


def test_a_second_run_replays_fixes_and_failures_without_calling_the_agent(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, isolated: Path, tmp_path: Path
) -> None:
    make_project(repo, {"good.py": UNUSED, "bad.py": AMBIGUOUS}, attempts=2)

    def behaviour(request: FixRequest) -> None:
        # good.py gets a real fix; bad.py gets a suppression comment, rejected every time.
        (remove_unused_imports if "good" in request.path else add_noqa)(request)

    agent = FakeAgent("fake", behaviour)
    use_agents(monkeypatch, agent)
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert main(["fix", "--dry-run", "--report", str(first)]) == 1
    calls = len(agent.requests)
    assert calls == 3  # good.py once, bad.py twice (max_attempts = 2)
    assert main(["fix", "--dry-run", "--report", str(second)]) == 1
    assert len(agent.requests) == calls, "the second run called the agent"
    one, two = report(first), report(second)
    strip = [
        {k: v for k, v in r.items() if k not in ("duration_seconds", "cost_usd")}
        for r in one["results"]
    ]
    again = [
        {k: v for k, v in r.items() if k not in ("duration_seconds", "cost_usd")}
        for r in two["results"]
    ]
    assert strip == again
    assert [r["status"] for r in again] == ["unchanged", "fixed"]
    assert two["cache"] == {"hits": 3, "misses": 0, "stores": 0}
    assert one["cache"] == {"hits": 0, "misses": 3, "stores": 3}
    assert_nothing_left(repo, isolated)


def test_changed_input_or_options_call_the_agent_again(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(repo, {"app.py": AMBIGUOUS})
    agent = FakeAgent("fake", rename_variable("l", "length"))
    use_agents(monkeypatch, agent)
    assert main(["fix", "--dry-run"]) == 0
    assert main(["fix", "--dry-run"]) == 0
    assert len(agent.requests) == 1
    # Other bytes, and another size: a same-size edit can slip past the snapshot's stat check.
    repo.write("app.py", "l = 22\nprint(l)\n")
    assert main(["fix", "--dry-run"]) == 0
    assert len(agent.requests) == 2
    pyproject = (repo.path / "pyproject.toml").read_text()
    repo.write("pyproject.toml", pyproject + '\n[tool.stomper.plugins.fake]\nmodel = "bigger"\n')
    assert main(["fix", "--dry-run"]) == 0
    assert len(agent.requests) == 3
    assert main(["fix", "--dry-run", "--no-cache"]) == 0
    assert len(agent.requests) == 4


def test_a_replayed_fix_is_validated_again_and_written(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(repo, {"app.py": UNUSED})
    agent = FakeAgent("fake", remove_unused_imports)
    use_agents(monkeypatch, agent)
    assert main(["fix", "--dry-run"]) == 0
    assert main(["fix", "--no-commit"]) == 0
    assert len(agent.requests) == 1
    assert repo.read("app.py").decode() == UNUSED_FIXED


def test_a_poisoned_entry_is_still_judged_by_the_validators(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(repo, {"app.py": UNUSED})
    agent = FakeAgent("fake", remove_unused_imports)
    use_agents(monkeypatch, agent)
    assert main(["fix", "--dry-run"]) == 0
    (entry,) = (repo.path / ".git" / "stomper" / "cache").rglob("*.json")
    broken = {"format": 1, "candidate": "ZGVmIGJyb2tlbig6Cg==", "cost_usd": None}  # def broken(:
    entry.write_text(json.dumps(broken))
    assert main(["fix", "--no-commit"]) == 1
    assert repo.read("app.py").decode() == UNUSED
    assert len(agent.requests) == 1


def test_clean_cache_empties_it(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_project(repo, {"app.py": UNUSED})
    agent = FakeAgent("fake", remove_unused_imports)
    use_agents(monkeypatch, agent)
    assert main(["fix", "--dry-run"]) == 0
    assert main(["clean", "--cache"]) == 0
    assert "Removed 1 cache entries" in capsys.readouterr().out
    assert not (repo.path / ".git" / "stomper" / "cache").exists()
    assert main(["fix", "--dry-run"]) == 0
    assert len(agent.requests) == 2


def test_denied_files_never_reach_the_cache(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path / "cache", deny=(".env*", "*.pem"))
    assert not cache.store("k" * 64, "config/.env.local", Entry(b"SECRET=1"))
    assert not cache.store("j" * 64, "certs/server.pem", Entry(b"-----BEGIN"))
    assert not cache.store("i" * 64, "CERTS/SERVER.PEM", Entry(b"-----BEGIN"))  # case ignored
    assert not ResultCache(tmp_path / "cache", deny=("vault",)).store(
        "h" * 64, "vault/a.py", Entry(b"")
    )
    assert not (tmp_path / "cache").exists()
    assert cache.store("a" * 64, "app.py", Entry(b"x = 1\n", 0.5))
    assert cache.load("a" * 64) == Entry(b"x = 1\n", 0.5)
    assert cache.load("b" * 64) is None
    assert cache.stats.as_dict() == {"hits": 1, "misses": 1, "stores": 1}


def test_a_torn_entry_is_a_miss(tmp_path: Path) -> None:
    cache = ResultCache(tmp_path)
    cache.store("c" * 64, "app.py", Entry(None))
    assert cache.load("c" * 64) == Entry(None)
    (entry,) = tmp_path.rglob("*.json")
    entry.write_text('{"format": 1, "candid')
    assert cache.load("c" * 64) is None


def test_the_cache_directory_stays_outside_the_work_tree(tmp_path: Path) -> None:
    root, common = tmp_path / "repo", tmp_path / "repo" / ".git"
    assert cache_dir(root, common, None) == common / "stomper" / "cache"
    assert cache_dir(root, common, str(tmp_path / "elsewhere")) == tmp_path / "elsewhere"
    assert cache_dir(root, common, "../shared") == (tmp_path / "shared").resolve()
    with pytest.raises(ConfigError, match="inside the work tree"):
        cache_dir(root, common, ".stomper-cache")
