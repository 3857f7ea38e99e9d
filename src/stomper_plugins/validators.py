"""Built-in plugin ``validators``: ``syntax``, ``scope``, ``no-suppression`` and ``relint``.

Each judges one candidate fix from its :class:`stomper.ValidationContext` alone (``scope`` also
looks whether the target became a symlink), so they are cheap and safe to run in threads. A
rejection's message is written for the next AI attempt: what is wrong, where, and what to do.

Options, all in ``[tool.stomper.plugins.validators]``:

- ``max_changed_lines``: reject a candidate changing more lines than this. By default the
  limit is 40, or 5 plus the lines it spans per targeted diagnostic when that is more, so a
  fix of one long import block (I001) may move it but a whole-file rewrite is refused.
- ``max_deleted_share`` (0.5) and ``min_deleted_lines`` (20): a candidate that lost more than
  this share of the original's lines, and more than this many, is a truncation or a mass
  deletion.
"""

from __future__ import annotations

import re
import threading
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from stomper import ChangedPath, Diagnostic, ValidationContext, Verdict, hookimpl
from stomper_plugins import _textcheck as text
from stomper_plugins._options import integer_option, number_option, reject_unknown

if TYPE_CHECKING:
    from stomper import Config, Validator

PLUGIN = "validators"
OPTIONS = ("max_changed_lines", "max_deleted_share", "min_deleted_lines")
BOM = b"\xef\xbb\xbf"
_MAX_LISTED = 10
# Paths whose edit would change what the linters or CI report, named as such in rejections.
_CONFIG_FILES = frozenset(
    {"pyproject.toml", "setup.cfg", "tox.ini", "ruff.toml", ".ruff.toml", "mypy.ini", ".flake8"}
)
_CONFIG_PREFIXES = (".github/", ".gitlab-ci", ".pre-commit-config", ".circleci/", "azure-pipelines")
# warnings.catch_warnings swaps process-wide state; validators run in threads, so serialise it.
_WARNINGS_LOCK = threading.Lock()
# "from line 3", "defined on line 12": these move with the lines, so relint masks them.
_LINE_REFERENCE = re.compile(r"\b(line|lines)\s+\d+")


@hookimpl
def stomper_register_validators(register: Callable[[Validator], None], config: Config) -> None:
    """Register the four built-in validators, with options read (and checked) once."""
    options = config.plugin_options(PLUGIN)
    reject_unknown(PLUGIN, options, OPTIONS)
    register(SyntaxValidator())
    register(ScopeValidator(ScopeLimits.from_options(options)))
    register(NoSuppressionValidator(allowed=config.allow_suppressions))
    register(RelintValidator())


class SyntaxValidator:
    """The candidate still compiles (a ``.py`` or ``.pyi`` file; other files pass)."""

    name = "syntax"
    batchable = True  # judges only what the context holds
    reads_after = False  # judged while the linters run (the batched path)

    def validate(self, context: ValidationContext) -> Verdict:
        """Compile the candidate's bytes, so coding declarations and a BOM are honoured."""
        if not context.path.endswith((".py", ".pyi")):
            return Verdict(True, "not Python source; not compiled", self.name)
        try:
            # Invalid escape sequences warn on compile; a validator must not print.
            with _WARNINGS_LOCK, warnings.catch_warnings():
                warnings.simplefilter("ignore")
                compile(context.candidate, context.path, "exec", dont_inherit=True)
        except SyntaxError as error:
            where = f" at line {error.lineno}" if error.lineno else ""
            return Verdict(False, f"syntax error{where}: {error.msg}", self.name)
        except ValueError as error:  # NUL bytes, on older Pythons
            return Verdict(False, f"syntax error: {error}", self.name)
        return Verdict(True, "compiles", self.name)


class ScopeLimits(NamedTuple):
    """How much one fix may change before it looks like a rewrite, truncation or deletion."""

    max_changed_lines: int | None = None
    max_deleted_share: float = 0.5
    min_deleted_lines: int = 20

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> ScopeLimits:
        """Read the limits from ``[tool.stomper.plugins.validators]``; ConfigError if wrong."""
        fixed = None
        if "max_changed_lines" in options:
            fixed = integer_option(PLUGIN, options, "max_changed_lines", 0, minimum=1)
        share = number_option(PLUGIN, options, "max_deleted_share", 0.5, maximum=1.0)
        deleted = integer_option(PLUGIN, options, "min_deleted_lines", 20)
        return cls(fixed, share, deleted)

    def changed_lines(self, targeted: Sequence[Diagnostic]) -> int:
        """The changed-lines limit for a fix of ``targeted``."""
        if self.max_changed_lines is not None:
            return self.max_changed_lines
        spans = sum(5 + max(1, (d.end_line or d.line) - d.line + 1) for d in targeted)
        return max(40, spans)


