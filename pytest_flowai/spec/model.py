"""The typed, frozen model of a loaded spec file: what the runner and the plugin consume.

Values are built by ``spec.build`` from YAML that passed the grammar and the rules; nothing here parses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

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

# The actions, one class each. Strings may hold `{var}` placeholders: the runner fills them at run time.


@dataclass(frozen=True, slots=True, kw_only=True)
class Say:
    """`say: TEXT`: send a text message."""

    text: str
    kind: ClassVar[ActionKind] = ActionKind.SAY


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """`event: NAME`: trigger an event (its params are the turn's)."""

    name: str
    kind: ClassVar[ActionKind] = ActionKind.EVENT


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    """`location: {lat, long, title?}`: share a location; the wire carries the coordinates as text."""

    lat: str
    long: str
    title: str | None = None
    kind: ClassVar[ActionKind] = ActionKind.LOCATION


@dataclass(frozen=True, slots=True, kw_only=True)
class Media:
    """`media: {mediaType, url, mimeType?, title?}`: send a file by URL."""

    media_type: str
    url: str
    mime_type: str | None = None
    title: str | None = None
    kind: ClassVar[ActionKind] = ActionKind.MEDIA


@dataclass(frozen=True, slots=True, kw_only=True)
class Pause:
    """`pause: true`: pause the bot for the thread."""

    kind: ClassVar[ActionKind] = ActionKind.PAUSE


@dataclass(frozen=True, slots=True, kw_only=True)
class Resume:
    """`resume: true`: resume the bot for the thread."""

    kind: ClassVar[ActionKind] = ActionKind.RESUME


@dataclass(frozen=True, slots=True, kw_only=True)
class Handover:
    """`handover: true` or `{secondsToPause: N}`: hand the thread to a human, pausing the bot."""

    seconds_to_pause: float | None = None
    kind: ClassVar[ActionKind] = ActionKind.HANDOVER


@dataclass(frozen=True, slots=True, kw_only=True)
class Wait:
    """`wait: SECONDS`: let time pass, still recording what arrives."""

    seconds: float
    kind: ClassVar[ActionKind] = ActionKind.WAIT


Action = Say | Event | Location | Media | Pause | Resume | Handover | Wait


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectEntry:
    """One expectation entry as written (validated, not yet interpolated), matched against one response."""

    data: Mapping[str, JSON]
    span: Span
    key_spans: Mapping[str, Span]


@dataclass(frozen=True, slots=True, kw_only=True)
class Turn:
    """One step of a conversation: one action, its options and what the bot should answer.

    ``originator`` and ``metadata`` are already merged over the spec's.
    ``timeout``/``settle``/``silence``/``patience``/``extra`` are the turn's own (the conversation holds the
    defaults); ``unordered`` is the turn's, else the spec's. ``variables`` holds every placeholder name as
    written (``order``, ``user.name``, ``env.HOME``). ``forbid`` holds entries no reply may match: the first
    bubble that matches one fails the turn at once.
    """

    index: int
    action: Action
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

    @classmethod
    def adhoc(
        cls,
        *,
        index: int,
        action: Action,
        span: Span,
        params: Mapping[str, JSON] | None = None,
        expect: tuple[ExpectEntry, ...] | None = None,
        expect_none: bool = False,
        forbid: tuple[ExpectEntry, ...] = (),
        timeout: float | None = None,
        settle: float | None = None,
        silence: float | None = None,
        patience: float | None = None,
        extra: ExtraMode | None = None,
        unordered: bool | None = None,
    ) -> Turn:
        """A turn with no spec file behind it (the fixture, flowai-record): no originator, metadata or
        placeholders of its own, one line long."""
        return cls(
            index=index,
            action=action,
            params=dict(params or {}),
            originator={},
            metadata={},
            expect=expect,
            expect_none=expect_none,
            timeout=timeout,
            settle=settle,
            silence=silence,
            patience=patience,
            extra=extra,
            unordered=unordered,
            span=span,
            end_line=span.line,
            variables=frozenset(),
            defines=frozenset(),
            forbid=forbid,
        )


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
    "Action",
    "ActionKind",
    "Conversation",
    "Event",
    "ExpectEntry",
    "ExtraMode",
    "Handover",
    "Location",
    "Mark",
    "Media",
    "Pause",
    "Resume",
    "Say",
    "SpecFile",
    "TransportKind",
    "Turn",
    "Wait",
]
