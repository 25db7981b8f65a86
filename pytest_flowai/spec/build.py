"""Turn one checked spec document (grammar and rules passed) into a frozen ``Conversation``.

No validation happens here: by the time a document reaches this module its shape is guaranteed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from pytest_flowai._json import JSON
from pytest_flowai.errors import Span
from pytest_flowai.spec.model import (
    Action,
    ActionKind,
    Conversation,
    Event,
    ExpectEntry,
    ExtraMode,
    Handover,
    Location,
    Mark,
    Media,
    Pause,
    Resume,
    Say,
    TransportKind,
    Turn,
    Wait,
)
from pytest_flowai.spec.rules import action_of, shared_names, turn_defines, turn_variables
from pytest_flowai.spec.yamlload import MarkedDict, Position, end_line


@dataclass(frozen=True, slots=True, kw_only=True)
class Included:
    """What an ``include`` turn splices in: the other conversation's turns (spans in its file) and vars."""

    turns: tuple[Turn, ...]
    vars: Mapping[str, JSON]


def default_name(ordinal: int) -> str:
    """The name of a conversation that has no ``name``: ``conversation N``, N counting from 1 in its file."""
    return f"conversation {ordinal}"


class ConversationBuilder:
    """Builds the model of one document; ``ordinal`` is its 1-based place among the file's conversations."""

    def __init__(
        self,
        root: MarkedDict,
        *,
        path: str,
        document: int,
        ordinal: int,
        variables: Mapping[int, frozenset[str]] | None = None,
    ) -> None:
        self.root = root
        self.path = path
        self.document = document
        self.ordinal = ordinal
        # Found and copied once, not once per turn: a spec's metadata may be large and its turns many.
        self._shared_names = shared_names(root)
        self._inherited = {key: _object(root.get(key)) for key in ("originator", "metadata")}
        # Each turn's placeholder names by its index in `steps`, when the rule check already found them.
        self._variables = variables or {}

    def _span(self, position: Position) -> Span:
        return Span(self.path, *position)

    def build(
        self,
        *,
        variant_id: str = "",
        row: Mapping[str, JSON] | None = None,
        utterances: Mapping[int, str] | None = None,
        included: Mapping[int, Included] | None = None,
    ) -> Conversation:
        """The conversation; a variant's id goes in brackets after the name, its row over the vars."""
        root = self.root
        steps = root.get("steps")
        included = included or {}
        inherited_vars: dict[str, JSON] = {}
        turns: list[Turn] = []
        for index, turn in enumerate(steps if isinstance(steps, list) else []):
            if not isinstance(turn, MarkedDict):
                continue
            if index in included:
                spliced = included[index]
                # Numbered in this conversation; the spans stay in the included file.
                turns.extend(dataclasses.replace(each, index=len(turns) + 1) for each in spliced.turns)
                inherited_vars = {**spliced.vars, **inherited_vars}
                continue
            built = self._turn(len(turns), turn, self._variables.get(index))
            if utterances and index in utterances:
                built = dataclasses.replace(built, action=Say(text=utterances[index]))
            turns.append(built)
        name = root.get("name")
        title = name if isinstance(name, str) else default_name(self.ordinal)
        marks = root.get("marks")
        transport = root.get("transport")
        return Conversation(
            name=f"{title}[{variant_id}]" if variant_id else title,
            marks=tuple(_mark(mark) for mark in marks) if isinstance(marks, list) else (),
            transport=TransportKind(transport) if isinstance(transport, str) else None,
            vars={**inherited_vars, **_object(root.get("vars")), **(row or {})},
            timeout=_seconds(root.get("timeout")),
            settle=_seconds(root.get("settle")),
            silence=_seconds(root.get("silence")),
            patience=_seconds(root.get("patience")),
            extra=_extra(root.get("extra")),
            unordered=_flag(root.get("unordered")),
            originator=_object(root.get("originator")),
            metadata=_object(root.get("metadata")),
            turns=tuple(turns),
            span=self._span(root.start),
            path=self.path,
            document=self.document,
        )

    def _turn(self, index: int, turn: MarkedDict, variables: frozenset[str] | None = None) -> Turn:
        kind = ActionKind(action_of(turn))
        expect = turn.get("expect")
        entries = None
        if isinstance(expect, list):
            entries = tuple(self._entry(entry) for entry in expect if isinstance(entry, MarkedDict))
        forbid = turn.get("forbid")
        unordered = _flag(turn.get("unordered"))
        return Turn(
            index=index + 1,
            action=_action(kind, turn[kind.value]),
            params=_object(turn.get("params")),
            originator=self._merged(turn, "originator"),
            metadata=self._merged(turn, "metadata"),
            expect=entries,
            expect_none=expect == "none",
            timeout=_seconds(turn.get("timeout")),
            settle=_seconds(turn.get("settle")),
            silence=_seconds(turn.get("silence")),
            patience=_seconds(turn.get("patience")),
            extra=_extra(turn.get("extra")),
            unordered=unordered if unordered is not None else _flag(self.root.get("unordered")),
            span=self._span(turn.start),
            end_line=end_line(turn) or turn.start[0],
            variables=turn_variables(self.root, turn, self._shared_names) if variables is None else variables,
            defines=turn_defines(turn),
            forbid=tuple(
                self._entry(entry)
                for entry in (forbid if isinstance(forbid, list) else [])
                if isinstance(entry, MarkedDict)
            ),
        )

    def _merged(self, turn: MarkedDict, key: str) -> dict[str, JSON]:
        """The spec's mapping under ``key`` with the turn's over it, key by key (the turn wins)."""
        # Turns share the spec's copied values: the model is never changed once built.
        return {**self._inherited[key], **_object(turn.get(key))}

    def _entry(self, entry: MarkedDict) -> ExpectEntry:
        return ExpectEntry(
            data=_object(entry),
            span=self._span(entry.start),
            key_spans={key: self._span(position) for key, position in entry.key_positions.items()},
        )


