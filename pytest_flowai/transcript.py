"""The transcript of one conversation: frozen events (sent, received, noted, turn ended) in arrival order.

A leaf: imports only `_json` of ours, so the report can render it without loading the runner.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from pytest_flowai._json import JSONObject


@dataclass(frozen=True, slots=True, kw_only=True)
class Sent:
    """What the user side sent in a turn, as a one-line summary (`say 'hello'`)."""

    turn: int
    text: str
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Received:
    """One reply payload (`{threadId, messages, originator}`) as it arrived."""

    turn: int
    payload: JSONObject
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Noted:
    """Something worth showing beside the messages: a reconnect, extra replies, a captured variable."""

    turn: int
    text: str
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class TurnEnded:
    """A turn finished; `ok` tells whether its expectations held."""

    turn: int
    ok: bool
    at: float


Event = Sent | Received | Noted | TurnEnded


@dataclass(slots=True)
class Transcript:
    """Everything that happened in one conversation, in order; filled in while the conversation runs."""

    name: str
    thread_id: str
    transport: str
    started: float = field(default_factory=time.monotonic)
    events: list[Event] = field(default_factory=list)
    failed_turn: int | None = None

    def add(self, event: Event) -> None:
        self.events.append(event)


__all__ = ["Event", "Noted", "Received", "Sent", "Transcript", "TurnEnded"]
