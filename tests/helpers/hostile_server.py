"""A hostile Flow.ai server for tests: socket.info, the WebSocket and sync REST, misbehaving on cue.

What a user message says picks the fault (`say: close 1011`); anything else gets an honest echo reply
(`You said: hello`). Faults of `socket.info` and of the handshake cannot be picked by a message that is not
sent yet: the message arms them for the next connection (a `secret.generated` carrying the fault, then a
close the client recovers from), and the reconnect's `socket.info` (which sends the secret back) gets them.
Served by uvicorn on 127.0.0.1 port 0 in a thread of its own.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

FOREIGN_THREAD = "someone-else-entirely|o_hostile"
BIG = 5 * 2**20  # over the 4 MiB default cap
DEEP = 100_000
ARM = "fault:"  # prefix of a secret that arms a connection-time fault
# Faults of the next socket.info or handshake, armed by a message of the same name.
CONNECT_FAULTS = (
    "bad endpoint port",
    "bad endpoint host",
    "socket.info deep json",
    "socket.info redirect",
    "socket.info hang",
    "handshake hang",
)


def reply(thread: str, text: str) -> dict[str, Any]:
    """A schema-valid reply payload with one text bubble."""
    return {
        "threadId": thread,
        "messages": [{"fallback": text, "responses": [{"type": "text", "payload": {"text": text}}]}],
    }


def deep_json() -> str:
    """A JSON text nested far past any limit."""
    return "[" * DEEP + "]" * DEEP


class HostileServer:
    """The app and its state: how often each (thread, speech) was posted, for the retry cases."""

    def __init__(self) -> None:
        self.posts: Counter[tuple[str, str]] = Counter()
        self.port = 0
        self._stop = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/socket.info", self.socket_info),
                Route("/rest/v1/messages/{thread:path}", self.rest_send, methods=["POST"]),
                WebSocketRoute("/ws/{token}", self.ws),
            ]
        )

    async def _forever(self) -> None:
        await self._stop.wait()

    # -- socket.info ------------------------------------------------------------------------------

    async def socket_info(self, request: Request) -> Response:
        secret = request.headers.get("x-flowai-secret", "")
        fault = secret.removeprefix(ARM) if secret.startswith(ARM) else ""
        endpoint = f"ws://127.0.0.1:{self.port}/ws/{uuid.uuid4().hex}"
        if fault == "bad endpoint port":
            endpoint = f"ws://127.0.0.1:99999/ws/{uuid.uuid4().hex}"
        elif fault == "bad endpoint host":
            endpoint = "ws://" + "x" * 70 + ".invalid/ws/t"
        elif fault == "socket.info deep json":
            return Response(deep_json(), media_type="application/json")
        elif fault == "socket.info redirect":
            return Response(status_code=302, headers={"location": "https://elsewhere.invalid/socket.info"})
        elif fault == "socket.info hang":
            await self._forever()
        elif fault == "handshake hang":
            endpoint = f"ws://127.0.0.1:{self.port}/ws/hang"
        return JSONResponse({"status": "ok", "payload": {"endpoint": endpoint}})

    # -- the WebSocket ----------------------------------------------------------------------------

    async def ws(self, websocket: WebSocket) -> None:
        if websocket.path_params["token"] == "hang":
            await self._forever()  # never accepted: the handshake never completes
            return
        await websocket.accept()
        try:
            while True:
                frame = json.loads(await websocket.receive_text())
                if frame.get("type") == "ping":
                    await websocket.send_text(json.dumps({"type": "pong"}))
                elif frame.get("type") == "message.send" and not await self._answer(
                    websocket, frame["payload"]
                ):
                    return
        except WebSocketDisconnect:
            return

    async def _answer(self, websocket: WebSocket, payload: dict[str, Any]) -> bool:
        """Answer one message.send as its speech says; False when the connection is to end."""
        thread, speech = payload["threadId"], payload.get("speech", "")
        if speech == "no delivery":
            return True
        delivered = {"threadId": thread, "traceId": payload["traceId"], "metadata": {}}
        await websocket.send_text(json.dumps({"type": "message.delivered", "payload": delivered}))
        received = json.dumps({"type": "message.received", "payload": reply(thread, f"You said: {speech}")})
        if speech == "close 1011":
            await websocket.close(code=1011, reason="internal error")
            return False
        if speech == "close 1006":
            return False  # returning without a close frame: the TCP connection is cut
        if speech in CONNECT_FAULTS:
            armed = {"type": "secret.generated", "payload": {"secret": ARM + speech}}
            await websocket.send_text(json.dumps(armed))
            await websocket.close(code=1012, reason="service restart")
            return False
        if speech == "hang":
            return True
        if speech == "invalid utf-8":
            # ASGI text frames are str, so the bytes that are not UTF-8 go out in a binary frame.
            await websocket.send_bytes(b'{"type": "message.received", "payload": "\xff\xfe"}')
            return True
        text: Callable[[], str] | None = {
            "frame 5MB": lambda: json.dumps(
                {"type": "message.received", "payload": reply(thread, "x" * BIG)}
            ),
            "deep json": deep_json,
            "garbage": lambda: "<html><body>502 Bad Gateway</body></html>",
            "error frame": lambda: json.dumps({"type": "error", "message": "hostile: overloaded"}),
            "off schema": lambda: json.dumps({"type": "message.received", "payload": {"threadId": thread}}),
            "foreign thread": lambda: json.dumps(
                {"type": "message.received", "payload": reply(FOREIGN_THREAD, f"You said: {speech}")}
            ),
        }.get(speech)
        await websocket.send_text(text() if text is not None else received)
        if speech == "duplicate":
            await websocket.send_text(received)
        return True

    # -- sync REST --------------------------------------------------------------------------------

    async def rest_send(self, request: Request) -> Response:
        thread = request.path_params["thread"]
        body = await request.json()
        speech = str(body.get("payload", {}).get("speech", ""))
        self.posts[thread, speech] += 1
        ok = {"status": "ok", "result": reply(thread, f"You said: {speech}")}
        if speech == "redirect":
            return Response(status_code=302, headers={"location": "https://elsewhere.invalid/rest/v1/x"})
        if speech == "status 429" and self.posts[thread, speech] == 1:
            return JSONResponse({"status": "error", "message": "slow down"}, 429, {"retry-after": "0.1"})
        if speech == "status 429 forever":
            return JSONResponse({"status": "error", "message": "slow down"}, 429, {"retry-after": "0.1"})
        if speech == "status 429 later":
            return JSONResponse({"status": "error", "message": "slow down"}, 429, {"retry-after": "3600"})
        if speech == "status 503":
            return JSONResponse({"status": "error", "message": "hostile: overloaded"}, 503)
        if speech == "garbage":
            return Response("<html><body>502 Bad Gateway</body></html>", media_type="text/html")
        if speech == "deep json":
            return Response(deep_json(), media_type="application/json")
        if speech == "invalid utf-8":
            return Response(b'{"status": "ok", "result": "\xff\xfe"}', media_type="application/json")
        if speech == "body 5MB":
            return StreamingResponse(self._big_body(), media_type="application/json")
        if speech == "foreign thread":
            return JSONResponse({"status": "ok", "result": reply(FOREIGN_THREAD, f"You said: {speech}")})
        if speech == "hang":
            await self._forever()
        return JSONResponse(ok)

    async def _big_body(self) -> AsyncIterator[bytes]:
        chunk = b" " * 2**16
        for _ in range(BIG // len(chunk) + 1):
            yield chunk
        yield b"{}"


class _Server(uvicorn.Server):
    """uvicorn, telling a waiting thread once it listens."""

    def __init__(self, config: uvicorn.Config, started: threading.Event) -> None:
        super().__init__(config)
        self._started = started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self._started.set()


class HostileThread:
    """The hostile server in a background thread: ``with HostileThread() as server: server.url``."""

    def __init__(self) -> None:
        self.server = HostileServer()
        self._uvicorn: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def __enter__(self) -> HostileThread:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.server.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.server.app(), log_level="critical", lifespan="off", timeout_graceful_shutdown=1
        )
        started = threading.Event()
        self._uvicorn = server = _Server(config, started)

        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            self.server._stop = asyncio.Event()
            await server.serve(sockets=[sock])

        self._thread = threading.Thread(target=lambda: asyncio.run(serve()), name="hostile", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the hostile server did not start within 10 s")
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.server._stop.set)
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(10)


def main() -> None:
    """Serve until interrupted, printing the URL (for trying the cases by hand)."""
    with HostileThread() as server:
        print(server.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
