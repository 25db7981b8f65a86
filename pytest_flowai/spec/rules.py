"""The spec rules a JSON Schema cannot state: turns a transport cannot carry, regexes, inline schemas,
variables.

Runs only on a document that passed the grammar, so it may rely on every shape the schema guarantees.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence

from pytest_flowai.errors import SpecError, quote
from pytest_flowai.spec.didyoumean import did_you_mean
from pytest_flowai.spec.interpolate import ENV_PREFIX, fill, placeholders
from pytest_flowai.spec.metaschema import check_schema
from pytest_flowai.spec.yamlload import PathPart, node_span

ACTIONS = ("say", "event", "location", "media", "pause", "resume", "handover", "wait", "include")
REST_ONLY = frozenset({"location", "media"})
_MESSAGES = ACTIONS[:4]
# The value a placeholder stands for when a regex is compiled at load time: any plain literal will do.
_PLACEHOLDER_STAND_IN = "x"
_RESERVED = "env"
# What `re.compile` raises besides re.error: a repeat count past its range, groups nested past the stack.
_COMPILE_ERRORS = (re.error, OverflowError, RecursionError)


def action_of(turn: Mapping[str, object]) -> str:
    """The one action key of a grammar-valid turn."""
    return next(key for key in ACTIONS if key in turn)


def merged(spec: Mapping[str, object], turn: Mapping[str, object], key: str) -> dict[str, object]:
    """The spec's mapping under ``key`` with the turn's over it, key by key (the turn wins)."""
    base = spec.get(key)
    over = turn.get(key)
    result = dict(base) if isinstance(base, Mapping) else {}
    if isinstance(over, Mapping):
        result.update(over)
    return result


def strings(value: object) -> Iterator[str]:
    """Every string value (not key) inside a nested value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


# The spec keys whose mappings every turn inherits, key by key.
_INHERITED = ("originator", "metadata")
SharedNames = dict[str, dict[str, frozenset[str]]]


def shared_names(spec: Mapping[str, object]) -> SharedNames:
    """Placeholder names in each key of the spec's ``originator`` and ``metadata``, found once per spec."""
    shared: SharedNames = {}
    for key in _INHERITED:
        base = spec.get(key)
        items = base.items() if isinstance(base, Mapping) else ()
        shared[key] = {
            str(name): frozenset(found for text in strings(value) for found in placeholders(text))
            for name, value in items
        }
    return shared


def turn_variables(
    spec: Mapping[str, object], turn: Mapping[str, object], shared: SharedNames | None = None
) -> frozenset[str]:
    """Placeholder names a turn uses: what it sends (merged originator and metadata too) and expects.

    ``shared`` is ``shared_names(spec)``, passed when it serves many turns: without it a spec's metadata would
    be searched again for every turn.
    """
    shared = shared if shared is not None else shared_names(spec)
    sent = [turn[action_of(turn)], turn.get("params"), turn.get("expect"), turn.get("forbid")]
    names = {name for text in strings(sent) for name in placeholders(text)}
    for key in _INHERITED:
        over = turn.get(key)
        overridden = over if isinstance(over, Mapping) else {}
        names.update(name for text in strings(overridden) for name in placeholders(text))
        for inherited in (found for sub, found in shared[key].items() if sub not in overridden):
            names |= inherited
    return frozenset(names)


def _entries(turn: Mapping[str, object], key: str = "expect") -> list[Mapping[str, object]]:
    listed = turn.get(key)
    return [entry for entry in listed if isinstance(entry, Mapping)] if isinstance(listed, list) else []


def regex_groups(pattern: str) -> frozenset[str]:
    """Named groups of a regex (written with placeholders); empty when it does not compile."""
    try:
        return frozenset(re.compile(fill(pattern, lambda _: _PLACEHOLDER_STAND_IN)).groupindex)
    except _COMPILE_ERRORS:
        return frozenset()


def turn_defines(turn: Mapping[str, object]) -> frozenset[str]:
    """Variables a turn can set when it passes: ``save`` names and the named groups of its ``text`` regexes.

    A regex under ``not`` captures nothing: it passes only when it does not match; nor does one under
    ``any_of``, which may not be the element that passed. Those of ``all_of`` elements do. A ``forbid`` entry
    defines nothing: when it matches, the turn fails.
    """
    names: set[str] = set()
    for entry in _entries(turn):
        save = entry.get("save")
        if isinstance(save, Mapping):
            names.update(str(key) for key in save)
        names.update(_text_groups(entry.get("text")))
    return frozenset(names)


