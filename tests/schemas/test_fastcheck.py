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
from pytest_flowai.schemas.fastcheck import compile_check, equal, is_type

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


def _variants(instance: object, limit: int, shapes: list[object] | None = None) -> Iterator[object]:
    """The instance with one place broken: a key dropped, or a value replaced by one of an odd kind (or a
    `type` by one of ``shapes``)."""
    made = 0
    for path in _paths(instance):
        for odd in [*_ODD_VALUES, *(shapes if shapes and path[-1] == "type" else []), _DROP]:
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


# Besides odd kinds, the names that pick a frame's or a bubble's shape: a bubble turned from text into an
# image must be checked as an image.
_SHAPE_NAMES: list[object] = ["text", "image", "card", "buttons", "message.received", "message.delivered"]


@pytest.mark.parametrize(("file", "instance"), _examples(), ids=[name for name, _ in _examples()])
def test_every_place_of_an_example_agrees_with_jsonschema(file: str, instance: object) -> None:
    """Against each schema an example meets, breaking it at any depth gets jsonschema's verdict."""
    for name in schemas.names():
        full = validate._validator(name)
        if not full.is_valid(instance):
            continue
        quick = validate._quick_check(name)
        for candidate in _variants(instance, limit=10_000, shapes=_SHAPE_NAMES):
            assert quick(candidate) == full.is_valid(candidate), (file, name, candidate)


def test_json_types_follow_jsonschema() -> None:
    """Booleans are no numbers, 1.0 is an integer, and true never equals 1."""
    assert not is_type("number", True)
    for name, yes, no in [
        ("object", {}, []),
        ("array", [], {}),
        ("string", "", 0),
        ("boolean", False, 0),
        ("null", None, 0),
        ("number", 1.5, "1"),
        ("integer", 2, True),
    ]:
        assert is_type(name, yes), name
        assert not is_type(name, no), name
    assert is_type("integer", 1.0)
    assert not is_type("integer", 1.5)
    assert not equal(True, 1)
    assert equal(1, 1.0)
    assert equal({"a": [1, "b"]}, {"a": [1.0, "b"]})
    assert not equal([True], [1])


