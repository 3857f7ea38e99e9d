"""Reading ``[tool.stomper.plugins.<name>]`` options with clear errors, for built-in plugins.

stomper checks only that each plugin's section is a table; what is inside belongs to the
plugin, so each built-in checks its own keys here and names the key in a ConfigError.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from stomper import ConfigError


def reject_unknown(plugin: str, options: Mapping[str, object], known: Iterable[str]) -> None:
    """Raise a ConfigError naming the first key of ``options`` that is not in ``known``."""
    allowed = sorted(known)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ConfigError(
            f"[tool.stomper.plugins.{plugin}]: unknown option {unknown[0]!r} "
            f"(known: {', '.join(allowed) or 'none'})"
        )


def integer_option(
    plugin: str, options: Mapping[str, object], key: str, default: int, *, minimum: int = 0
) -> int:
    """``options[key]`` as an integer of at least ``minimum``, or ``default`` when absent."""
    value = options.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _wrong(plugin, key, "an integer", value)
    if value < minimum:
        raise _wrong(plugin, key, f"an integer of at least {minimum}", value)
    return value


def number_option(
    plugin: str,
    options: Mapping[str, object],
    key: str,
    default: float,
    *,
    minimum: float = 0.0,
    maximum: float | None = None,
) -> float:
    """``options[key]`` as a number within ``[minimum, maximum]``, or ``default``."""
    value = options.get(key, default)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise _wrong(plugin, key, "a number", value)
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"at least {minimum:g}" if maximum is None else f"{minimum:g} to {maximum:g}"
        raise _wrong(plugin, key, f"a number {bounds}", value)
    return float(value)


def string_option(plugin: str, options: Mapping[str, object], key: str) -> str | None:
    """``options[key]`` as a non-empty string, or None when absent."""
    value = options.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _wrong(plugin, key, "a non-empty string", value)
    return value


def _wrong(plugin: str, key: str, expected: str, value: object) -> ConfigError:
    return ConfigError(f"[tool.stomper.plugins.{plugin}] {key}: expected {expected}, got {value!r}")