def _text_groups(text: object) -> frozenset[str]:
    if not isinstance(text, Mapping):
        return frozenset()
    if isinstance(text.get("regex"), str):
        return regex_groups(str(text["regex"]))
    elements = text.get("all_of")
    if isinstance(elements, list):
        return frozenset(name for element in elements for name in _text_groups(element))
    return frozenset()


class RuleChecker:
    """Checks one grammar-valid spec document; ``problems`` collects every rule it breaks."""

    def __init__(
        self,
        root: Mapping[str, object],
        path: str,
        *,
        row_names: frozenset[str] = frozenset(),
        included_defines: Mapping[int, frozenset[str]] | None = None,
    ) -> None:
        self.root = root
        self.path = path
        # Variables set by parametrize rows, and by the turns each include turn splices in.
        self.row_names = row_names
        self.included_defines = included_defines or {}
        self.problems: list[SpecError] = []
        # The placeholder names of each turn, by its index in `steps`: the builder takes them from here.
        self.variables: dict[int, frozenset[str]] = {}

    def problem(
        self, message: str, location: Sequence[PathPart], *, key: bool = False, hint: str | None = None
    ) -> None:
        span = node_span(self.path, self.root, location, key=key)
        self.problems.append(SpecError(message, span=span, hint=hint))

    def check(self) -> list[SpecError]:
        """Run every rule; returns the problems found (empty when the document is fine)."""
        self._reserved_names(self.root.get("vars"), ("vars",))
        turns = self.root.get("steps")
        for index, turn in enumerate(turns if isinstance(turns, list) else []):
            if isinstance(turn, Mapping):
                self._turn(index, turn)
        self._variables()
        return self.problems

    def _turn(self, index: int, turn: Mapping[str, object]) -> None:
        location: tuple[PathPart, ...] = ("steps", index)
        action = action_of(turn)
        if action == "include":
            for key in (key for key in turn if key != "include"):
                self.problem(
                    f"{key!r} has no place in an include turn: it splices the other conversation's turns as"
                    " they are",
                    (*location, key),
                    key=True,
                    hint="write the option in the included conversation, or in a turn of its own",
                )
            return
        if action in REST_ONLY and self.root.get("transport", "socket") == "socket":
            self.problem(
                f"{action} turns need transport: rest, webhook or messaging (the Web socket API carries text"
                " and events only)",
                (*location, action),
                key=True,
                hint="add transport: rest (or webhook, messaging) to this spec, or move the turn to a spec"
                " that has it",
            )
        if "params" in turn and action != "event":
            self.problem(
                f"'params' belongs to an event turn, not a {action} turn",
                (*location, "params"),
                key=True,
                hint="send parameters with any message under metadata: {params: {...}}",
            )
        for number, entry in enumerate(_entries(turn)):
            entry_location = (*location, "expect", number)
            self._text(entry.get("text"), (*entry_location, "text"))
            self._schema(entry.get("schema"), (*entry_location, "schema"))
            self._reserved_names(entry.get("save"), (*entry_location, "save"))
        self._forbid(turn, location, action)

    def _forbid(self, turn: Mapping[str, object], location: tuple[PathPart, ...], action: str) -> None:
        if "forbid" in turn and action not in _MESSAGES:
            self.problem(
                f"'forbid' belongs to a message turn (say, event, location, media), not a {action} turn",
                (*location, "forbid"),
                key=True,
            )
        for number, entry in enumerate(_entries(turn, "forbid")):
            entry_location = (*location, "forbid", number)
            self._text(entry.get("text"), (*entry_location, "text"))
            self._schema(entry.get("schema"), (*entry_location, "schema"))
            if "save" in entry:
                self.problem(
                    f"'save' has no place in forbid entry {number + 1}: a forbid entry captures nothing",
                    (*entry_location, "save"),
                    key=True,
                    hint="a reply that matches a forbid entry fails the turn; save values in expect entries",
                )

    def _text(self, text: object, location: tuple[PathPart, ...]) -> None:
        if not isinstance(text, Mapping):
            return
        pattern = text.get("regex")
        if isinstance(pattern, str):
            self._regex(pattern, (*location, "regex"))
        self._text(text.get("not"), (*location, "not"))
        for key in ("all_of", "any_of"):
            elements = text.get(key)
            for index, element in enumerate(elements if isinstance(elements, list) else []):
                self._text(element, (*location, key, index))

    def _regex(self, pattern: str, location: tuple[PathPart, ...]) -> None:
        # With placeholders, compile a stand-in: each `{name}` replaced by a plain literal.
        try:
            compiled = re.compile(fill(pattern, lambda _: _PLACEHOLDER_STAND_IN))
        except _COMPILE_ERRORS as exc:
            self.problem(f"invalid regex {quote(pattern)}: {compile_error(exc)}", location)
            return
        if _RESERVED in compiled.groupindex:
            self.problem(
                f"the regex group name {_RESERVED!r} is reserved for environment variables",
                location,
                hint="rename the group",
            )

    def _schema(self, schema: object, location: tuple[PathPart, ...]) -> None:
        if not isinstance(schema, Mapping):
            return
        # Imported here: only a spec with an inline `schema` needs jsonschema.
        from jsonschema.exceptions import SchemaError

        try:
            check_schema(dict(schema))
        except (OverflowError, RecursionError):
            # The meta-schema's `regex` format check lets these out of re.compile: name the pattern.
            at, pattern, reason = _uncompilable_pattern(schema) or ("", "", "it cannot be checked")
            where = f" at {at}" if at else ""
            self.problem(
                f"'schema' is not a valid JSON Schema{where}: {quote(pattern)} is not a regex ({reason})",
                location,
            )
        except SchemaError as exc:
            at = ".".join(str(part) for part in exc.path)
            where = f" at {at}" if at else ""
            # The meta-schema's own wording for unions ("not valid under any of the given schemas") says
            # nothing to an author; name the value instead.
            reason = (
                exc.message
                if exc.validator not in ("anyOf", "oneOf")
                else f"{quote(exc.instance)} is not allowed"
            )
            self.problem(f"'schema' is not a valid JSON Schema{where}: {reason}", location)

    def _reserved_names(self, mapping: object, location: tuple[PathPart, ...]) -> None:
        if isinstance(mapping, Mapping) and _RESERVED in mapping:
            self.problem(
                f"the variable name {_RESERVED!r} is reserved: {{env.NAME}} reads environment variables",
                (*location, _RESERVED),
                key=True,
                hint="rename the variable",
            )

    def _variables(self) -> None:
        variables = self.root.get("vars")
        defined = {str(name) for name in variables} if isinstance(variables, Mapping) else set()
        defined |= self.row_names
        turns = self.root.get("steps")
        shared = shared_names(self.root)
        for index, turn in enumerate(turns if isinstance(turns, list) else []):
            if not isinstance(turn, Mapping):
                continue
            self.variables[index] = names = turn_variables(self.root, turn, shared)
            for name in sorted(names):
                if name.startswith(ENV_PREFIX) or name in defined or name.split(".")[0] in defined:
                    continue  # environment variables are read at run time
                hint = did_you_mean(name, defined) or (
                    "define it under vars, or capture it in an earlier turn with save or a regex named group"
                )
                self.problem(f"undefined variable {name!r} in turn {index + 1}", ("steps", index), hint=hint)
            defined |= turn_defines(turn) | self.included_defines.get(index, frozenset())