# Values of every JSON kind (and the ones jsonschema tells apart: true from 1, 1.0 from 1.5), tried against
# every hand-written schema below besides that schema's own instances.
Schema = dict[str, Any]
_KINDS: list[object] = [None, True, False, 0, 1, 1.0, 1.5, -2, "", "a", "abc", [], [1], {}, {"a": 1}]
_NUMBERS = {"type": "number", "minimum": 0, "maximum": 10, "exclusiveMinimum": -1, "exclusiveMaximum": 11}
_NODE = {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#"}}}}
# Schemas that exercise each kind of node the quick check writes code for, with instances that pass and
# fail each part.
_SCHEMAS: list[tuple[str, Schema, list[object]]] = [
    ("types", {"type": ["integer", "null"]}, [2.0, 2.5, None, True]),
    ("boolean", {"type": "boolean"}, [True, 0]),
    ("number bounds", _NUMBERS, [0, 10, 10.5, -0.5, True, 11]),
    ("bounds without type", {"minimum": 1, "minLength": 2, "minItems": 1}, ["ab", "a", [], [0], 0, 2]),
    ("string bounds", {"type": "string", "minLength": 1, "maxLength": 2, "pattern": "^a"}, ["ab", "ba"]),
    ("array bounds", {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string"}}, [["a"]]),
    ("items false", {"items": False}, [[], [1], "x"]),
    ("object bounds", {"type": "object", "minProperties": 1, "maxProperties": 1}, [{"a": 1, "b": 2}]),
    ("const string", {"const": "a"}, ["a", "b"]),
    ("const true", {"const": True}, [True, 1]),
    ("const null", {"const": None}, [None, 0]),
    ("const number", {"const": 1}, [1, 1.0, True]),
    ("const object", {"const": {"a": [1]}}, [{"a": [1]}, {"a": [True]}, {"a": [1.0]}]),
    ("enum strings", {"enum": ["a", "b"]}, ["a", "c", ["a"], {"a": 1}]),
    ("enum mixed", {"enum": ["a", 1, None, [True]]}, [1.0, True, [True], [1], None]),
    (
        "required and properties",
        {
            "type": "object",
            "required": ["a", "b"],
            "properties": {"a": {"type": "string"}, "c": {"type": "integer"}, "d": {}},
        },
        [{"a": "x", "b": 1}, {"a": 1, "b": 1}, {"a": "x"}, {"a": "x", "b": 1, "c": 1.5, "d": None}],
    ),
    (
        "properties without type",
        {"properties": {"a": {"type": "string"}}, "required": ["a"]},
        [{"a": "x"}, {"a": 1}, {}, "x", [1]],
    ),
    (
        "no additional properties",
        {"type": "object", "properties": {"a": {}}, "additionalProperties": False},
        [{"a": 1}, {"a": 1, "b": 2}],
    ),
    ("no properties at all", {"additionalProperties": False}, [{}, {"a": 1}]),
    ("empty allOf", {"type": "object", "allOf": []}, [{}]),
    (
        "array bound beside anyOf",
        {"minItems": 1, "anyOf": [{"type": "array"}, {"type": "string"}]},
        [[], [1]],
    ),
    ("float bound", {"exclusiveMaximum": 0.5, "minimum": -1e300}, [0.25, 0.5, -1e301]),
    ("enum beside items", {"items": {"type": "integer"}, "enum": [[1], [2, 3], "x"]}, [[1], [1.0], [2], "x"]),
    (
        "nodes that test nothing",
        {
            "properties": {"a": {"if": {"type": "string"}}, "b": {"items": {}}},
            "additionalProperties": {"if": {"type": "string"}},
        },
        [{"a": 1, "b": [1], "c": 2}],
    ),
    (
        "additional properties schema",
        {"properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "integer"}},
        [{"a": "x", "b": 1}, {"a": "x", "b": "y"}, {"a": 1}],
    ),
    ("additional values", {"additionalProperties": {"type": "array"}}, [{"a": []}, {"a": []}, {"a": 1}]),
    ("property names", {"propertyNames": {"pattern": "^[a-z]+$"}}, [{"ab": 1}, {"a1": 1}, {}]),
    ("dependent required", {"dependentRequired": {"a": ["b", "c"]}}, [{"a": 1, "b": 1, "c": 1}, {"a": 1}]),
    ("recursion", _NODE, [{"kids": [{"kids": []}, {}]}, {"kids": [{"kids": [1]}]}, {"kids": [[]]}]),
    (
        "shared definition",
        {
            "$defs": {"pair": {"type": "array", "items": {"type": "string"}, "minItems": 2}},
            "properties": {"a": {"$ref": "#/$defs/pair"}, "b": {"$ref": "#/$defs/pair"}},
        },
        [{"a": ["x", "y"], "b": ["x", "y"]}, {"a": ["x", "y"], "b": ["x"]}, {"b": ["x", 1]}],
    ),
    ("anyOf", {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "integer"}}]}, [[1], [1.5]]),
    ("oneOf", {"oneOf": [{"required": ["a"]}, {"required": ["b"]}]}, [{"a": 1}, {"a": 1, "b": 1}, {}]),
    ("not", {"not": {"type": "object", "properties": {"a": {"items": {"type": "string"}}}}}, [{"a": [1]}]),
    (
        "if then else",
        {
            "if": {
                "properties": {
                    "kind": {"const": "a"},
                    "n": {"properties": {"m": {"type": "string"}}},
                    "o": {},
                }
            },
            "then": {"required": ["a"]},
            "else": {"required": ["b"]},
        },
        [{"kind": "a", "a": 1}, {"kind": "a"}, {"kind": "b", "b": 1}, {"kind": "b"}, {"n": {"m": 1}, "b": 1}],
    ),
    ("if else", {"if": {"type": "string"}, "else": {"type": "integer"}}, ["a", 1, 1.5]),
    ("if alone", {"if": {"type": "string"}, "then": True}, ["a", 1]),
    (
        "deep condition",
        {
            "if": {
                "properties": {
                    "a": {"properties": {"b": {"properties": {"c": {"properties": {"d": False}}}}}}
                }
            },
            "then": {"required": ["z"]},
        },
        [{"a": {"b": {"c": {"d": 1}}}}, {"a": {"b": {"c": {}}}}, {"a": {"b": {"c": {}}}, "z": 1}],
    ),
    (
        "dispatch",
        {
            "type": "object",
            "allOf": [
                {
                    "if": {"properties": {"kind": {"const": "a"}}, "required": ["kind"]},
                    "then": {"required": ["a"]},
                },
                {
                    "if": {"properties": {"kind": {"const": "b"}}, "required": ["kind"]},
                    "then": {"required": ["b"]},
                },
                {
                    "if": {"properties": {"kind": {"const": "a"}}, "required": ["kind"]},
                    "then": {"properties": {"a": {"type": "string"}}},
                },
            ],
        },
        [
            {"kind": "a", "a": "x"},
            {"kind": "a", "a": 1},
            {"kind": "a"},
            {"kind": "b"},
            {"kind": 1},
            {"kind": "c"},
        ],
    ),
    (
        "dispatch shape without an object type",
        {
            "allOf": [
                {
                    "if": {"properties": {"kind": {"const": "a"}}, "required": ["kind"]},
                    "then": {"type": "object"},
                }
            ]
        },
        [{"kind": "a"}, "x", {"kind": 1}],
    ),
    (
        "odd property names",
        {
            "type": "object",
            "properties": {"x'] or True or x['": {"type": "string"}, '"\n{0}\\': {"const": "}"}},
            "required": ['"\n{0}\\'],
        },
        [{'"\n{0}\\': "}"}, {'"\n{0}\\': "}", "x'] or True or x['": 1}, {"x": 1}],
    ),
]

# An `allOf` of `if`/`then` branches is a lookup table only when every branch has the one shape; a branch
# of another shape after a good one leaves them all to the plain `if` code.
_DISPATCH = {"if": {"properties": {"k": {"const": "a"}}, "required": ["k"]}, "then": {"required": ["a"]}}
_NOT_DISPATCH: list[Schema] = [
    {"required": ["b"]},
    {"if": {"properties": {"k": {"const": "b"}}}, "then": {"required": ["b"]}},
    {"if": {"properties": {"k": {"const": "b"}, "j": {}}, "required": ["k"]}, "then": {"required": ["b"]}},
    {"if": {"properties": {"k": {"enum": ["b"]}}, "required": ["k"]}, "then": {"required": ["b"]}},
    {"if": {"properties": {"k": {"const": 1}}, "required": ["k"]}, "then": {"required": ["b"]}},
    {"if": {"properties": {"j": {"const": "b"}}, "required": ["j"]}, "then": {"required": ["b"]}},
]
_SCHEMAS += [
    (
        f"no dispatch {number}",
        {"type": "object", "allOf": [_DISPATCH, other]},
        [{"k": "a", "a": 1}, {"k": "a"}, {"k": "b"}, {"k": "b", "b": 1}, {"k": 1}, {"j": "b"}, {"b": 1}],
    )
    for number, other in enumerate(_NOT_DISPATCH)
]


def _deep(levels: int) -> Schema:
    """An object schema nested ``levels`` deep, each level an array of objects with a required key."""
    node: Schema = {"type": "string"}
    for _ in range(levels):
        node = {"type": "array", "items": {"type": "object", "required": ["a"], "properties": {"a": node}}}
    return node


def _deep_instance(levels: int, leaf: object) -> object:
    instance = leaf
    for _ in range(levels):
        instance = [{"a": instance}]
    return instance


@pytest.mark.parametrize(("label", "schema", "instances"), _SCHEMAS, ids=[label for label, _, _ in _SCHEMAS])
def test_generated_code_agrees_with_jsonschema(label: str, schema: Schema, instances: list[object]) -> None:
    """Each kind of node the quick check writes code for gives jsonschema's verdict, passing or failing."""
    from jsonschema import Draft202012Validator

    quick = compile_check({"s": schema}, "s")
    assert quick is not None, label
    full = Draft202012Validator(schema)
    for instance in [*instances, *_KINDS]:
        assert quick(instance) == full.is_valid(instance), (label, instance)


def test_deeply_nested_schemas_compile_and_agree() -> None:
    """A schema nested deeper than Python allows blocks in one function still compiles, and agrees."""
    from jsonschema import Draft202012Validator

    schema = _deep(40)
    quick = compile_check({"s": schema}, "s")
    assert quick is not None
    full = Draft202012Validator(schema)
    for leaf in ("x", 1):
        instance = _deep_instance(40, leaf)
        assert quick(instance) == full.is_valid(instance) == (leaf == "x")


def test_references_between_documents_agree_with_jsonschema() -> None:
    """A `$ref` into another document, to a definition used twice, resolves as jsonschema resolves it."""
    from jsonschema import Draft202012Validator
    from referencing import Registry
    from referencing.jsonschema import DRAFT202012

    other = {
        "$defs": {"id": {"type": "string", "minLength": 1}, "box": {"type": "object", "required": ["id"]}}
    }
    root = {
        "$id": "https://example.test/root.json",
        "properties": {
            "a": {"$ref": "other.json#/$defs/box"},
            "b": {"$ref": "other.json#/$defs/box"},
            "c": {"$ref": "other.json#/$defs/id"},
        },
    }
    registry = Registry().with_resource("https://example.test/other.json", DRAFT202012.create_resource(other))
    full = Draft202012Validator(root, registry=registry)
    quick = compile_check({"root": root, "other": other}, "root")
    assert quick is not None
    for instance in [{"a": {"id": 1}, "b": {}, "c": ""}, {"a": {"id": 1}}, {"b": {}}, {"c": "x"}, {"c": ""}]:
        assert quick(instance) == full.is_valid(instance), instance


@pytest.mark.parametrize(
    "schema",
    [
        {"uniqueItems": True},
        {"patternProperties": {"a": {}}},
        {"$ref": "elsewhere.json"},
        {"$ref": "#/$defs/missing"},
        {"type": "date"},
        {"items": [{}]},
        {"enum": "a"},
        {"pattern": 1},
        {"minLength": "1"},
        {"anyOf": []},
        {"not": 5},
        {"minimum": float("inf")},
        {"const": [], "type": {"x": 1}},
    ],
)
def test_keywords_not_covered_leave_the_schema_to_jsonschema(schema: object) -> None:
    """A schema using a keyword the quick check does not know gets no quick check at all."""
    assert compile_check({"s": schema}, "s") is None
