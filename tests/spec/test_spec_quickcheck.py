"""The quick grammar check that spares valid specs jsonschema never passes a spec that jsonschema rejects."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from pytest_flowai.spec import grammar
from tests.helpers.paths import EXAMPLES

_DROP = object()
_ODD_VALUES: list[object] = [None, True, 0, -1, 2.5, "", "x", "1bad", [], {}, [None], {"say": 1}]
# Hand-written documents for keywords the examples barely use: exactly-one keys, names, bounds, dependencies.
_EXTRA = [
    {"steps": [{"say": "hi", "event": "e"}]},
    {"steps": [{}]},
    {"vars": {"1bad": "x"}, "steps": [{"say": "hi"}]},
    {"marks": [{"1bad": None}], "steps": [{"say": "hi"}]},
    {"steps": [{"say": "hi", "expect": [{"text": {"contains": "a", "equals": "b"}}]}]},
    {"steps": [{"say": "hi", "timeout": 0}]},
    {"marks": [{"a": None, "b": None}, {}], "steps": [{"say": "hi"}]},
    {"parametrize": {"rows": [{"a": 1}], "file": "rows.csv"}, "steps": [{"say": "hi"}]},
    {"parametrize": {"rows": [{}]}, "steps": [{"say": "hi"}]},
    {"steps": [{"say": "hi", "expect": [{"text": {"similar": "a", "min": 2}}]}]},
    {"steps": [{"say": "hi", "expect": [{"text": {"contains": "a", "min": 0.5}}]}]},
    {"steps": [{"say": "hi", "expect": [{"type": "text", "delay": {}}]}]},
    {"marks": [{"flaky": {"reruns": 2}}], "parametrize": {"rows": [{"a": 1}]}, "steps": [{"say": "hi"}]},
    {"steps": [{"say": "hi", "timeout": 1.5, "expect": [{"text": {"similar": "a", "min": 0.5}}]}]},
]


def _documents() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for path in sorted(EXAMPLES.glob("*.flowai.yaml")):
        for number, root in enumerate(yaml.safe_load_all(path.read_text(encoding="utf-8"))):
            if root is not None:
                found.append((f"{path.name}#{number}", json.loads(json.dumps(root))))
    return found


def _paths(node: object, prefix: tuple[object, ...] = ()) -> Iterator[tuple[object, ...]]:
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from _paths(value, (*prefix, key))


def _variants(instance: object) -> Iterator[object]:
    """The document with one place broken: a value replaced or dropped, or an odd key added beside it."""
    for path in _paths(instance):
        for odd in [*_ODD_VALUES, _DROP, "key"]:
            copied = copy.deepcopy(instance)
            parent: Any = copied
            for key in path[:-1]:
                parent = parent[key]
            if odd == "key" and isinstance(parent, dict):
                parent["1bad"] = "x"
            elif odd is _DROP and isinstance(parent, dict):
                del parent[path[-1]]
            elif odd not in ("key", _DROP):
                parent[path[-1]] = copy.deepcopy(odd)
            yield copied


@pytest.mark.parametrize(("name", "document"), _documents(), ids=[name for name, _ in _documents()])
def test_quick_grammar_check_agrees_with_jsonschema(name: str, document: object) -> None:
    """Each example spec and its broken variants get jsonschema's verdict from the quick check."""
    quick = grammar._quick_check()
    assert quick is not None, "the spec grammar has no quick check"
    full = Draft202012Validator(grammar.spec_schema())
    for candidate in [document, *_variants(document), *_EXTRA]:
        assert quick(candidate) == full.is_valid(candidate), (name, candidate)
