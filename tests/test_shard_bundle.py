"""Sharding and patch bundles: two shards' bundles applied together equal one unsharded run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fix_support import UNUSED, assert_nothing_left, make_project, status

from stomper.bundle import parse_shard, select_shard, shard_of
from stomper.cli import main
from stomper.errors import UsageError
from stomper.testing import GitRepo

# F401 and I001: ruff-fix fixes both, offline.
FIXABLE = "import sys\nimport os\n\n\nprint(sys.argv)\n"
FILES = {f"pkg/mod{index}.py": FIXABLE for index in range(6)} | {"top.py": UNUSED}


@pytest.fixture(autouse=True)
def isolated(private_tmpdir: Path) -> Path:
    return private_tmpdir


def clone(source: GitRepo, target: Path) -> GitRepo:
    source.git("clone", "-q", str(source.path), str(target))
    return GitRepo(target)


def commit_subjects(repo: GitRepo, since: str) -> list[str]:
    return sorted(repo.git("log", "--format=%s", f"{since}..HEAD").splitlines())


def test_shards_are_disjoint_stable_and_cover_everything() -> None:
    files = [f"src/module_{index}.py" for index in range(200)]
    shards = [select_shard(files, index, 3) for index in (1, 2, 3)]
    assert sorted(path for shard in shards for path in shard) == sorted(files)
    assert sum(len(shard) for shard in shards) == len(files)
    assert all(len(shard) > 30 for shard in shards)
    # The shard of a path depends on the path alone, not on the other files.
    assert select_shard(files[:10], 2, 3) == [path for path in shards[1] if path in files[:10]]
    assert shard_of("src/module_0.py", 3) == shard_of("src/module_0.py", 3)


@pytest.mark.parametrize("text", ["0/2", "3/2", "a/b", "1", "1/0"])
def test_a_bad_shard_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="--shard"):
        parse_shard(text)


def test_two_bundles_applied_together_equal_one_unsharded_run(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated: Path
) -> None:
    make_project(repo, FILES, agents=("ruff-fix",))
    start = repo.head()
    sharded = clone(repo, tmp_path / "sharded")
    assert main(["fix"]) == 0  # the unsharded run, in the original repository
    monkeypatch.chdir(sharded.path)
    bundles = [tmp_path / "shard1.json", tmp_path / "shard2.json"]
    for index, bundle in enumerate(bundles, start=1):
        assert main(["fix", "--shard", f"{index}/2", "--patch-out", str(bundle)]) == 0
    assert (sharded.head(), status(sharded)) == (start, ""), "a shard wrote to the tree"
    fixes = [json.loads(bundle.read_text())["fixes"] for bundle in bundles]
    assert all(fixes), "each shard should fix something"
    assert sorted(fix["path"] for shard in fixes for fix in shard) == sorted(FILES)
    assert main(["apply", *map(str, bundles)]) == 0
    assert sharded.git("rev-parse", "HEAD^{tree}") == repo.git("rev-parse", "HEAD^{tree}")
    assert commit_subjects(sharded, start) == commit_subjects(repo, start)
    assert status(sharded) == ""
    assert main(["apply", *map(str, bundles)]) == 0  # again: everything is already applied
    assert commit_subjects(sharded, start) == commit_subjects(repo, start)
    assert_nothing_left(sharded, isolated)


def test_apply_refuses_a_file_changed_since_the_fix(
    repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str], isolated: Path
) -> None:
    make_project(repo, {"a.py": FIXABLE, "b.py": FIXABLE}, agents=("ruff-fix",))
    bundle = tmp_path / "fixes.json"
    assert main(["fix", "--patch-out", str(bundle)]) == 0
    edited = FIXABLE + "\nprint('edited by the user')\n"
    repo.write("a.py", edited)
    head = repo.head()
    assert main(["apply", "--no-commit", str(bundle)]) == 1
    out = capsys.readouterr().out
    assert "conflict         a.py  [the file changed since the fix was made]" in out
    assert "applied          b.py" in out
    assert repo.read("a.py").decode() == edited
    assert repo.read("b.py").decode() == "import sys\n\nprint(sys.argv)\n"
    assert repo.head() == head
    assert_nothing_left(repo, isolated)


def test_a_malformed_bundle_changes_nothing(
    repo: GitRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_project(repo, {"a.py": FIXABLE}, agents=("ruff-fix",))
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    assert main(["fix", "--patch-out", str(good)]) == 0
    bad.write_text('{"format": "stomper-bundle", "version": 1, "fixes": [{"path": "a.py"}]}')
    assert main(["apply", str(good), str(bad)]) == 2
    assert "malformed fix entry" in capsys.readouterr().err
    assert repo.read("a.py").decode() == FIXABLE
    bad.write_text("[]")
    assert main(["apply", str(bad)]) == 2
