"""Helpers of the emulator server tests: bounded async runs, real clients (httpx, websockets), schema checks
and a real webhook receiver on 127.0.0.1 port 0."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from pytest_flowai import schemas
from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.emulator.server import QuietServer
from tests.helpers.emulators import API_KEY, CLIENT_ID

DEADLINE = 15.0
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout: float = DEADLINE) -> T:
    """Run a coroutine to completion in a fresh loop, failing if it takes longer than ``timeout``."""

    async def bounded() -> T:
        async with asyncio.timeout(timeout):
            return await coro

    return asyncio.run(bounded())


def client(url: str, key: str | None = API_KEY) -> httpx.AsyncClient:
    """An httpx client for the emulator at ``url``; sends ``Authorization: key`` unless key is None."""
    headers = {"Authorization": key} if key is not None else {}
    return httpx.AsyncClient(base_url=url, headers=headers, timeout=5.0, trust_env=False)


def valid(obj: JSON, name: str) -> JSON:
    """``obj`` after asserting it matches the protocol schema ``name`` (the violations are the message)."""
    problems = schemas.violations(obj, name)
    assert not problems, f"{name}: {problems}\n{json.dumps(obj)[:2000]}"
    return obj


def error_message(response: httpx.Response, status: int) -> str:
    """The message of a JSON error answer, after checking its status and its schema."""
    assert response.status_code == status, response.text
    body = valid(response.json(), "rest.error")
    assert isinstance(body, dict)
    return str(body["message"])


async def socket_endpoint(http: httpx.AsyncClient, client_id: str = CLIENT_ID) -> str:
    response = await http.get("/socket.info", params={"clientId": client_id, "sessionId": "s-1"})
    assert response.status_code == 200, response.text
    body = valid(response.json(), "socket.info")
    assert isinstance(body, dict)
    payload = body["payload"]
    assert isinstance(payload, dict)
    return str(payload["endpoint"])


@contextlib.asynccontextmanager
async def open_socket(url: str, client_id: str = CLIENT_ID) -> AsyncIterator[ClientConnection]:
    """A WebSocket to the emulator at ``url``, through socket.info as a real client does."""
    async with client(url, key=None) as http:
        endpoint = await socket_endpoint(http, client_id)
    async with connect(endpoint, open_timeout=5, close_timeout=2) as ws:
        yield ws


async def receive(ws: ClientConnection, within: float = 5.0) -> JSONObject:
    """The next frame, parsed, after checking it is a valid server frame."""
    async with asyncio.timeout(within):
        text = await ws.recv()
    frame = json.loads(text)
    valid(frame, "server-frame")
    assert isinstance(frame, dict)
    return frame


async def nothing_arrives(ws: ClientConnection) -> None:
    """Proves no frame is queued: a ping's pong is the very next frame."""
    await ws.send(json.dumps({"type": "ping"}))
    assert (await receive(ws))["type"] == "pong"


def send_frame(thread_id: str, speech: str, trace_id: int = 1, **extra: JSON) -> str:
    return json.dumps(
        {
            "type": "message.send",
            "payload": {"threadId": thread_id, "traceId": trace_id, "speech": speech, **extra},
        }
    )


async def until(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    """Poll ``check`` until true; TimeoutError after ``within`` seconds (for states only a poll can see)."""
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 - the state lives in another process or thread
            await asyncio.sleep(0.02)


def close_code(exc: ConnectionClosed) -> int:
    """The close code the server sent; 1006 when the connection was cut without a close frame."""
    return exc.rcvd.code if exc.rcvd is not None else 1006


# --- a real webhook receiver --------------------------------------------------------------------------


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1:0 that records every POSTed body and can fail the first attempts."""

    fail_first: int = 0
    fail_status: int = 500
    verify_status: int = 200
    bodies: asyncio.Queue[JSONObject] = field(default_factory=asyncio.Queue)
    attempts: int = 0
    verifications: int = 0
    url: str = ""

    async def next_body(self, within: float = 5.0) -> JSONObject:
        async with asyncio.timeout(within):
            return await self.bodies.get()

    async def endpoint(self, request: Request) -> Response:
        if request.method == "GET":
            self.verifications += 1
            return Response(status_code=self.verify_status)
        self.attempts += 1
        if self.attempts <= self.fail_first:
            return JSONResponse({"try": "again"}, status_code=self.fail_status)
        body = valid(await request.json(), "webhook")
        assert isinstance(body, dict)
        self.bodies.put_nowait(body)
        return Response(status_code=204)


@contextlib.asynccontextmanager
async def webhook_receiver(**options: Any) -> AsyncIterator[Receiver]:
    """Serve a ``Receiver`` in the running loop for the duration of the block."""
    receiver = Receiver(**options)
    app = Starlette(routes=[Route("/hook", receiver.endpoint, methods=["GET", "POST"])])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    receiver.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    server = QuietServer(uvicorn.Config(app, log_config=None, log_level="warning", lifespan="off"))
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(5):
            await server.startup_done.wait()
        assert server.started, "the webhook receiver did not start"
        yield receiver
    finally:
        server.should_exit = True
        await task
        sock.close()


async def register(
    http: httpx.AsyncClient, url: str, events: list[str], verify_key: str = "vk-1"
) -> JSONObject:
    response = await http.post(
        "/v1/messaging/webhooks", json={"url": url, "verifyKey": verify_key, "events": events}
    )
    assert response.status_code == 201, response.text
    body = valid(response.json(), "messaging.webhook")
    assert isinstance(body, dict)
    return body
