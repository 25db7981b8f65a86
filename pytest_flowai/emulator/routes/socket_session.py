"""The socket API: ``GET /socket.info`` hands out endpoints, ``WS /ws/:token`` serves a ``SocketSession``.

A session reads frames and answers pings and errors at once; replies go out in order from a queue."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass

from starlette import websockets as starlette_websockets
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.emulator.faults import FAULT_ERROR, GARBAGE
from pytest_flowai.emulator.routes.common import ok, runtime_of
from pytest_flowai.emulator.runtime import Runtime, iso, thread_event
from pytest_flowai.emulator.settings import Fault
from pytest_flowai.emulator.webhooks import Outbound
from pytest_flowai.emulator.wire import (
    ApiError,
    BadInput,
    as_obj,
    check_schema,
    parse_json,
    parse_socket_send,
)
from pytest_flowai.errors import quote

log = logging.getLogger(__name__)

_SOCKET_CLIENT_FRAMES = ("message.send", "ping", "thread.noticed", "activity.user.typing")
# Frames that are valid when they hold only their type, so a ping costs no schema walk.
_BARE_FRAMES = frozenset({"ping", "thread.noticed", "activity.user.typing"})
# Replies waiting for a slow reader, per connection; past this the connection's reading waits (backpressure).
MAX_QUEUED_REPLIES = 64
# How long a session may take to say goodbye (close 1001) when the emulator stops.
CLOSE_GRACE = 0.25

# The client is gone: it closed (WebSocketDisconnect), or a send came after the close frame went out
# (starlette >= 1.0 raises WebSocketDisconnected for that). Either ends the session quietly.
_GONE: tuple[type[Exception], ...] = (
    WebSocketDisconnect,
    getattr(starlette_websockets, "WebSocketDisconnected", WebSocketDisconnect),
)


def _identity(request: Request, query: str, header: str) -> str:
    """A socket.info identity from the query string or the SDK's header; "null"/"undefined" mean absent."""
    for value in (request.query_params.get(query), request.headers.get(header)):
        if value is not None and value.strip() and value.strip() not in ("null", "undefined"):
            return value.strip()
    return ""


