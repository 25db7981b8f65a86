"""The emulator's wire surface (Starlette): socket.info + WebSocket, REST v1, Messaging API v1, management and
admin routes, pumping messages through the pure engine and the store. ``build_app`` makes a fresh app; nothing
is created at import time. Imports only schemas and the emulator's own modules."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import logging
import math
import random
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, cast
from uuid import uuid4

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from pytest_flowai import schemas
from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.emulator.engine import (
    BOT_ORIGINATOR,
    EVENT_SPEECH,
    Inbound,
    InboundKind,
    ThreadState,
    respond,
    timestamp,
)
from pytest_flowai.emulator.flows import load_bot
from pytest_flowai.emulator.settings import EmulatorSettings, Fault
from pytest_flowai.emulator.store import Store, ThreadRecord, WebhookRecord
from pytest_flowai.emulator.webhooks import Outbound, RetryPolicy, WebhookDispatcher, is_loopback_url
from pytest_flowai.errors import EmulatorError, quote

if TYPE_CHECKING:
    from pytest_flowai.emulator.flows import Bot

log = logging.getLogger(__name__)

MAX_THREAD_ID = 512
MAX_JSON_DEPTH = 64
MAX_OPEN_ENDPOINTS = 10_000
MAX_PAGE = 1_000_000_000
_MESSAGE_LIMIT = 300  # error messages are cut here so a huge bad value never comes back whole
_SOCKET_CLIENT_FRAMES = ("message.send", "ping", "thread.noticed", "activity.user.typing")
_DEFAULT_ORIGINATOR: JSONObject = {"name": "anonymous", "role": "external", "profile": {}}
_MEDIA_TYPES = ("image", "file", "audio", "video")
_GARBAGE = "<html><body>502 Bad Gateway: this is not JSON (emulator fault 'garbage')"
_FAULT_ERROR = "emulator fault 'error': the reply was replaced by this error"
_WRONG_TEXT = "emulator fault 'wrong-once': a wrong first answer"
_BROKEN_RESPONSE: JSONObject = {
    "type": "image",
    "payload": {"title": "no url (emulator fault 'invalid-reply')"},
}


# --- errors ---------------------------------------------------------------------------------------


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


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"status": "error", "message": message}, status_code=status, headers=headers)


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
    problem = _structure_problem(value, MAX_JSON_DEPTH)
    if problem is not None:
        raise BadInput(f"{what} {problem}")
    return cast("JSON", value)


def check_schema(value: JSON, name: str, what: str) -> None:
    """``BadInput`` naming every field of ``value`` that breaks the protocol schema ``name``."""
    found = schemas.violations(value, name)
    if found:
        raise BadInput(f"invalid {what}: " + "; ".join(str(v) for v in found))


def _get(obj: JSONObject, key: str) -> JSON:
    return obj.get(key)


def _str(value: JSON) -> str | None:
    return value if isinstance(value, str) else None


def _obj(value: JSON) -> JSONObject:
    return value if isinstance(value, dict) else {}


def _number(value: JSON) -> int | float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _wire_params(*sources: JSON) -> dict[str, list[JSON]]:
    """Params in wire form merged left to right (the schema has checked their shape)."""
    merged: dict[str, list[JSON]] = {}
    for source in sources:
        for name, values in _obj(source).items():
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
    originator = _obj(value)
    return copy.deepcopy(originator) if originator else copy.deepcopy(_DEFAULT_ORIGINATOR)


def parse_rest_send(body: JSON, thread_id: str) -> Sent:
    """A ``POST rest/v1/messages/:threadId`` body ``{"payload": {...}}``, or ``BadInput`` naming the field."""
    check_schema(body, "rest.request", "message body")
    payload = _obj(_obj(body).get("payload"))
    kind = InboundKind(cast(str, payload["type"]))
    if kind is InboundKind.MEDIA and not _str(payload.get("url")):
        raise BadInput("invalid message body: payload.url: required for a media message")
    if kind is InboundKind.LOCATION:
        missing = [name for name in ("lat", "long") if name not in payload]
        if missing:
            raise BadInput(f"invalid message body: payload.{missing[0]}: required for a location message")
    metadata = _obj(payload.get("metadata"))
    speech = _str(payload.get("speech"))
    return _sent_from(
        payload,
        thread_id=thread_id,
        kind=kind,
        text=(_str(payload.get("text")) or "") if speech is None else speech,
        long=_str(payload.get("long")),
        params=_wire_params(metadata.get("params"), payload.get("params")),
        metadata=metadata,
    )


def parse_messaging_send(body: JSON) -> Sent:
    """A ``POST /v1/messaging/message`` body (the older Messaging API; location uses ``lng``)."""
    check_schema(body, "messaging.message", "message body")
    payload = _obj(body)
    kind = InboundKind(cast(str, payload["type"]))
    thread_id = check_thread_id(cast(str, payload["threadId"]))
    if kind is InboundKind.MEDIA and not _str(payload.get("url")):
        raise BadInput(
            "invalid message body: url: required for a media message (the emulator takes JSON only)"
        )
    return _sent_from(
        payload,
        thread_id=thread_id,
        kind=kind,
        text=_str(payload.get("text")) or "",
        long=_str(payload.get("lng")) or _str(payload.get("long")),
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
        speech = _str(payload.get("title")) or ""
    locale = {
        name: payload[wire]
        for wire, name in (("lang", "language"), ("timezone", "timezone"))
        if wire in payload and name not in metadata
    }
    inbound = Inbound(
        kind=kind,
        speech=speech,
        event_name=_str(payload.get("eventName")),
        media_type=_str(payload.get("mediaType")),
        url=_str(payload.get("url")),
        mime_type=_str(payload.get("mimeType")) or _str(payload.get("mimetype")),
        lat=_str(payload.get("lat")),
        long=long,
        title=_str(payload.get("title")),
        params=params,
        originator=_sender(payload.get("originator")),
    )
    return Sent(
        thread_id=thread_id,
        inbound=inbound,
        metadata={**metadata, **locale},
        trace_id=_number(payload.get("traceId")),
    )


def parse_socket_send(frame: JSONObject) -> Sent:
    """The payload of a schema-valid ``message.send`` frame; ``BadInput`` for what the schema leaves open."""
    payload = _obj(frame.get("payload"))
    thread_id = check_thread_id(cast(str, payload["threadId"]))
    speech = cast(str, payload["speech"])
    metadata = _obj(payload.get("metadata"))
    attachment = _obj(payload.get("attachment"))
    event_name = _str(_obj(attachment.get("payload")).get("name")) if attachment else None
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
        trace_id=_number(payload.get("traceId")),
    )


# --- replies on the wire --------------------------------------------------------------------------


def reply_payload(thread_id: str, messages: Sequence[JSONObject]) -> JSONObject:
    """``{threadId, messages, originator}``: the message.received payload, sync result and webhook payload."""
    return {"threadId": thread_id, "messages": list(messages), "originator": copy.deepcopy(BOT_ORIGINATOR)}


def _responses(message: JSONObject) -> list[JSON]:
    responses = message.get("responses")
    return responses if isinstance(responses, list) else []


RUN_TAG_SEPARATOR = "~"


def variant_key(thread_id: str) -> str:
    """The part of a thread id that seeds its text variants: all before the last ``~`` (the run tag).

    ``pytest-flowai-3fa2c1d0~a1b2c3`` and ``pytest-flowai-3fa2c1d0~d4e5f6`` are two threads that get the
    same replies; a thread id without ``~`` is its own key.
    """
    key, separator, _run_tag = thread_id.rpartition(RUN_TAG_SEPARATOR)
    return key if separator else thread_id


def _delay_ms(response: JSON) -> float:
    delay = _number(_obj(response).get("delay"))
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
        responses = _responses(message)
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


def break_replies(messages: Sequence[JSONObject]) -> list[JSONObject]:
    """Fault ``invalid-reply``: each message gets a response that breaks its template schema."""
    return [
        {**message, "responses": [*_responses(message), copy.deepcopy(_BROKEN_RESPONSE)]}
        for message in messages
    ]


def answer_wrong(messages: Sequence[JSONObject]) -> tuple[JSONObject, ...]:
    """Fault ``wrong-once``: every text response of the messages says something else."""
    return tuple(
        {
            **message,
            "responses": [
                {**_obj(response), "payload": {**_obj(_obj(response).get("payload")), "text": _WRONG_TEXT}}
                if _obj(response).get("type") == "text"
                else response
                for response in _responses(message)
            ],
        }
        for message in messages
    )


def _has_handover(messages: Iterable[JSONObject]) -> bool:
    return any(
        _obj(response).get("type") == "handover" for message in messages for response in _responses(message)
    )


def _state_to_json(state: ThreadState) -> JSONObject:
    return {
        "lastStepId": state.last_step_id,
        "params": {name: list(values) for name, values in state.params.items()},
    }


def _state_from_json(data: JSONObject) -> ThreadState:
    params = {
        name: tuple(values) for name, values in _obj(data.get("params")).items() if isinstance(values, list)
    }
    return ThreadState(last_step_id=_str(data.get("lastStepId")), params=params)


def _iso(epoch: float) -> str:
    return timestamp(datetime.fromtimestamp(epoch, UTC))


# --- runtime state --------------------------------------------------------------------------------


class EndpointTokens:
    """Single-use WebSocket endpoint tokens that expire after ``ttl`` seconds (monotonic clock)."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._expiry: dict[str, float] = {}

    def issue(self) -> str:
        now = self._clock()
        self._expiry = {token: until for token, until in self._expiry.items() if until > now}
        while len(self._expiry) >= MAX_OPEN_ENDPOINTS:
            # Oldest first: dicts keep insertion order.
            del self._expiry[next(iter(self._expiry))]
        token = secrets.token_urlsafe(24)
        self._expiry[token] = now + self._ttl
        return token

    def redeem(self, token: str) -> str | None:
        """None when the token is good (it is used up now), else why it is not."""
        until = self._expiry.pop(token, None)
        if until is None:
            return "unknown or already used endpoint; ask socket.info for a new one"
        if until <= self._clock():
            return "expired endpoint (valid for 60 s); ask socket.info for a new one"
        return None

    def clear(self) -> None:
        self._expiry.clear()


