"""The shortcuts of the ruff linter, the validators and the filters answer as the slow path did.

Each shortcut (a string prefix instead of PurePath, one conversion loop, a whole-file precheck
before the per-line work, a verdict without identities when nothing is reported after a fix)
is compared with the straightforward computation on varied inputs.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

import pytest

from stomper import ChangedPath, Diagnostic, ValidationContext, Verdict
from stomper.config import default_config
from stomper.diagnostics import apply_filters
from stomper_plugins import _textcheck as text
from stomper_plugins._cli_linter import PathMap
from stomper_plugins.ruff import SYNTAX_CODES, RuffLinter
from stomper_plugins.validators import _LINE_REFERENCE, RelintValidator, _key

# --- PathMap -------------------------------------------------------------------------------


def reference_locate(root: Path, paths: Sequence[str], reported: str) -> str | None:
    """PathMap's answer as PurePath comparisons and real paths alone, nothing cached."""
    base_root = os.path.abspath(root)
    wanted = set(paths)
    by_real = {os.path.realpath(Path(base_root, path)): path for path in paths}
    absolute = PurePath(os.path.normpath(os.path.join(base_root, reported)))
    for base in (PurePath(base_root), PurePath(os.path.realpath(root))):
        if absolute.is_relative_to(base):
            relative = absolute.relative_to(base).as_posix()
            if relative in wanted:
                return relative
    return by_real.get(os.path.realpath(absolute))


@pytest.fixture
def linked_project(tmp_path: Path) -> tuple[Path, Path]:
    """A project with nested files and a symlinked file, and a symlink to the project."""
    real = tmp_path / "real"
    for name in ("a.py", "pkg/b.py", "pkg/sub/c.py", "-dash.py", "pkg/target.py", "_a.py"):
        (real / name).parent.mkdir(parents=True, exist_ok=True)
        (real / name).write_text("x = 1\n")
    (real / "pkg" / "alias.py").symlink_to("target.py")
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    return real, link


def reported_names(real: Path, link: Path, paths: Sequence[str]) -> list[str]:
    names = ["", ".", "..", "/", "missing.py", "pkg", "pkg/", "pkg/../a.py", "./pkg/b.py"]
    for path in [*paths, "pkg/target.py", "pkg/alias.py", "other.py"]:
        for base in (str(real), str(link), str(real) + "/", str(link) + "//"):
            names.append(os.path.join(base, path))
        names.extend([path, f"./{path}", f"pkg/../{path}", f"{link.name}/../real/{path}"])
        names.extend([f"{real}{path}", f"{real}_{path}", f"{link}{path}"])  # not under the root
        names.append(os.path.join(str(real.parent), ".", "real", path))
    return names


@pytest.mark.parametrize("root_kind", ["real", "link"])
@pytest.mark.parametrize(
    "paths",
    [
        ["a.py", "pkg/b.py", "pkg/sub/c.py", "-dash.py"],
        ["pkg/alias.py"],
        ["pkg/target.py", "pkg/alias.py"],
        ["pkg/alias.py", "pkg/target.py"],
        [],
    ],
)
def test_path_map_answers_as_pure_path_comparisons(
    linked_project: tuple[Path, Path], root_kind: str, paths: list[str]
) -> None:
    real, link = linked_project
    root = real if root_kind == "real" else link
    for name in reported_names(real, link, paths):
        fast, general = PathMap(root, paths), PathMap(root, paths)
        general.prefixes = ()  # the PurePath comparisons only
        expected = reference_locate(root, paths, name)
        assert fast(name) == general(name) == expected, name
        assert fast(name) == expected, name  # and again, from the cache


def test_path_map_of_the_file_system_root(linked_project: tuple[Path, Path]) -> None:
    real, link = linked_project
    paths = [str(real / "a.py").lstrip("/"), str(link / "pkg" / "b.py").lstrip("/")]
    names = [*paths, *(f"/{path}" for path in paths), *(f"//{path}" for path in paths)]
    for root in (Path("/"), Path("//")):
        for name in [*names, str(link / "a.py"), "a.py"]:
            expected = reference_locate(root, paths, name)
            assert PathMap(root, paths)(name) == expected, (root, name)


def test_path_map_resolves_real_paths_only_when_needed(linked_project: tuple[Path, Path]) -> None:
    real, link = linked_project
    locate = PathMap(link, ["a.py", "pkg/alias.py"])
    assert locate(str(real / "a.py")) == "a.py"
    assert locate._by_real is None
    assert locate(str(real / "pkg" / "target.py")) == "pkg/alias.py"
    assert locate._by_real is not None


# --- ruff's JSON ---------------------------------------------------------------------------


