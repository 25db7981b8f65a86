"""A quick yes-or-no check of an instance against a shipped schema, compiled once into plain closures.

Most replies are valid, and jsonschema spends ~0.3 ms on a reply building validator objects per keyword; these
closures say "valid" in a tenth of that. They only answer yes or no: `validate.violations` asks jsonschema
whenever the answer is no, so the violations reported are jsonschema's. Covers the keywords our schemas use;
a schema with any other keyword gets no quick check (``None``) and always goes to jsonschema.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import cast

Check = Callable[[object], bool]
_SUFFIX = ".json"
# Keywords that say nothing about validity (or, `$id`/`$schema`, only at a file's root).
_ANNOTATIONS = frozenset(
    {"description", "title", "$schema", "$id", "$defs", "default", "examples", "$comment"}
)


class Unsupported(Exception):
    """The schema uses a keyword the quick check does not know."""


def _always(_: object) -> bool:
    return True


def _never(_: object) -> bool:
    return False


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
    if isinstance(value, bool):
        return False
    if name == "number":
        return isinstance(value, int | float)
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    raise Unsupported(f"type {name!r}")


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


class Compiler:
    """Compiles schema documents (by file stem) into checks; `$ref`s resolve between them, cycles allowed."""

    def __init__(self, documents: Mapping[str, object]) -> None:
        self._documents = documents
        self._compiled: dict[str, Check] = {}

    def check(self, name: str) -> Check:
        """The check for the whole schema file ``name``; raises ``Unsupported``."""
        return self._ref(name, f"{name}{_SUFFIX}")

    def _ref(self, home: str, ref: str) -> Check:
        file, _, fragment = ref.partition("#")
        target = file.removesuffix(_SUFFIX) if file else home
        key = f"{target}#{fragment}"
        known = self._compiled.get(key)
        if known is not None:
            return known
        if target not in self._documents or (file and not file.endswith(_SUFFIX)):
            raise Unsupported(f"$ref {ref!r}")
        slot: list[Check] = []
        # A stand-in until the target is compiled, so a schema that refers to itself compiles.
        self._compiled[key] = lambda instance: slot[0](instance)
        compiled = self._node(_pointer(self._documents[target], fragment), target)
        slot.append(compiled)
        self._compiled[key] = compiled
        return compiled

    def _node(self, node: object, home: str) -> Check:
        if node is True:
            return _always
        if node is False:
            return _never
        if not isinstance(node, dict):
            raise Unsupported(f"schema {node!r}")
        if node.get("type") == "object" and "patternProperties" not in node:
            return self._object(node, home)
        checks = [self._keyword(key, value, node, home) for key, value in node.items()]
        return _all([check for check in checks if check is not None])

    def _object(self, node: dict[str, object], home: str) -> Check:
        """An object schema's `type`, `properties`, `required` and `additionalProperties` in one pass over
        the instance's keys: most nodes of a reply are objects, and one call per node instead of four
        halves the quick check's time."""
        own = ("type", "properties", "required", "additionalProperties")
        properties = cast("dict[str, object]", node.get("properties", {}))
        # A property whose schema is a bare `type` is tested inline against the Python type: no call.
        table: dict[str, Check | type] = {
            name: _PLAIN_TYPES.get(_plain_type(sub)) or self._node(sub, home)
            for name, sub in properties.items()
        }
        required = frozenset(cast("list[str]", node.get("required", [])))
        extra = self._node(node["additionalProperties"], home) if "additionalProperties" in node else None
        others = [self._keyword(key, value, node, home) for key, value in node.items() if key not in own]
        rest = _all([check for check in others if check is not None])

        def check(instance: object) -> bool:
            if not isinstance(instance, dict):
                return False
            # A keys view compares with a set member by member, without copying the keys into a set.
            if not instance.keys() >= required:
                return False
            for name, value in instance.items():
                sub = table.get(name)
                if sub is None:
                    if extra is not None and not extra(value):
                        return False
                elif isinstance(sub, type):
                    if not isinstance(value, sub):
                        return False
                elif not sub(value):
                    return False
            return rest(instance)

        return check

    def _keyword(self, key: str, value: object, node: dict[str, object], home: str) -> Check | None:
        """The check of one keyword, None for one that checks nothing (annotations, `then` without `if`)."""
        if key in _ANNOTATIONS or key == "then":
            return None
        if key == "type":
            return _type(value)
        if key == "properties":
            return self._properties(cast("dict[str, object]", value), home)
        if key == "required":
            names = frozenset(cast("list[str]", value))
            return lambda i: not isinstance(i, dict) or i.keys() >= names
        if key == "additionalProperties":
            return self._additional(value, node, home)
        if key == "items":
            item = self._node(value, home)

            def items(instance: object) -> bool:
                if isinstance(instance, list):
                    for each in instance:
                        if not item(each):
                            return False
                return True

            return items
        if key == "$ref":
            return self._ref(home, cast("str", value))
        if key == "const":
            if isinstance(value, str):
                return lambda i: isinstance(i, str) and i == value
            return lambda i: equal(i, value)
        if key == "enum":
            options = tuple(cast("list[object]", value))
            if all(isinstance(option, str) for option in options):
                # Only a string equals a string: a set lookup gives `equal`'s verdict.
                names = frozenset(cast("tuple[str, ...]", options))
                return lambda i: isinstance(i, str) and i in names
            return lambda i: any(equal(i, option) for option in options)
        if key == "if":
            return self._if(value, node.get("then"), home)
        if key == "allOf":
            branches = cast("list[object]", value)
            return self._dispatch(branches, home) or _all([self._node(sub, home) for sub in branches])
        if key == "anyOf":
            subs = [self._node(sub, home) for sub in cast("list[object]", value)]
            return lambda i: any(sub(i) for sub in subs)
        if key == "oneOf":
            subs = [self._node(sub, home) for sub in cast("list[object]", value)]
            return lambda i: sum(1 for sub in subs if sub(i)) == 1
        if key == "propertyNames":
            name_check = self._node(value, home)
            return lambda i: not isinstance(i, dict) or all(name_check(name) for name in i)
        if key == "dependentRequired":
            dependents = cast("dict[str, list[str]]", value).items()
            needs = {name: frozenset(wanted) for name, wanted in dependents}
            return lambda i: (
                not isinstance(i, dict)
                or all(i.keys() >= wanted for name, wanted in needs.items() if name in i)
            )
        return _bound(key, value)

    def _properties(self, properties: dict[str, object], home: str) -> Check:
        subs = [(name, self._node(sub, home)) for name, sub in properties.items()]

        def check(instance: object) -> bool:
            if isinstance(instance, dict):
                for name, sub in subs:
                    if name in instance and not sub(instance[name]):
                        return False
            return True

        return check

    def _dispatch(self, branches: list[object], home: str) -> Check | None:
        """`allOf` of `if {K: const C, required K} then S` branches on one key K, as a lookup by C.

        The templates and frames pick their shape this way; testing a dozen `if`s one by one is slow.
        """
        key: str | None = None
        by_value: dict[str, list[Check]] = {}
        for branch in branches:
            if not isinstance(branch, dict) or set(branch) != {"if", "then"}:
                return None
            condition = branch["if"]
            if not isinstance(condition, dict) or set(condition) != {"properties", "required"}:
                return None
            properties, required = condition["properties"], condition["required"]
            if not isinstance(properties, dict) or len(properties) != 1:
                return None
            ((name, const_schema),) = properties.items()
            if not isinstance(const_schema, dict) or set(const_schema) != {"const"}:
                return None
            const = const_schema["const"]
            if required != [name] or not isinstance(const, str) or key not in (None, name):
                return None
            key = name
            by_value.setdefault(const, []).append(self._node(branch["then"], home))
        if key is None:
            return None
        field = key
        table = {value: _all(checks) for value, checks in by_value.items()}

        def dispatch(instance: object) -> bool:
            if not isinstance(instance, dict):
                return True
            chosen = instance.get(field, _MISSING)
            if not isinstance(chosen, str):
                return True  # no branch's `if` holds: each wants the key, and a string
            then = table.get(chosen)
            return then is None or then(instance)

        return dispatch

    def _additional(self, value: object, node: dict[str, object], home: str) -> Check:
        if "patternProperties" in node:
            raise Unsupported("patternProperties")
        declared = frozenset(cast("dict[str, object]", node.get("properties", {})))
        extra = self._node(value, home)

        def additional(instance: object) -> bool:
            if isinstance(instance, dict):
                for name, each in instance.items():
                    if name not in declared and not extra(each):
                        return False
            return True

        return additional

    def _if(self, condition: object, then: object, home: str) -> Check | None:
        if then is None:
            return None
        test, consequence = self._node(condition, home), self._node(then, home)
        return lambda i: not test(i) or consequence(i)


