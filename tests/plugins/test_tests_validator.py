"""The ``tests`` validator running real pytest on a real tiny project that a candidate breaks."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from stomper import ChangedPath, FatalError, ValidationContext, Validator, Verdict
from stomper.config import default_config
from stomper.testing import plugins_with
from stomper_plugins.tests_validator import module_name, related_tests

TARGET = "src/calc/ops.py"
GOOD = b"def add(a: int, b: int) -> int:\n    return a + b\n"
BROKEN = b"def add(a: int, b: int) -> int:\n    return a - b\n"
TEST_OPS = "from calc.ops import add\n\n\ndef test_add() -> None:\n    assert add(2, 3) == 5\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A src-layout project, not installed: only the validator's PYTHONPATH finds ``calc``."""
    root = tmp_path / "sandbox"
    files = {
        "pyproject.toml": "[tool.pytest.ini_options]\ntestpaths = ['tests']\n",
        "src/calc/__init__.py": "",
        "src/calc/ops.py": GOOD.decode(),
        "src/calc/text.py": "def shout(word: str) -> str:\n    return word.upper()\n",
        "tests/test_ops.py": TEST_OPS,
        "tests/test_text.py": "from calc.text import shout\n\n\ndef test_shout() -> None:\n"
        "    assert shout('a') == 'A'\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def make_validator(root: Path, mode: str, **options: object) -> Validator:
    config = default_config(root).replace(test_validation=mode, plugins={"pytest": options})
    return plugins_with().validators(config)["tests"]


def check(
    root: Path, mode: str, candidate: bytes, path: str = TARGET, **options: object
) -> Verdict:
    """Write the candidate into the sandbox, as the agent would have, and validate it."""
    original = (root / path).read_bytes() if (root / path).exists() else b""
    (root / path).write_bytes(candidate)
    context = ValidationContext(
        root, path, original, candidate, (), (), (), (ChangedPath(path, "modified"),)
    )
    return make_validator(root, mode, **options).validate(context)


def test_none_never_runs_tests(project: Path) -> None:
    assert check(project, "none", BROKEN) == Verdict(True, "tests not run", "tests")


def test_related_passes_a_good_candidate(project: Path) -> None:
    verdict = check(project, "related", GOOD)
    assert verdict == Verdict(True, "tests passed: tests/test_ops.py", "tests")
    assert sorted(p.name for p in project.iterdir()) == ["pyproject.toml", "src", "tests"]


def test_related_rejects_a_candidate_that_breaks_its_test(project: Path) -> None:
    verdict = check(project, "related", BROKEN)
    assert not verdict.ok
    assert verdict.message.startswith("tests failed (pytest exit code 1) in tests/test_ops.py:")
    assert "assert -1 == 5" in verdict.message


def test_related_runs_only_related_tests(project: Path) -> None:
    (project / "tests/test_text.py").write_text("def test_unrelated() -> None:\n    assert False\n")
    assert check(project, "related", GOOD).ok
    assert not check(project, "full", GOOD).ok


def test_related_without_related_tests_passes(project: Path) -> None:
    verdict = check(project, "related", b"VALUE = 1\n", path="src/calc/constants.py")
    assert verdict == Verdict(True, "no tests related to src/calc/constants.py", "tests")


def test_full_runs_the_whole_suite(project: Path) -> None:
    assert check(project, "full", GOOD) == Verdict(True, "tests passed: the whole suite", "tests")
    broken = check(project, "full", BROKEN)
    assert not broken.ok
    assert "in the whole suite" in broken.message


def test_no_tests_collected_passes(project: Path) -> None:
    for test in (project / "tests").iterdir():
        test.unlink()
    assert check(project, "full", GOOD).ok


def test_timeout_kills_the_tests(project: Path) -> None:
    (project / "tests/test_ops.py").write_text(
        "import time\nfrom calc.ops import add\n\n\ndef test_slow() -> None:\n    time.sleep(60)\n"
    )
    started = time.monotonic()
    verdict = check(project, "related", GOOD, timeout=1)
    assert time.monotonic() - started < 10
    assert verdict == Verdict(False, "tests timed out after 1 s: tests/test_ops.py", "tests")


def test_git_variables_do_not_reach_the_tests(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_DIR", "/users/repo/.git")
    monkeypatch.setenv("GIT_INDEX_FILE", "/users/repo/.git/index")
    (project / "tests/test_ops.py").write_text(
        TEST_OPS + "\n\ndef test_env() -> None:\n    import os\n\n"
        "    assert not [k for k in os.environ if k.startswith('GIT_')]\n"
    )
    assert check(project, "related", GOOD).ok


def test_related_tests_found_by_name_and_by_import(tmp_path: Path) -> None:
    tests = {
        "tests/test_ops.py": "",
        "tests/ops_test.py": "",
        "tests/test_import.py": "import calc.ops as ops\n",
        "tests/test_from_parent.py": "from calc import text, ops\n",
        "tests/test_parenthesised.py": "from calc import (\n    text,\n    ops,\n)\n",
        "tests/test_patch.py": "from unittest import mock\n\n@mock.patch('calc.ops.add')\n",
        "tests/unit/test_submodule.py": "from calc.ops.sub import thing\n",
        "tests/test_other.py": "from calc import text\nimport calc.opsx\n# calc.ops\n",
        "tests/test_operations.py": "",
        ".venv/lib/test_ops.py": "",
        "node_modules/x/test_ops.py": "",
        "src/calc/ops.py": "",
        "src/calc/__init__.py": "",
    }
    for name, text in tests.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert related_tests(tmp_path, TARGET) == [
        "tests/ops_test.py",
        "tests/test_from_parent.py",
        "tests/test_import.py",
        "tests/test_ops.py",
        "tests/test_parenthesised.py",
        "tests/test_patch.py",
        "tests/unit/test_submodule.py",
    ]


def test_a_test_file_target_runs_itself(project: Path) -> None:
    assert related_tests(project, "tests/test_text.py") == ["tests/test_text.py"]


@pytest.mark.parametrize(
    ("path", "packages", "expected"),
    [
        ("src/calc/ops.py", ["src/calc"], "calc.ops"),
        ("src/calc/sub/ops.py", ["src/calc", "src/calc/sub"], "calc.sub.ops"),
        ("src/calc/__init__.py", ["src/calc"], "calc"),
        ("scripts/tool.py", [], "tool"),
        ("tool.py", [], "tool"),
    ],
)
def test_module_name(tmp_path: Path, path: str, packages: list[str], expected: str) -> None:
    for package in packages:
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
        (tmp_path / package / "__init__.py").write_text("")
    assert module_name(tmp_path, path) == expected


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"timeout": "10"}, "pytest] timeout: expected a number, got '10'"),
        ({"timeout": 0}, "pytest] timeout: expected a number at least 1"),
        ({"python": ""}, "pytest] python: expected a non-empty string"),
        ({"args": ["-v"]}, "unknown option 'args'"),
    ],
)
def test_bad_options(tmp_path: Path, options: dict[str, object], error: str) -> None:
    with pytest.raises(FatalError, match="pytest") as raised:
        make_validator(tmp_path, "related", **options)
    assert error in str(raised.value)
