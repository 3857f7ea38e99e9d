"""The command lines of the built-in ``ruff`` and ``mypy`` linters, and nothing else.

Kept apart from :mod:`stomper_plugins.ruff` and :mod:`stomper_plugins.mypy` (which import
pluggy, json and re) so that ``stomper hook`` can build the same command lines and start the
linters before it has imported anything (:mod:`stomper.prestart`): one definition for both,
so the early start and the plugin cannot drift apart.
"""

# No imports: this module must cost nothing on the hook's fast path.

# --no-fix: a linter only reports; the ruff-fix agent edits. --force-exclude: stomper's own
# include/exclude already chose these files, but the user's ruff `exclude` (generated or
# vendored code) says "ruff must not judge these", and ruff ignores it for explicitly named
# files unless told to; honouring it keeps stomper in step with `ruff check .` and with the
# usual ruff pre-commit hook, so stomper never "fixes" a file ruff was told to leave alone.
RUFF_COMMAND = ("check", "--output-format", "json", "--no-fix", "--force-exclude")

# Some blocking errors skip mypy's JSON formatter and print as text on stderr (an undecodable
# or unreadable file in mypy 2.4; syntax errors too in older mypy), shaped by the user's
# settings: `pretty` wraps long lines, `show_error_context` adds notes, `color_output` adds
# escapes, `error_summary` adds a line. These flags pin one parseable form; they come after
# the user's `args` because, in mypy's argparse, the last flag wins.
MYPY_PINNED_FLAGS = (
    "-O",
    "json",
    "--no-pretty",
    "--no-color-output",
    "--no-error-summary",
    "--hide-error-context",
    "--show-error-codes",
    "--hide-error-code-links",
    "--show-column-numbers",
    "--hide-error-end",
)


def ruff_argv(program: str, args: tuple[str, ...], paths: list[str]) -> list[str]:
    """``ruff check`` with JSON output over ``paths`` (already made safe as arguments)."""
    return [program, *RUFF_COMMAND, *args, "--", *paths]


def mypy_argv(program: str, args: tuple[str, ...], paths: list[str]) -> list[str]:
    """mypy with the user's ``args`` and then the pinned output flags over ``paths``."""
    return [program, *args, *MYPY_PINNED_FLAGS, "--", *paths]
