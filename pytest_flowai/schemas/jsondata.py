"""Whether parsed data is a JSON value at all: YAML can hold more (``.nan``, ``!!set``, an anchor that holds
itself, aliases that expand a small file into billions of values) and Python's json module reads ``NaN``.
Used by ``flowai-validate`` and the emulator's flow loader; imports only our leaf modules and ``validate``."""

from __future__ import annotations

import math

from pytest_flowai.errors import Violation
from pytest_flowai.schemas.validate import PathPart, format_path

# A document whose YAML aliases expand it past this many values is refused (expanding it could take hours).
MAX_VALUES = 1_000_000
_YAML_TAGS = {"bytes": "!!binary", "set": "!!set", "tuple": "!!omap or !!pairs"}


def _leaf_problem(value: object) -> str | None:
    if isinstance(value, float) and math.isnan(value):
        return "NaN is not a JSON number"
    if isinstance(value, float) and math.isinf(value):
        return "infinity (YAML .inf, or a number as huge as 1e999) is not a JSON number"
    if value is None or isinstance(value, str | int | float):
        return None
    tag = _YAML_TAGS.get(type(value).__name__, type(value).__name__)
    return f"a YAML {tag} value has no JSON form"


def json_problems(
    value: object, *, string_keys: bool = True, max_values: int = MAX_VALUES
) -> list[Violation]:
    """Every place where ``value`` is not JSON, in document order (empty when it is JSON).

    ``string_keys=False`` lets mapping keys that are not strings pass (YAML ``1.5: x``; paths quote them).
    A cycle or an expansion past ``max_values`` ends the search, reported at the place it was found. A
    subtree shared through aliases is checked once, so the work stays linear in the size of the file.
    """
    problems: list[Violation] = []
    expanded: dict[int, int] = {}  # id of a checked list or mapping -> its value count, aliases expanded
    open_ids: set[int] = set()  # lists and mappings being checked: meeting one again is a cycle
    stack: list[tuple[object, tuple[PathPart, ...], bool]] = [(value, (), False)]
    while stack:
        item, path, leaving = stack.pop()
        if not isinstance(item, dict | list):
            problem = _leaf_problem(item)
            if problem is not None:
                problems.append(Violation(format_path(path), problem))
            continue
        children = list(item.values()) if isinstance(item, dict) else item
        if leaving:
            open_ids.discard(id(item))
            expanded[id(item)] = 1 + sum(expanded.get(id(child), 1) for child in children)
            if expanded[id(item)] > max_values:
                message = f"more than {max_values} values once its YAML aliases are expanded"
                return [*problems, Violation(format_path(path), message)]
        elif id(item) in open_ids:
            message = "holds itself (a YAML alias inside its own anchor), which JSON cannot"
            return [*problems, Violation(format_path(path), message)]
        elif id(item) not in expanded:
            open_ids.add(id(item))
            stack.append((item, path, True))
            keys: list[PathPart] = list(item) if isinstance(item, dict) else list(range(len(item)))
            if string_keys and isinstance(item, dict):
                problems.extend(
                    Violation(format_path(path), f"key {key!r} is not a string")
                    for key in keys
                    if not isinstance(key, str)
                )
            # Reversed, so the stack hands the children back in document order.
            stack.extend(
                (child, (*path, key), False)
                for key, child in reversed(list(zip(keys, children, strict=True)))
            )
    return problems


__all__ = ["MAX_VALUES", "json_problems"]