@dataclass(frozen=True, slots=True, kw_only=True)
class Turn:
    """What one user message led to: the bot's reply messages, and whether the thread got paused by it."""

    messages: tuple[JSONObject, ...]
    paused: bool = False


@dataclass(slots=True)
class Runtime:
    """Everything one running emulator holds; lives in the lifespan, used only from the event loop thread."""

    settings: EmulatorSettings
    bot: Bot
    store: Store
    dispatcher: WebhookDispatcher
    tokens: EndpointTokens
    clock: Callable[[], float] = time.time
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    internal_errors: int = 0
    # Fault ``wrong-once``: the conversations (variant keys) that already got their wrong answer.
    answered_wrong: set[str] = field(default_factory=set)

    @property
    def fault(self) -> Fault | None:
        return self.settings.fault

    @property
    def latency(self) -> float:
        return self.settings.latency_ms / 1000

    def reset(self) -> None:
        """Forget every thread, message, webhook and delivery; queued webhook calls are dropped."""
        self.dispatcher.cancel_all()
        self.store.reset()
        self.tokens.clear()
        self.answered_wrong.clear()

    def begin_shutdown(self) -> None:
        """Release held requests (fault ``hang``) and stop webhook deliveries, before the server stops."""
        self.stopping.set()
        self.dispatcher.cancel_all()

    def converse(self, sent: Sent) -> Turn:
        """Run one user message through the bot: history, pause rules, engine, new state. No awaits inside,
        so the messages of one thread are handled strictly in arrival order."""
        now = self.clock()
        created = _iso(now)
        record = self.store.ensure_thread(sent.thread_id, now=now)
        turn_number = self.store.count_history(sent.thread_id)
        self.store.append_history(
            sent.thread_id, originator=sent.originator, messages=[sent.as_message(created)], now=now
        )
        if sent.from_moderator:
            self.store.set_paused_until(sent.thread_id, math.inf)
            return Turn(messages=(), paused=not record.paused_at(now))
        if record.paused_at(now):
            return Turn(messages=())
        if record.paused_until is not None:
            self.store.set_paused_until(sent.thread_id, None)
        # A per-thread, per-turn seed: replies do not depend on how concurrent conversations interleave,
        # nor on the run (the run tag of a thread id is left out), so a suite gets the same replies each run.
        rng = random.Random(f"{self.settings.seed}|{variant_key(sent.thread_id)}|{turn_number}")
        outcome = respond(
            self.bot,
            _state_from_json(record.state),
            sent.inbound,
            now=datetime.fromtimestamp(now, UTC),
            rng=rng,
        )
        self.store.save_state(sent.thread_id, _state_to_json(outcome.state))
        messages = tuple(copy.deepcopy(dict(m)) for m in outcome.messages)
        if (
            self.fault is Fault.WRONG_ONCE
            and messages
            and variant_key(sent.thread_id) not in self.answered_wrong
        ):
            self.answered_wrong.add(variant_key(sent.thread_id))
            messages = answer_wrong(messages)
        if messages:
            self.store.append_history(
                sent.thread_id, originator=copy.deepcopy(BOT_ORIGINATOR), messages=list(messages), now=now
            )
        if outcome.pause_bot:
            self.store.set_paused_until(sent.thread_id, math.inf)
        return Turn(messages=messages, paused=outcome.pause_bot)

    def thread(self, thread_id: str) -> ThreadRecord:
        return self.store.ensure_thread(thread_id, now=self.clock())

    def pause(self, thread_id: str, seconds: float | None) -> None:
        self.thread(thread_id)
        until = math.inf if seconds is None else self.clock() + seconds
        self.store.set_paused_until(thread_id, until)

    def resume(self, thread_id: str) -> None:
        self.thread(thread_id)
        self.store.set_paused_until(thread_id, None)

    def is_paused(self, thread_id: str) -> bool:
        return self.thread(thread_id).paused_at(self.clock())

    def outgoing(self, messages: Sequence[JSONObject]) -> list[JSONObject]:
        """Reply messages as they go on the wire: broken on purpose under fault ``invalid-reply``."""
        return break_replies(messages) if self.fault is Fault.INVALID_REPLY else list(messages)

    def publish(self, thread_id: str | None, items: Sequence[Outbound]) -> None:
        self.dispatcher.publish(thread_id, items)

    def reply_chunks(self, thread_id: str, messages: Sequence[JSONObject]) -> list[tuple[float, JSONObject]]:
        """A reply as the webhooks get it over time: ``(seconds to wait, reply payload)`` pairs cut at
        delays, the first after the latency. Flow.ai applies delays itself when it calls webhooks (they are
        what sync mode cannot do); see "Delays" in docs/PROTOCOL.md."""
        return [
            (wait_ms / 1000 + (self.latency if index == 0 else 0.0), reply_payload(thread_id, chunk))
            for index, (wait_ms, chunk) in enumerate(split_by_delays(self.outgoing(messages)))
        ]

    def socket_reply(self, thread_id: str, messages: Sequence[JSONObject]) -> JSONObject:
        """A reply as the socket gets it: one payload with every response, each keeping its ``delay`` for
        the client to apply (Flow.ai's SDK hands ``delay`` to the application; see docs/PROTOCOL.md)."""
        return reply_payload(thread_id, self.outgoing(messages))

    def reply_events(self, event: str, thread_id: str, messages: Sequence[JSONObject]) -> list[Outbound]:
        """Webhook events carrying a reply, a later call for each delayed response."""
        chunks = self.reply_chunks(thread_id, messages)
        return [Outbound(event=event, payload=payload, delay=wait) for wait, payload in chunks]


