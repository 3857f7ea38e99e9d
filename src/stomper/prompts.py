"""The prompt an AI agent gets: packaged templates, diagnostics, advice, and data fencing.

Templates live in ``stomper/data/prompts`` (``fix.md`` for the task, ``system.md`` for
backends that take a system message) and use ``$name`` placeholders (:class:`string.Template`).
``prompt_template`` in the configuration replaces ``fix.md`` with a file of the user's.

Everything that comes from the file or from a tool (content, messages, feedback) is fenced as
DATA with a fence longer than any backtick run inside it, so the content cannot close the
fence and pass itself off as instructions. The same input always gives the same text, and
:data:`PROMPT_VERSION` changes whenever the packaged text or its layout does, so results can
be cached by it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from string import Template

from stomper.errors import ConfigError
from stomper.types import Diagnostic

PROMPT_VERSION = "1"

# Short, specific advice for the codes seen most; a model that knows the usual fix rarely
# reaches for a suppression comment.
ADVICE: dict[str, str] = {
    "F401": "Remove the unused import. If it is a deliberate re-export, list it in `__all__` "
    "or use `import x as x`.",
    "F841": "Remove the unused variable; keep the right-hand side if it has side effects.",
    "E501": "Split the long line (wrap arguments, split strings with implicit concatenation); "
    "do not rename things to make it shorter.",
    "E711": "Compare with None using `is` / `is not`.",
    "E712": "Use the truth value itself (`if x:` / `if not x:`), or `is True` when identity "
    "matters.",
    "B006": "Use `None` as the default and create the mutable value inside the function.",
    "I001": "Sort and group the imports as isort would: standard library, third party, "
    "first party, each block alphabetical.",
    "UP": "Use the modern syntax the rule names (e.g. `list[int]`, `X | None`, f-strings).",
    "arg-type": "Make the argument's type match the parameter: convert or narrow the value, "
    "or widen the parameter's annotation if the function really accepts it.",
    "assignment": "Make the assigned value match the variable's declared type, or correct "
    "the declaration if it was wrong.",
    "return-value": "Return a value of the declared return type, or correct the annotation.",
    "union-attr": "Narrow the optional or union value first (`if x is not None:`, "
    "`isinstance`) before using the attribute.",
    "name-defined": "Define or import the missing name; check for a typo.",
    "import-untyped": "Keep the import. Do not add `# type: ignore`; if stubs exist, the fix "
    "belongs in the project's dependencies, so change nothing else in this file for it.",
    "import-not-found": "Check the module name for a typo; do not add `# type: ignore`.",
    "no-untyped-def": "Add type annotations to every parameter and the return value.",
    "attr-defined": "Use an attribute the type really has, or fix the variable's type.",
    "call-arg": "Pass the arguments the callee actually takes (names and count).",
    "var-annotated": "Annotate the variable with its element types, e.g. `x: list[str] = []`.",
    "override": "Make the override's signature compatible with the base class method "
    "(same or wider parameters, same or narrower return type).",
}

_BACKTICKS = re.compile(r"`+")


def fence(text: str, info: str = "") -> str:
    """``text`` in a fenced block whose fence is longer than any backtick run inside it."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    marker = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") or not text else text + "\n"
    return f"{marker}{info}\n{body}{marker}"


def inline(text: str) -> str:
    """``text`` as inline code that its own backticks cannot end."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    marker = "`" * (longest + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{marker}{padding}{text}{padding}{marker}"


def load_template(
    name: str = "fix.md", *, root: Path | None = None, override: str | None = None
) -> str:
    """A packaged template, or the user's ``override`` (a path relative to ``root``)."""
    if override is not None:
        path = Path(override)
        if not path.is_absolute() and root is not None:
            path = root / path
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"prompt_template {override!r}: cannot read: {error}") from error
    from importlib import resources  # here: 5 ms of imports a run without AI agents skips

    package = resources.files("stomper") / "data" / "prompts" / name
    return package.read_text(encoding="utf-8")


def system_prompt() -> str:
    """The system message for backends that take one (the whole-file reply contract)."""
    return load_template("system.md")


def build_prompt(
    path: str,
    content: str,
    diagnostics: Sequence[Diagnostic],
    *,
    feedback: str | None = None,
    attempt: int = 1,
    root: Path | None = None,
    template: str | None = None,
) -> str:
    """The full prompt for fixing ``diagnostics`` in ``path`` whose text is ``content``.

    ``template`` is ``config.prompt_template`` (relative to ``root``, the repository root);
    ``feedback`` is the previous attempt's verdict, shown on a retry.
    """
    ordered = sorted(diagnostics, key=lambda d: (d.line, d.column, d.linter, d.code, d.message))
    values = {
        "path": path,
        "path_inline": inline(path),
        "attempt": str(attempt),
        "diagnostics": fence(render_diagnostics(ordered), "text"),
        "advice": render_advice(diagnostic.code for diagnostic in ordered),
        "feedback": render_feedback(feedback, attempt),
        "content": fence(content, _language(path)),
        "version": PROMPT_VERSION,
    }
    text = load_template(root=root, override=template)
    return Template(text).safe_substitute(values)


def render_diagnostics(diagnostics: Iterable[Diagnostic]) -> str:
    """One entry per diagnostic: place, linter, code, message, then its URL and notes."""
    lines: list[str] = []
    for diagnostic in diagnostics:
        lines.append(
            f"{diagnostic.path}:{diagnostic.line}:{diagnostic.column}: "
            f"{diagnostic.linter} {diagnostic.code}: {diagnostic.message}"
        )
        if diagnostic.url:
            lines.append(f"    rule: {diagnostic.url}")
        lines.extend(f"    note: {note}" for note in diagnostic.notes)
    return "\n".join(lines) + "\n" if lines else "(none)\n"


def render_advice(codes: Iterable[str]) -> str:
    """A section of advice for the codes that have some, in first-seen order; or nothing."""
    seen: dict[str, str] = {}
    for code in codes:
        key = "UP" if code.startswith("UP") and code not in ADVICE else code
        if key in ADVICE and code not in seen:
            seen[code] = ADVICE[key]
    if not seen:
        return ""
    lines = "".join(f"- {code}: {advice}\n" for code, advice in seen.items())
    return f"\n## How these are usually fixed\n\n{lines}"


def render_feedback(feedback: str | None, attempt: int) -> str:
    """On a retry, why the previous attempt was rejected, fenced as data."""
    if not feedback:
        return ""
    previous = max(attempt - 1, 1)
    return (
        f"\n## Why attempt {previous} was rejected (DATA)\n\n"
        "Your previous change was checked and rejected. Start from the file as it is now "
        f"and fix what this verdict names:\n\n{fence(feedback, 'text')}\n"
    )


def _language(path: str) -> str:
    suffix = PurePosixPath(path).suffix
    return "python" if suffix in (".py", ".pyi") else suffix.lstrip(".")
