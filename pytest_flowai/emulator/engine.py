"""The emulator's conversation engine: one inbound message and a thread's state in, the bot's reply out.

Pure (sans-I/O): no clock, no global RNG, no storage; ``app.py`` pumps messages through ``respond``.
Rules: DESIGN.md "Emulator: the exact rules"; a reply's ``contexts`` is the thread's context after it.
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.emulator.flows import Bot, Step, StepType
from pytest_flowai.emulator.text import MATCH_THRESHOLD, best_similarity


class InboundKind(StrEnum):
    """What a user can send: the four REST payload types (the socket carries text and events)."""

    TEXT = "text"
    EVENT = "event"
    LOCATION = "location"
    MEDIA = "media"


@dataclass(frozen=True, slots=True, kw_only=True)
class Inbound:
    """One message from a user; ``params`` are in wire form (``{"city": [{"value": "Amsterdam"}]}``)."""

    kind: InboundKind
    speech: str = ""
    event_name: str | None = None
    media_type: str | None = None
    url: str | None = None
    mime_type: str | None = None
    lat: str | None = None
    long: str | None = None
    title: str | None = None
    params: Mapping[str, Sequence[JSON]] = field(default_factory=dict)
    originator: JSONObject = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind is InboundKind.EVENT and not self.event_name:
            raise ValueError("an event message needs an event_name")
        if self.kind is InboundKind.MEDIA and not self.media_type:
            raise ValueError("a media message needs a media_type")


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadState:
    """What the engine remembers of a thread: the step that answered last, and the params (wire form)."""

    last_step_id: str | None = None
    params: Mapping[str, tuple[JSON, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """The thread's new state, the reply messages (wire form; empty when the bot stays silent), and
    whether a HANDOVER asked to pause the bot for this thread."""

    state: ThreadState
    messages: tuple[JSONObject, ...]
    pause_bot: bool = False


def bot_originator() -> JSONObject:
    """The originator of every bot reply, a new copy each call (cheaper than a deep copy of a constant)."""
    return {
        "userId": "flowai|system",
        "name": "system",
        "role": "bot",
        "profile": {"picture": "https://flow.ai/img/brains/flowai.svg"},
    }


BOT_ORIGINATOR: JSONObject = bot_originator()

# The speech Flow.ai's SDK sends with an event, and what replies to an event carry as replyTo.
EVENT_SPEECH = "event attachment"

_MEDIA_STEP = {
    "image": StepType.IMAGE,
    "file": StepType.FILE,
    "audio": StepType.AUDIO,
    "video": StepType.VIDEO,
}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.-]*)\}")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Choice:
    """The step that answers, and how it was chosen."""

    step: Step
    score: float | None = None  # set for INTENT matches
    keeps_context: bool = False  # a contextual UNKNOWN: the user may retry the question
    slot_value: str | None = None


def respond(bot: Bot, state: ThreadState, inbound: Inbound, *, now: datetime, rng: random.Random) -> Outcome:
    """The bot's answer to one inbound message in a thread (``rng`` picks text variants)."""
    children, top_level = _candidates(bot, state.last_step_id)
    choice = _SELECTORS[inbound.kind](inbound, children, top_level)
    if choice is None:
        return Outcome(state=state, messages=(), pause_bot=False)
    params = _merged_params(state.params, inbound, choice)
    context = state.last_step_id if choice.keeps_context else choice.step.step_id
    responses = [_response(action, params, rng) for action in choice.step.actions]
    message = _message(choice, inbound, responses, params, context, now)
    return Outcome(
        state=ThreadState(last_step_id=context, params=params),
        messages=(message,),
        pause_bot=any(_pauses_bot(action) for action in choice.step.actions),
    )


# --- choosing the step ---


def _candidates(bot: Bot, last_step_id: str | None) -> tuple[list[Step], list[Step]]:
    """Children of the last step (they come first) and top-level steps, both in file order."""
    steps = bot.steps()
    children = [s for s in steps if last_step_id is not None and last_step_id in s.contexts]
    return children, [s for s in steps if s.top_level]


