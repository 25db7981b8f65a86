"""A turn's plan: its timings, and what no variable can change about it (its message, its compiled entries),
worked out while the previous turn's message is with the server. Pure: imports spec, expect and
turn_message; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pytest_flowai._json import JSON
from pytest_flowai.expect import EntryTemplate, Expectation, template_of
from pytest_flowai.spec.model import Conversation, ExpectEntry, ExtraMode, Turn
from pytest_flowai.transports.base import OutgoingKind
from pytest_flowai.turn_message import is_fixed, message_of

# A message action's (kind, value), or None for a control action: what `message_of` returns.
Message = tuple[OutgoingKind, JSON] | None


class Defaults(Protocol):
    """The plugin's timings, where neither a turn nor its spec sets one (the runner's settings)."""

    @property
    def timeout(self) -> float: ...

    @property
    def settle(self) -> float: ...

    @property
    def silence(self) -> float: ...

    @property
    def patience(self) -> float: ...


# Not frozen: one is made per turn and never changed, and a frozen init costs twice as much.
@dataclass(slots=True)
class Timing:
    """A turn's timings and matching modes: the turn's own, else its spec's, else the plugin's."""

    timeout: float
    settle: float
    silence: float
    patience: float
    extra: ExtraMode
    unordered: bool


def _pick(turn_value: float | None, spec_value: float | None, default: float) -> float:
    if turn_value is not None:
        return turn_value
    return spec_value if spec_value is not None else default


def timing_of(turn: Turn, conversation: Conversation, defaults: Defaults) -> Timing:
    """The timings that hold for ``turn`` of ``conversation``."""
    return Timing(
        timeout=_pick(turn.timeout, conversation.timeout, defaults.timeout),
        settle=_pick(turn.settle, conversation.settle, defaults.settle),
        silence=_pick(turn.silence, conversation.silence, defaults.silence),
        patience=_pick(turn.patience, conversation.patience, defaults.patience),
        extra=turn.extra or conversation.extra or ExtraMode.FAIL,
        unordered=bool(turn.unordered),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """What a turn needs that no variable can change, for one run of it under the session's settings. Made
    afresh for every run: it is made off the critical path, and keeping it would hold every turn's compiled
    entries for the whole session."""

    conversation: Conversation  # the turn's: the timing falls back to its values
    timing: Timing
    # The message (or None for a control action) when no placeholder or escape is in it (`fixed`).
    message: Message
    fixed: bool
    # The compiled entries when none has a placeholder, else None: the templates are filled and compiled
    # once the turn runs, with the variables of then.
    entries: tuple[Expectation, ...] | None
    forbid: tuple[Expectation, ...] | None
    expect_templates: tuple[EntryTemplate, ...]
    forbid_templates: tuple[EntryTemplate, ...]


def plan_of(turn: Turn, conversation: Conversation, defaults: Defaults) -> Plan:
    """The plan of ``turn`` of ``conversation``; never raises (what could fail is left to each run)."""
    fixed = is_fixed(turn.action)
    expect_templates = _templates(turn.expect or ())
    forbid_templates = _templates(turn.forbid)
    return Plan(
        conversation=conversation,
        timing=timing_of(turn, conversation, defaults),
        # Nothing to fill, so no variable is looked up and nothing can be undefined.
        message=message_of(turn.action, {}, {}) if fixed else None,
        fixed=fixed,
        entries=_fixed_entries(expect_templates),
        forbid=_fixed_entries(forbid_templates),
        expect_templates=expect_templates,
        forbid_templates=forbid_templates,
    )


def _templates(entries: tuple[ExpectEntry, ...]) -> tuple[EntryTemplate, ...]:
    return tuple(template_of(entry) for entry in entries)


def _fixed_entries(templates: tuple[EntryTemplate, ...]) -> tuple[Expectation, ...] | None:
    # An entry that does not compile has no fixed form either: each run compiles it and reports the error.
    fixed = [template.fixed for template in templates if template.fixed is not None]
    return tuple(fixed) if len(fixed) == len(templates) else None


__all__ = ["Defaults", "Message", "Plan", "Timing", "plan_of", "timing_of"]
