"""The shipped spec grammar is a valid draft 2020-12 schema, closed and documented for editors."""

from __future__ import annotations

from collections.abc import Iterator

from jsonschema import Draft202012Validator

from pytest_flowai._json import JSON
from pytest_flowai.spec.grammar import spec_schema
from tests.helpers.dig import dig


def subschemas(node: JSON, where: str = "#") -> Iterator[tuple[str, dict[str, JSON]]]:
    """Every mapping in the schema with its JSON-pointer-like location."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from subschemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from subschemas(value, f"{where}/{index}")


def test_schema_passes_check_schema() -> None:
    """The spec schema is itself a valid draft 2020-12 JSON Schema with the project's $id."""
    schema = spec_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == "https://pytest-flowai.dev/schemas/spec.json"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_property_has_a_description() -> None:
    """Each declared property carries a description, so editors can show it."""
    missing = [
        f"{where}/properties/{name}"
        for where, node in subschemas(spec_schema())
        if isinstance(node.get("properties"), dict)
        for name, prop in dig(node, "properties").items()
        if not (isinstance(prop, dict) and isinstance(prop.get("description"), str))
    ]
    assert missing == []


def test_every_object_with_properties_is_closed() -> None:
    """Every mapping with declared keys forbids others, so a typo is always an error."""
    open_objects = [
        where
        for where, node in subschemas(spec_schema())
        if "properties" in node and node.get("additionalProperties") is not False
    ]
    assert open_objects == []