def _first(steps: Iterable[Step], wanted: Callable[[Step], bool]) -> Step | None:
    return next((step for step in steps if wanted(step)), None)


def _best_intent(steps: Sequence[Step], speech: str) -> _Choice | None:
    """The best-scoring INTENT at or above the threshold; ``max`` keeps the first of equals (file order)."""
    scored = [
        (best_similarity(speech, step.examples), step) for step in steps if step.type is StepType.INTENT
    ]
    matching = [(score, step) for score, step in scored if score >= MATCH_THRESHOLD]
    if not matching:
        return None
    score, step = max(matching, key=lambda pair: pair[0])
    return _Choice(step=step, score=score)


def _catch_all(steps: Sequence[Step], speech: str) -> _Choice | None:
    """A SLOT that accepts this answer, or an ANYTHING, whichever comes first in the file."""
    value = speech.strip()
    for step in steps:
        if step.type is StepType.ANYTHING:
            return _Choice(step=step)
        if step.type is StepType.SLOT and step.slot is not None and (value or not step.slot.required):
            return _Choice(step=step, slot_value=value)
    return None


def _unknown(children: Sequence[Step], top_level: Sequence[Step]) -> _Choice | None:
    contextual = _first(children, lambda s: s.type is StepType.UNKNOWN)
    if contextual is not None:
        return _Choice(step=contextual, keeps_context=True)
    fallback = _first(top_level, lambda s: s.type is StepType.UNKNOWN)
    return _Choice(step=fallback) if fallback is not None else None


def _select_text(inbound: Inbound, children: list[Step], top_level: list[Step]) -> _Choice | None:
    for level in (children, top_level):
        choice = _best_intent(level, inbound.speech) or _catch_all(level, inbound.speech)
        if choice is not None:
            return choice
    return _unknown(children, top_level)


def _select_event(inbound: Inbound, children: list[Step], top_level: list[Step]) -> _Choice | None:
    # An event that no step takes gets no reply: no UNKNOWN here.
    step = _first(
        [*children, *top_level], lambda s: s.type is StepType.EVENT and s.title == inbound.event_name
    )
    return _Choice(step=step) if step is not None else None


def _select_typed(wanted: StepType | None, children: list[Step], top_level: list[Step]) -> _Choice | None:
    step = _first([*children, *top_level], lambda s: s.type is wanted) if wanted else None
    return _Choice(step=step) if step is not None else _unknown(children, top_level)


def _select_location(inbound: Inbound, children: list[Step], top_level: list[Step]) -> _Choice | None:
    return _select_typed(StepType.LOCATION, children, top_level)


def _select_media(inbound: Inbound, children: list[Step], top_level: list[Step]) -> _Choice | None:
    return _select_typed(_MEDIA_STEP.get((inbound.media_type or "").lower()), children, top_level)


_SELECTORS: dict[InboundKind, Callable[[Inbound, list[Step], list[Step]], _Choice | None]] = {
    InboundKind.TEXT: _select_text,
    InboundKind.EVENT: _select_event,
    InboundKind.LOCATION: _select_location,
    InboundKind.MEDIA: _select_media,
}


# --- params ---


def _merged_params(
    current: Mapping[str, tuple[JSON, ...]], inbound: Inbound, choice: _Choice
) -> dict[str, tuple[JSON, ...]]:
    """The thread's params after this message: incoming params win, then the event and the slot answer."""
    params = {name: tuple(values) for name, values in current.items()}
    params.update({name: tuple(copy.deepcopy(list(values))) for name, values in inbound.params.items()})
    if inbound.kind is InboundKind.EVENT:
        # As Flow.ai does (see the INTRO example of the socket reply format).
        params["event"] = ({"type": "custom", "value": {"name": inbound.event_name}},)
    if choice.slot_value is not None and choice.step.slot is not None:
        params[choice.step.slot.label] = ({"value": choice.slot_value},)
    return params


