"""The quick schema check never calls valid what jsonschema calls invalid, and agrees on valid payloads."""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pytest_flowai.schemas.validate  # noqa: F401  (the module, not the function the package exports)
from pytest_flowai import schemas
from pytest_flowai.schemas.fastcheck import equal, is_type

validate = sys.modules["pytest_flowai.schemas.validate"]
EXAMPLES = Path(__file__).parent / "examples"
_DROP = object()
_ODD_VALUES: list[object] = [None, True, 0, 1.5, "", "x", [], {}, [None], {"type": 1}]


def _examples() -> list[tuple[str, object]]:
    found = []
    for path in sorted(EXAMPLES.glob("*.json")):
        if path.name == "sources.json":
            continue
        found.append((path.name, json.loads(path.read_text(encoding="utf-8"))))
    return found


def _paths(node: object, prefix: tuple[object, ...] = ()) -> Iterator[tuple[object, ...]]:
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from _paths(value, (*prefix, key))


def _variants(instance: object, limit: int) -> Iterator[object]:
    """The instance with one place broken: a key dropped, or a value replaced by one of an odd kind."""
    made = 0
    for path in _paths(instance):
        for odd in [*_ODD_VALUES, _DROP]:
            if made >= limit:
                return
            copied = copy.deepcopy(instance)
            parent: Any = copied
            for key in path[:-1]:
                parent = parent[key]
            if odd is not _DROP:
                parent[path[-1]] = copy.deepcopy(odd)
            elif isinstance(parent, dict):
                del parent[path[-1]]
            made += 1
            yield copied


@pytest.mark.parametrize(("file", "instance"), _examples(), ids=[name for name, _ in _examples()])
def test_quick_check_agrees_with_jsonschema(file: str, instance: object) -> None:
    """For every shipped schema, the example and its broken variants get jsonschema's verdict."""
    for name in schemas.names():
        quick = validate._quick_check(name)
        assert quick is not None, f"{name} has no quick check"
        full = validate._validator(name)
        for candidate in [instance, *_variants(instance, limit=40)]:
            assert quick(candidate) == full.is_valid(candidate), (file, name, candidate)


def test_json_types_follow_jsonschema() -> None:
    """Booleans are no numbers, 1.0 is an integer, and true never equals 1."""
    assert not is_type("number", True)
    assert is_type("integer", 1.0)
    assert not is_type("integer", 1.5)
    assert not equal(True, 1)
    assert equal(1, 1.0)
    assert equal({"a": [1, "b"]}, {"a": [1.0, "b"]})
    assert not equal([True], [1])
