"""The webhook receiver: a loopback HTTP server in its own thread that checks each Flow.ai delivery and hands
it to the conversation of its thread (an asyncio queue on the session loop). Imports base and checks only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import socket
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pytest_flowai.errors import SchemaViolation, TransportError, cut
from pytest_flowai.transports.checks import TooDeep, check_schema, parse_json

if TYPE_CHECKING:
    from pytest_flowai._json import JSON, JSONObject

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
# What one delivery may weigh; a reply is kilobytes.
MAX_BODY_BYTES = 4 * 2**20
# The events that carry a bot's reply (REST webhook, Messaging API).
REPLY_EVENTS = frozenset({"message", "message.reply"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """One webhook call for a thread: its event and payload, or why it was refused (``problem``, or a
    ``violation`` of the webhook schema). ``at`` is its ``time.monotonic()`` of arrival."""

    event: str
    payload: JSONObject
    at: float
    problem: str | None = None
    violation: SchemaViolation | None = None


@dataclass(slots=True)
class _Inbox:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Delivery]


class _QuietServer(uvicorn.Server):
    """uvicorn without signal handlers: pytest owns Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


@dataclass(slots=True)
class _Counts:
    received: int = 0
    late: int = 0  # replies for a conversation that had ended
    warnings: list[str] = field(default_factory=list)