def reference_diagnostic(
    item: Mapping[str, Any], locate: PathMap, fix_applicability: tuple[str, ...]
) -> Diagnostic | None:
    """One item as a diagnostic, written out field by field with keywords."""
    path = locate(str(item.get("filename", "")))
    if path is None:
        return None
    code = item.get("code")
    start = item.get("location") or {}
    end = item.get("end_location") or {}
    fix = item.get("fix") or {}
    url = item.get("url")
    return Diagnostic(
        linter="ruff",
        path=path,
        line=max(int(start.get("row") or 1), 1),
        column=max(int(start.get("column") or 1), 1),
        code="invalid-syntax" if code in SYNTAX_CODES else str(code),
        message=str(item.get("message", "")),
        end_line=end.get("row"),
        end_column=end.get("column"),
        fixable=fix.get("applicability") in fix_applicability,
        url=url if isinstance(url, str) else None,
        severity="warning" if item.get("severity") == "warning" else "error",
    )


def ruff_items(root: Path) -> list[dict[str, Any]]:
    random.seed(7)
    items: list[dict[str, Any]] = []
    for index in range(400):
        item: dict[str, Any] = {
            "filename": random.choice(
                [str(root / "a.py"), "a.py", str(root / "b.py"), "elsewhere.py", "./a.py"]
            ),
            "code": random.choice(["F401", "E501", None, "E999", "invalid-syntax", 12]),
            "location": random.choice(
                [{"row": 3, "column": 7}, {"row": 0, "column": -2}, {"row": None}, {}, None]
            ),
            "end_location": random.choice([{"row": 4, "column": 1}, {}, None]),
            "fix": random.choice(
                [{"applicability": "safe"}, {"applicability": "unsafe"}, None, {}]
            ),
            "url": random.choice(["https://docs.astral.sh/ruff/rules/x", None, 5]),
            "severity": random.choice(["warning", "error", None]),
            "message": f"message {index}",
        }
        for key in list(item):
            if random.random() < 0.1:
                del item[key]
        items.append(item)
    return items


@pytest.mark.parametrize("unsafe_fixes", [False, True])
def test_ruff_items_become_the_same_diagnostics(tmp_path: Path, unsafe_fixes: bool) -> None:
    (tmp_path / "a.py").write_text("")
    config = default_config(tmp_path).replace(unsafe_fixes=unsafe_fixes)
    linter = RuffLinter(config)
    items = ruff_items(tmp_path)
    expected = [
        found
        for item in items
        if (
            found := reference_diagnostic(
                item, PathMap(tmp_path, ["a.py"]), linter.fix_applicability
            )
        )
        is not None
    ]
    got = linter._diagnostics(items, PathMap(tmp_path, ["a.py"]))
    assert got == expected
    assert [tuple(map(type, d)) for d in got] == [tuple(map(type, d)) for d in expected]
    assert len(got) > 100


# --- line comparisons ----------------------------------------------------------------------


def reference_line_changes(
    original: Sequence[bytes], candidate: Sequence[bytes]
) -> text.LineChanges:
    """line_changes looking at the ending of every kept line, one by one."""
    old = [line.rstrip(b"\r\n") for line in original]
    new = [line.rstrip(b"\r\n") for line in candidate]
    removed = added = removed_at_end = endings = 0
    first: tuple[int, bytes, bytes] | None = None
    for tag, old_start, old_end, new_start, new_end in text._opcodes(old, new):
        if tag != "equal":
            removed += old_end - old_start
            added += new_end - new_start
            if old_end == len(old):
                removed_at_end = max(0, (old_end - old_start) - (new_end - new_start))
            continue
        for offset in range(old_end - old_start):
            before = text._ending(original[old_start + offset])
            after = text._ending(candidate[new_start + offset])
            if before and after and before != after:
                endings += 1
                if first is None:
                    first = (old_start + offset + 1, before, after)
    return text.LineChanges(max(removed, added), removed_at_end, endings, first)


