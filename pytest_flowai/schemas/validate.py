"""Loads the protocol JSON Schemas shipped in this package and turns jsonschema errors into plain violations.
Imports only our leaf modules (no pytest, no network, no emulator); jsonschema and referencing once a payload
fails the quick check.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING, cast

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.errors import SchemaViolation, Violation, quote
from pytest_flowai.schemas.fastcheck import Check, compile_check

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError
    from referencing import Registry

BASE_URI = "https://pytest-flowai.dev/schemas/"
_SUFFIX = ".json"
_PLAIN_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*\Z")

PathPart = str | int
# What referencing calls a schema document: a mapping (or a boolean schema).
SchemaDocument = bool | Mapping[str, object]


class UnknownSchemaError(KeyError):
    """No schema has the given name; the message suggests the closest names."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        if close:
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?"
        else:
            hint = f"; known schemas: {', '.join(known)}"
        self.name = name
        self.message = f"unknown schema {name!r}{hint}"
        super().__init__(self.message)

    def __str__(self) -> str:
        # KeyError's own __str__ would wrap the message in quotes.
        return self.message


@cache
def _load_all() -> MappingProxyType[str, JSONObject]:
    """Every schema file of this package, read once, by name (the file stem)."""
    folder = resources.files(__package__ or "pytest_flowai.schemas")
    loaded: dict[str, JSONObject] = {}
    for entry in folder.iterdir():
        if entry.name.endswith(_SUFFIX) and entry.is_file():
            loaded[entry.name[: -len(_SUFFIX)]] = json.loads(entry.read_text(encoding="utf-8"))
    return MappingProxyType(dict(sorted(loaded.items())))


@cache
def _registry() -> Registry[SchemaDocument]:
    """All schemas under the URI their file name gives them, so relative ``$ref``s resolve offline."""
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    resources_by_uri = [
        (f"{BASE_URI}{name}{_SUFFIX}", Resource[SchemaDocument].from_contents(schema, DRAFT202012))
        for name, schema in _load_all().items()
    ]
    return Registry[SchemaDocument]().with_resources(resources_by_uri).crawl()


def names() -> list[str]:
    """The names of every shipped schema, sorted."""
    return list(_load_all())


def _resolve(name: str) -> str:
    schemas = _load_all()
    if name in schemas:
        return name
    if name.endswith(_SUFFIX) and name[: -len(_SUFFIX)] in schemas:
        return name[: -len(_SUFFIX)]
    raise UnknownSchemaError(name, list(schemas))


def raw(name: str) -> JSONObject:
    """A copy of the schema document called ``name`` (``.json`` suffix optional).

    Raises:
        UnknownSchemaError (a KeyError): no schema has that name.
    """
    return copy.deepcopy(_load_all()[_resolve(name)])


# The per-bubble schema: a bot sends the same bubbles again and again (a greeting, a menu), and checking one
# against every template's if/then is the costliest part of validating a reply.
_REMEMBERED_REFS = frozenset({"response.json"})
_REMEMBERED_MAX = 4096


