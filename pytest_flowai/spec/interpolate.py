"""``{name}`` / ``{env.NAME}`` interpolation in spec values; pure, shared by the loader and the runner.

A name is an identifier, dots allowed (``{user.name}`` walks into a mapping variable); ``{{`` and ``}}`` are
literal braces; anything else in braces (the regex ``{4}`` or ``{2,3}``) is left as written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping

from pytest_flowai._json import JSON
from pytest_flowai.errors import ENV_PREFIX, UndefinedVariable

_NAME = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
# One scanner for both escapes and placeholders, so `{{name}}` reads as the literal text `{name}`.
_TOKEN = re.compile(r"\{\{|\}\}|\{(" + _NAME + r")\}")
_WHOLE = re.compile(r"\{(" + _NAME + r")\}")


def placeholders(text: str) -> list[str]:
    """Names of the ``{name}`` / ``{env.NAME}`` placeholders in a string, in order, each once."""
    names = [match.group(1) for match in _TOKEN.finditer(text) if match.group(1)]
    return list(dict.fromkeys(names))


def is_template(value: JSON) -> bool:
    """Whether interpolation can change ``value``: a string in it holds a placeholder or a ``{{``/``}}``."""
    if isinstance(value, str):
        # Most values hold no brace at all: two substring tests cost less than the scanner.
        return ("{" in value or "}" in value) and _TOKEN.search(value) is not None
    if isinstance(value, dict):
        return any(is_template(item) for item in value.values())
    if isinstance(value, list):
        return any(is_template(item) for item in value)
    return False


def fill(text: str, replace: Callable[[str], str]) -> str:
    """The text with each placeholder replaced by ``replace(name)`` and ``{{``/``}}`` unescaped."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)[0]
        return replace(name)

    return _TOKEN.sub(substitute, text)


def lookup(name: str, variables: Mapping[str, JSON], env: Mapping[str, str]) -> JSON:
    """The value of one placeholder name.

    Raises:
        UndefinedVariable: no variable, key or environment variable by that name.
    """
    if name.startswith(ENV_PREFIX):
        env_name = name.removeprefix(ENV_PREFIX)
        if env_name in env:
            return env[env_name]
        raise UndefinedVariable(name)
    if name in variables:
        return variables[name]
    root, *keys = name.split(".")
    if root not in variables:
        raise UndefinedVariable(name)
    value = variables[root]
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            raise UndefinedVariable(name)
        value = value[key]
    return value


def as_text(value: JSON) -> str:
    """How a variable reads inside a longer string: strings as they are, other values as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def interpolate(value: JSON, variables: Mapping[str, JSON], env: Mapping[str, str]) -> JSON:
    """``value`` with the placeholders of every string in it (values, not keys) filled in.

    A string that is exactly one placeholder becomes the variable's value as it is (numbers stay numbers).

    Raises:
        UndefinedVariable: a placeholder names nothing known.
    """
    if isinstance(value, str):
        if "{" not in value and "}" not in value:
            return value  # the usual case: nothing to fill or unescape, so spare both regexes
        whole = _WHOLE.fullmatch(value)
        if whole:
            return lookup(whole.group(1), variables, env)
        return fill(value, lambda name: as_text(lookup(name, variables, env)))
    if isinstance(value, dict):
        return {key: interpolate(item, variables, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, variables, env) for item in value]
    return value


__all__ = ["ENV_PREFIX", "as_text", "fill", "interpolate", "is_template", "lookup", "placeholders"]
