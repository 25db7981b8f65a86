"""A bot's reply on the wire: the ``{threadId, messages, originator}`` payload and its cut at delays.

Webhooks get the cut reply over time, one call per delayed response."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.emulator.engine import bot_originator
from pytest_flowai.emulator.wire import as_number, as_obj


def reply_payload(thread_id: str, messages: Sequence[JSONObject]) -> JSONObject:
    """``{threadId, messages, originator}``: the message.received payload, sync result and webhook payload."""
    return {"threadId": thread_id, "messages": list(messages), "originator": bot_originator()}


def responses_of(message: JSONObject) -> list[JSON]:
    """A reply message's responses (none when the field is missing or not a list)."""
    responses = message.get("responses")
    return responses if isinstance(responses, list) else []


def _delay_ms(response: JSON) -> float:
    delay = as_number(as_obj(response).get("delay"))
    return float(delay) if delay is not None and delay > 0 and math.isfinite(delay) else 0.0


def split_by_delays(messages: Sequence[JSONObject]) -> list[tuple[float, list[JSONObject]]]:
    """The reply cut where a response has ``delay`` > 0: ``(milliseconds to wait, messages)`` chunks.

    A cut starts a new chunk holding a copy of the current message with its remaining responses, so a client
    sees the delayed bubble arrive later, in a frame of its own.
    """
    chunks: list[tuple[float, list[JSONObject]]] = []
    wait = 0.0
    current: list[JSONObject] = []
    for message in messages:
        responses = responses_of(message)
        if not responses:
            current.append(message)
            continue
        part: list[JSON] = []
        for response in responses:
            delay = _delay_ms(response)
            if delay > 0 and (current or part):
                if part:
                    current.append({**message, "responses": part})
                    part = []
                chunks.append((wait, current))
                current, wait = [], delay
            elif delay > 0:
                wait += delay
            part.append(response)
        current.append({**message, "responses": part})
    if current:
        chunks.append((wait, current))
    return chunks


def has_handover(messages: Iterable[JSONObject]) -> bool:
    """Some response of the reply hands the thread over to a human (``type: handover``)."""
    return any(
        as_obj(response).get("type") == "handover"
        for message in messages
        for response in responses_of(message)
    )


__all__ = ["has_handover", "reply_payload", "responses_of", "split_by_delays"]