_MISSING = object()
# JSON types that are one Python type exactly (bool cannot be subclassed; numbers are not: bool is an int).
_PLAIN_TYPES: dict[object, type] = {"string": str, "object": dict, "array": list, "boolean": bool}


def _plain_type(node: object) -> object:
    """The type name of a schema that is `{"type": name}` and nothing else (annotations aside), else None."""
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        return None
    if any(key != "type" and key not in _ANNOTATIONS for key in node):
        return None
    return node["type"]


_TYPE_CHECKS: dict[str, Check] = {
    "object": lambda i: isinstance(i, dict),
    "array": lambda i: isinstance(i, list),
    "string": lambda i: isinstance(i, str),
    "boolean": lambda i: isinstance(i, bool),
    "null": lambda i: i is None,
}


def _all(parts: list[Check]) -> Check:
    if not parts:
        return _always
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda i: first(i) and second(i)

    def every(instance: object) -> bool:
        # A loop, not all(<generator>): this runs for every node of every reply.
        for part in parts:  # noqa: SIM110
            if not part(instance):
                return False
        return True

    return every


def _type(value: object) -> Check:
    names = tuple(cast("list[str]", value)) if isinstance(value, list) else (cast("str", value),)
    for name in names:
        is_type(name, None)  # raises Unsupported for a type name we do not know
    if len(names) == 1:
        only = names[0]
        return _TYPE_CHECKS.get(only) or (lambda i: is_type(only, i))
    return lambda i: any(is_type(name, i) for name in names)


