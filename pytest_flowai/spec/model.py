"""The typed, frozen model of a loaded spec file: what the runner and the plugin consume.

Values are built by ``spec.build`` from YAML that passed the grammar and the rules; nothing here parses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from pytest_flowai._json import JSON
from pytest_flowai.errors import Span, SpecError


class TransportKind(StrEnum):
    """How a conversation reaches the bot."""

    SOCKET = "socket"
    REST = "rest"
    WEBHOOK = "webhook"
    MESSAGING = "messaging"


class ExtraMode(StrEnum):
    """What to do with replies that no expectation entry matched."""

    FAIL = "fail"
    WARN = "warn"
    IGNORE = "ignore"


class ActionKind(StrEnum):
    """What a turn does: send something to the bot, or a control action."""

    SAY = "say"
    EVENT = "event"
    LOCATION = "location"
    MEDIA = "media"
    PAUSE = "pause"
    RESUME = "resume"
    HANDOVER = "handover"
    WAIT = "wait"

    @property
    def is_control(self) -> bool:
        """Control actions go through the REST control routes (or the clock), not as a user message."""
        return self in _CONTROL


_CONTROL = frozenset({ActionKind.PAUSE, ActionKind.RESUME, ActionKind.HANDOVER, ActionKind.WAIT})


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectEntry:
    """One expectation entry as written (validated, not yet interpolated), matched against one response."""

    data: Mapping[str, JSON]
    span: Span
    key_spans: Mapping[str, Span]


@dataclass(frozen=True, slots=True, kw_only=True)
class Turn:
    """One step of a conversation: one action, its options and what the bot should answer.

    ``value`` by action: say/event: str; location: {"lat": str, "long": str, "title"?: str}; media:
    {"mediaType", "url", "mimeType"?, "title"?}; pause/resume: True; handover: {} or {"secondsToPause": n};
    wait: float seconds. ``originator`` and ``metadata`` are already merged over the spec's.
    ``timeout``/``settle``/``silence``/``patience``/``extra`` are the turn's own (the conversation holds the
    defaults); ``unordered`` is the turn's, else the spec's. ``variables`` holds every placeholder name as
    written (``order``, ``user.name``, ``env.HOME``). ``forbid`` holds entries no reply may match: the first
    bubble that matches one fails the turn at once.
    """

    index: int
    action: ActionKind
    value: JSON
    params: Mapping[str, JSON]
    originator: Mapping[str, JSON]
    metadata: Mapping[str, JSON]
    expect: tuple[ExpectEntry, ...] | None
    expect_none: bool
    timeout: float | None
    settle: float | None
    silence: float | None
    patience: float | None
    extra: ExtraMode | None
    unordered: bool | None
    span: Span
    end_line: int
    variables: frozenset[str]
    defines: frozenset[str]
    forbid: tuple[ExpectEntry, ...] = ()

    def __post_init__(self) -> None:
        # `expect: none` and a list of entries are one YAML key, so the loader cannot produce both.
        if self.expect_none and self.expect:
            raise SpecError("a turn cannot both expect silence and expect replies", span=self.span)


@dataclass(frozen=True, slots=True, kw_only=True)
class Mark:
    """A pytest mark a spec puts on its conversation: a name, with positional or keyword arguments."""

    name: str
    args: tuple[JSON, ...] = ()
    kwargs: Mapping[str, JSON] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Conversation:
    """One spec document: a named conversation with its defaults and turns."""

    name: str
    marks: tuple[Mark, ...]
    transport: TransportKind | None
    vars: Mapping[str, JSON]
    timeout: float | None
    settle: float | None
    silence: float | None
    patience: float | None
    extra: ExtraMode | None
    unordered: bool | None
    originator: Mapping[str, JSON]
    metadata: Mapping[str, JSON]
    turns: tuple[Turn, ...]
    span: Span
    path: str
    document: int

    @classmethod
    def adhoc(cls, *, name: str, transport: str, path: str) -> Conversation:
        """A conversation with no spec behind it, whose turns come one by one (the fixture, flowai-record)."""
        return cls(
            name=name,
            marks=(),
            transport=TransportKind(transport),
            vars={},
            timeout=None,
            settle=None,
            silence=None,
            patience=None,
            extra=None,
            unordered=None,
            originator={},
            metadata={},
            turns=(),
            span=Span(path, 1),
            path=path,
            document=0,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SpecFile:
    """Every conversation of one spec file, in file order."""

    path: str
    conversations: tuple[Conversation, ...]


__all__ = [
    "ActionKind",
    "Conversation",
    "ExpectEntry",
    "ExtraMode",
    "Mark",
    "SpecFile",
    "TransportKind",
    "Turn",
]