class ScopeValidator:
    """Only the target file changed, as text, in place, and by a bounded amount."""

    name = "scope"
    batchable = True  # judges only what the context holds
    reads_after = False  # judged while the linters run (the batched path)

    def __init__(self, limits: ScopeLimits) -> None:
        self.limits = limits

    def validate(self, context: ValidationContext) -> Verdict:
        """Reject other paths, binary content, truncation, placeholders and rewrites."""
        if not context.changed and context.candidate == context.original:
            return Verdict(True, "nothing changed", self.name)
        problems = list(_path_problems(context))
        if ChangedPath(context.path, "deleted") not in context.changed:
            problems.extend(self._content_problems(context))
        if problems:
            return Verdict(False, f"out of scope: {'; '.join(problems)}", self.name)
        return Verdict(True, f"only {context.path} changed", self.name)

    def _content_problems(self, context: ValidationContext) -> Iterable[str]:
        original, candidate = context.original, context.candidate
        if candidate.count(b"\0") > original.count(b"\0"):
            yield "binary content (NUL bytes) in the candidate"
        if original.startswith(BOM) != candidate.startswith(BOM):
            yield f"BOM {'removed' if original.startswith(BOM) else 'added'}: keep the encoding"
        if _ends_line(original) and candidate and not _ends_line(candidate):
            yield "final newline removed"
        old_lines, new_lines = text.split_lines(original), text.split_lines(candidate)
        changes = text.line_changes(old_lines, new_lines)
        yield from self._size_problems(len(old_lines), len(new_lines), changes.removed_at_end)
        for number, found in text.new_placeholders(old_lines, new_lines)[:3]:
            yield f"placeholder at line {number} ({text.show(found)!r}): write the code out"
        if changes.first_ending_change is not None:
            line, before, after = changes.first_ending_change
            yield (
                f"line endings changed on {changes.endings_changed} untouched lines (first at "
                f"line {line}: {_ending_name(before)} to {_ending_name(after)}): keep them"
            )
        limit = self.limits.changed_lines(context.targeted)
        if changes.changed > limit:
            yield (
                f"too many changed lines: {changes.changed} (limit {limit}); change only what "
                f"the diagnostics need, no rewrite or reformat"
            )

    def _size_problems(self, old: int, new: int, removed_at_end: int) -> Iterable[str]:
        lost = old - new
        if lost <= self.limits.min_deleted_lines or lost <= self.limits.max_deleted_share * old:
            return
        # Most of the loss at the very end: the candidate was cut off, not edited.
        if removed_at_end * 2 >= lost:
            yield f"truncated: the file ends at line {new} of {old}; return the whole file"
        else:
            yield f"mass deletion: {lost} of {old} lines removed"


def _path_problems(context: ValidationContext) -> Iterable[str]:
    expected = ChangedPath(context.path, "modified")
    for changed in context.changed:
        if changed != expected:
            yield _describe_change(changed, context.path)
    if (context.root / context.path).is_symlink():
        yield f"{context.path} is now a symlink"


def _describe_change(changed: ChangedPath, target: str) -> str:
    path = changed.path
    if path == ".git" or path.startswith(".git/"):
        return f"git metadata touched: {path}"
    what = {
        "added": "new file",
        "deleted": "deleted",
        "renamed": "renamed",
        "mode": "mode change on",
        "type": "type change (symlink?) on",
        "modified": "edited other file",
    }[changed.change]
    if path in _CONFIG_FILES or path.startswith(_CONFIG_PREFIXES):
        return f"{what} {path} (linter or CI configuration)"
    if path != target and changed.change == "modified":
        return f"{what} {path}: fix only {target}"
    return f"{what} {path}"


def _ends_line(data: bytes) -> bool:
    return data.endswith((b"\n", b"\r"))


def _ending_name(ending: bytes) -> str:
    return {b"\r\n": "CRLF", b"\n": "LF", b"\r": "CR"}.get(ending, repr(ending))


class NoSuppressionValidator:
    """No new ``# noqa``, ``# type: ignore`` or similar, unless the configuration allows it."""

    name = "no-suppression"
    batchable = True  # judges only what the context holds
    reads_after = False  # judged while the linters run (the batched path)

    def __init__(self, *, allowed: bool) -> None:
        self.allowed = allowed

    def validate(self, context: ValidationContext) -> Verdict:
        """Reject a suppression the original lacked, or one widened to silence more codes."""
        if self.allowed:
            return Verdict(True, "suppressions allowed by configuration", self.name)
        added = list(dict.fromkeys(text.new_suppressions(context.original, context.candidate)))
        if not added:
            return Verdict(True, "no new suppression", self.name)
        old_lines = text.split_lines(context.original)
        new_lines = text.split_lines(context.candidate)
        found = []
        for kind in added:
            where = text.new_lines(old_lines, new_lines, text.SUPPRESSIONS[kind].search)
            lines = ", ".join(str(number) for number, _ in where) or "?"
            found.append(f"`{kind}` at line {lines}")
        message = f"new suppression instead of a fix: {'; '.join(found)}; fix the code instead"
        return Verdict(False, message, self.name)


