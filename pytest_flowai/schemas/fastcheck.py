"""A quick yes-or-no check of an instance against a shipped schema, generated once as Python source.
It only ever says "valid" for what jsonschema calls valid; callers ask jsonschema to word the errors of the
rest. A schema with a keyword not covered here gets no quick check (``None``). Imports only codegen.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from typing import cast

from pytest_flowai.schemas.codegen import (
    TYPE_TESTS,
    Body,
    Unsupported,
    all_of,
    equal,
    in_enum,
    is_integer,
    is_number,
    is_type,
    literal,
)

Check = Callable[[object], bool]
_SUFFIX = ".json"
# Keywords that say nothing about validity (or, `$id`/`$schema`, only at a file's root).
_ANNOTATIONS = frozenset(
    {"description", "title", "$schema", "$id", "$defs", "default", "examples", "$comment"}
)
# Keywords that test the instance alone, as one expression each (given the instance has their type).
_BOUNDS = frozenset(
    {
        "required",
        "dependentRequired",
        "minProperties",
        "maxProperties",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
    }
)
# Keywords that look inside the instance, and need statements (a loop, a nested node).
_STRUCTURE = frozenset({"properties", "additionalProperties", "propertyNames", "items"})
_GENERAL = frozenset(
    {"type", "const", "enum", "$ref", "allOf", "anyOf", "oneOf", "not", "if", "then", "else"}
)
_KEYWORDS = _BOUNDS | _STRUCTURE | _GENERAL
# Keywords a node may have and still be tested by one expression.
_FLAT_KEYWORDS = _BOUNDS | _ANNOTATIONS | {"type", "const", "enum", "$ref", "properties"}
# Each type's keywords: on an instance of any other type they hold vacuously.
_KEYWORDS_BY_TYPE = (
    (
        "object",
        frozenset(
            {
                "required",
                "dependentRequired",
                "minProperties",
                "maxProperties",
                "properties",
                "additionalProperties",
                "propertyNames",
            }
        ),
    ),
    ("array", frozenset({"minItems", "maxItems", "items"})),
    ("string", frozenset({"minLength", "maxLength", "pattern"})),
    ("number", frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})),
)
# Deepest indentation of inlined code; a deeper node becomes a call. CPython refuses more than 20 nested
# loops in one function and 100 indentation levels; a dozen keeps well clear of both.
_MAX_DEPTH = 12
# How deep `properties` nest inside one expression: a condition (an `if`, an `anyOf` branch) is cheapest as
# one expression, but a node's own properties are cheaper as statements, each read once into a variable.
# Both stay well under the parser's limit on nested parentheses.
_PREDICATE_LEVELS = 3
_STATEMENT_LEVELS = 0


def _mapping(node: object) -> dict[str, object]:
    if not isinstance(node, dict):
        raise Unsupported(f"schema {node!r}")
    return cast("dict[str, object]", node)


def _trivial(node: object) -> bool:
    """True for a schema every instance passes: `true`, `{}` or annotations only."""
    return node is True or (isinstance(node, dict) and node.keys() <= _ANNOTATIONS)


def _type_names(value: object) -> list[str]:
    names = cast("list[object]", value) if isinstance(value, list) else [value]
    for name in names:
        if name not in TYPE_TESTS:
            raise Unsupported(f"type {name!r}")
    return cast("list[str]", names)


def _applies(kind: str, known: str) -> bool:
    """Whether keywords of JSON type ``kind`` apply to an instance known to be of type ``known``."""
    return kind == known or (kind == "number" and known == "integer")


Emit = Callable[[Body], None]


class Compiler:
    """Generates the source of checks from schema documents (by file stem); `$ref`s resolve between them.

    Most replies are valid, and jsonschema spends ~0.3 ms on one; the generated code says so in a few
    microseconds. Each schema node becomes straight-line statements that ``return False`` as soon as a
    keyword fails, nested nodes inlined into their parent (a property's schema, an array's items, a `$ref`'s
    target). A node gets a function of its own only where it must or where that is cheaper: a `$ref` back
    to itself or reached from several places, a condition (`if`, `anyOf`, `oneOf`, `not`) that is more than
    one expression, a branch of a dispatch table, or a node nested too deep for Python's compiler. Strings
    and numbers from a schema enter the source only as built-in ``repr`` literals; anything else
    (patterns, lists, tables) is bound to a name in the generated module's namespace.
    """

    def __init__(self, documents: Mapping[str, object]) -> None:
        self._documents = documents
        self._namespace: dict[str, object] = {
            # Only what the generated code calls.
            "__builtins__": {"isinstance": isinstance, "type": type, "len": len},
            "dict": dict,
            "list": list,
            "str": str,
            "int": int,
            "_PLAIN_NUMBERS": frozenset({int, float}),
            "_is_number": is_number,
            "_is_integer": is_integer,
            "_equal": equal,
            "_in_enum": in_enum,
        }
        # Functions generated so far, by what they check; a function is named before its body is written,
        # so a schema that refers to itself ends in a call.
        self._functions: dict[tuple[object, ...], str] = {}
        self._definitions: list[str] = []
        self._tables: list[str] = []  # run after the definitions: they name the functions
        self._counter = itertools.count()
        self._shared: set[str] = set()

    def source(self) -> str:
        """The Python source generated so far."""
        return "\n".join([*self._definitions, *self._tables, ""])

    def check(self, name: str) -> Check:
        """The check for the whole schema file ``name``; raises ``Unsupported``."""
        self._shared = self._shared_refs(name)
        entry = self._ref_function(name, f"{name}{_SUFFIX}")
        # The source is built from our own schema files, with every schema value a repr literal or a name.
        exec(compile(self.source(), f"<fastcheck {name}>", "exec"), self._namespace)
        return cast("Check", self._namespace[entry])

    def _shared_refs(self, name: str) -> set[str]:
        """The `$ref`s that schema ``name`` reaches from more than one place.

        Their targets become one function each instead of a copy at each place (unless one expression
        tests them): Python takes longer to compile the copies than a reply takes to make the calls.
        """
        seen: dict[str, int] = {}
        pending: list[tuple[object, str]] = [(self._documents[name], name)]
        while pending:
            node, home = pending.pop()
            if isinstance(node, list):
                pending.extend((item, home) for item in node)
            elif isinstance(node, dict):
                pending.extend((value, home) for key, value in node.items() if key != "$ref")
                ref = node.get("$ref")
                if isinstance(ref, str):
                    key, target, target_home = self._resolve(home, ref)
                    seen[key] = seen.get(key, 0) + 1
                    if seen[key] == 1:
                        pending.append((target, target_home))
        return {key for key, count in seen.items() if count > 1}

    def _fresh(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter)}"

    def _constant(self, value: object) -> str:
        """A name in the generated module's namespace bound to ``value``."""
        name = self._fresh("_c")
        self._namespace[name] = value
        return name

    def _function(self, key: tuple[object, ...], emit: Emit) -> str:
        """The name of a generated function ``f(x)`` whose body ``emit`` writes; written once per ``key``."""
        known = self._functions.get(key)
        if known is not None:
            return known
        name = self._fresh("_f")
        self._functions[key] = name
        body = Body(1)
        emit(body)
        self._definitions.extend([f"def {name}(x):", *body.lines, "    return True", ""])
        return name

    def _resolve(self, home: str, ref: str) -> tuple[str, object, str]:
        """(key, target node, target's file) of ``ref`` written in file ``home``."""
        file, _, fragment = ref.partition("#")
        target = file.removesuffix(_SUFFIX) if file else home
        if target not in self._documents or (file and not file.endswith(_SUFFIX)):
            raise Unsupported(f"$ref {ref!r}")
        return f"{target}#{fragment}", _pointer(self._documents[target], fragment), target

    def _ref_function(self, home: str, ref: str) -> str:
        key, node, target = self._resolve(home, ref)
        return self._function(("ref", key), lambda body: self._emit(node, "x", target, None, body, {key}))

    def _node_function(self, node: object, home: str, known: str | None, stack: set[str]) -> str:
        # Keyed by identity: every node lives in the documents, which outlive the compiler.
        return self._function(
            ("node", id(node), home, known), lambda body: self._emit(node, "x", home, known, body, stack)
        )

    def _predicate(self, node: object, var: str, home: str, known: str | None, stack: set[str]) -> str:
        """An expression that is true when ``var`` is valid against ``node``: inline, else a call."""
        flat = self._flat(node, var, home, known, stack, _PREDICATE_LEVELS)
        if flat is not None:
            return all_of(flat)
        return f"{self._node_function(node, home, known, stack)}({var})"

    def _flat(
        self, node: object, var: str, home: str, known: str | None, stack: set[str], levels: int
    ) -> list[str] | None:
        """``node`` as expressions that must all be true, or None when it needs statements (a loop).

        `properties` nest at most ``levels`` deep: each level reads its property again, from the top.
        """
        if node is True:
            return []
        if node is False:
            return ["False"]
        schema = _mapping(node)
        if not schema.keys() <= _FLAT_KEYWORDS or ("properties" in schema and levels == 0):
            return None
        parts: list[str] = []
        if "type" in schema:
            test, known = self._type_test(schema["type"], var, known)
            parts.extend(test)
        for kind, keywords in _KEYWORDS_BY_TYPE:
            present = [key for key in schema if key in keywords]
            if not present or (known is not None and not _applies(kind, known)):
                continue
            tests = [self._bound(key, schema[key], var) for key in present if key in _BOUNDS]
            if "properties" in present:
                nested = self._flat_properties(schema["properties"], var, home, stack, levels - 1)
                if nested is None:
                    return None
                tests.extend(nested)
            if tests and known is None:
                tests = [f"not {TYPE_TESTS[kind].format(var)} or {all_of(tests)}"]
            parts.extend(tests)
        parts.extend(self._values(schema, var, known))
        if "$ref" in schema:
            key, target, target_home = self._resolve(home, cast("str", schema["$ref"]))
            if key in stack:
                parts.append(f"{self._ref_function(home, cast('str', schema['$ref']))}({var})")
            else:
                inner = self._flat(target, var, target_home, known, stack | {key}, levels)
                if inner is None:
                    return None
                parts.extend(inner)
        return parts

    def _flat_properties(
        self, properties: object, var: str, home: str, stack: set[str], levels: int
    ) -> list[str] | None:
        """`properties` of an object ``var`` as expressions: an absent key passes, a present one is tested."""
        parts = []
        for name, sub in _mapping(properties).items():
            item = f"{var}[{literal(name)}]"
            tests = self._flat(sub, item, home, None, stack, levels)
            if tests is None:
                return None
            if tests:
                parts.append(f"{literal(name)} not in {var} or {all_of(tests)}")
        return parts

    def _type_test(self, value: object, var: str, known: str | None) -> tuple[list[str], str | None]:
        """The test of `type` (none when ``known`` already proves it) and what is known after it."""
        names = _type_names(value)
        test = [] if known in names else [" or ".join(TYPE_TESTS[name].format(var) for name in names)]
        return test, names[0] if len(names) == 1 else known

    def _values(self, schema: dict[str, object], var: str, known: str | None) -> list[str]:
        """The tests of `const` and `enum`."""
        parts = []
        if "const" in schema:
            parts.append(self._const(schema["const"], var))
        if "enum" in schema:
            options = cast("list[object]", schema["enum"])
            if not isinstance(options, list):
                raise Unsupported("enum")
            if options and all(isinstance(option, str) for option in options):
                # Only a string equals a string (`equal` compares them with ==), so a set lookup decides.
                names = ", ".join(literal(option) for option in options)
                guard = "" if known == "string" else f"isinstance({var}, str) and "
                parts.append(f"{guard}{var} in {{{names}}}")
            else:
                parts.append(f"_in_enum({var}, {self._constant(tuple(options))})")
        return parts

    def _const(self, value: object, var: str) -> str:
        # `equal` with a string is ==; with true, false or null it is identity (true is not 1). Anything
        # else (numbers, containers) goes to `equal` itself.
        if isinstance(value, str):
            return f"{var} == {literal(value)}"
        if value is None or isinstance(value, bool):
            return f"{var} is {value!r}"
        return f"_equal({var}, {self._constant(value)})"

    def _bound(self, key: str, value: object, var: str) -> str:
        """The expression for one keyword of `_BOUNDS`, for an instance of that keyword's type."""
        if key == "required":
            names = list(dict.fromkeys(cast("list[object]", value)))
            return " and ".join(f"{literal(name)} in {var}" for name in names) or "True"
        if key == "dependentRequired":
            tests = []
            for name, wanted in _mapping(value).items():
                needed = " and ".join(f"{literal(each)} in {var}" for each in cast("list[object]", wanted))
                tests.append(f"({literal(name)} not in {var} or ({needed or 'True'}))")
            return " and ".join(tests) or "True"
        if key == "pattern":
            if not isinstance(value, str):
                raise Unsupported("pattern")
            return f"{self._constant(re.compile(value))}.search({var}) is not None"
        if key in ("minProperties", "minItems", "minLength", "maxProperties", "maxItems", "maxLength"):
            if not isinstance(value, int) or isinstance(value, bool):
                raise Unsupported(f"{key} {value!r}")
            return f"len({var}) {'>=' if key.startswith('min') else '<='} {literal(value)}"
        operators = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
        return f"{var} {operators[key]} {literal(value)}"

    def _emit(
        self, node: object, var: str, home: str, known: str | None, body: Body, stack: set[str]
    ) -> None:
        """Statements that return False unless ``var`` is valid against ``node``.

        ``known`` is the JSON type ``var`` is already proven to have; ``stack`` holds the `$ref`s being
        inlined, so a reference back to one of them becomes a call.
        """
        flat = self._flat(node, var, home, known, stack, _STATEMENT_LEVELS)
        if flat is not None:
            for part in flat:
                body.fail_unless(part)
            return
        schema = _mapping(node)
        unknown = schema.keys() - _KEYWORDS - _ANNOTATIONS
        if unknown:
            raise Unsupported(f"keywords {sorted(unknown)}")
        if body.depth > _MAX_DEPTH:
            body.fail_unless(f"{self._node_function(node, home, known, stack)}({var})")
            return
        if "type" in schema:
            test, known = self._type_test(schema["type"], var, known)
            for part in test:
                body.fail_unless(part)
        for kind, keywords in _KEYWORDS_BY_TYPE:
            if keywords.isdisjoint(schema) or (known is not None and not _applies(kind, known)):
                continue
            # Unless the type is proven, the keywords go under a test of it: elsewhere they hold.
            inner = body if known is not None else body.nested()
            for key in schema:
                if key in keywords and key in _BOUNDS:
                    inner.fail_unless(self._bound(key, schema[key], var))
            if kind == "object":
                self._object(schema, var, home, inner, stack)
            elif kind == "array" and "items" in schema:
                self._items(schema["items"], var, home, inner, stack)
            if inner is not body:
                body.block(f"if {TYPE_TESTS[kind].format(var)}:", inner)
        for part in self._values(schema, var, known):
            body.fail_unless(part)
        self._combinations(schema, var, home, known, body, stack)

    def _object(self, schema: dict[str, object], var: str, home: str, body: Body, stack: set[str]) -> None:
        """`properties`, `additionalProperties` and `propertyNames` of an object ``var``.

        Runs after `required` has been tested, so a required property is read without testing for it.
        """
        properties = _mapping(schema.get("properties", {}))
        required = set(cast("list[object]", schema.get("required", [])))
        for name, sub in properties.items():
            if _trivial(sub):
                continue
            item = self._fresh("v")
            inner = Body(body.depth) if name in required else body.nested()
            inner.line(f"{item} = {var}[{literal(name)}]")
            self._emit(sub, item, home, None, inner, stack)
            if len(inner.lines) == 1:
                continue  # nothing to test beyond the read
            if name in required:
                body.lines.extend(inner.lines)
            else:
                body.block(f"if {literal(name)} in {var}:", inner)
        extra = schema.get("additionalProperties", True)
        if not _trivial(extra):
            self._additional(extra, frozenset(properties), var, home, body, stack)
        names = schema.get("propertyNames", True)
        if not _trivial(names):
            key = self._fresh("k")
            loop = body.nested()
            self._emit(names, key, home, None, loop, stack)
            body.block(f"for {key} in {var}:", loop)

    def _additional(
        self, extra: object, declared: frozenset[str], var: str, home: str, body: Body, stack: set[str]
    ) -> None:
        """`additionalProperties`: the schema of every key `properties` does not name."""
        if extra is False:
            body.fail_unless(f"{var}.keys() <= {self._constant(declared)}" if declared else f"not {var}")
            return
        key, item = self._fresh("k"), self._fresh("v")
        loop = body.nested()
        if declared:
            loop.line(f"if {key} in {self._constant(declared)}: continue")
        self._emit(extra, item, home, None, loop, stack)
        if len(loop.lines) > int(bool(declared)):
            header = f"for {key}, {item} in {var}.items():" if declared else f"for {item} in {var}.values():"
            body.block(header, loop)

    def _items(self, items: object, var: str, home: str, body: Body, stack: set[str]) -> None:
        if isinstance(items, list):
            raise Unsupported("items as a list")  # draft 2019 and older; 2020-12 says prefixItems
        if _trivial(items):
            return
        item = self._fresh("v")
        loop = body.nested()
        self._emit(items, item, home, None, loop, stack)
        body.block(f"for {item} in {var}:", loop)

    def _combinations(
        self, schema: dict[str, object], var: str, home: str, known: str | None, body: Body, stack: set[str]
    ) -> None:
        """`$ref`, `allOf`, `anyOf`, `oneOf`, `not` and `if`/`then`/`else`."""
        if "$ref" in schema:
            ref = cast("str", schema["$ref"])
            key, target, target_home = self._resolve(home, ref)
            if key in stack or key in self._shared:
                body.fail_unless(f"{self._ref_function(home, ref)}({var})")
            else:
                self._emit(target, var, target_home, known, body, stack | {key})
        if "allOf" in schema:
            branches = cast("list[object]", schema["allOf"])
            if known != "object" or not self._dispatch(branches, var, home, body, stack):
                for branch in branches:
                    self._emit(branch, var, home, known, body, stack)
        if "anyOf" in schema:
            tests = [self._predicate(sub, var, home, known, stack) for sub in _list(schema["anyOf"])]
            body.fail_unless(" or ".join(f"({test})" for test in tests))
        if "oneOf" in schema:
            tests = [self._predicate(sub, var, home, known, stack) for sub in _list(schema["oneOf"])]
            body.fail_unless(" + ".join(f"(1 if {test} else 0)" for test in tests) + " == 1")
        if "not" in schema:
            body.fail_unless(f"not ({self._predicate(schema['not'], var, home, known, stack)})")
        if "if" in schema:
            self._if(schema, var, home, known, body, stack)

    def _if(
        self, schema: dict[str, object], var: str, home: str, known: str | None, body: Body, stack: set[str]
    ) -> None:
        then, otherwise = body.nested(), body.nested()
        if "then" in schema:
            self._emit(schema["then"], var, home, known, then, stack)
        if "else" in schema:
            self._emit(schema["else"], var, home, known, otherwise, stack)
        if not then.lines and not otherwise.lines:
            return  # an `if` alone never fails
        condition = self._predicate(schema["if"], var, home, known, stack)
        if then.lines:
            body.block(f"if {condition}:", then)
            body.block("else:", otherwise)
        else:
            body.block(f"if not ({condition}):", otherwise)

    def _dispatch(self, branches: list[object], var: str, home: str, body: Body, stack: set[str]) -> bool:
        """`allOf` of `if {K: const C, required K} then S` branches on one key K, as a lookup by C.

        The templates and frames pick their shape this way, and testing a dozen `if`s one by one is slow.
        Only for an object ``var`` (the caller proves it): for anything else every `if` holds vacuously.
        Writes nothing and returns False when the branches have another shape.
        """
        field: str | None = None
        by_value: dict[str, list[object]] = {}
        for branch in branches:
            if not isinstance(branch, dict) or branch.keys() - _ANNOTATIONS != {"if", "then"}:
                return False
            condition = branch["if"]
            if not isinstance(condition, dict) or condition.keys() - _ANNOTATIONS != _CONDITION:
                return False
            properties, required = condition["properties"], condition["required"]
            if not isinstance(properties, dict) or len(properties) != 1:
                return False
            ((name, const_schema),) = properties.items()
            if not isinstance(const_schema, dict) or const_schema.keys() - _ANNOTATIONS != {"const"}:
                return False
            const = const_schema["const"]
            if required != [name] or not isinstance(const, str) or field not in (None, name):
                return False
            field = name
            by_value.setdefault(const, []).append(branch["then"])
        if field is None:
            return False
        entries = []
        for const, thens in by_value.items():
            emit = self._emit_all(thens, home, stack)
            entries.append(f"{literal(const)}: {self._function(('then', *map(id, thens), home), emit)}")
        table = self._fresh("_t")
        self._tables.append(f"{table} = {{{', '.join(entries)}}}")
        chosen, then = self._fresh("v"), self._fresh("f")
        # Only a string value can equal a branch's string (no `if` holds for a missing key or another type).
        body.line(f"{chosen} = {var}.get({literal(field)})")
        inner = body.nested()
        inner.line(f"{then} = {table}.get({chosen})")
        inner.line(f"if {then} is not None and not {then}({var}): return False")
        body.block(f"if isinstance({chosen}, str):", inner)
        return True

    def _emit_all(self, nodes: list[object], home: str, stack: set[str]) -> Emit:
        """A body that checks an object ``x`` against every one of ``nodes``."""

        def emit(body: Body) -> None:
            for node in nodes:
                self._emit(node, "x", home, "object", body, stack)

        return emit


# The keywords of a dispatchable branch's `if`.
_CONDITION = frozenset({"properties", "required"})


def _list(value: object) -> list[object]:
    if not isinstance(value, list) or not value:
        raise Unsupported(f"list {value!r}")
    return cast("list[object]", value)


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
    except (Unsupported, KeyError, IndexError, ValueError, TypeError, re.error):
        return None


__all__ = ["compile_check", "equal", "is_type"]
