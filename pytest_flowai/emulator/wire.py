"""Parsing what clients send into typed inbound messages (``Sent``), or ``BadInput`` naming the field.

Hardened JSON (no NaN, huge numbers, deep nesting, lone surrogates), protocol-schema checks, and the REST,
Messaging API and socket send bodies."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from pytest_flowai import schemas
from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.emulator.engine import EVENT_SPEECH, Inbound, InboundKind

MAX_THREAD_ID = 512
MAX_JSON_DEPTH = 64
_MESSAGE_LIMIT = 300  # error messages are cut here so a huge bad value never comes back whole
DEFAULT_ORIGINATOR: JSONObject = {"name": "anonymous", "role": "external", "profile": {}}


class ApiError(Exception):
    """A client mistake: answered as ``{"status": "error", "message": ...}`` with a 4xx status."""

    def __init__(self, status: int, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


class BadInput(ApiError):
    """A body, frame or parameter that breaks the protocol; the message names the field."""

    def __init__(self, message: str) -> None:
        cut = message if len(message) <= _MESSAGE_LIMIT else f"{message[:_MESSAGE_LIMIT]}…"
        super().__init__(400, cut)


# --- parsing input --------------------------------------------------------------------------------


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def _structure_problem(value: object, limit: int) -> str | None:
    """Why parsed JSON cannot be kept (nesting deeper than ``limit``, a lone UTF-16 surrogate such as
    ``"\\ud800"``, which no UTF-8 store or answer can hold), or None. Walked without recursion."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return f"nests deeper than {limit} levels"
        if isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str) and not item.isascii():
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "holds a lone UTF-16 surrogate escape (\\ud800-\\udfff), which is not text"
    return None


def _plainly_fine(text: str | bytes, limit: int) -> bool:
    """True when a text's parsed value cannot break ``_structure_problem``'s rules, told without the walk:
    fewer opening brackets than ``limit`` (so nothing, not even a scalar inside the deepest container, lies
    deeper than ``limit``), no ``\\u`` escape, and no lone surrogate of its own. (Bytes are decoded by
    ``json`` with surrogates allowed, so they always get the walk.)"""
    if not isinstance(text, str) or text.count("{") + text.count("[") >= limit or "\\u" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is too large for a JSON number")
    return value