class _KnownValid:
    """A bounded memory of instances that matched a remembered `$ref`; only valid ones are kept."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._keys: dict[str, None] = {}
        self._lock = threading.Lock()  # the emulator validates from its own thread

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def add(self, key: str) -> None:
        with self._lock:
            if len(self._keys) >= self._size:
                self._keys.pop(next(iter(self._keys)))
            self._keys[key] = None


def _remembering_ref(known: _KnownValid) -> object:
    from jsonschema import Draft202012Validator

    plain = Draft202012Validator.VALIDATORS["$ref"]

    def ref(validator: Draft202012Validator, ref: str, instance: object, schema: object) -> Iterator[object]:
        if ref not in _REMEMBERED_REFS or not isinstance(instance, dict):
            yield from plain(validator, ref, instance, schema)
            return
        try:
            key = ref + json.dumps(instance, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError):  # YAML input may hold keys JSON cannot sort or write
            yield from plain(validator, ref, instance, schema)
            return
        if key in known:
            return
        errors = list(plain(validator, ref, instance, schema))
        if not errors:
            known.add(key)
        yield from errors

    return ref


@cache
def _validator_class() -> type[Draft202012Validator]:
    # Imported here: valid payloads pass the quick check, and jsonschema costs about as much as pytest.
    from jsonschema import Draft202012Validator, validators

    keywords = {"$ref": _remembering_ref(_KnownValid(_REMEMBERED_MAX))}
    remembering = validators.extend(Draft202012Validator, keywords)  # type: ignore[no-untyped-call]
    return cast("type[Draft202012Validator]", remembering)


def _pointer(document: object, fragment: str) -> object:
    """The part of a schema document a JSON pointer fragment (``/$defs/params``) names."""
    node = document
    for token in fragment.lstrip("/").split("/") if fragment.strip("/") else []:
        key = token.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else cast("dict[str, object]", node)[key]
    return node


def _inline(node: object, home: str, stack: tuple[str, ...]) -> object:
    """``node`` (from schema file ``home``) with cross-file ``$ref``s replaced by what they point at.

    Resolving a reference costs jsonschema more than checking what it points at, and a reply walks dozens
    of them. Kept as references: those to the per-bubble schema (remembered, see above) and any that would
    loop back on themselves.
    """
    if isinstance(node, list):
        return [_inline(item, home, stack) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _inline(value, home, stack) for key, value in node.items() if key != "$ref"}
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return out
    file, _, fragment = ref.partition("#")
    target_file = file[: -len(_SUFFIX)] if file.endswith(_SUFFIX) else (file or home)
    qualified = f"{target_file}{_SUFFIX}#{fragment}" if fragment else f"{target_file}{_SUFFIX}"
    if qualified in stack or file in _REMEMBERED_REFS or target_file not in _load_all():
        out["$ref"] = qualified if file or target_file != home else ref
        return out
    target = _pointer(_load_all()[target_file], fragment)
    inlined = _inline(target, target_file, (*stack, qualified))
    if isinstance(inlined, dict):
        inlined = {k: v for k, v in inlined.items() if k not in ("$id", "$schema", "$defs")}
    if not out:
        return inlined
    out["allOf"] = [inlined, *cast("list[object]", out.get("allOf", []))]
    return out


@cache
def _validator(name: str) -> Draft202012Validator:
    schema = cast("JSONObject", _inline(_load_all()[name], name, (f"{name}{_SUFFIX}",)))
    schema["$id"] = f"{BASE_URI}{name}{_SUFFIX}"
    return _validator_class()(schema, registry=_registry())


@cache
def _quick_check(name: str) -> Check | None:
    return compile_check(_load_all(), name)


def format_path(parts: Iterable[PathPart]) -> str:
    """``payload.messages[0].title`` from ``["payload", "messages", 0, "title"]``; odd keys are quoted."""
    text = ""
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        elif isinstance(part, str) and _PLAIN_KEY.match(part):
            text += f".{part}" if text else part
        else:
            # YAML allows keys that are not strings (1.5, true); quote them like odd string keys.
            text += f"[{json.dumps(str(part), ensure_ascii=False)}]"
    return text


def violations(obj: JSON, name: str) -> list[Violation]:
    """Every place where ``obj`` breaks schema ``name``, sorted by path; empty when it is valid.

    Raises:
        UnknownSchemaError (a KeyError): no schema has that name.
    """
    resolved = _resolve(name)
    quick = _quick_check(resolved)
    # The quick check only ever says "valid"; whatever it doubts, jsonschema decides and explains.
    if quick is not None and quick(obj):
        return []
    validator = _validator(resolved)
    found: dict[tuple[tuple[PathPart, ...], str], None] = {}
    for error in validator.iter_errors(obj):
        for path, message in _explain(error):
            found[(path, message)] = None
    ordered = sorted(found, key=lambda item: (_sort_key(item[0]), item[1]))
    return [Violation(format_path(path), message) for path, message in ordered]


def validate(obj: JSON, name: str) -> None:
    """Check ``obj`` against schema ``name``.

    Raises:
        SchemaViolation: carrying every violation and the instance.
        UnknownSchemaError (a KeyError): no schema has that name.
    """
    problems = violations(obj, name)
    if problems:
        raise SchemaViolation(_resolve(name), problems, obj)


def _sort_key(path: tuple[PathPart, ...]) -> tuple[tuple[int, int, str], ...]:
    # Indexes sort as numbers (messages[2] before messages[10]); keys sort as text.
    return tuple((0, part, "") if isinstance(part, int) else (1, 0, str(part)) for part in path)


def _path_of(error: ValidationError) -> tuple[PathPart, ...]:
    return tuple(cast("Iterable[PathPart]", error.absolute_path))


def _explain(error: ValidationError) -> Iterator[tuple[tuple[PathPart, ...], str]]:
    """(path, message) pairs for one jsonschema error: required and extra keys at their own path."""
    path = _path_of(error)
    keyword = error.validator
    instance = error.instance
    if keyword == "required":
        # jsonschema reports a missing property at its parent, once per missing property; we report each
        # where it is missing (violations() drops the repeats).
        for prop in _missing(error):
            yield (*path, prop), "required"
    elif keyword == "additionalProperties" and error.validator_value is False and isinstance(instance, dict):
        for prop in _extra_properties(instance, error.schema):
            yield (*path, prop), f"unexpected property {prop!r}"
    elif keyword in ("anyOf", "oneOf") and error.context:
        yield from _explain_alternatives(error, path)
    else:
        yield path, _message(error)


def _extra_properties(instance: dict[str, object], schema: object) -> list[str]:
    declared = schema.get("properties", {}) if isinstance(schema, dict) else {}
    patterns = schema.get("patternProperties", {}) if isinstance(schema, dict) else {}
    return [
        key
        for key in instance
        if key not in declared and not any(re.search(pattern, str(key)) for pattern in patterns)
    ]


def _explain_alternatives(
    error: ValidationError, path: tuple[PathPart, ...]
) -> Iterator[tuple[tuple[PathPart, ...], str]]:
    """anyOf / oneOf: name the missing keys, or explain the branch the instance came closest to."""
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(cast("int", sub.relative_schema_path[0]), []).append(sub)
    failures = [sub for subs in branches.values() for sub in subs]
    if all(sub.validator == "required" and _path_of(sub) == path for sub in failures):
        options = [prop for sub in failures for prop in _missing(sub)]
        yield path, f"requires one of {', '.join(repr(p) for p in dict.fromkeys(options))}"
        return

    def closeness(index: int) -> tuple[bool, int, int, int]:
        subs = branches[index]
        wrong_type = any(sub.validator == "type" and _path_of(sub) == path for sub in subs)
        depth = min(len(_path_of(sub)) for sub in subs)
        return wrong_type, -depth, len(subs), index

    for sub in branches[min(branches, key=closeness)]:
        yield from _explain(sub)


def _missing(error: ValidationError) -> list[str]:
    """The properties a failed ``required`` asked for that the object lacks."""
    instance = error.instance
    if not isinstance(instance, dict):
        return []
    return [prop for prop in cast("list[str]", error.validator_value) if prop not in instance]


def _show(value: object) -> str:
    """A value as a message quotes it: JSON words for null and booleans, a kind for containers."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return quote(value)