def compile_error(exc: BaseException) -> str:
    """Why a regex does not compile, in words (an re.error says where)."""
    if isinstance(exc, re.error):
        return exc.msg + (f" at position {exc.pos}" if exc.pos is not None else "")
    if isinstance(exc, RecursionError):
        return "its groups are nested too deep"
    return str(exc)


def _uncompilable_pattern(schema: object, at: str = "") -> tuple[str, str, str] | None:
    """The place, text and fault of the first regex of a JSON Schema that re.compile cannot compile."""
    if isinstance(schema, Mapping):
        for key, value in schema.items():
            here = f"{at}.{key}" if at else str(key)
            candidates = [value] if key == "pattern" and isinstance(value, str) else []
            if key == "patternProperties" and isinstance(value, Mapping):
                candidates = [str(name) for name in value]
            for pattern in candidates:
                try:
                    re.compile(pattern)
                except _COMPILE_ERRORS as exc:
                    return here, pattern, compile_error(exc)
            found = _uncompilable_pattern(value, here)
            if found:
                return found
    elif isinstance(schema, list):
        for index, item in enumerate(schema):
            found = _uncompilable_pattern(item, f"{at}.{index}" if at else str(index))
            if found:
                return found
    return None


__all__ = [
    "ACTIONS",
    "RuleChecker",
    "action_of",
    "compile_error",
    "merged",
    "regex_groups",
    "shared_names",
    "turn_defines",
    "turn_variables",
]