def _param_text(values: tuple[JSON, ...]) -> str | None:
    """The text a ``{name}`` placeholder becomes: the first value's ``value``, when it is a scalar."""
    first = values[0] if values else None
    value = first.get("value") if isinstance(first, dict) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _fill(value: JSON, params: Mapping[str, tuple[JSON, ...]]) -> JSON:
    """A copy of a payload with ``{name}`` placeholders filled in every string; unknown names stay."""
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            text = _param_text(params.get(match.group(1), ()))
            return match.group(0) if text is None else text

        return _PLACEHOLDER.sub(replace, value)
    if isinstance(value, list):
        return [_fill(item, params) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, params) for key, item in value.items()}
    return value


# --- building the reply ---


def _action_type(action: JSONObject) -> str:
    kind = action.get("type")
    return kind.upper() if isinstance(kind, str) else ""


def _action_payload(action: JSONObject) -> JSONObject:
    payload = action.get("payload")
    return payload if isinstance(payload, dict) else {}


def _delay(action: JSONObject) -> JSON:
    payload_delay = _action_payload(action).get("delay")
    delay = payload_delay if payload_delay is not None else action.get("delay")
    return delay if isinstance(delay, int | float) and not isinstance(delay, bool) else 0


def _quick_reply(raw: JSONObject) -> JSONObject:
    reply = dict(raw)
    reply.setdefault("type", "text")
    reply.setdefault("value", reply.get("label"))
    return reply


def _text_payload(payload: JSONObject, rng: random.Random) -> JSONObject:
    texts = [text for text in _list(payload.get("texts")) if isinstance(text, str)]
    result: JSONObject = {"text": rng.choice(texts) if texts else ""}
    raw_replies = _list(payload.get("quickReplies"))
    quick_replies: list[JSON] = [_quick_reply(q) for q in raw_replies if isinstance(q, dict)]
    if quick_replies:
        result["quickReplies"] = quick_replies
    return result


def _list(value: JSON) -> list[JSON]:
    return value if isinstance(value, list) else []


def _response(action: JSONObject, params: Mapping[str, tuple[JSON, ...]], rng: random.Random) -> JSONObject:
    """One response template for one action: TEXT picks a variant; other actions keep their payload."""
    kind = _action_type(action)
    payload = {key: value for key, value in _action_payload(action).items() if key != "delay"}
    if kind == "TEXT":
        payload = _text_payload(payload, rng)
    elif kind == "HANDOVER":
        # The handover template requires these three flags; an action may leave them out.
        for flag in ("resetContext", "indefinitePause", "setBotToPause"):
            payload.setdefault(flag, False)
    return {"type": kind.lower(), "payload": _fill(payload, params), "delay": _delay(action)}


def _pauses_bot(action: JSONObject) -> bool:
    return _action_type(action) == "HANDOVER" and _action_payload(action).get("setBotToPause") is True


def timestamp(now: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z``; a naive time is taken as UTC."""
    utc = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def _message(
    choice: _Choice,
    inbound: Inbound,
    responses: list[JSONObject],
    params: Mapping[str, tuple[JSON, ...]],
    context: str | None,
    now: datetime,
) -> JSONObject:
    step = choice.step
    texts = [
        r["payload"].get("text") for r in responses if r["type"] == "text" and isinstance(r["payload"], dict)
    ]
    wire_responses: list[JSON] = list(responses)
    intents: list[JSON] = []
    if choice.score is not None:
        name = step.intent_title or step.title
        intents.append({"name": name, "title": name, "confidence": round(choice.score, 4)})
    return {
        "fallback": " ".join(text for text in texts if isinstance(text, str)),
        "silent": False,
        "replyTo": EVENT_SPEECH if inbound.kind is InboundKind.EVENT else inbound.speech,
        "originator": bot_originator(),
        "actions": [],
        "responses": wire_responses,
        "flow": {"flowId": step.flow_id, "title": step.flow_title},
        "step": {"stepId": step.step_id, "title": step.title, "type": str(step.type)},
        "params": {name: copy.deepcopy(list(values)) for name, values in params.items()},
        "contexts": [context] if context else [],
        "intents": intents,
        "createdAt": timestamp(now),
    }


__all__ = [
    "BOT_ORIGINATOR",
    "EVENT_SPEECH",
    "Inbound",
    "InboundKind",
    "Outcome",
    "ThreadState",
    "bot_originator",
    "respond",
    "timestamp",
]