def _thread_event(event: str, thread_id: str) -> Outbound:
    """A webhook event that names only its thread (paused, resumed, takeover, control.handover)."""
    return Outbound(event=event, payload={"threadId": thread_id})


def _runtime(request: Request | WebSocket) -> Runtime:
    runtime = request.app.state.runtime
    if not isinstance(runtime, Runtime):  # pragma: no cover - only if the lifespan did not run
        raise EmulatorError("the emulator app was used without its lifespan")
    return runtime


# --- request helpers ------------------------------------------------------------------------------


def _check_auth(request: Request) -> None:
    """``Authorization: KEY`` or ``Bearer KEY``; 401 otherwise. The key is never echoed."""
    header = request.headers.get("authorization", "").strip()
    if not header:
        raise ApiError(
            401, "missing Authorization header: send 'Authorization: <api key>' or 'Bearer <api key>'"
        )
    scheme, _, rest = header.partition(" ")
    given = rest.strip() if scheme.lower() == "bearer" and rest.strip() else header
    expected = _runtime(request).settings.api_key or ""
    if not secrets.compare_digest(given.encode(), expected.encode()):
        raise ApiError(401, "invalid API key")


async def _body_bytes(request: Request) -> bytes:
    """The request body, or 413 as soon as it passes the size limit (never read whole first)."""
    limit = _runtime(request).settings.max_body
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"request body is larger than the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"request body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _json_body(request: Request, *, required: bool = True) -> JSON:
    if request.headers.get("content-type", "").lower().startswith("multipart/"):
        # 001's media example uploads the file as multipart/form-data; the emulator keeps no files.
        raise BadInput(
            "request body: multipart/form-data uploads are not supported by the emulator; "
            "send a JSON body, media by its url"
        )
    raw = await _body_bytes(request)
    if not raw.strip():
        if required:
            raise BadInput("request body is empty; expected a JSON object")
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput("request body is not UTF-8 text") from None
    return parse_json(text, "request body")


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").strip().lower() in ("true", "1", "yes")