def _plural(count: object, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _message(error: ValidationError) -> str:
    """A short plain sentence for one failed keyword; jsonschema's own text for keywords we do not use."""
    keyword = error.validator
    expected = error.validator_value
    instance = error.instance
    if keyword == "type":
        types = expected if isinstance(expected, list) else [expected]
        return f"expected {' or '.join(str(t) for t in types)}, got {_show(instance)}"
    if keyword == "enum" and isinstance(expected, list):
        return f"must be one of [{', '.join(_show(v) for v in expected)}], got {_show(instance)}"
    if keyword == "const":
        return f"must be {_show(expected)}, got {_show(instance)}"
    bounds = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
    if keyword in bounds:
        return f"must be {bounds[str(keyword)]} {expected}, got {_show(instance)}"
    if keyword in ("minLength", "minItems", "minProperties") and expected == 1:
        return "must not be empty"
    if keyword in ("minLength", "maxLength") and isinstance(instance, str):
        limit = "at least" if keyword == "minLength" else "at most"
        return f"must be {limit} {_plural(expected, 'character')} long, got {len(instance)}"
    if keyword in ("minItems", "maxItems") and isinstance(instance, list):
        limit = "at least" if keyword == "minItems" else "at most"
        return f"must have {limit} {_plural(expected, 'item')}, got {len(instance)}"
    if keyword == "pattern":
        return f"must match {expected!r}, got {_show(instance)}"
    if keyword == "uniqueItems":
        return "must not repeat items"
    if keyword == "oneOf":
        return "matches more than one of the allowed shapes"
    if keyword in ("not", None):
        return "is not allowed here"
    return error.message