class RelintValidator:
    """The linters' verdict on the candidate: something targeted is gone, nothing is new.

    Diagnostics are compared as multisets of ``(linter, code, message)`` so that lines shifted
    by the fix do not count as new problems; line numbers inside messages ("redefinition of
    `x` from line 3") are masked for the same reason. Only the target file's diagnostics are
    compared; breakage in other files is the run's final whole-project check. Notes never
    count as new: they accompany errors, which do.
    """

    name = "relint"
    batchable = True  # judges only what the context holds

    def validate(self, context: ValidationContext) -> Verdict:
        """Reject new diagnostics, and candidates that fixed none of the targeted ones."""
        after = [d for d in context.after if d.path == context.path]
        return self._compare(context, after) if after else self._all_gone(context)

    def _compare(self, context: ValidationContext, after: Sequence[Diagnostic]) -> Verdict:
        """:meth:`validate` in general: ``after`` holds the target file's new diagnostics."""
        before = _counts(context.baseline, context.path)
        now = _counts(after, context.path)
        targeted = _counts(context.targeted, context.path)
        new = [d for d in after if d.severity != "note" and now[_key(d)] > before[_key(d)]]
        remaining = [d for d in after if _key(d) in targeted]
        still = f"; still reported: {_listing(remaining)}" if remaining else ""
        if new:
            extra = {key: now[key] - before[key] for key in now}
            return Verdict(False, f"new diagnostics: {_listing(new, extra)}{still}", self.name)
        fixed = sum(_fixed(count, before[key], now[key]) for key, count in targeted.items())
        if fixed == 0:
            unchanged = " (the file is unchanged)" if context.candidate == context.original else ""
            return Verdict(False, f"no targeted diagnostic fixed{unchanged}{still}", self.name)
        total = sum(targeted.values())
        return Verdict(True, f"fixed {fixed} of {total} targeted diagnostics{still}", self.name)

    def _all_gone(self, context: ValidationContext) -> Verdict:
        """:meth:`_compare` with nothing reported on the target file, as most fixes end.

        Nothing can be new or remain then, and every targeted diagnostic is fixed, so only
        their number matters: no identities to build and count.
        """
        path = context.path
        total = sum(1 for d in context.targeted if d.path == path)
        if total == 0:
            unchanged = " (the file is unchanged)" if context.candidate == context.original else ""
            return Verdict(False, f"no targeted diagnostic fixed{unchanged}", self.name)
        return Verdict(True, f"fixed {total} of {total} targeted diagnostics", self.name)


def _key(diagnostic: Diagnostic) -> tuple[str, str, str]:
    linter, code, message = diagnostic.identity
    if "line" not in message:  # nothing to mask (most messages): skip the substitution
        return linter, code, message
    return linter, code, _LINE_REFERENCE.sub(r"\1 N", message)


def _counts(diagnostics: Iterable[Diagnostic], path: str) -> Counter[tuple[str, str, str]]:
    return Counter(_key(d) for d in diagnostics if d.path == path)


def _fixed(targeted: int, before: int, now: int) -> int:
    """How many of ``targeted`` like diagnostics are gone; untargeted ones may remain."""
    # The baseline holds at least the targeted ones, even if the engine passed fewer.
    return max(0, min(targeted, max(before, targeted) - now))


def _listing(
    diagnostics: Sequence[Diagnostic], extra: Mapping[tuple[str, str, str], int] | None = None
) -> str:
    """``ruff F401 at line 1, 4: message`` per identity; ``extra`` says how many are new."""
    lines: dict[tuple[str, str, str], list[int]] = {}
    messages: dict[tuple[str, str, str], str] = {}
    for diagnostic in diagnostics:
        lines.setdefault(_key(diagnostic), []).append(diagnostic.line)
        messages.setdefault(_key(diagnostic), diagnostic.message)
    parts = []
    for key, found in list(lines.items())[:_MAX_LISTED]:
        (linter, code, _), message = key, messages[key]
        new = extra.get(key, 0) if extra else 0
        note = f" ({new} more than before)" if new and new < len(found) else ""
        where = ", ".join(str(line) for line in sorted(found))
        parts.append(f"{linter} {code} at line {where}: {message}{note}")
    if len(lines) > _MAX_LISTED:
        parts.append(f"and {len(lines) - _MAX_LISTED} more")
    return "; ".join(parts)