async def socket_info(request: Request) -> Response:
    """GET /socket.info: a single-use WebSocket endpoint for a known clientId (no API key: it is public)."""
    runtime = runtime_of(request)
    client_id = _identity(request, "clientId", "x-flowai-clientid")
    if not client_id:
        raise BadInput("clientId: required (query parameter clientId or header x-flowai-clientid)")
    if client_id != runtime.settings.client_id:
        raise ApiError(401, f"unknown clientId {quote(client_id, 80)}")
    session_id = _identity(request, "sessionId", "x-flowai-sessionid")
    if not session_id:
        raise BadInput("sessionId: required (query parameter sessionId or header x-flowai-sessionid)")
    # Endpoints are held per session id: asking for many evicts only the asker's own pending ones.
    owner = hashlib.blake2b(session_id.encode("utf-8", "replace"), digest_size=16).hexdigest()
    token = runtime.tokens.issue(owner)
    if token is None:
        wait = max(1, math.ceil(runtime.tokens.retry_after()))
        raise ApiError(
            429,
            f"too many endpoints asked for and not used yet; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    scheme = "wss" if request.url.scheme == "https" else "ws"
    return ok({"payload": {"endpoint": f"{scheme}://{request.url.netloc}/ws/{token}"}})


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
        self._outbox: asyncio.Queue[_Job] = asyncio.Queue(MAX_QUEUED_REPLIES)
        self._drop = asyncio.Event()
        self._sends = 0
        self._allowance = runtime.settings.max_frames_per_second
        self._refilled = time.monotonic()

    async def run(self) -> None:
        reader = asyncio.ensure_future(self._read_loop())
        sender = asyncio.ensure_future(self._send_loop())
        dropper = asyncio.ensure_future(self._drop.wait())
        stopper = asyncio.ensure_future(self._rt.stopping.wait())
        tasks = (reader, sender, dropper, stopper)
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception) and not isinstance(result, _GONE):
                raise result
        if stopper.done() and not stopper.cancelled():
            await self._say_goodbye()
        # Fault ``drop``: returning without a close frame makes the server cut the TCP connection (1006).

    async def _say_goodbye(self) -> None:
        """Close with 1001 (going away) as the emulator stops; a client that reads nothing gets no wait."""
        with contextlib.suppress(TimeoutError, RuntimeError, WebSocketDisconnect):
            async with asyncio.timeout(CLOSE_GRACE):
                await self._ws.close(code=1001, reason="the emulator is stopping")

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
            await self._message_send(frame)
            return
        if len(frame) > 1:
            check_schema(frame, "client-frame", f"{kind} frame")
        if kind == "ping":
            await self._send_text(_frame("pong"))
        # thread.noticed and activity.user.typing are accepted silently.

    async def _message_send(self, frame: JSONObject) -> None:
        """Check and run one message.send: the CPU-bound part waits its turn at the runtime's turnstile
        (one at a time, first come first served), so a busy connection cannot hold the loop from others."""
        async with self._rt.turnstile:
            delivered, job = self._converse(frame)
        await self._send_text(delivered)
        if job is not None:
            await self._outbox.put(job)

    def _converse(self, frame: JSONObject) -> tuple[str, _Job | None]:
        """The ``message.delivered`` frame and the reply job after it (no awaits; run at the turnstile)."""
        runtime = self._rt
        speech = as_obj(frame.get("payload")).get("speech")
        # Checked before the schema so the answer says how long, not the whole text back.
        if isinstance(speech, str) and len(speech) > runtime.settings.max_speech:
            limit = runtime.settings.max_speech
            raise BadInput(f"payload.speech: longer than {limit} characters (got {len(speech)})")
        check_schema(frame, "client-frame", "message.send frame")
        sent = parse_socket_send(frame)
        self._sends += 1
        delivered = _frame("message.delivered", sent.delivered())
        turn = runtime.converse(sent)
        # The socket is a non-REST channel: webhooks subscribed to inbound/outbound see its traffic.
        user: JSONObject = {
            "threadId": sent.thread_id,
            "messages": [sent.as_message(iso(runtime.clock()))],
            "originator": copy.deepcopy(sent.originator),
        }
        # One frame for the whole reply, delays left to the client; the outbound event mirrors that frame.
        reply = runtime.socket_reply(sent.thread_id, turn.messages) if turn.messages else None
        events = [Outbound(event="inbound", payload=user)]
        if reply is not None:
            events.append(Outbound(event="outbound", payload=reply, delay=runtime.latency))
        if turn.paused:
            events.append(thread_event("paused", sent.thread_id))
        runtime.publish(sent.thread_id, events)
        drop = runtime.fault is Fault.DROP and self._sends == 1
        if runtime.fault is Fault.HANG:
            return delivered, None
        frames: list[tuple[float, str]] = []
        if runtime.fault is Fault.ERROR:
            frames.append((runtime.latency, _frame("error", message=FAULT_ERROR)))
        elif runtime.fault is Fault.GARBAGE:
            frames.append((runtime.latency, GARBAGE))
        elif reply is not None:
            frames.append((runtime.latency, _frame("message.received", reply)))
        job = _Job(frames=tuple(frames), drop_after=drop) if frames or drop else None
        return delivered, job

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
    runtime = runtime_of(websocket)
    await websocket.accept()
    problem = runtime.tokens.redeem(str(websocket.path_params.get("token", "")))
    if problem is not None:
        await websocket.close(code=1008, reason=problem)
        return
    limit = runtime.settings.max_sockets
    if runtime.open_sockets >= limit:
        await websocket.close(code=1013, reason=f"more than {limit} open connections; try again later")
        return
    runtime.socket_opened()
    try:
        await SocketSession(websocket, runtime).run()
    except Exception:
        runtime.internal_errors += 1
        log.exception("emulator bug while serving a WebSocket connection")
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=1011, reason="internal emulator error")
    finally:
        runtime.socket_closed()


__all__ = ["SocketSession", "socket_endpoint", "socket_info"]