def _bound(key: str, value: object) -> Check:
    if key in ("minLength", "maxLength") and isinstance(value, int):
        if key == "minLength":
            return lambda i: not isinstance(i, str) or len(i) >= value
        return lambda i: not isinstance(i, str) or len(i) <= value
    if key in ("minItems", "maxItems") and isinstance(value, int):
        if key == "minItems":
            return lambda i: not isinstance(i, list) or len(i) >= value
        return lambda i: not isinstance(i, list) or len(i) <= value
    if key in ("minProperties", "maxProperties") and isinstance(value, int):
        if key == "minProperties":
            return lambda i: not isinstance(i, dict) or len(i) >= value
        return lambda i: not isinstance(i, dict) or len(i) <= value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number_bound(key, value)
    if key == "pattern" and isinstance(value, str):
        pattern = re.compile(value)
        return lambda i: not isinstance(i, str) or pattern.search(i) is not None
    raise Unsupported(f"keyword {key!r}")


def _number_bound(key: str, value: float) -> Check:
    if key == "minimum":
        return lambda i: not is_type("number", i) or cast("float", i) >= value
    if key == "exclusiveMinimum":
        return lambda i: not is_type("number", i) or cast("float", i) > value
    if key == "maximum":
        return lambda i: not is_type("number", i) or cast("float", i) <= value
    raise Unsupported(f"keyword {key!r}")


def _pointer(document: object, fragment: str) -> object:
    node = document
    for token in fragment.lstrip("/").split("/") if fragment.strip("/") else []:
        key = token.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else cast("dict[str, object]", node)[key]
    return node


def compile_check(documents: Mapping[str, object], name: str) -> Check | None:
    """The quick check for schema ``name``, or None when it uses a keyword not covered here."""
    try:
        return Compiler(documents).check(name)
    except (Unsupported, KeyError, IndexError, ValueError, re.error):
        return None


__all__ = ["compile_check", "equal", "is_type"]
