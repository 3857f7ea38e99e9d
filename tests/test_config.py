from __future__ import annotations

from pathlib import Path

import pytest

from stomper.config import KEYS, default_config, load_config
from stomper.errors import ConfigError


def write_pyproject(root: Path, body: str) -> Path:
    path = root / "pyproject.toml"
    path.write_text(f"[tool.stomper]\n{body}\n", encoding="utf-8")
    return path


def test_defaults_without_pyproject(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config.source is None
    assert config.linters == ("ruff", "mypy")
    assert config.agents == ("ruff-fix",)
    assert config.max_parallel_files == 4
    assert config.commit is True
    assert config.test_validation == "none"
    assert config == default_config(tmp_path)


def test_values_are_read_and_frozen(tmp_path: Path) -> None:
    source = write_pyproject(
        tmp_path,
        'linters = ["ruff"]\nmax_attempts = 5\nagent_timeout = 30\nexclude = ["gen/**"]\n'
        '[tool.stomper.plugins.claude]\nmodel = "opus"\n',
    )
    config = load_config(tmp_path)
    assert config.source == source
    assert config.linters == ("ruff",)
    assert config.max_attempts == 5
    assert config.agent_timeout == 30.0
    assert isinstance(config.agent_timeout, float)
    assert config.exclude == ("gen/**",)
    assert config.plugin_options("claude") == {"model": "opus"}
    assert config.plugin_options("nobody") == {}
    with pytest.raises(AttributeError):
        config.max_attempts = 1  # type: ignore[misc]


def test_overrides_beat_the_file_and_none_means_not_given(tmp_path: Path) -> None:
    write_pyproject(tmp_path, "max_parallel_files = 2\ncommit = false")
    config = load_config(tmp_path, {"max_parallel_files": 8, "commit": None})
    assert config.max_parallel_files == 8
    assert config.commit is False


def test_other_tools_tables_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 80\n", encoding="utf-8")
    assert load_config(tmp_path).source is None


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("max_attempts = ", ["malformed TOML"]),
        ("colour = true", ["unknown key 'colour'"]),
        ('max_attempts = "three"', ["max_attempts", "expected an integer"]),
        ("max_attempts = true", ["max_attempts", "expected an integer"]),
        ('linters = "ruff"', ["linters", "a list of strings"]),
        ('test_validation = "some"', ["test_validation", "not one of"]),
        ("max_parallel_files = 0", ["max_parallel_files", "at least 1"]),
        ("agent_timeout = -1", ["agent_timeout", "at least 0"]),
        ('commit_style = "fix {what}"', ["commit_style", "{codes}"]),
        ("plugins = { claude = 3 }", ["plugins.claude", "must be a table"]),
    ],
)
def test_bad_configuration_names_the_key_and_the_file(
    tmp_path: Path, body: str, words: list[str]
) -> None:
    source = write_pyproject(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    message = str(caught.value)
    assert str(source) in message
    for word in words:
        assert word in message
    assert "\n" not in message


def test_bad_override_names_the_command_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"command line.*max_attempts"):
        load_config(tmp_path, {"max_attempts": "x"})


def test_every_key_is_documented() -> None:
    reference = (Path(__file__).parents[1] / "docs" / "configuration.md").read_text()
    for key, spec in KEYS.items():
        assert f"`{key}`" in reference, f"{key} missing from docs/configuration.md"
        assert spec.doc
