"""The pieces the quick check's generated Python is made of: JSON types and equality as jsonschema decides
them (the generated code calls these), schema values as safe literals, and a writer of indented lines.
Imports only the stdlib.
"""

from __future__ import annotations

import math
import numbers


class Unsupported(Exception):
    """The schema uses a keyword the quick check does not know."""


def is_type(name: str, value: object) -> bool:
    """JSON Schema's types as jsonschema checks them (a bool is no number; 1.0 is an integer)."""
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if name == "number":
        return is_number(value)
    if name == "integer":
        return is_integer(value)
    raise Unsupported(f"type {name!r}")


def is_number(value: object) -> bool:
    """jsonschema's "number": any number but a bool (Decimal and Fraction too)."""
    return not isinstance(value, bool) and isinstance(value, numbers.Number)


def is_integer(value: object) -> bool:
    """jsonschema's "integer": an int but a bool, or a float with no fraction."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def equal(one: object, two: object) -> bool:
    """JSON equality as jsonschema's `const` and `enum` use it: true is not 1, 1 is 1.0, containers deep."""
    if one is two:
        return True
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(equal(one[key], two[key]) for key in one)
    if isinstance(one, list | dict) or isinstance(two, list | dict):
        return False
    return one == two


def in_enum(value: object, options: tuple[object, ...]) -> bool:
    """`enum` with options that are not all strings: `equal` to any of them."""
    return any(equal(value, option) for option in options)


def literal(value: object) -> str:
    """A schema's string or number as Python source: the built-in repr, which is always a plain literal."""
    if isinstance(value, str):
        return str.__repr__(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return int.__repr__(value)
    if isinstance(value, float) and math.isfinite(value):
        return float.__repr__(value)
    raise Unsupported(f"value {value!r}")


def all_of(parts: list[str]) -> str:
    """One expression true when every one of ``parts`` is (each parenthesised: some hold an ``or``)."""
    return " and ".join(f"({part})" for part in parts) or "True"


# Python source testing one JSON type, as jsonschema's type checker decides it. `bool` cannot be subclassed,
# so `is True or is False` is its isinstance; a number or integer is tested for the plain types first
# (`type(x) is int` is false for a bool) and only then in full.
TYPE_TESTS = {
    "object": "isinstance({0}, dict)",
    "array": "isinstance({0}, list)",
    "string": "isinstance({0}, str)",
    "boolean": "({0} is True or {0} is False)",
    "null": "{0} is None",
    "number": "(type({0}) in _PLAIN_NUMBERS or _is_number({0}))",
    "integer": "(type({0}) is int or _is_integer({0}))",
}


class Body:
    """The lines of one generated function at one indentation ``depth``."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self.lines: list[str] = []

    def line(self, text: str) -> None:
        self.lines.append("    " * self.depth + text)

    def fail_unless(self, condition: str) -> None:
        self.line(f"if not ({condition}): return False")

    def nested(self) -> Body:
        return Body(self.depth + 1)

    def block(self, header: str, inner: Body) -> None:
        """``inner`` under ``header`` (an `if` or a `for`), left out when it checks nothing."""
        if inner.lines:
            self.line(header)
            self.lines.extend(inner.lines)
