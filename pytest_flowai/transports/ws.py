"""The Web socket transport's I/O: ``socket.info``, one WebSocket per conversation whose frames go through
``SocketProtocol`` as they arrive, pings every 25 s and one reconnect, as Flow.ai's JavaScript SDK does.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.frames import CloseCode
from websockets.uri import parse_uri

from pytest_flowai.errors import ConfigurationError, FlowaiError, TransportError, quote
from pytest_flowai.transports.base import Incoming, Notice, Outgoing, Transport, TransportConfig
from pytest_flowai.transports.http import describe_cause, new_http_client, request
from pytest_flowai.transports.socket_protocol import (
    Delivered,
    ProtocolFailure,
    SocketProtocol,
    check_sendable,
)
from pytest_flowai.transports.ws_connection import FrameConnection

_T = TypeVar("_T")

PING_INTERVAL = 25.0  # the SDK's keep-alive; the server drops a connection after 50 s without a frame
_CLOSE_TIMEOUT = 2.0
# socket.info answers that are final for a client id (no retry), as the SDK treats them.
_REFUSED = (400, 401, 402, 403)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Dropped:
    """The connection of ``generation`` closed without us asking."""

    generation: int
    code: int
    reason: str

    def describe(self) -> str:
        # 1006 is never on the wire: it means the TCP connection ended without a close frame.
        reason = self.reason or ("no close frame" if self.code == 1006 else "")
        return f"code {self.code}: {reason}" if reason else f"code {self.code}"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Failed:
    """A bad frame (an error frame, not JSON, off-schema, too big), raised by the next ``receive``."""

    error: FlowaiError


class _TimedOut:
    """What a send's delivery future holds when the turn's deadline passed first."""


_TIMED_OUT = _TimedOut()


def _settle(future: asyncio.Future[_T], value: _T) -> None:
    if not future.done():
        future.set_result(value)


def _shown(endpoint: str) -> str:
    """The endpoint without its query: a single-use token may live there."""
    try:
        parts = urllib.parse.urlsplit(endpoint)
    except ValueError:  # a broken netloc ("[::1"): cut at the query by hand
        return endpoint.split("?", 1)[0]
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _check_endpoint(endpoint: str, url: str) -> None:
    """Raise ``TransportError`` for an endpoint no WebSocket can open: another scheme, a bad port or host."""
    try:
        # The resolver encodes the host with IDNA; a label over 63 characters fails there, so check now.
        parse_uri(endpoint).host.encode("idna")
    except WebSocketException as exc:  # InvalidURI: not ws:// or wss://, or unparsable
        problem = str(getattr(exc, "msg", "")) or "not a ws:// or wss:// URL"
    except ValueError as exc:  # a port out of range or not a number, a host IDNA cannot encode
        problem = str(exc) or type(exc).__name__
    else:
        return
    raise TransportError(
        f"socket.info gave an endpoint that is not a usable WebSocket URL ({problem}): "
        f"{quote(_shown(endpoint))}",
        url=url,
    )


def _our_close(ws: FrameConnection, max_bytes: int) -> TransportError | None:
    """The error when we closed the connection because of what the server sent (not a drop to recover)."""
    protocol = ws.protocol
    sent, rcvd = protocol.close_sent, protocol.close_rcvd
    if sent is None or (rcvd is not None and not protocol.close_rcvd_then_sent):
        return None
    reason = f": {sent.reason}" if sent.reason else ""
    if sent.code == CloseCode.MESSAGE_TOO_BIG:
        return TransportError(
            f"the server sent a frame over the size limit of {max_bytes} bytes (code 1009{reason})"
        )
    if sent.code == CloseCode.INVALID_DATA:
        return TransportError(f"the server sent a frame that is not valid UTF-8 text (code 1007{reason})")
    if sent.code == CloseCode.PROTOCOL_ERROR:
        return TransportError(f"the server broke the WebSocket protocol (code 1002{reason})")
    return None


class SocketTransport(Transport):
    """One WebSocket connection to Flow.ai; replies arrive over time and are queued for ``receive``.

    Frames are handled in the loop's I/O callback as they are parsed (``FrameConnection``), not by a reader
    task: a reply reaches the waiting ``receive`` with one wake-up, as with a bare ``recv()``."""

    name = "socket"
    streaming = True

    def __init__(
        self,
        config: TransportConfig,
        *,
        http: httpx.AsyncClient | None = None,
        ping_interval: float = PING_INTERVAL,
    ) -> None:
        if not config.client_id:
            raise ConfigurationError(
                "the Web socket API needs a client id; none is configured", credential="client id"
            )
        self._config = config
        self._client_id = config.client_id
        # A session of its own per connection, as each web-chat user has: conversations running at once must
        # not share one (a server may bound the endpoints pending per session). Reconnects keep it.
        self._session_id = f"{config.session_id}.{uuid.uuid4().hex[:8]}"
        self._owns_http = http is None
        self._http = http if http is not None else new_http_client()
        self._ping_interval = ping_interval
        # What receive returns, in order. A plain deque and a future per wait rather than an asyncio.Queue:
        # a frame hands its item straight to the waiting receive, and an item already there costs no wait.
        self._inbox: collections.deque[Incoming | Notice | _Dropped | _Failed] = collections.deque()
        self._waiters: list[asyncio.Future[bool]] = []
        self._pending: dict[int, asyncio.Future[_Dropped | _TimedOut | None]] = {}
        self._protocol = SocketProtocol()
        self._ws: FrameConnection | None = None
        self._pinger: asyncio.Task[None] | None = None
        self._generation = 0
        self._drop: _Dropped | None = None
        self._reconnected = False
        self._closing = False
        self._broken: TransportError | None = None
        self._recover_lock = asyncio.Lock()
        # What a reconnect may take: the timeout of the last send (the turn's), not of one receive wait.
        self._connect_timeout = config.connect_timeout

    @classmethod
    async def open(
        cls,
        config: TransportConfig,
        *,
        http: httpx.AsyncClient | None = None,
        ping_interval: float = PING_INTERVAL,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> SocketTransport:
        """A connected transport (``socket.info`` asked, WebSocket open) within ``timeout`` seconds (else
        the config's ``connect_timeout``). Raises ``TransportError``."""
        transport = cls(config, http=http, ping_interval=ping_interval)
        if timeout is not None:
            transport._connect_timeout = timeout
        try:
            await transport._connect(transport._connect_timeout)
        except BaseException:
            await transport.aclose()
            raise
        return transport

    def __repr__(self) -> str:
        return f"SocketTransport(url={self._config.url!r}, client_id={self._client_id!r})"

    @property
    def pongs_received(self) -> int:
        """How many pongs the server sent: the keep-alive's proof of life."""
        return self._protocol.pongs_received

    # -- connecting ---------------------------------------------------------------------------------

    async def _endpoint(self, timeout: float) -> str:  # noqa: ASYNC109
        """Ask ``socket.info`` for a single-use WebSocket endpoint."""
        # Identity both as query parameters (the documents) and headers (the current SDK).
        headers = {"x-flowai-clientid": self._client_id, "x-flowai-sessionid": self._session_id}
        if self._protocol.secret is not None:
            headers["x-flowai-secret"] = self._protocol.secret
        answer = await request(
            self._http,
            "GET",
            f"{self._config.url}/socket.info",
            timeout=timeout,
            max_bytes=self._config.max_reply_bytes,
            params={"clientId": self._client_id, "sessionId": self._session_id},
            headers=headers,
            what="asking socket.info for an endpoint",
        )
        if answer.status in _REFUSED:
            raise TransportError(
                f"the server refused client id {self._client_id!r} "
                f"(HTTP {answer.status}: {answer.server_message()})",
                url=answer.url,
                credential="client id",
            )
        body = answer.checked_body("socket.info", "socket.info")
        if not isinstance(body, dict) or body.get("status") != "ok":
            raise TransportError(
                f"socket.info did not answer status 'ok': {answer.excerpt()}", url=answer.url
            )
        secret = body.get("secret")
        if isinstance(secret, str):
            self._protocol.secret = secret
        payload = body.get("payload")
        endpoint = payload.get("endpoint") if isinstance(payload, dict) else None
        if not isinstance(endpoint, str):
            raise TransportError(f"socket.info gave no endpoint: {answer.excerpt()}", url=answer.url)
        _check_endpoint(endpoint, answer.url)
        return endpoint

    async def _connect(self, timeout: float) -> None:  # noqa: ASYNC109
        """``socket.info`` and the handshake, both within ``timeout`` seconds in all."""
        deadline = time.monotonic() + timeout
        endpoint = await self._endpoint(timeout)
        left = max(deadline - time.monotonic(), 0.001)
        try:
            ws = await connect(
                endpoint,
                compression=None,
                max_size=self._config.max_reply_bytes,
                open_timeout=left,
                # Keep-alive is the protocol's own {"type": "ping"} frame, as the SDK does it.
                ping_interval=None,
                close_timeout=_CLOSE_TIMEOUT,
                create_connection=FrameConnection,
            )
        except InvalidStatus as exc:
            raise TransportError(
                f"the WebSocket handshake was refused: HTTP {exc.response.status_code}", url=_shown(endpoint)
            ) from exc
        except TimeoutError as exc:
            raise TransportError(
                f"the WebSocket did not open within {timeout:g}s (socket.info and the handshake)",
                url=_shown(endpoint),
            ) from exc
        except (WebSocketException, OSError, ValueError) as exc:
            # ValueError: a host name the resolver's IDNA codec refuses (a label over 63 characters).
            raise TransportError(
                f"cannot open the WebSocket: {describe_cause(exc)}", url=_shown(endpoint)
            ) from exc
        assert isinstance(ws, FrameConnection)
        self._generation += 1
        self._ws = ws
        self._drop = None
        generation = self._generation
        ws.attach(self._handle, lambda: self._lost(ws, generation))
        self._pinger = asyncio.create_task(self._ping(ws))

    async def _recover(self, drop: _Dropped) -> Notice | None:
        """Reconnect once after ``drop``; a second drop is final. ``None`` when already recovered."""
        async with self._recover_lock:
            if drop.generation != self._generation:
                return None
            if self._reconnected:
                raise TransportError(
                    f"the connection dropped again ({drop.describe()}); not reconnecting a second time",
                    url=self._config.url,
                )
            self._reconnected = True
            await self._stop_tasks()
            await self._connect(self._connect_timeout)
            described = drop.describe()
            return Notice(
                text=f"connection dropped ({described}); reconnected", at=time.monotonic(), drop=described
            )

    # -- what the connection calls, and the pinger --------------------------------------------------

    def _lost(self, ws: FrameConnection, generation: int) -> None:
        """The connection of ``generation`` ended: a drop to recover from, unless we closed it."""
        if self._closing or generation != self._generation:
            return
        failure = _our_close(ws, self._config.max_reply_bytes)
        if failure is not None:
            # Not a drop: the server sent something we refuse, and would send it again after a reconnect.
            self._broken = failure
            self._fail(failure)
            return
        drop = _Dropped(generation=generation, code=ws.close_code or 1006, reason=ws.close_reason or "")
        self._drop = drop
        for future in self._pending.values():
            if not future.done():
                future.set_result(drop)
        self._put(drop)

    async def _ping(self, ws: FrameConnection) -> None:
        while True:
            await asyncio.sleep(self._ping_interval)
            try:
                await ws.send(self._protocol.ping())
            except ConnectionClosed:
                return  # the reader reports the drop

    def _handle(self, data: str | bytes) -> None:
        try:
            events = self._protocol.receive_frame(data, at=time.monotonic())
        except Exception as exc:  # a bug of ours: fail the turn that waits, not the loop's I/O callback
            problem = f"{type(exc).__name__}: {exc}"
            self._fail(TransportError(f"could not handle a frame from the server: {problem}"))
            return
        for event in events:
            if isinstance(event, Incoming):
                self._put(event)
            elif isinstance(event, Delivered):
                future = self._pending.get(event.trace_id)
                if future is not None and not future.done():
                    future.set_result(None)
            elif isinstance(event, ProtocolFailure):
                self._fail(event.error)
            # A pong: nothing to answer.

    def _put(self, item: Incoming | Notice | _Dropped | _Failed) -> None:
        self._inbox.append(item)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(True)

    def _fail(self, error: FlowaiError) -> None:
        """A bad frame fails the send waiting for its delivery, else the next ``receive``."""
        waiting = [future for future in self._pending.values() if not future.done()]
        for future in waiting:
            future.set_exception(error)
        if not waiting:
            self._put(_Failed(error=error))

    # -- the Transport interface --------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closing:
            raise TransportError("the socket transport is closed", url=self._config.url)

    async def send(
        self,
        message: Outgoing,
        *,
        timeout: float,  # noqa: ASYNC109
        on_sent: Callable[[], object] | None = None,
    ) -> None:
        """Send a text or an event and wait for its ``message.delivered``; resend once after a reconnect.
        ``on_sent`` runs once the frame is written, while the echo is awaited."""
        self._check_open()
        check_sendable(message)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self._connect_timeout = timeout
        while True:
            if self._broken is not None:
                raise self._broken
            if self._drop is not None:
                notice = await self._recover(self._drop)
                if notice is not None:
                    self._put(notice)
            ws = self._ws
            if ws is None:
                raise TransportError("the socket transport is not connected", url=self._config.url)
            frame = self._protocol.send_message(message)
            trace_id = frame.trace_id
            # Written before the wait for its echo is set up: the echo is read only once this task awaits.
            try:
                written = ws.send_now(frame.text)
            except BaseException:
                self._protocol.forget(trace_id)
                raise
            future: asyncio.Future[_Dropped | _TimedOut | None] = loop.create_future()
            self._pending[trace_id] = future
            # The echo is awaited under a loop timer that settles the future: cheaper than a timeout context.
            timer = loop.call_at(deadline, _settle, future, _TIMED_OUT)
            try:
                try:
                    if not written:
                        async with asyncio.timeout_at(deadline):
                            await ws.send(frame.text)
                except ConnectionClosed:
                    async with asyncio.timeout_at(deadline):
                        await self._lost_recorded(ws)
                    continue
                if on_sent is not None:
                    on_sent()
                    on_sent = None  # once, not again for a resend
                outcome = await future
            except TimeoutError:
                outcome = _TIMED_OUT
            finally:
                timer.cancel()
                self._protocol.forget(trace_id)
                self._pending.pop(trace_id, None)
                if future.done() and not future.cancelled():
                    future.exception()  # mark a failure as seen; it was raised above if it mattered
            if outcome is None:
                return
            if outcome is _TIMED_OUT:
                raise TransportError(
                    f"no message.delivered for traceId {trace_id} within {timeout:g}s", url=self._config.url
                )
            # Dropped before the delivered echo: the server may never have seen it; reconnect and resend.

    async def _lost_recorded(self, ws: FrameConnection) -> None:
        """Let the connection record a close that ``send`` noticed first."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                await ws.wait_closed()
        self._check_open()
        if self._broken is not None:
            raise self._broken
        if self._drop is None:
            raise TransportError("the connection closed while sending", url=self._config.url)

    def prepare(self, message: Outgoing) -> None:
        """Encode the frame of the next ``message`` now: its send then only puts in the trace id."""
        self._protocol.prepare(message)

    def has_queued(self) -> bool:
        """Whether a reply, notice, drop or failure waits for ``receive`` (frames are handled as soon as the
        loop reads them; one not read yet is not waited for by a wait of 0 seconds)."""
        return bool(self._inbox)

    async def receive(self, timeout: float) -> Incoming | Notice | None:  # noqa: ASYNC109
        """The next reply or notice; ``None`` when nothing arrived within ``timeout``."""
        self._check_open()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if not self._inbox and not await self._wait_inbox(loop, deadline):
                return None
            item = self._inbox.popleft()
            if isinstance(item, _Dropped):
                notice = await self._recover(item)
                if notice is not None:
                    return notice
                continue  # a drop that send already recovered from
            if isinstance(item, _Failed):
                raise item.error
            return item

    async def _wait_inbox(self, loop: asyncio.AbstractEventLoop, deadline: float) -> bool:
        """Wait until the inbox holds an item (True) or ``deadline`` (the loop's clock) passes with none
        (False); yields to the loop once at least."""
        while True:
            waiter: asyncio.Future[bool] = loop.create_future()
            # A timer that ends the wait costs less than an asyncio.timeout context, and cannot cancel us.
            timer = loop.call_at(deadline, _settle, waiter, False)
            self._waiters.append(waiter)
            try:
                woken = await waiter
            finally:
                timer.cancel()
                self._waiters.remove(waiter)
            if self._inbox:
                return True
            if not woken:
                return False
            # Woken for an item another receive took first: wait on.

    async def _stop_tasks(self) -> None:
        """Close the current connection and end its pinger."""
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(WebSocketException, OSError):
                await ws.close()
            ws.detach()
        pinger, self._pinger = self._pinger, None
        if pinger is not None:
            pinger.cancel()
            # A bug in the pinger surfaces here; cancellation is the expected end.
            with contextlib.suppress(asyncio.CancelledError):
                await pinger

    async def aclose(self) -> None:
        if self._closing:
            return
        self._closing = True
        await self._stop_tasks()
        for future in self._pending.values():
            future.cancel()
        if self._owns_http:
            await self._http.aclose()


__all__ = ["PING_INTERVAL", "SocketTransport"]
