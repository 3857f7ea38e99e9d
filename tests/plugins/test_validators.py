"""The built-in validators against the bad outputs SAFETY.md lists, with realistic contexts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

import pytest

from stomper import ChangedPath, Diagnostic, FatalError, ValidationContext, Validator, Verdict
from stomper.config import Config, default_config
from stomper.testing import plugins_with

TARGET = "pkg/app.py"
BODY = "".join(
    f"def handler_{n}(value: int) -> int:\n    return value + {n}\n\n\n" for n in range(30)
)
ORIGINAL = f"import os\nimport sys\n\n\n{BODY}print(sys.argv)\n".encode()
FIXED = ORIGINAL.replace(b"import os\n", b"", 1)

F401_OS = Diagnostic("ruff", TARGET, 1, 8, "F401", "`os` imported but unused", fixable=True)
F401_SYS = Diagnostic("ruff", TARGET, 2, 8, "F401", "`sys` imported but unused", fixable=True)
F821 = Diagnostic("ruff", TARGET, 7, 12, "F821", "Undefined name `valu`")
MODIFIED = (ChangedPath(TARGET, "modified"),)
Change = Literal["added", "deleted", "modified", "renamed", "mode", "type"]


def make_context(
    candidate: bytes = FIXED,
    *,
    original: bytes = ORIGINAL,
    root: Path = Path("/nonexistent-sandbox"),
    path: str = TARGET,
    changed: tuple[ChangedPath, ...] = MODIFIED,
    baseline: tuple[Diagnostic, ...] = (F401_OS,),
    targeted: tuple[Diagnostic, ...] | None = None,
    after: tuple[Diagnostic, ...] = (),
) -> ValidationContext:
    """A context as the engine builds it; by default the good fix of one F401."""
    return ValidationContext(
        root=root,
        path=path,
        original=original,
        candidate=candidate,
        baseline=baseline,
        targeted=baseline if targeted is None else targeted,
        after=after,
        changed=changed,
    )


def validators(config: Config | None = None) -> dict[str, Validator]:
    """The built-in validators, registered through the real plugin manager."""
    config = config or default_config(Path.cwd())
    found = plugins_with().validators(config)
    return {name: found[name] for name in ("syntax", "scope", "no-suppression", "relint")}


def run(name: str, context: ValidationContext, config: Config | None = None) -> Verdict:
    return validators(config)[name].validate(context)


def edit(old: bytes, new: bytes) -> bytes:
    """The good fix plus one more edit."""
    assert old in FIXED
    return FIXED.replace(old, new, 1)


def lines(data: bytes, keep: Callable[[int], bool]) -> bytes:
    return b"".join(line for n, line in enumerate(data.splitlines(True)) if keep(n))


REFORMATTED = FIXED.replace(b"    return", b"  return").replace(b"(value: int)", b"(value : int)")
CRLF = ORIGINAL.replace(b"\n", b"\r\n")
BOM = b"\xef\xbb\xbf"


def also(path: str, change: Change) -> ValidationContext:
    """The good fix, plus one more path the attempt touched."""
    return make_context(changed=(*MODIFIED, ChangedPath(path, change)))


def only(change: Change, path: str = TARGET, candidate: bytes = FIXED) -> ValidationContext:
    return make_context(candidate, changed=(ChangedPath(path, change),))


def edited(old: bytes, new: bytes) -> ValidationContext:
    return make_context(edit(old, new))


NOQA = ORIGINAL.replace(b"import os\n", b"import os  # noqa: F401\n")
F821_TWICE = (F821, F821._replace(line=30))
STILL_F401 = (F401_OS._replace(line=1),)

# (case id, validator, context, what the rejection must say)
REJECTIONS = [
    ("other-file", "scope", also("pkg/b.py", "modified"), "edited other file pkg/b.py"),
    ("new-file", "scope", also("pkg/new.py", "added"), "new file pkg/new.py"),
    ("deletion", "scope", also("pkg/b.py", "deleted"), "deleted pkg/b.py"),
    ("target-deleted", "scope", only("deleted", candidate=b""), "deleted pkg/app.py"),
    ("rename", "scope", only("renamed", "pkg/app2.py"), "renamed pkg/app2.py"),
    ("mode-change", "scope", also(TARGET, "mode"), "mode change on pkg/app.py"),
    ("symlink", "scope", only("type"), "type change (symlink?) on pkg/app.py"),
    ("git-metadata", "scope", also(".git/hooks/pre-commit", "added"), "git metadata"),
    ("linter-config", "scope", also("pyproject.toml", "modified"), "linter or CI configuration"),
    ("ci-file", "scope", also(".github/workflows/ci.yml", "added"), "linter or CI configuration"),
    ("noqa-added", "no-suppression", make_context(NOQA), "`# noqa` at line 1"),
    ("ruff-noqa", "no-suppression", make_context(b"# ruff: noqa\n" + FIXED), "`# ruff: noqa`"),
    (
        "type-ignore-added",
        "no-suppression",
        edited(b"value + 3", b"value + 3  # type: ignore[operator]"),
        "`# type: ignore` at line 17",
    ),
    (
        "pyright-ignore-added",
        "no-suppression",
        edited(b"value + 3", b"value + 3  # pyright: ignore"),
        "`# pyright: ignore` at line 17",
    ),
    (
        "no-type-check-added",
        "no-suppression",
        edited(b"def handler_2", b"@typing.no_type_check\ndef handler_2"),
        "`@no_type_check` at line 12",
    ),
    (
        "truncated",
        "scope",
        make_context(lines(FIXED, lambda n: n < 12)),
        "truncated: the file ends at line 12 of 125",
    ),
    (
        "rest-unchanged-placeholder",
        "scope",
        edited(b"    return value + 4\n", b"    # ... rest of the file unchanged ...\n"),
        "placeholder at line 21",
    ),
    (
        "existing-code-placeholder",
        "scope",
        edited(b"    return value + 4\n", b"    ...  # existing code here\n"),
        "placeholder at line 21",
    ),
    (
        "mass-deletion",
        "scope",
        make_context(lines(FIXED, lambda n: not 8 <= n < 100)),
        "mass deletion: 93 of 125 lines removed",
    ),
    ("whole-file-reformat", "scope", make_context(REFORMATTED), "too many changed lines: 61"),
    (
        "syntax-error",
        "syntax",
        edited(b"def handler_3(value: int)", b"def handler_3(value: int"),
        "syntax error at line 16",
    ),
    ("binary-content", "scope", edited(b"value + 5", b"value\x00 + 5"), "binary content"),
    ("binary-syntax", "syntax", edited(b"value + 5", b"value\x00 + 5"), "null bytes"),
    (
        "no-change",
        "relint",
        make_context(ORIGINAL, changed=(), after=(F401_OS,)),
        "no targeted diagnostic fixed (the file is unchanged)",
    ),
    (
        "claimed-but-not-fixed",
        "relint",
        make_context(edit(b"+ 1", b"+ 1 "), after=STILL_F401),
        "no targeted diagnostic fixed; still reported: ruff F401 at line 1",
    ),
    (
        "new-errors",
        "relint",
        make_context(after=(F821,)),
        "new diagnostics: ruff F821 at line 7: Undefined name `valu`",
    ),
    (
        "new-error-same-identity",
        "relint",
        make_context(baseline=(F401_OS, F821), targeted=(F401_OS,), after=F821_TWICE),
        "ruff F821 at line 7, 30: Undefined name `valu` (1 more than before)",
    ),
    (
        "crlf-converted",
        "scope",
        make_context(FIXED, original=CRLF),
        "line endings changed on 124 untouched lines (first at line 2: CRLF to LF)",
    ),
    ("bom-removed", "scope", make_context(FIXED, original=BOM + ORIGINAL), "BOM removed"),
    ("final-newline-removed", "scope", make_context(FIXED.rstrip()), "final newline removed"),
]


@pytest.mark.parametrize(
    ("name", "context", "reason"),
    [pytest.param(name, context, reason, id=case) for case, name, context, reason in REJECTIONS],
)
def test_rejects_bad_candidates(name: str, context: ValidationContext, reason: str) -> None:
    verdict = run(name, context)
    assert verdict.ok is False
    assert verdict.validator == name
    assert reason in verdict.message


def test_every_validator_accepts_a_good_fix() -> None:
    context = make_context()
    for name, validator in validators().items():
        verdict = validator.validate(context)
        assert verdict.ok, (name, verdict.message)
        assert verdict.validator == name
    assert run("relint", context).message == "fixed 1 of 1 targeted diagnostics"


def test_partial_fix_passes_relint_and_says_what_remains() -> None:
    both = (F401_OS, F401_SYS)
    verdict = run("relint", make_context(baseline=both, after=(F401_SYS._replace(line=1),)))
    assert verdict.ok
    assert "fixed 1 of 2" in verdict.message
    assert "still reported: ruff F401 at line 1: `sys` imported but unused" in verdict.message


def test_relint_ignores_shifted_lines_and_other_files() -> None:
    untargeted = Diagnostic("mypy", TARGET, 40, 5, "arg-type", "Argument 1 has incompatible type")
    elsewhere = Diagnostic("mypy", "pkg/other.py", 3, 1, "name-defined", 'Name "x" is not defined')
    context = make_context(
        baseline=(F401_OS, untargeted),
        targeted=(F401_OS,),
        after=(untargeted._replace(line=39), elsewhere),
    )
    assert run("relint", context).ok


def test_relint_accepts_a_new_note_but_not_a_new_error() -> None:
    note = Diagnostic("mypy", TARGET, 5, 1, "note", "See https://mypy.rtfd.io", severity="note")
    assert run("relint", make_context(after=(note,))).ok


def test_relint_rejects_when_nothing_was_targeted() -> None:
    verdict = run("relint", make_context(targeted=()))
    assert not verdict.ok
    assert "no targeted diagnostic fixed" in verdict.message


def test_relint_lists_at_most_ten_identities() -> None:
    new = tuple(F821._replace(message=f"Undefined name `v{n}`") for n in range(13))
    verdict = run("relint", make_context(after=new))
    assert verdict.message.endswith("and 3 more")


def test_suppressions_allowed_by_configuration() -> None:
    config = default_config(Path.cwd()).replace(allow_suppressions=True)
    context = make_context(ORIGINAL.replace(b"import os\n", b"import os  # noqa: F401\n"))
    verdict = run("no-suppression", context, config)
    assert verdict.ok
    assert "allowed by configuration" in verdict.message


def test_moved_or_existing_suppressions_are_not_new() -> None:
    original = ORIGINAL.replace(b"import sys\n", b"import sys  # noqa: I001\n")
    candidate = original.replace(b"import os\n", b"")
    assert run("no-suppression", make_context(candidate, original=original)).ok


def test_crlf_file_fixed_in_its_own_line_endings_passes_scope() -> None:
    candidate = FIXED.replace(b"\n", b"\r\n")
    assert run("scope", make_context(candidate, original=CRLF)).ok


def test_adding_a_missing_final_newline_passes_scope() -> None:
    original = ORIGINAL.rstrip(b"\n")
    assert run("scope", make_context(FIXED, original=original)).ok


def test_unchanged_file_is_in_scope() -> None:
    verdict = run("scope", make_context(ORIGINAL, changed=()))
    assert verdict.ok
    assert verdict.message == "nothing changed"


def test_target_turned_into_a_symlink_on_disk(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "elsewhere.py").write_bytes(FIXED)
    (tmp_path / TARGET).symlink_to(tmp_path / "elsewhere.py")
    verdict = run("scope", make_context(root=tmp_path))
    assert not verdict.ok
    assert "pkg/app.py is now a symlink" in verdict.message


def test_changed_lines_limit_grows_with_the_targeted_span() -> None:
    import_block = F401_OS._replace(code="I001", message="Import block is un-sorted", end_line=60)
    assert run("scope", make_context(REFORMATTED, baseline=(import_block,))).ok


TWO_MORE_LINES = edit(b"value + 1\n", b"value + 10\n").replace(b"value + 2\n", b"value + 20\n")
CUT_SHORT = lines(FIXED, lambda n: n < 12)


@pytest.mark.parametrize(
    ("options", "candidate", "reject"),
    [
        ({"max_changed_lines": 2}, TWO_MORE_LINES, True),
        ({"max_changed_lines": 3}, TWO_MORE_LINES, False),
        ({"max_changed_lines": 1000}, CUT_SHORT, True),
        ({"max_changed_lines": 1000, "min_deleted_lines": 200}, CUT_SHORT, False),
        ({"max_changed_lines": 1000, "max_deleted_share": 1.0}, CUT_SHORT, False),
    ],
)
def test_scope_options(options: dict[str, object], candidate: bytes, reject: bool) -> None:
    config = default_config(Path.cwd()).replace(plugins={"validators": options})
    assert run("scope", make_context(candidate), config).ok is not reject


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"max_changed_lines": "40"}, "max_changed_lines: expected an integer, got '40'"),
        ({"max_changed_lines": 0}, "max_changed_lines: expected an integer of at least 1"),
        ({"max_deleted_share": 2}, "max_deleted_share: expected a number 0 to 1, got 2"),
        ({"min_deleted_lines": True}, "min_deleted_lines: expected an integer, got True"),
        ({"max_lines": 3}, "unknown option 'max_lines'"),
    ],
)
def test_bad_options_are_config_errors(options: dict[str, object], error: str) -> None:
    config = default_config(Path.cwd()).replace(plugins={"validators": options})
    # plugins.py wraps it in a PluginError today; either way the message names the key.
    with pytest.raises(FatalError, match="validators") as raised:
        validators(config)
    assert error in str(raised.value)


def test_syntax_honours_encoding_declarations_and_stubs() -> None:
    latin1 = "# -*- coding: latin-1 -*-\nname = 'café'\n".encode("latin-1")
    assert run("syntax", make_context(latin1, original=latin1)).ok
    bom = b"\xef\xbb\xbfx = 1\n"
    assert run("syntax", make_context(bom, original=bom)).ok
    stub = b"def f(x: int) -> int: ...\n"
    assert run("syntax", make_context(stub, path="pkg/app.pyi")).ok
    assert run("syntax", make_context(b"{not python", path="data.json")).ok


def test_syntax_does_not_print_warnings(capfd: pytest.CaptureFixture[str]) -> None:
    assert run("syntax", make_context(b"pattern = '\\d+'\n")).ok
    assert capfd.readouterr().err == ""


def test_relint_masks_line_numbers_inside_messages() -> None:
    f811 = Diagnostic("ruff", TARGET, 5, 8, "F811", "Redefinition of unused `sys` from line 2")
    moved = f811._replace(line=4, message="Redefinition of unused `sys` from line 1")
    context = make_context(baseline=(F401_OS, f811), targeted=(F401_OS,), after=(moved,))
    assert run("relint", context) == Verdict(True, "fixed 1 of 1 targeted diagnostics", "relint")


def test_hooks_register_exactly_the_validators() -> None:
    from stomper_plugins import tests_validator
    from stomper_plugins import validators as module

    registered: list[Validator] = []
    config = default_config(Path.cwd())
    module.stomper_register_validators(register=registered.append, config=config)
    tests_validator.stomper_register_validators(register=registered.append, config=config)
    names = [validator.name for validator in registered]
    assert names == ["syntax", "scope", "no-suppression", "relint", "tests"]
    assert list(config.validators) == names  # the default chain names exactly these
