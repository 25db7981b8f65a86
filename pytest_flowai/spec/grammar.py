"""Check one spec document against ``schema.json`` and word every violation for a bot author, with its place.

A quick check compiled from the schema passes valid documents; jsonschema (loaded only then) finds the
problems of the others, and this module picks the meaningful one out of ``anyOf``/``oneOf`` branches and
turns each into a ``SpecError`` at the line and column of the node (or key) at fault.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from typing import TYPE_CHECKING

from pytest_flowai._json import JSONObject
from pytest_flowai.errors import Span, SpecError, quote
from pytest_flowai.schemas.fastcheck import Check, compile_check
from pytest_flowai.spec.didyoumean import closest, did_you_mean
from pytest_flowai.spec.yamlload import PathPart, node_span

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

_TYPE_WORDS = {
    "string": "a string",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}
# Keys of an expectation entry written directly on a turn: a common slip worth its own hint.
_ENTRY_KEYS_HINT = "expectations go under expect, e.g. expect: [{text: hello}]"
# The turn keys whose items are entries (the keys of a reply bubble).
_ENTRY_LISTS = ("expect", "forbid")
# Turn keys that say how to match, not what: a common slip is to write them inside an expect entry.
_TURN_OPTIONS = frozenset({"timeout", "settle", "silence", "patience", "extra", "unordered"})
_ACTION = "action"


@functools.cache
def spec_schema() -> JSONObject:
    """The spec grammar (draft 2020-12), as shipped in the package."""
    text = resources.files("pytest_flowai.spec").joinpath("schema.json").read_text(encoding="utf-8")
    schema: JSONObject = json.loads(text)
    return schema


@functools.cache
def _quick_check() -> Check | None:
    return compile_check({"schema": spec_schema()}, "schema")


@functools.cache
def _validator() -> Draft202012Validator:
    # Imported here: most documents are valid, and the quick check spares them jsonschema altogether.
    from jsonschema import Draft202012Validator

    return Draft202012Validator(spec_schema())


def grammar_problems(root: object, path: str, limit: int | None = None) -> list[SpecError]:
    """Every way a document breaks the spec grammar, worded, with spans; empty when it is valid.

    With ``limit``, the search stops after that many violations (a file may hold a hundred thousand).
    """
    quick = _quick_check()
    # The quick check only ever says "valid"; whatever it doubts, jsonschema decides and explains.
    if quick is not None and quick(root):
        return []
    errors = itertools.islice(_validator().iter_errors(root), limit)
    leaves = [leaf for error in errors for leaf in _leaves(error)]
    problems: list[SpecError] = []
    with_unknown_keys = {tuple(e.absolute_path) for e in leaves if e.validator == "additionalProperties"}
    for error in leaves:
        location = tuple(error.absolute_path)
        if _is_exactly_one(error) and not isinstance(error.instance, dict):
            continue  # a turn that is not even a mapping already has its type error
        if _is_exactly_one(error) and location in with_unknown_keys and _present(error) == []:
            continue  # `sya: hi` is reported once, as an unknown key with its did-you-mean
        problems.extend(_describe(error, root, path))
    unique = {(str(p.span), p.message): p for p in problems}
    return list(unique.values())


def _leaves(error: ValidationError) -> list[ValidationError]:
    """The errors worth reporting under ``error``: inside an anyOf, those of the branch the author meant."""
    if error.validator not in ("anyOf", "oneOf") or not error.context or _is_exactly_one(error):
        return [error]
    branches: dict[object, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    # A branch whose shape (type, constant) does not fit the value is not what the author meant.
    meant = [subs for subs in branches.values() if not any(_is_shape_error(sub) for sub in subs)]
    if len(meant) == 1:
        return [leaf for sub in meant[0] for leaf in _leaves(sub)]
    if len(meant) > 1:
        from jsonschema.exceptions import best_match

        best = best_match(sub for subs in meant for sub in subs)
        return _leaves(best) if best is not None else [error]
    return [error]


def _is_shape_error(error: ValidationError) -> bool:
    return not error.relative_path and error.validator in ("type", "const", "enum")


def _is_exactly_one(error: ValidationError) -> bool:
    """A ``oneOf`` of bare ``required`` lists: "exactly one of these keys" (turn actions, text matchers)."""
    branches = error.validator_value
    return (
        error.validator == "oneOf"
        and isinstance(branches, list)
        and all(isinstance(b, dict) and list(b) == ["required"] for b in branches)
    )


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _exactly_one_keys(error: ValidationError) -> list[str]:
    branches = _as_list(error.validator_value)
    return [
        str(key) for branch in branches if isinstance(branch, dict) for key in _as_list(branch["required"])
    ]


def _present(error: ValidationError) -> list[str]:
    instance = error.instance
    return [key for key in _exactly_one_keys(error) if isinstance(instance, dict) and key in instance]


def _describe(error: ValidationError, root: object, path: str) -> Iterator[SpecError]:
    location = tuple(error.absolute_path)
    at_value = node_span(path, root, location)
    validator = error.validator
    if validator == "additionalProperties":
        yield from _unknown_keys(error, root, path, location)
    elif validator == "required":
        instance = error.instance if isinstance(error.instance, dict) else {}
        missing = [str(key) for key in _as_list(error.validator_value) if key not in instance]
        for key in missing:
            if not location and key == "steps":
                yield SpecError(
                    "the spec has no 'steps'",
                    span=at_value,
                    hint="a conversation needs a list of turns, e.g. steps: [{say: hello}]",
                )
            else:
                yield SpecError(f"missing key {key!r} in {place(location)}", span=at_value)
    elif _is_exactly_one(error):
        yield _exactly_one(error, root, path, location)
    elif validator == "dependentRequired":
        instance = error.instance if isinstance(error.instance, dict) else {}
        needs = error.validator_value if isinstance(error.validator_value, dict) else {}
        for key, wanted in needs.items():
            for other in _as_list(wanted) if key in instance else []:
                if other not in instance:
                    yield SpecError(
                        f"{key!r} works only with {other!r} in {place(location)}",
                        span=node_span(path, root, (*location, key), key=True),
                    )
    elif "propertyNames" in error.relative_schema_path:
        key = str(error.instance)
        # Mark names (`marks: [{flaky: ...}]`) are the one other mapping whose keys the grammar restricts.
        mark = isinstance(error.schema, dict) and str(error.schema.get("title", "")).startswith("a mark name")
        yield SpecError(
            f"{key!r} is not a valid {'mark' if mark else 'variable'} name in {place(location)}",
            span=node_span(path, root, (*location, key), key=True),
            hint="a mark name is a letter, then letters, digits and _"
            if mark
            else "a name is letters, digits and _, not starting with a digit",
        )
    elif validator == "minItems" and error.validator_value == 1:
        hint = "for a silent bot write expect: none" if location[-1:] == ("expect",) else None
        if location == ("steps",):
            hint = "a conversation needs at least one turn, e.g. steps: [{say: hello}]"
        yield SpecError(f"{subject(location)} must not be empty", span=at_value, hint=hint)
    else:
        yield _wrong_value(error, location, at_value)


def _unknown_keys(
    error: ValidationError, root: object, path: str, location: tuple[PathPart, ...]
) -> Iterator[SpecError]:
    schema = error.schema
    allowed = list(schema.get("properties", {})) if isinstance(schema, dict) else []
    instance = error.instance if isinstance(error.instance, dict) else {}
    for key in instance:
        if key in allowed:
            continue
        span = node_span(path, root, (*location, key), key=True)
        hint = _unknown_key_hint(key, allowed, location)
        yield SpecError(f"unknown key {key!r} in {place(location)}", span=span, hint=hint)


def _unknown_key_hint(key: str, allowed: Sequence[str], location: tuple[PathPart, ...]) -> str | None:
    is_turn = len(location) == 2 and location[0] == "steps"
    if is_turn and key in _entry_keys():
        return _ENTRY_KEYS_HINT
    is_entry = len(location) == 4 and location[0] == "steps" and location[2] in _ENTRY_LISTS
    if is_entry and key in _TURN_OPTIONS:
        return f"{key!r} is an option of the turn: write it beside expect, not inside an entry"
    return did_you_mean(key, allowed) or (f"allowed here: {', '.join(allowed)}" if allowed else None)


@functools.cache
def _entry_keys() -> frozenset[str]:
    defs = spec_schema().get("$defs")
    entry = defs.get("entry") if isinstance(defs, dict) else None
    properties = entry.get("properties") if isinstance(entry, dict) else None
    return frozenset(properties) if isinstance(properties, dict) else frozenset()


def _exactly_one(
    error: ValidationError, root: object, path: str, location: tuple[PathPart, ...]
) -> SpecError:
    keys = _exactly_one_keys(error)
    present = _present(error)
    is_turn = len(location) == 2 and location[0] == "steps"
    where = node_span(path, root, location)
    if len(present) > 1:
        where = node_span(path, root, (*location, present[1]), key=True)
    if is_turn:
        if present:
            both = " and ".join(repr(key) for key in present)
            return SpecError(
                f"{subject(location)} has both {both}: a turn holds exactly one {_ACTION}",
                span=where,
                hint="split it into one turn per action",
            )
        return SpecError(
            f"{subject(location)} has no {_ACTION}: a turn holds exactly one of {', '.join(keys)}",
            span=where,
        )
    name = location[-1] if location and isinstance(location[-1], str) else "this mapping"
    got = f", got {' and '.join(repr(key) for key in present)}" if present else ""
    return SpecError(f"{name}: a mapping needs exactly one of {', '.join(keys)}{got}", span=where)


def _wrong_value(error: ValidationError, location: tuple[PathPart, ...], span: Span) -> SpecError:
    schema = error.schema if isinstance(error.schema, dict) else {}
    title = schema.get("title")
    what = title if isinstance(title, str) else _expected_words(error)
    hint = None
    if error.validator in ("enum", "const") and isinstance(error.instance, str):
        options = _as_list(error.validator_value) if error.validator == "enum" else [error.validator_value]
        match = closest(error.instance, [str(option) for option in options])
        hint = f"did you mean {match!r}?" if match else None
    wants_string = _accepts_string(schema) or (
        error.validator == "type" and error.validator_value == "string"
    )
    if wants_string and isinstance(error.instance, bool | int | float):
        key = f"{location[-1]}: " if location and isinstance(location[-1], str) else ""
        hint = f'quote it: {key}"{_yaml_scalar(error.instance)}"'
    return SpecError(f"{subject(location)} must be {what}, got {shown(error.instance)}", span=span, hint=hint)


def _accepts_string(schema: Mapping[str, object]) -> bool:
    """Whether a string would do here: a label written as `5` or `yes`-like scalar wants quoting."""
    kind = schema.get("type")
    if kind == "string" or (isinstance(kind, list) and "string" in kind):
        return True
    branches = [*_as_list(schema.get("anyOf")), *_as_list(schema.get("oneOf"))]
    return any(isinstance(b, dict) and b.get("type") == "string" for b in branches)


def _expected_words(error: ValidationError) -> str:
    value = error.validator_value
    match error.validator:
        case "type":
            types = value if isinstance(value, list) else [value]
            return " or ".join(_TYPE_WORDS.get(str(t), str(t)) for t in types)
        case "enum":
            return "one of " + ", ".join(_yaml_scalar(v) for v in _as_list(value))
        case "const":
            return _yaml_scalar(value)
        case "minLength":
            return "a non-empty string"
        case "exclusiveMinimum":
            return f"> {value}"
        case "minimum":
            return f">= {value}"
        case "maximum":
            return f"<= {value}"
        case "pattern":
            return f"text matching {value}"
        case _:
            return str(error.message)


def _yaml_scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def shown(value: object) -> str:
    """A value as an error message quotes it: YAML words for scalars, a noun for collections."""
    if isinstance(value, bool) or value is None:
        return _yaml_scalar(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return quote(value)
    return repr(value)


def subject(location: Sequence[PathPart]) -> str:
    """How a message names the node at a path: ``'say'``, ``turn 2``, ``item 3 of 'marks'``."""
    if not location:
        return "the spec"
    last = location[-1]
    if isinstance(last, str):
        return repr(last)
    if len(location) == 2 and location[0] == "steps":
        return f"turn {last + 1}"
    if len(location) == 4 and location[2] in _ENTRY_LISTS:
        return f"{location[2]} entry {last + 1}"
    return f"item {last + 1} of {subject(location[:-1])}"


def place(location: Sequence[PathPart]) -> str:
    """Where a node is, for messages about its keys: ``turn 2``, ``'card' of expect entry 1 of turn 2``."""
    in_turn = len(location) >= 2 and location[0] == "steps" and isinstance(location[1], int)
    turn = int(location[1]) + 1 if in_turn else None
    in_entry = in_turn and len(location) >= 4 and location[2] in _ENTRY_LISTS and isinstance(location[3], int)
    entry = int(location[3]) + 1 if in_entry else None
    container = f"{location[2]} entry {entry} of turn {turn}" if entry else f"turn {turn}" if turn else None
    depth = 4 if entry else 2 if turn else 0
    if len(location) == depth:
        return container or "the spec"
    inner = subject(location)
    return f"{inner} of {container}" if container else inner


__all__ = ["grammar_problems", "place", "shown", "spec_schema", "subject"]
