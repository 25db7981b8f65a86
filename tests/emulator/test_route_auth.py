"""Every route in the app's route table refuses a caller without the API key (the socket routes: one
without a known client id or endpoint), so a new route cannot slip in unguarded."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.routing import Route, WebSocketRoute
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from pytest_flowai.emulator import EmulatorSettings, EmulatorThread
from pytest_flowai.emulator.app import build_app
from tests.helpers.emulator import close_code, error_message, run
from tests.helpers.paths import DEMO_BOT

# Reached by clientId, not by the API key (the socket API is public, as in Flow.ai's web chat).
_PUBLIC = {"/socket.info", "/socket.info/"}
_APP = build_app(EmulatorSettings(flows=DEMO_BOT, api_key="unused"))
HTTP_ROUTES = sorted(
    (method, route.path)
    for route in _APP.routes
    if isinstance(route, Route)
    for method in sorted(route.methods or ())
    if method != "HEAD"
)
SOCKET_ROUTES = [route.path for route in _APP.routes if isinstance(route, WebSocketRoute)]


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "some-id", path)


def test_the_route_table_is_what_the_tests_walk() -> None:
    """The walk covers the REST, Messaging, management, admin and socket routes (none is filtered out)."""
    paths = {path for _method, path in HTTP_ROUTES}
    assert len(HTTP_ROUTES) >= 24
    assert {"/rest/v1/threads", "/v1/messaging/message", "/flows/list", "/emulator/v1/reset"} <= paths
    assert paths >= _PUBLIC
    assert SOCKET_ROUTES == ["/ws/{token}"]


@pytest.mark.parametrize(("method", "path"), [r for r in HTTP_ROUTES if r[1] not in _PUBLIC])
def test_every_route_wants_the_api_key(emu: EmulatorThread, method: str, path: str) -> None:
    """Without an Authorization header, or with a wrong key, each route answers 401."""

    async def scenario() -> tuple[str, str]:
        async with httpx.AsyncClient(base_url=emu.url, trust_env=False) as http:
            url = _concrete(path)
            missing = await http.request(method, url, json={"payload": {"type": "text", "speech": "x"}})
            wrong = await http.request(method, url, headers={"Authorization": "Bearer not-the-key"})
            return error_message(missing, 401), error_message(wrong, 401)

    missing, wrong = run(scenario())
    assert "missing Authorization header" in missing
    assert wrong == "invalid API key"


@pytest.mark.parametrize("path", sorted(_PUBLIC))
def test_socket_info_refuses_an_unknown_client_id(emu: EmulatorThread, path: str) -> None:
    """socket.info answers 401 for a client id the emulator does not know (an API key does not help)."""

    async def scenario() -> str:
        async with httpx.AsyncClient(base_url=emu.url, trust_env=False) as http:
            params = {"clientId": "a-stranger", "sessionId": "s"}
            answer = await http.get(path, params=params, headers={"Authorization": emu.api_key})
            return error_message(answer, 401)

    assert "unknown clientId" in run(scenario())


@pytest.mark.parametrize("path", SOCKET_ROUTES)
def test_the_websocket_refuses_an_endpoint_nobody_was_given(emu: EmulatorThread, path: str) -> None:
    """A WebSocket to an endpoint socket.info never handed out is closed with 1008."""

    async def scenario() -> int:
        url = emu.url.replace("http://", "ws://") + _concrete(path)
        async with connect(url, open_timeout=5) as ws:
            try:
                await ws.recv()
            except ConnectionClosed as exc:
                return close_code(exc)
        return 0

    assert run(scenario()) == 1008