class WebhookReceiver:
    """Listens on ``host:port`` (port 0: any free one) for Flow.ai's webhook calls.

    A call is answered 200 when accepted (or when it names no live conversation: retrying would not help),
    400 when it is not a webhook body, 403 when its ``verifyKey`` is not one of ``verify_keys``. Every
    refusal reaches the conversation of its thread, or ``warnings`` when no conversation can be named.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, verify_keys: frozenset[str]) -> None:
        self.host = host
        self._port = port
        self.verify_keys = verify_keys
        self._inboxes: dict[str, _Inbox] = {}
        self._ended: set[str] = set()
        self._lock = threading.Lock()
        self._counts = _Counts()
        self._thread: threading.Thread | None = None
        self._server: _QuietServer | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # -- what the session and transports see --

    @property
    def port(self) -> int:
        return self._port

    @property
    def bind(self) -> str:
        """``host:port`` as the user would write it in ``flowai_webhook_bind``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self._port}"

    @property
    def url(self) -> str:
        """The receiver's own URL (what a loopback Flow.ai, the embedded emulator, calls)."""
        return f"http://{self.bind}/"

    @property
    def received(self) -> int:
        """How many calls arrived at all, good or bad."""
        return self._counts.received

    def warnings(self) -> list[str]:
        """Deliveries that could be given to no conversation, in order (a copy)."""
        with self._lock:
            late = self._counts.late
            found = list(self._counts.warnings)
        if late:
            found.append(
                f"{late} webhook repl{'y' if late == 1 else 'ies'} arrived after the conversation had"
                " ended, so no turn matched them (a last turn ends at its settle time)"
            )
        return found

    def subscribe(self, thread_id: str) -> asyncio.Queue[Delivery]:
        """The queue that gets ``thread_id``'s deliveries from now on; call it on the session loop."""
        queue: asyncio.Queue[Delivery] = asyncio.Queue()
        with self._lock:
            self._inboxes[thread_id] = _Inbox(asyncio.get_running_loop(), queue)
            self._ended.discard(thread_id)
        return queue

    def unsubscribe(self, thread_id: str) -> None:
        with self._lock:
            if self._inboxes.pop(thread_id, None) is not None:
                self._ended.add(thread_id)

    # -- running --

    def start(self) -> None:
        """Bind and serve in a thread; returns once it accepts connections, else raises ``TransportError``."""
        try:
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._port))
        except OSError as exc:
            sock.close()
            raise TransportError(
                f"the webhook receiver cannot listen on {self.bind}: {exc.strerror or exc}"
            ) from None
        self._port = int(sock.getsockname()[1])
        app = Starlette(routes=[Route("/{path:path}", self._endpoint, methods=["GET", "POST", "HEAD"])])
        config = uvicorn.Config(app, log_level="critical", lifespan="off", access_log=False)
        self._server = _QuietServer(config)
        self._thread = threading.Thread(target=self._main, args=(sock,), name="flowai-webhooks", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT) or self._error is not None:
            self.stop()
            raise TransportError(f"the webhook receiver did not start on {self.bind}: {self._error!r}")

    def _main(self, sock: socket.socket) -> None:
        async def serve() -> None:
            assert self._server is not None
            loop = asyncio.get_running_loop()
            loop.call_soon(self._wait_started)
            await self._server.serve(sockets=[sock])

        try:
            asyncio.run(serve())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
        finally:
            sock.close()

    def _wait_started(self) -> None:
        server = self._server
        if server is not None and server.started:
            self._ready.set()
            return
        asyncio.get_running_loop().call_later(0.005, self._wait_started)

    def stop(self) -> None:
        """Stop serving; safe to call twice."""
        server, thread = self._server, self._thread
        self._thread = None
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(STOP_TIMEOUT)

    # -- one call --

    async def _endpoint(self, request: Request) -> Response:
        if request.method != "POST":
            # Flow.ai GETs a webhook URL when it is registered and wants a 2xx.
            return JSONResponse({"status": "ok"})
        raw = await request.body()
        at = time.monotonic()
        with self._lock:
            self._counts.received += 1
        status, message = self._take(raw, at)
        return JSONResponse({"status": "ok" if status < 300 else "error", "message": message}, status)

    def _take(self, raw: bytes, at: float) -> tuple[int, str]:
        if len(raw) > MAX_BODY_BYTES:
            return self._refuse(None, 400, f"a webhook body of {len(raw)} bytes (over {MAX_BODY_BYTES})")
        try:
            body: JSON = parse_json(raw.decode("utf-8"))
        except (TooDeep, ValueError) as exc:
            return self._refuse(None, 400, f"a webhook body that is not JSON ({exc}): {cut(repr(raw), 120)}")
        thread = _thread_of(body)
        event = str(body.get("type")) if isinstance(body, dict) else "?"
        key = body.get("verifyKey") if isinstance(body, dict) else None
        if isinstance(key, str) and not any(hmac.compare_digest(key, good) for good in self.verify_keys):
            return self._refuse(
                thread,
                403,
                f"a webhook delivery ({event!r}) carried a wrong verifyKey, answered 403: the webhook"
                " Flow.ai calls is not the one this run registered, or flowai_webhook_verify_key is not"
                " the key set in the Flow.ai dashboard",
                event=event,
            )
        try:
            check_schema(body, "webhook")
        except SchemaViolation as exc:
            return self._refuse(thread, 400, "a webhook body that breaks the schema 'webhook'", violation=exc)
        assert isinstance(body, dict)
        payload = body["payload"]
        assert isinstance(payload, dict)
        if thread is None:
            return self._refuse(None, 200, f"a webhook delivery ({event!r}) that names no thread")
        delivery = Delivery(event=event, payload=payload, at=at)
        if not self._hand_over(thread, delivery):
            with self._lock:
                if thread in self._ended:
                    # A reply the bot sent after the spec ended is worth a warning; a state event
                    # (paused, delivered) about a finished conversation is not.
                    self._counts.late += event in REPLY_EVENTS
                    return 200, "accepted"
            return self._refuse(
                None, 200, f"a webhook delivery ({event!r}) for unknown thread {cut(thread, 100)}"
            )
        return 200, "accepted"

    def _refuse(
        self,
        thread: str | None,
        status: int,
        text: str,
        *,
        event: str = "?",
        violation: SchemaViolation | None = None,
    ) -> tuple[int, str]:
        """Report a delivery that no conversation may match: to its conversation, else a session warning."""
        delivery = Delivery(event=event, payload={}, at=time.monotonic(), problem=text, violation=violation)
        if thread is None or not self._hand_over(thread, delivery):
            with self._lock:
                self._counts.warnings.append(text + (f": {violation}" if violation else ""))
        return status, text

    def _hand_over(self, thread: str, delivery: Delivery) -> bool:
        with self._lock:
            inbox = self._inboxes.get(thread)
        if inbox is None:
            return False
        try:
            inbox.loop.call_soon_threadsafe(inbox.queue.put_nowait, delivery)
        except RuntimeError:  # the session loop is closed: the run is ending
            return False
        return True


def _thread_of(body: JSON) -> str | None:
    payload = body.get("payload") if isinstance(body, dict) else None
    thread = payload.get("threadId") if isinstance(payload, dict) else None
    return thread if isinstance(thread, str) and thread else None


__all__ = ["Delivery", "WebhookReceiver"]
