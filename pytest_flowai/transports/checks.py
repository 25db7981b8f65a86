"""Checks of what a server sends: JSON parsed within a nesting limit, payloads against a protocol schema.
Pure: imports no network library, so the socket protocol and the HTTP helpers share it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from pytest_flowai import schemas
from pytest_flowai.errors import SchemaViolation

if TYPE_CHECKING:
    from pytest_flowai._json import JSON

# Flow.ai's replies nest about ten levels (payload, messages, responses, cards, buttons, ...); past this a
# value is hostile or broken, and deeper ones would exhaust the recursion of the parser or the validator.
MAX_DEPTH = 64


class TooDeep(ValueError):
    """A JSON text nests arrays and objects deeper than ``MAX_DEPTH``."""

    def __init__(self) -> None:
        super().__init__(f"JSON nested deeper than {MAX_DEPTH} levels")


def parse_json(text: str) -> JSON:
    """The value of a JSON text. Raises ``TooDeep`` past ``MAX_DEPTH``, ``ValueError`` when not JSON."""
    try:
        value: JSON = json.loads(text)
    except RecursionError:
        # The C parser recurses once per level: a text thousands of levels deep is too deep by far.
        raise TooDeep() from None
    # A value d levels deep needs d opening brackets in its text: counting them (in C) spares most replies
    # the walk. Brackets inside strings only make the count larger, so the walk still runs where needed.
    if text.count("{") + text.count("[") > MAX_DEPTH and _deeper_than(value, MAX_DEPTH):
        raise TooDeep()
    return value


def _deeper_than(value: JSON, limit: int) -> bool:
    # Iterative, so checking the depth cannot itself recurse too deep.
    stack: list[tuple[JSON, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def check_schema(instance: JSON, name: str) -> None:
    """Raise ``SchemaViolation`` carrying ``instance`` when it breaks the protocol schema ``name``."""
    found = schemas.violations(instance, name)
    if found:
        raise SchemaViolation(name, found, instance)


__all__ = ["MAX_DEPTH", "TooDeep", "check_schema", "parse_json"]