def _mark(value: object) -> Mark:
    """`smoke`, `{flaky: {reruns: 2}}` (keyword arguments) or `{timeout: [5]}` (positional ones)."""
    if not isinstance(value, dict):
        return Mark(name=str(value))
    ((name, arguments),) = value.items()
    data = _json(arguments)
    if isinstance(data, list):
        return Mark(name=str(name), args=tuple(data))
    return Mark(name=str(name), kwargs=data if isinstance(data, dict) else {})


def plain_json(value: object) -> JSON:
    """A YAML value as plain JSON (dicts and lists, no loader subclasses)."""
    return _json(value)


def _object(value: object) -> dict[str, JSON]:
    data = _json(value)
    return data if isinstance(data, dict) else {}


def _json(value: object) -> JSON:
    """A deep copy in plain dicts and lists (no loader subclasses), narrowed to JSON for the type checker."""
    # The grammar admits only JSON values: the str() fallback is for the type checker, not for specs.
    if isinstance(value, dict):
        return {str(key): _json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _number_text(value: object) -> str:
    # The wire carries coordinates as strings (REST API: `lat`, `long` are strings); 52.37 becomes "52.37".
    return str(value)


def _action(kind: ActionKind, raw: object) -> Action:
    fields = raw if isinstance(raw, Mapping) else {}
    match kind:
        case ActionKind.SAY:
            return Say(text=str(raw))
        case ActionKind.EVENT:
            return Event(name=str(raw))
        case ActionKind.LOCATION:
            return Location(
                lat=_number_text(fields.get("lat")),
                long=_number_text(fields.get("long")),
                title=_optional_text(fields.get("title")),
            )
        case ActionKind.MEDIA:
            return Media(
                media_type=str(fields.get("mediaType")),
                url=str(fields.get("url")),
                mime_type=_optional_text(fields.get("mimeType")),
                title=_optional_text(fields.get("title")),
            )
        case ActionKind.PAUSE:
            return Pause()
        case ActionKind.RESUME:
            return Resume()
        case ActionKind.HANDOVER:
            return Handover(seconds_to_pause=_seconds(fields.get("secondsToPause")))
        case ActionKind.WAIT:
            return Wait(seconds=_seconds(raw) or 0.0)


def _optional_text(value: object) -> str | None:
    return None if value is None else str(value)


def _seconds(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _extra(value: object) -> ExtraMode | None:
    return ExtraMode(value) if isinstance(value, str) else None


__all__ = ["ConversationBuilder", "Included", "default_name", "plain_json"]