def _page(request: Request) -> int:
    text = request.query_params.get("page")
    if text is None or text == "":
        return 1
    # ASCII digits only ("²" is a digit to str.isdigit but not to int) and a cap, so the SQL offset fits.
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or not 1 <= int(text) <= MAX_PAGE:
        raise BadInput(f"page: must be a whole number from 1 to {MAX_PAGE}, got {quote(text, 60)}")
    return int(text)


def _pages(total: int, size: int) -> int:
    return max(1, -(-total // size))


def _path_thread(request: Request) -> str:
    return check_thread_id(str(request.path_params.get("thread_id", "")))


def _ok(extra: JSONObject | None = None, status: int = 200) -> JSONResponse:
    return JSONResponse({"status": "ok", **(extra or {})}, status_code=status)


Endpoint = Callable[[Request], Awaitable[Response]]


def _api(endpoint: Endpoint, *, auth: bool = True) -> Endpoint:
    """Wrap an endpoint: check the API key, turn ``ApiError`` into the JSON error answer."""

    async def handle(request: Request) -> Response:
        try:
            if auth:
                _check_auth(request)
            return await endpoint(request)
        except ApiError as exc:
            return _error(exc.status, exc.message, exc.headers)

    handle.__name__ = endpoint.__name__
    handle.__doc__ = endpoint.__doc__
    return handle


# --- REST v1 --------------------------------------------------------------------------------------


async def _wait_for_stop_or_disconnect(request: Request) -> None:
    """Fault ``hang``: hold the request until the client gives up or the emulator stops."""
    runtime = _runtime(request)
    stop = asyncio.ensure_future(runtime.stopping.wait())
    gone = asyncio.ensure_future(_client_gone(request))
    try:
        await asyncio.wait({stop, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (stop, gone):
            task.cancel()
        await asyncio.gather(stop, gone, return_exceptions=True)


async def _client_gone(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _answer_sent(request: Request, sent: Sent, *, event: str = "message") -> Response:
    """The common end of every REST send: run the bot, then answer inline (sync) or through the webhooks."""
    runtime = _runtime(request)
    sync = _flag(request, "sync")
    turn = runtime.converse(sent)
    pause_events = [_thread_event("paused", sent.thread_id)] if turn.paused else []
    if runtime.fault is Fault.ERROR:
        runtime.publish(sent.thread_id, pause_events)
        return _error(503, _FAULT_ERROR)
    if not sync:
        items = runtime.reply_events(event, sent.thread_id, turn.messages) if turn.messages else []
        runtime.publish(sent.thread_id, [*items, *pause_events])
        return _ok()
    runtime.publish(sent.thread_id, pause_events)
    if runtime.fault is Fault.HANG:
        await _wait_for_stop_or_disconnect(request)
        return _error(503, "the emulator is stopping")
    if runtime.latency > 0:
        await asyncio.sleep(runtime.latency)
    if runtime.fault is Fault.GARBAGE:
        return Response(_GARBAGE, status_code=200, media_type="application/json")
    # Sync mode ignores delays, as Flow.ai documents: one message list with every response.
    return _ok({"result": reply_payload(sent.thread_id, runtime.outgoing(turn.messages))})


async def rest_send(request: Request) -> Response:
    """POST rest/v1/messages/:threadId: send text, event, location or media."""
    thread_id = _path_thread(request)
    sent = parse_rest_send(await _json_body(request), thread_id)
    return await _answer_sent(request, sent)


async def rest_history(request: Request) -> Response:
    """GET rest/v1/messages/:threadId: one page (20 entries) of the thread's history, oldest first."""
    runtime = _runtime(request)
    thread_id = _path_thread(request)
    page = _page(request)
    size = runtime.settings.page_size
    total = runtime.store.count_history(thread_id)
    entries = runtime.store.history(thread_id, offset=(page - 1) * size, limit=size)
    result: JSONObject = {
        "history": [entry.to_wire() for entry in entries],
        "threadId": thread_id,
        "page": page,
        "pages": _pages(total, size),
    }
    return _result_or_webhook(request, "history", thread_id, result)


def _result_or_webhook(
    request: Request, event: str, thread_id: str | None, result: JSONObject, *, nested: bool = True
) -> Response:
    """Sync: ``{status, result}`` (``nested=False``: the result's fields beside ``status``); otherwise
    ``{status: ok}`` and the result goes to the webhooks."""
    if _flag(request, "sync"):
        return _ok({"result": result} if nested else result)
    _runtime(request).publish(thread_id, [Outbound(event=event, payload=result)])
    return _ok()


async def rest_threads(request: Request) -> Response:
    """GET rest/v1/threads: one page of thread ids, in creation order."""
    runtime = _runtime(request)
    page = _page(request)
    size = runtime.settings.page_size
    ids = runtime.store.thread_ids(offset=(page - 1) * size, limit=size)
    result: JSONObject = {
        "threads": list[JSON](ids),
        "page": page,
        "pages": _pages(runtime.store.count_threads(), size),
    }
    return _result_or_webhook(request, "threads", None, result)


async def _switch_bot(request: Request, *, active: bool, event: str) -> Response:
    """Takeover, pause and resume: pause the bot until resumed (or resume it), then tell the webhooks."""
    runtime = _runtime(request)
    thread_id = _path_thread(request)
    await _json_body(request, required=False)
    if active:
        runtime.resume(thread_id)
    else:
        runtime.pause(thread_id, None)
    runtime.publish(thread_id, [_thread_event(event, thread_id)])
    return _ok()


async def rest_takeover(request: Request) -> Response:
    """POST rest/v1/takeover/:threadId: a human takes over; the bot pauses until resumed."""
    return await _switch_bot(request, active=False, event="takeover")


async def rest_handover(request: Request) -> Response:
    """POST rest/v1/handover/:threadId: pause the bot for ``secondsToPause`` seconds, or until resumed."""
    runtime = _runtime(request)
    thread_id = _path_thread(request)
    body = await _json_body(request, required=False)
    seconds: float | None = None
    if body is not None:
        check_schema(body, "rest.handover", "handover body")
        value = _number(_obj(body).get("secondsToPause"))
        if value is not None:
            seconds = float(value)
    runtime.pause(thread_id, seconds)
    runtime.publish(thread_id, [_thread_event("paused", thread_id)])
    return _ok()


async def rest_events(request: Request) -> Response:
    """GET rest/v1/trigger/event: names of the events that may be triggered by hand."""
    result: JSONObject = {"items": list[JSON](_runtime(request).bot.event_names())}
    return _result_or_webhook(request, "trigger.events", None, result)


async def rest_trigger(request: Request) -> Response:
    """POST rest/v1/trigger/event/:threadId?eventName=...: run an event as if the user sent it."""
    thread_id = _path_thread(request)
    name = request.query_params.get("eventName", "").strip()
    if not name:
        raise BadInput("eventName: required query parameter, e.g. ?eventName=MY_EVENT")
    await _json_body(request, required=False)
    inbound = Inbound(
        kind=InboundKind.EVENT,
        speech=EVENT_SPEECH,
        event_name=name,
        originator=copy.deepcopy(_DEFAULT_ORIGINATOR),
    )
    sent = Sent(thread_id=thread_id, inbound=inbound, metadata={})
    return await _answer_sent(request, sent)


async def rest_business_hours(request: Request) -> Response:
    """GET rest/v1/businesshours: the configured business hours."""
    hours = list(copy.deepcopy(_runtime(request).settings.business_hours))
    return _result_or_webhook(request, "businessHours", None, {"businessHours": hours}, nested=False)


def _pause_status(runtime: Runtime, thread_id: str) -> JSONObject:
    paused = runtime.is_paused(thread_id)
    # The documents spell the flag isPaued; both spellings are sent (PROTOCOL-NOTES.md).
    return {"isPaused": paused, "isPaued": paused, "threadId": thread_id}


async def rest_pause(request: Request) -> Response:
    """POST rest/v1/pause/:threadId: pause the bot for the thread until resumed."""
    return await _switch_bot(request, active=False, event="paused")


async def rest_resume(request: Request) -> Response:
    """DELETE rest/v1/pause/:threadId: resume the bot for the thread."""
    return await _switch_bot(request, active=True, event="resumed")


async def rest_pause_status(request: Request) -> Response:
    """GET rest/v1/pause/:threadId: is the bot paused for the thread (sync inline, else webhook isPaused)."""
    thread_id = _path_thread(request)
    status = _pause_status(_runtime(request), thread_id)
    return _result_or_webhook(request, "isPaused", thread_id, status, nested=False)


# --- Messaging API v1 -----------------------------------------------------------------------------


async def messaging_send(request: Request) -> Response:
    """POST /v1/messaging/message: webhooks get message.delivered, then message.reply (+ control.handover)."""
    runtime = _runtime(request)
    sent = parse_messaging_send(await _json_body(request))
    turn = runtime.converse(sent)
    delivered: JSONObject = {"threadId": sent.thread_id}
    if sent.trace_id is not None:
        delivered["traceId"] = sent.trace_id
    items = [Outbound(event="message.delivered", payload=delivered)]
    if runtime.fault is not Fault.ERROR and turn.messages:
        items += runtime.reply_events("message.reply", sent.thread_id, turn.messages)
        if _has_handover(turn.messages):
            items.append(_thread_event("control.handover", sent.thread_id))
    if turn.paused:
        items.append(_thread_event("paused", sent.thread_id))
    runtime.publish(sent.thread_id, items)
    if runtime.fault is Fault.ERROR:
        return _error(503, _FAULT_ERROR)
    return _ok()


_WEBHOOK_FIELDS = ("url", "verifyKey", "events")


def _webhook_fields(body: JSON, *, partial: bool) -> JSONObject:
    if not isinstance(body, dict):
        raise BadInput("request body: must be a JSON object with url, verifyKey and events")
    if partial:
        # An update changes only the fields it names; check them as a create body would.
        current: JSONObject = {"url": "http://127.0.0.1/", "verifyKey": "", "events": ["message"]}
        check_schema(
            {**current, **{k: v for k, v in body.items() if k in _WEBHOOK_FIELDS}},
            "messaging.webhook-create",
            "webhook",
        )
    else:
        check_schema(body, "messaging.webhook-create", "webhook")
    if "organisationId" in body and not isinstance(body["organisationId"], str):
        raise BadInput("invalid webhook: organisationId: must be a string")
    url = body.get("url")
    if isinstance(url, str) and not is_loopback_url(url):
        raise BadInput(
            f"url: the emulator only calls webhooks on this machine (http://127.0.0.1, ::1 or localhost), "
            f"got {quote(url, 120)}"
        )
    return body


async def _verified(runtime: Runtime, url: str) -> None:
    """Flow.ai GETs a new webhook URL and wants a 2xx; the emulator does the same (loopback only)."""
    if not runtime.settings.verify_webhooks:
        return
    problem = await runtime.dispatcher.verify(url)
    if problem is not None:
        raise BadInput(f"url: the webhook did not verify: GET {quote(url, 120)} failed: {problem}")


async def webhooks_create(request: Request) -> Response:
    """POST /v1/messaging/webhooks: 201 with a Location header and the Webhook object."""
    runtime = _runtime(request)
    body = _webhook_fields(await _json_body(request), partial=False)
    await _verified(runtime, cast(str, body["url"]))
    webhook = WebhookRecord(
        webhook_id=str(uuid4()),
        organisation_id=_str(body.get("organisationId")) or runtime.settings.organisation_id,
        url=cast(str, body["url"]),
        verify_key=cast(str, body["verifyKey"]),
        events=tuple(cast("list[str]", body["events"])),
    )
    runtime.store.add_webhook(webhook)
    location = f"/v1/messaging/webhooks/{webhook.webhook_id}"
    return JSONResponse(webhook.to_wire(), status_code=201, headers={"Location": location})


async def webhooks_list(request: Request) -> Response:
    """GET /v1/messaging/webhooks: every webhook, newest first."""
    items = [hook.to_wire() for hook in _runtime(request).store.webhooks()]
    return JSONResponse({"items": list[JSON](items)})


def _webhook_or_404(runtime: Runtime, request: Request) -> WebhookRecord:
    webhook_id = str(request.path_params.get("webhook_id", ""))
    webhook = runtime.store.webhook(webhook_id)
    if webhook is None:
        raise ApiError(404, f"no webhook with id {quote(webhook_id, 80)}")
    return webhook


async def webhooks_get(request: Request) -> Response:
    """GET /v1/messaging/webhooks/:id."""
    return JSONResponse(_webhook_or_404(_runtime(request), request).to_wire())


async def webhooks_update(request: Request) -> Response:
    """POST or PUT /v1/messaging/webhooks/:id: change the fields given, keep the others."""
    runtime = _runtime(request)
    webhook = _webhook_or_404(runtime, request)
    body = _webhook_fields(await _json_body(request), partial=True)
    url = _str(body.get("url")) or webhook.url
    if url != webhook.url:
        await _verified(runtime, url)
    events = body.get("events")
    updated = WebhookRecord(
        webhook_id=webhook.webhook_id,
        organisation_id=_str(body.get("organisationId")) or webhook.organisation_id,
        url=url,
        verify_key=_str(body.get("verifyKey")) if "verifyKey" in body else webhook.verify_key,  # type: ignore[arg-type]
        events=tuple(cast("list[str]", events)) if isinstance(events, list) else webhook.events,
    )
    runtime.store.replace_webhook(updated)
    return JSONResponse(updated.to_wire())


async def webhooks_delete(request: Request) -> Response:
    """DELETE /v1/messaging/webhooks/:id: 204, no body."""
    runtime = _runtime(request)
    webhook = _webhook_or_404(runtime, request)
    runtime.store.delete_webhook(webhook.webhook_id)
    return Response(status_code=204)


# --- management and admin -------------------------------------------------------------------------


async def flows_list(request: Request) -> Response:
    """GET /flows/list: every flow as a Management-API object."""
    return JSONResponse(list[JSON](_runtime(request).bot.raw_flows()))


async def flows_info(request: Request) -> Response:
    """GET /flows/info?flowId=...: one flow, 404 when unknown."""
    flow_id = request.query_params.get("flowId", "")
    if not flow_id:
        raise BadInput("flowId: required query parameter, e.g. /flows/info?flowId=<id>")
    flow = _runtime(request).bot.flow(flow_id)
    if flow is None:
        raise ApiError(404, f"no flow with flowId {quote(flow_id, 80)}")
    return JSONResponse(copy.deepcopy(flow.raw))


async def admin_reset(request: Request) -> Response:
    """POST /emulator/v1/reset: forget threads, history, pauses, webhooks and deliveries."""
    _runtime(request).reset()
    return _ok()


async def admin_deliveries(request: Request) -> Response:
    """GET /emulator/v1/deliveries: webhook deliveries still being retried, and those that gave up."""
    runtime = _runtime(request)
    records = [record.to_wire() for record in runtime.store.deliveries()]
    return _ok({"result": {"deliveries": list[JSON](records), "busy": runtime.dispatcher.busy()}})


# --- socket API -----------------------------------------------------------------------------------


def _identity(request: Request, query: str, header: str) -> str:
    """A socket.info identity from the query string or the SDK's header; "null"/"undefined" mean absent."""
    for value in (request.query_params.get(query), request.headers.get(header)):
        if value is not None and value.strip() and value.strip() not in ("null", "undefined"):
            return value.strip()
    return ""


async def socket_info(request: Request) -> Response:
    """GET /socket.info: a single-use WebSocket endpoint for a known clientId (no API key: it is public)."""
    runtime = _runtime(request)
    client_id = _identity(request, "clientId", "x-flowai-clientid")
    if not client_id:
        raise BadInput("clientId: required (query parameter clientId or header x-flowai-clientid)")
    if client_id != runtime.settings.client_id:
        raise ApiError(401, f"unknown clientId {quote(client_id, 80)}")
    if not _identity(request, "sessionId", "x-flowai-sessionid"):
        raise BadInput("sessionId: required (query parameter sessionId or header x-flowai-sessionid)")
    token = runtime.tokens.issue()
    scheme = "wss" if request.url.scheme == "https" else "ws"
    return _ok({"payload": {"endpoint": f"{scheme}://{request.url.netloc}/ws/{token}"}})


@dataclass(frozen=True, slots=True, kw_only=True)
class _Job:
    """What to send for one message.send, in order: ``(seconds to wait, text frame)`` pairs."""

    frames: tuple[tuple[float, str], ...]
    drop_after: bool = False


def _frame(kind: str, payload: JSONObject | None = None, **extra: JSON) -> str:
    frame: JSONObject = {"type": kind}
    if payload is not None:
        frame["payload"] = payload
    frame.update(extra)
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


class SocketSession:
    """One WebSocket connection: reads frames, answers pings and errors at once, and sends replies (after
    the latency) from a queue, so one message's reply never overtakes the one before."""

    def __init__(self, websocket: WebSocket, runtime: Runtime) -> None:
        self._ws = websocket
        self._rt = runtime
        self._send_lock = asyncio.Lock()
        self._outbox: asyncio.Queue[_Job] = asyncio.Queue()
        self._drop = asyncio.Event()
        self._sends = 0
        self._allowance = runtime.settings.max_frames_per_second
        self._refilled = time.monotonic()

    async def run(self) -> None:
        reader = asyncio.ensure_future(self._read_loop())
        sender = asyncio.ensure_future(self._send_loop())
        dropper = asyncio.ensure_future(self._drop.wait())
        tasks = (reader, sender, dropper)
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception) and not isinstance(result, WebSocketDisconnect):
                raise result
        # Fault ``drop``: returning without a close frame makes the server cut the TCP connection (1006).

    async def _send_text(self, text: str) -> None:
        async with self._send_lock:
            await self._ws.send_text(text)

    async def _error(self, message: str) -> None:
        await self._send_text(_frame("error", message=message))

    async def _read_loop(self) -> None:
        idle = self._rt.settings.idle_timeout
        while True:
            try:
                async with asyncio.timeout(idle):
                    message = await self._ws.receive()
            except TimeoutError:
                await self._ws.close(code=1001, reason=f"no frame for {idle:g} s")
                return
            if message["type"] == "websocket.disconnect":
                return
            if not self._within_rate():
                rate = self._rt.settings.max_frames_per_second
                await self._error(f"rate limit: more than {rate:g} frames a second; this frame was dropped")
                continue
            text = message.get("text")
            if text is None:
                await self._error("binary frames are not supported; send JSON text frames")
                continue
            try:
                await self._handle(text)
            except BadInput as exc:
                await self._error(exc.message)

    def _within_rate(self) -> bool:
        """A token bucket: ``max_frames_per_second`` tokens a second, holding at most that many."""
        rate = self._rt.settings.max_frames_per_second
        now = time.monotonic()
        self._allowance = min(rate, self._allowance + (now - self._refilled) * rate)
        self._refilled = now
        if self._allowance < 1:
            return False
        self._allowance -= 1
        return True

    async def _handle(self, text: str) -> None:
        limit = self._rt.settings.max_frame
        if len(text) > limit or len(text.encode("utf-8")) > limit:
            raise BadInput(f"frame is larger than the limit of {limit} bytes")
        frame = parse_json(text, "frame")
        if not isinstance(frame, dict):
            raise BadInput('frame: must be a JSON object like {"type": "ping"}')
        kind = frame.get("type")
        if not isinstance(kind, str) or kind not in _SOCKET_CLIENT_FRAMES:
            shown = "missing" if kind is None else f"unknown frame type {quote(kind, 60)}"
            raise BadInput(f"type: {shown}; expected one of {', '.join(_SOCKET_CLIENT_FRAMES)}")
        if kind == "message.send":
            payload = _obj(frame.get("payload"))
            speech = payload.get("speech")
            # Checked before the schema so the answer says how long, not the whole text back.
            if isinstance(speech, str) and len(speech) > self._rt.settings.max_speech:
                limit = self._rt.settings.max_speech
                raise BadInput(f"payload.speech: longer than {limit} characters (got {len(speech)})")
        check_schema(frame, "client-frame", f"{kind} frame")
        if kind == "ping":
            await self._send_text(_frame("pong"))
        elif kind == "message.send":
            await self._message_send(parse_socket_send(frame))
        # thread.noticed and activity.user.typing are accepted silently.

    async def _message_send(self, sent: Sent) -> None:
        runtime = self._rt
        self._sends += 1
        await self._send_text(_frame("message.delivered", sent.delivered()))
        turn = runtime.converse(sent)
        # The socket is a non-REST channel: webhooks subscribed to inbound/outbound see its traffic.
        user: JSONObject = {
            "threadId": sent.thread_id,
            "messages": [sent.as_message(_iso(runtime.clock()))],
            "originator": copy.deepcopy(sent.originator),
        }
        # One frame for the whole reply, delays left to the client; the outbound event mirrors that frame.
        reply = runtime.socket_reply(sent.thread_id, turn.messages) if turn.messages else None
        events = [Outbound(event="inbound", payload=user)]
        if reply is not None:
            events.append(Outbound(event="outbound", payload=reply, delay=runtime.latency))
        if turn.paused:
            events.append(_thread_event("paused", sent.thread_id))
        runtime.publish(sent.thread_id, events)
        drop = runtime.fault is Fault.DROP and self._sends == 1
        if runtime.fault is Fault.HANG:
            return
        frames: list[tuple[float, str]] = []
        if runtime.fault is Fault.ERROR:
            frames.append((runtime.latency, _frame("error", message=_FAULT_ERROR)))
        elif runtime.fault is Fault.GARBAGE:
            frames.append((runtime.latency, _GARBAGE))
        elif reply is not None:
            frames.append((runtime.latency, _frame("message.received", reply)))
        if frames or drop:
            self._outbox.put_nowait(_Job(frames=tuple(frames), drop_after=drop))

    async def _send_loop(self) -> None:
        while True:
            job = await self._outbox.get()
            for wait, text in job.frames:
                if wait > 0:
                    await asyncio.sleep(wait)
                await self._send_text(text)
            if job.drop_after:
                self._drop.set()
                return


async def socket_endpoint(websocket: WebSocket) -> None:
    """WS /ws/:token: a single-use, 60 s endpoint from socket.info; bad tokens close with 1008."""
    runtime = _runtime(websocket)
    await websocket.accept()
    problem = runtime.tokens.redeem(str(websocket.path_params.get("token", "")))
    if problem is not None:
        await websocket.close(code=1008, reason=problem)
        return
    try:
        await SocketSession(websocket, runtime).run()
    except Exception:
        runtime.internal_errors += 1
        log.exception("emulator bug while serving a WebSocket connection")
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=1011, reason="internal emulator error")


# --- the app --------------------------------------------------------------------------------------


def _routes() -> list[BaseRoute]:
    thread = "{thread_id:path}"
    return [
        Route("/socket.info", _api(socket_info, auth=False), methods=["GET"]),
        # The socket document's own examples ask for socket.info/?clientId=... (with the slash).
        Route("/socket.info/", _api(socket_info, auth=False), methods=["GET"]),
        WebSocketRoute("/ws/{token}", socket_endpoint),
        Route(f"/rest/v1/messages/{thread}", _api(rest_send), methods=["POST"]),
        Route(f"/rest/v1/messages/{thread}", _api(rest_history), methods=["GET"]),
        Route("/rest/v1/threads", _api(rest_threads), methods=["GET"]),
        Route(f"/rest/v1/takeover/{thread}", _api(rest_takeover), methods=["POST"]),
        Route(f"/rest/v1/handover/{thread}", _api(rest_handover), methods=["POST"]),
        Route("/rest/v1/trigger/event", _api(rest_events), methods=["GET"]),
        Route(f"/rest/v1/trigger/event/{thread}", _api(rest_trigger), methods=["POST"]),
        Route("/rest/v1/businesshours", _api(rest_business_hours), methods=["GET"]),
        Route(f"/rest/v1/pause/{thread}", _api(rest_pause), methods=["POST"]),
        Route(f"/rest/v1/pause/{thread}", _api(rest_resume), methods=["DELETE"]),
        Route(f"/rest/v1/pause/{thread}", _api(rest_pause_status), methods=["GET"]),
        Route("/v1/messaging/message", _api(messaging_send), methods=["POST"]),
        Route("/v1/messaging/webhooks", _api(webhooks_create), methods=["POST"]),
        Route("/v1/messaging/webhooks", _api(webhooks_list), methods=["GET"]),
        Route("/v1/messaging/webhooks/{webhook_id}", _api(webhooks_get), methods=["GET"]),
        Route("/v1/messaging/webhooks/{webhook_id}", _api(webhooks_update), methods=["POST", "PUT"]),
        Route("/v1/messaging/webhooks/{webhook_id}", _api(webhooks_delete), methods=["DELETE"]),
        Route("/flows/list", _api(flows_list), methods=["GET"]),
        Route("/flows/info", _api(flows_info), methods=["GET"]),
        Route("/emulator/v1/reset", _api(admin_reset), methods=["POST"]),
        Route("/emulator/v1/deliveries", _api(admin_deliveries), methods=["GET"]),
    ]


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (no route, wrong method) as JSON errors."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = exc.headers if isinstance(exc, HTTPException) else None
    if status == 404:
        message = f"no such route: {request.method} {request.url.path}"
    elif status == 405:
        allowed = (headers or {}).get("Allow", "")
        message = f"method {request.method} not allowed on {request.url.path} (allowed: {allowed})"
    else:
        message = str(exc.detail) if isinstance(exc, HTTPException) else "error"
    return _error(status, message, headers)


async def _on_bug(request: Request, exc: Exception) -> Response:
    """Only our own bugs get here: counted, logged (by Starlette, with traceback), answered 500 JSON."""
    runtime = getattr(request.app.state, "runtime", None)
    if isinstance(runtime, Runtime):
        runtime.internal_errors += 1
    return _error(500, f"internal emulator error ({type(exc).__name__}); this is a bug in the emulator")


def build_app(settings: EmulatorSettings, bot: Bot | None = None) -> Starlette:
    """A new emulator app; its lifespan opens the store and the webhook HTTP client.

    ``settings.api_key`` None is filled with a random key, readable as ``app.state.settings.api_key``.
    ``bot`` defaults to loading ``settings.flows`` (``EmulatorError`` when they are invalid).
    """
    settings = settings.resolved()
    if bot is None:
        bot = settings.flows if not isinstance(settings.flows, str | Path) else load_bot(settings.flows)
    the_bot = bot

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            store = Store(settings.db)
        except EmulatorError as exc:
            app.state.startup_error = str(exc)
            raise
        policy = RetryPolicy(
            attempts=settings.webhook_attempts,
            backoff=settings.webhook_backoff,
            backoff_max=settings.webhook_backoff_max,
            timeout=settings.webhook_timeout,
        )
        try:
            # trust_env=False: no proxy from the environment may route our loopback calls elsewhere.
            async with httpx.AsyncClient(trust_env=False, follow_redirects=False) as client:
                runtime = Runtime(
                    settings=settings,
                    bot=the_bot,
                    store=store,
                    dispatcher=WebhookDispatcher(store, client, policy),
                    tokens=EndpointTokens(settings.endpoint_ttl),
                )
                app.state.runtime = runtime
                try:
                    yield
                finally:
                    runtime.begin_shutdown()
                    await runtime.dispatcher.aclose()
        finally:
            store.close()

    app = Starlette(
        routes=_routes(),
        lifespan=lifespan,
        # "Our messaging API supports cross-origin resource sharing" (001_*.txt): a browser web chat on any
        # origin may ask socket.info with the SDK's x-flowai-* headers, which takes a CORS preflight.
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_methods=["*"],
                allow_headers=["*"],
                expose_headers=["Location"],
            )
        ],
        exception_handlers={HTTPException: _on_http_exception, Exception: _on_bug},
    )
    # No 307 to the path with(out) a trailing slash: every answer is JSON, an unknown path a 404.
    app.router.redirect_slashes = False
    app.state.settings = settings
    return app


__all__ = [
    "ApiError",
    "BadInput",
    "EndpointTokens",
    "Runtime",
    "Sent",
    "SocketSession",
    "break_replies",
    "build_app",
    "parse_json",
    "reply_payload",
    "split_by_delays",
    "variant_key",
]