def parse_json(text: str | bytes, what: str) -> JSON:
    """Parsed JSON, or ``BadInput`` saying why not (NaN, huge numbers, bad syntax, deep nesting, lone
    surrogates)."""
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise BadInput(
            f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise BadInput(f"{what} is not valid JSON: {reason}") from None
    problem = None if _plainly_fine(text, MAX_JSON_DEPTH) else _structure_problem(value, MAX_JSON_DEPTH)
    if problem is not None:
        raise BadInput(f"{what} {problem}")
    return cast("JSON", value)


def check_schema(value: JSON, name: str, what: str) -> None:
    """``BadInput`` naming every field of ``value`` that breaks the protocol schema ``name``."""
    found = schemas.violations(value, name)
    if found:
        raise BadInput(f"invalid {what}: " + "; ".join(str(v) for v in found))


def as_str(value: JSON) -> str | None:
    return value if isinstance(value, str) else None


def as_obj(value: JSON) -> JSONObject:
    return value if isinstance(value, dict) else {}


def as_number(value: JSON) -> int | float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _wire_params(*sources: JSON) -> dict[str, list[JSON]]:
    """Params in wire form merged left to right (the schema has checked their shape)."""
    merged: dict[str, list[JSON]] = {}
    for source in sources:
        for name, values in as_obj(source).items():
            if isinstance(values, list):
                merged[name] = copy.deepcopy(values)
    return merged


def check_thread_id(thread_id: str) -> str:
    if not thread_id:
        raise BadInput("threadId: missing (put it in the path, e.g. rest/v1/messages/<threadId>)")
    if len(thread_id) > MAX_THREAD_ID:
        raise BadInput(f"threadId: longer than {MAX_THREAD_ID} characters")
    return thread_id


@dataclass(frozen=True, slots=True, kw_only=True)
class Sent:
    """One user message as received on any channel, before the bot sees it."""

    thread_id: str
    inbound: Inbound
    metadata: JSONObject
    trace_id: int | float | None = None

    @property
    def originator(self) -> JSONObject:
        """Who sent it (a default anonymous user when the body named nobody)."""
        return self.inbound.originator

    @property
    def from_moderator(self) -> bool:
        """A human agent wrote this; Flow.ai pauses the bot for the thread."""
        return self.originator.get("role") == "moderator"

    def delivered(self) -> JSONObject:
        """The ``message.delivered`` echo: always with a metadata object (the SDK breaks without one)."""
        payload: JSONObject = {"threadId": self.thread_id}
        if self.trace_id is not None:
            payload["traceId"] = self.trace_id
        payload["speech"] = self.inbound.speech
        payload["metadata"] = copy.deepcopy(self.metadata)
        payload["originator"] = copy.deepcopy(self.originator)
        return payload

    def as_message(self, created: str) -> JSONObject:
        """The user's message as a history Message (one response showing what was sent)."""
        inbound = self.inbound
        response: JSONObject
        if inbound.kind is InboundKind.EVENT:
            response = {"type": "event", "payload": {"name": inbound.event_name or ""}}
        elif inbound.kind is InboundKind.LOCATION:
            response = {
                "type": "location",
                "payload": {
                    "title": inbound.title or "",
                    "lat": inbound.lat or "",
                    "long": inbound.long or "",
                },
            }
        elif inbound.kind is InboundKind.MEDIA:
            media: JSONObject = {"title": inbound.title or "", "url": inbound.url or ""}
            if inbound.mime_type:
                media["mimeType"] = inbound.mime_type
            response = {"type": inbound.media_type or "file", "payload": media}
        else:
            response = {"type": "text", "payload": {"text": inbound.speech}}
        params = dict(inbound.params)
        return {
            "fallback": inbound.speech,
            "replyTo": None,
            "originator": copy.deepcopy(self.originator),
            "contexts": [],
            "params": cast("JSON", copy.deepcopy(params)),
            "intents": [],
            "createdAt": created,
            "responses": [response],
        }


def _sender(value: JSON) -> JSONObject:
    originator = as_obj(value)
    return copy.deepcopy(originator) if originator else copy.deepcopy(DEFAULT_ORIGINATOR)


def parse_rest_send(body: JSON, thread_id: str) -> Sent:
    """A ``POST rest/v1/messages/:threadId`` body ``{"payload": {...}}``, or ``BadInput`` naming the field."""
    check_schema(body, "rest.request", "message body")
    payload = as_obj(as_obj(body).get("payload"))
    kind = InboundKind(cast(str, payload["type"]))
    if kind is InboundKind.MEDIA and not as_str(payload.get("url")):
        raise BadInput("invalid message body: payload.url: required for a media message")
    if kind is InboundKind.LOCATION:
        missing = [name for name in ("lat", "long") if name not in payload]
        if missing:
            raise BadInput(f"invalid message body: payload.{missing[0]}: required for a location message")
    metadata = as_obj(payload.get("metadata"))
    speech = as_str(payload.get("speech"))
    return _sent_from(
        payload,
        thread_id=thread_id,
        kind=kind,
        text=(as_str(payload.get("text")) or "") if speech is None else speech,
        long=as_str(payload.get("long")),
        params=_wire_params(metadata.get("params"), payload.get("params")),
        metadata=metadata,
    )


def parse_messaging_send(body: JSON) -> Sent:
    """A ``POST /v1/messaging/message`` body (the older Messaging API; location uses ``lng``)."""
    check_schema(body, "messaging.message", "message body")
    payload = as_obj(body)
    kind = InboundKind(cast(str, payload["type"]))
    thread_id = check_thread_id(cast(str, payload["threadId"]))
    if kind is InboundKind.MEDIA and not as_str(payload.get("url")):
        raise BadInput(
            "invalid message body: url: required for a media message (the emulator takes JSON only)"
        )
    return _sent_from(
        payload,
        thread_id=thread_id,
        kind=kind,
        text=as_str(payload.get("text")) or "",
        long=as_str(payload.get("lng")) or as_str(payload.get("long")),
        params=_wire_params(payload.get("params")),
        metadata={},
    )


def _sent_from(
    payload: JSONObject,
    *,
    thread_id: str,
    kind: InboundKind,
    text: str,
    long: str | None,
    params: dict[str, list[JSON]],
    metadata: JSONObject,
) -> Sent:
    """What the REST and Messaging API send bodies spell alike; ``text``, ``long`` and the params they do not.
    A body's top-level ``lang`` and ``timezone`` fill the metadata where it has none."""
    if kind is InboundKind.EVENT:
        speech = EVENT_SPEECH
    elif kind is InboundKind.TEXT:
        speech = text
    else:
        speech = as_str(payload.get("title")) or ""
    locale = {
        name: payload[wire]
        for wire, name in (("lang", "language"), ("timezone", "timezone"))
        if wire in payload and name not in metadata
    }
    inbound = Inbound(
        kind=kind,
        speech=speech,
        event_name=as_str(payload.get("eventName")),
        media_type=as_str(payload.get("mediaType")),
        url=as_str(payload.get("url")),
        mime_type=as_str(payload.get("mimeType")) or as_str(payload.get("mimetype")),
        lat=as_str(payload.get("lat")),
        long=long,
        title=as_str(payload.get("title")),
        params=params,
        originator=_sender(payload.get("originator")),
    )
    return Sent(
        thread_id=thread_id,
        inbound=inbound,
        metadata={**metadata, **locale},
        trace_id=as_number(payload.get("traceId")),
    )


def parse_socket_send(frame: JSONObject) -> Sent:
    """The payload of a schema-valid ``message.send`` frame; ``BadInput`` for what the schema leaves open."""
    payload = as_obj(frame.get("payload"))
    thread_id = check_thread_id(cast(str, payload["threadId"]))
    speech = cast(str, payload["speech"])
    metadata = as_obj(payload.get("metadata"))
    attachment = as_obj(payload.get("attachment"))
    event_name = as_str(as_obj(attachment.get("payload")).get("name")) if attachment else None
    inbound = Inbound(
        kind=InboundKind.EVENT if event_name else InboundKind.TEXT,
        speech=speech,
        event_name=event_name,
        params=_wire_params(metadata.get("params")),
        originator=_sender(payload.get("originator")),
    )
    return Sent(
        thread_id=thread_id,
        inbound=inbound,
        metadata=copy.deepcopy(metadata),
        trace_id=as_number(payload.get("traceId")),
    )


__all__ = [
    "DEFAULT_ORIGINATOR",
    "ApiError",
    "BadInput",
    "Sent",
    "as_number",
    "as_obj",
    "as_str",
    "check_schema",
    "check_thread_id",
    "parse_json",
    "parse_messaging_send",
    "parse_rest_send",
    "parse_socket_send",
]