def random_files(count: int) -> list[tuple[bytes, bytes]]:
    """Pairs of files: edits, moved lines, changed endings, placeholders, suppressions."""
    random.seed(11)
    pool = [
        b"import os",
        b"x = 1",
        b"    return x",
        b"# rest of the code",
        b"    # ... existing code unchanged",
        b"...",
        b"// implementation goes here",
        b"y = 2  # noqa: E501",
        b"y = 2  # noqa: E501, E741",
        b"z = 3  # type: ignore[attr-defined]",
        b"#",
        b"noqa",
        b"@no_type_check",
        b"w = 4  # NOQA",
        b"# isort: skip",
        b"",
        b"s = 'a // b ... c #'",
    ]
    pairs = []
    for _ in range(count):
        lines = [random.choice(pool) for _ in range(random.randint(0, 12))]
        ending = random.choice([b"\n", b"\r\n", b"\r"])
        original = [line + random.choice([ending, ending, b"\r\n", b"\n"]) for line in lines]
        candidate = list(original)
        for _ in range(random.randint(0, 4)):
            action = random.choice(["insert", "delete", "ending", "swap"])
            if action == "insert" or not candidate:
                candidate.insert(random.randint(0, len(candidate)), random.choice(pool) + ending)
            elif action == "delete":
                del candidate[random.randrange(len(candidate))]
            elif action == "ending":
                index = random.randrange(len(candidate))
                candidate[index] = candidate[index].rstrip(b"\r\n") + random.choice(
                    [b"\n", b"\r\n", b"\r", b""]
                )
            else:
                i, j = random.randrange(len(candidate)), random.randrange(len(candidate))
                candidate[i], candidate[j] = candidate[j], candidate[i]
        if original and random.random() < 0.3:
            original[-1] = original[-1].rstrip(b"\r\n")
        pairs.append((b"".join(original), b"".join(candidate)))
    return pairs


FILES = random_files(600)


def test_line_changes_as_line_by_line() -> None:
    for original, candidate in FILES:
        old, new = text.split_lines(original), text.split_lines(candidate)
        assert text.line_changes(old, new) == reference_line_changes(old, new)


def test_new_placeholders_as_every_line_checked() -> None:
    seen = 0
    for original, candidate in FILES:
        old, new = text.split_lines(original), text.split_lines(candidate)
        expected = text.new_lines(old, new, text.is_placeholder)
        assert text.new_placeholders(old, new) == expected
        seen += bool(expected)
    assert seen > 50


def test_new_suppressions_as_every_line_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = [text.new_suppressions(original, candidate) for original, candidate in FILES]
    monkeypatch.setattr(text, "_ANY_SUPPRESSION", re.compile(b""))  # always look line by line
    general = [text.new_suppressions(original, candidate) for original, candidate in FILES]
    assert fast == general
    assert sum(bool(added) for added in general) > 50
    # Whitespace across a line break matches the whole file, never a line: still none new.
    assert text.new_suppressions(b"", b"x = 1  #\nnoqa\n") == []


# --- relint --------------------------------------------------------------------------------


def relint_contexts() -> list[ValidationContext]:
    random.seed(5)
    pool = [
        Diagnostic("ruff", "a.py", 1, 1, "F401", "`os` imported but unused"),
        Diagnostic("ruff", "a.py", 4, 1, "F811", "redefinition of `x` from line 2"),
        Diagnostic("ruff", "b.py", 2, 1, "F401", "`os` imported but unused"),
        Diagnostic("mypy", "a.py", 3, 5, "misc", "defined on lines 3", severity="note"),
    ]
    contexts = []
    for _ in range(300):
        contexts.append(
            ValidationContext(
                root=Path("/nonexistent-sandbox"),
                path="a.py",
                original=b"x = 1\n",
                candidate=random.choice([b"x = 1\n", b"x = 2\n"]),
                baseline=tuple(random.choices(pool, k=random.randint(0, 4))),
                targeted=tuple(random.choices(pool, k=random.randint(0, 3))),
                after=tuple(random.choices(pool[2:], k=random.randint(0, 2))),
                changed=(ChangedPath("a.py", "modified"),),
            )
        )
    return contexts


def test_relint_without_diagnostics_after_as_the_full_comparison() -> None:
    validator = RelintValidator()
    verdicts: list[Verdict] = []
    for context in relint_contexts():
        after = [d for d in context.after if d.path == context.path]
        verdict = validator.validate(context)
        assert verdict == validator._compare(context, after)
        verdicts.append(verdict)
    assert {verdict.ok for verdict in verdicts} == {True, False}


@pytest.mark.parametrize(
    "message",
    ["`os` imported but unused", "redefinition of `x` from line 3", "lines 3", "line", "linen 4"],
)
def test_relint_key_masks_as_the_substitution(message: str) -> None:
    diagnostic = Diagnostic("ruff", "a.py", 1, 1, "F811", message)
    assert _key(diagnostic) == ("ruff", "F811", _LINE_REFERENCE.sub(r"\1 N", message))


# --- filters -------------------------------------------------------------------------------


def test_filters_without_limits_keep_everything_in_order(tmp_path: Path) -> None:
    diagnostics = [
        Diagnostic("ruff", f"{path}.py", line, 1, code, "m")
        for path in "bab"
        for line, code in enumerate(["F401", "E501", "I001"], start=1)
    ]
    config = default_config(tmp_path).replace(select=(), ignore=(), max_errors=None)
    general = apply_filters(diagnostics, config.replace(max_errors=len(diagnostics)))
    assert apply_filters(iter(diagnostics), config) == general == diagnostics
    assert apply_filters(diagnostics, config) is not diagnostics
