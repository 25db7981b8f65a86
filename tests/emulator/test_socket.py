"""The emulator's socket API: socket.info, single-use endpoints, frames, errors, delays, idle timeout."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from pytest_flowai._json import JSONObject
from pytest_flowai.emulator import EmulatorThread
from tests.helpers.dig import dig
from tests.helpers.emulator import (
    client,
    close_code,
    error_message,
    nothing_arrives,
    open_socket,
    receive,
    run,
    send_frame,
    socket_endpoint,
    valid,
)
from tests.helpers.emulators import CLIENT_ID, in_process

THREAD = "2f7c0d0e4a4b4f5e9b1f6c3a2d1e0f9a|channel-7"


def test_message_send_gets_delivered_then_received(emu: EmulatorThread) -> None:
    """message.send is echoed as message.delivered (with metadata and traceId), then the reply arrives."""

    async def scenario() -> tuple[JSONObject, JSONObject]:
        async with open_socket(emu.url) as ws:
            await ws.send(send_frame(THREAD, "hello", trace_id=1519091841664))
            return await receive(ws), await receive(ws)

    delivered, received = run(scenario())
    assert delivered["type"] == "message.delivered"
    assert delivered["payload"] == {
        "threadId": THREAD,
        "traceId": 1519091841664,
        "speech": "hello",
        "metadata": {},
        "originator": {"name": "anonymous", "role": "external", "profile": {}},
    }
    assert received["type"] == "message.received"
    payload = received["payload"]
    assert dig(payload, "threadId") == THREAD
    assert dig(payload, "messages", 0, "step", "stepId") == "hello"


def test_sdk_shaped_client_is_accepted(emu: EmulatorThread) -> None:
    """What Flow.ai's JavaScript SDK sends works: identity headers ("null" = absent), nonce, events."""

    async def scenario() -> tuple[JSONObject, JSONObject]:
        headers = {
            "x-flowai-clientid": emu.client_id,
            "x-flowai-sessionid": "sdk-session",
            "x-flowai-threadid": "null",
            "x-flowai-secret": "null",
        }
        async with client(emu.url, key=None) as http:
            answer = await http.get("/socket.info", headers=headers)
        endpoint = dig(valid(answer.json(), "socket.info"), "payload", "endpoint")
        frame = {
            "type": "message.send",
            "payload": {
                "threadId": THREAD,
                "traceId": 7,
                "speech": "event attachment",
                "nonce": "abc",
                "originator": {"name": "Jo", "role": "external", "profile": {}},
                "metadata": {"timezone": 1, "contexts": [], "params": {}, "domain": {"realm": "server"}},
                "attachment": {"type": "event", "payload": {"name": "INTRO"}},
            },
        }
        async with connect(endpoint, open_timeout=5) as ws:
            await ws.send(json.dumps(frame))
            return await receive(ws), await receive(ws)

    delivered, received = run(scenario())
    assert dig(delivered, "payload", "metadata", "domain") == {"realm": "server"}
    message = dig(received, "payload", "messages", 0)
    assert dig(message, "step", "stepId") == "intro"
    assert dig(message, "replyTo") == "event attachment"


def test_ping_pong_and_silent_frames(emu: EmulatorThread) -> None:
    """ping gets pong; thread.noticed and activity.user.typing are accepted without any answer."""

    async def scenario() -> None:
        async with open_socket(emu.url) as ws:
            await ws.send(json.dumps({"type": "thread.noticed", "payload": {"threadId": THREAD}}))
            await ws.send(json.dumps({"type": "activity.user.typing", "payload": {"threadId": THREAD}}))
            await nothing_arrives(ws)

    run(scenario())


@pytest.mark.parametrize(
    ("frame", "words"),
    [
        ("not json", "not valid JSON"),
        ("[1]", "JSON object"),
        ('{"payload": {}}', "type: missing"),
        ('{"type": "message.sned"}', "unknown frame type 'message.sned'"),
        ('{"type": "message.send"}', "payload: required"),
        ('{"type": "message.send", "payload": {"speech": "hi"}}', "payload.threadId: required"),
        ('{"type": "message.send", "payload": {"threadId": "", "speech": "hi"}}', "payload.threadId"),
        ('{"type": "message.send", "payload": {"threadId": "t", "speech": 3}}', "payload.speech"),
        ('{"type": "message.send", "payload": {"threadId": "t", "speech": "a", "traceId": "1"}}', "traceId"),
        (json.dumps({"type": "message.send", "payload": {"threadId": "t", "speech": "y" * 256}}), "255"),
        (
            json.dumps(
                {"type": "message.send", "payload": {"threadId": "t", "speech": "a", "attachment": {}}}
            ),
            "attachment",
        ),
        ("x" * (1024 * 1024 + 1), "limit"),
        ('{"type": "message.send", "payload": {"threadId": "t", "speech": "\\ud83d"}}', "surrogate"),
    ],
)
def test_bad_frames_get_an_error_frame_and_the_connection_stays(
    emu: EmulatorThread, frame: str, words: str
) -> None:
    """Each kind of bad frame gets an error frame naming the problem, and the connection stays usable."""

    async def scenario() -> JSONObject:
        async with open_socket(emu.url) as ws:
            await ws.send(frame)
            error = await receive(ws)
            await nothing_arrives(ws)
            return error

    error = run(scenario())
    assert error["type"] == "error"
    assert words in str(error["message"])
    assert len(str(error["message"])) < 400


def test_frame_rate_is_limited() -> None:
    """Frames beyond the rate limit get an error frame each; the connection stays usable."""

    async def scenario() -> list[str]:
        emulator = await in_process(max_frames_per_second=5)
        try:
            async with open_socket(emulator.url) as ws:
                for _ in range(10):
                    await ws.send(json.dumps({"type": "ping"}))
                return [str((await receive(ws)).get("message", "pong")) for _ in range(10)]
        finally:
            await emulator.stop()

    answers = run(scenario())
    assert answers[:5] == ["pong"] * 5
    assert any("rate limit: more than 5 frames a second" in answer for answer in answers[5:])


def test_binary_frames_get_an_error(emu: EmulatorThread) -> None:
    """A binary frame is answered with an error frame; the socket API speaks JSON text."""

    async def scenario() -> JSONObject:
        async with open_socket(emu.url) as ws:
            await ws.send(b"\x00\x01")
            return await receive(ws)

    assert "binary" in str(run(scenario())["message"])


@pytest.mark.parametrize(
    ("params", "headers", "status", "words"),
    [
        ({"sessionId": "s"}, {}, 400, "clientId"),
        ({"clientId": "someone-else", "sessionId": "s"}, {}, 401, "someone-else"),
        ({"clientId": CLIENT_ID}, {}, 400, "sessionId"),
        ({}, {"x-flowai-clientid": "null", "x-flowai-sessionid": "s"}, 400, "clientId"),
        ({}, {"x-flowai-clientid": CLIENT_ID, "x-flowai-sessionid": "undefined"}, 400, "sessionId"),
    ],
)
def test_socket_info_rejects_bad_identity(
    emu: EmulatorThread, params: dict[str, str], headers: dict[str, str], status: int, words: str
) -> None:
    """socket.info needs a known clientId and a sessionId, in the query or the SDK's headers."""

    async def scenario() -> httpx.Response:
        async with client(emu.url, key=None) as http:
            return await http.get("/socket.info", params=params, headers=headers)

    assert words in error_message(run(scenario()), status)


def test_socket_info_with_a_trailing_slash_as_documented(emu: EmulatorThread) -> None:
    """``socket.info/?clientId=...``, as the socket document's examples write it, gives an endpoint too."""

    async def scenario() -> httpx.Response:
        async with client(emu.url, key=None) as http:
            return await http.get("/socket.info/", params={"clientId": emu.client_id, "sessionId": "1234"})

    response = run(scenario())
    assert response.status_code == 200, response.text
    assert dig(valid(response.json(), "socket.info"), "payload", "endpoint").startswith("ws://")


def test_browser_web_chat_may_ask_socket_info_across_origins(emu: EmulatorThread) -> None:
    """A browser's CORS preflight for socket.info with the SDK's headers is allowed, and so is the GET."""

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        origin = {"Origin": "http://localhost:3000"}
        async with client(emu.url, key=None) as http:
            preflight = await http.options(
                "/socket.info",
                headers={
                    **origin,
                    "Access-Control-Request-Method": "GET",
                    "Access-Control-Request-Headers": "x-flowai-clientid,x-flowai-sessionid",
                },
            )
            answer = await http.get(
                "/socket.info",
                headers={**origin, "x-flowai-clientid": emu.client_id, "x-flowai-sessionid": "s-9"},
            )
            return preflight, answer

    preflight, answer = run(scenario())
    assert preflight.status_code == 200, preflight.text
    assert "x-flowai-clientid" in preflight.headers["access-control-allow-headers"].lower()
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == "*"


def test_endpoints_are_single_use(emu: EmulatorThread) -> None:
    """A second connection to the same endpoint, or to a made-up one, is closed with 1008 and a reason."""

    async def scenario() -> list[tuple[int, str]]:
        async with client(emu.url, key=None) as http:
            endpoint = await socket_endpoint(http)
        closes = []
        async with connect(endpoint, open_timeout=5) as first:
            await first.send(json.dumps({"type": "ping"}))
            await receive(first)
            for url in (endpoint, endpoint.rsplit("/", 1)[0] + "/made-up"):
                async with connect(url, open_timeout=5) as again:
                    with pytest.raises(ConnectionClosed) as closed:
                        await receive(again)
                    closes.append(
                        (close_code(closed.value), closed.value.rcvd.reason if closed.value.rcvd else "")
                    )
        return closes

    for code, reason in run(scenario()):
        assert code == 1008
        assert "socket.info" in reason


def test_endpoints_expire() -> None:
    """An endpoint not used within its lifetime is refused with 1008 saying it expired."""

    async def scenario() -> tuple[int, str]:
        emulator = await in_process(endpoint_ttl=0.05)
        try:
            async with client(emulator.url, key=None) as http:
                endpoint = await socket_endpoint(http)
            await asyncio.sleep(0.15)  # outlive the endpoint: the passing of time is what is tested
            async with connect(endpoint, open_timeout=5) as ws:
                with pytest.raises(ConnectionClosed) as closed:
                    await receive(ws)
            rcvd = closed.value.rcvd
            return close_code(closed.value), rcvd.reason if rcvd else ""
        finally:
            await emulator.stop()

    code, reason = run(scenario())
    assert code == 1008
    assert "expired" in reason


def test_idle_connections_are_closed() -> None:
    """A connection that sends no frame for the idle timeout is closed by the server with a reason."""

    async def scenario() -> tuple[int, str, float]:
        emulator = await in_process(idle_timeout=0.3)
        try:
            async with open_socket(emulator.url) as ws:
                started = time.monotonic()
                with pytest.raises(ConnectionClosed) as closed:
                    await receive(ws)
                rcvd = closed.value.rcvd
                return close_code(closed.value), rcvd.reason if rcvd else "", time.monotonic() - started
        finally:
            await emulator.stop()

    code, reason, waited = run(scenario())
    assert code == 1001
    assert "no frame" in reason
    assert 0.2 < waited < 3


def test_a_step_arrives_in_one_frame_with_its_delays(emu: EmulatorThread) -> None:
    """A reply with delayed responses comes in one frame, each response keeping its delay for the client."""

    async def scenario() -> JSONObject:
        async with open_socket(emu.url) as ws:
            await ws.send(send_frame(THREAD, "menu"))
            await receive(ws)  # delivered
            reply = await receive(ws)
            await nothing_arrives(ws)
            return reply

    reply = run(scenario())
    assert reply["type"] == "message.received"
    (message,) = dig(reply, "payload", "messages")
    assert [(dig(r, "type"), dig(r, "delay")) for r in dig(message, "responses")] == [
        ("text", 0),
        ("carousel", 300),
    ]


def test_replies_keep_their_order_across_messages(emu: EmulatorThread) -> None:
    """Two messages sent at once are answered in order, each reply whole in its own frame."""

    async def scenario() -> list[str]:
        async with open_socket(emu.url) as ws:
            await ws.send(send_frame(THREAD, "menu", trace_id=1))
            await ws.send(send_frame(THREAD, "bye", trace_id=2))
            kinds = []
            for _ in range(4):
                frame = await receive(ws)
                if frame["type"] == "message.delivered":
                    kinds.append(f"delivered {dig(frame, 'payload', 'traceId')}")
                else:
                    responses = dig(frame, "payload", "messages", 0, "responses")
                    kinds.append("+".join(dig(r, "type") for r in responses))
            return kinds

    kinds = run(scenario())
    assert kinds[0] == "delivered 1"
    assert [k for k in kinds if not k.startswith("delivered")] == ["text+carousel", "text"]


def test_latency_delays_every_reply() -> None:
    """With latency set, the reply comes at least that long after the message.delivered echo."""

    async def scenario() -> float:
        emulator = await in_process(latency_ms=250)
        try:
            async with open_socket(emulator.url) as ws:
                await ws.send(send_frame(THREAD, "bye"))
                await receive(ws)
                started = time.monotonic()
                await receive(ws)
                return time.monotonic() - started
        finally:
            await emulator.stop()

    assert run(scenario()) >= 0.2


def test_paused_thread_gets_delivered_but_no_reply(emu: EmulatorThread) -> None:
    """On a paused thread the socket echoes the message but the bot stays silent."""

    async def scenario() -> JSONObject:
        async with client(emu.url) as http:
            await http.post(f"/rest/v1/pause/{THREAD}")
        async with open_socket(emu.url) as ws:
            await ws.send(send_frame(THREAD, "hello"))
            delivered = await receive(ws)
            await nothing_arrives(ws)
            return delivered

    assert run(scenario())["type"] == "message.delivered"


def test_moderator_over_the_socket_pauses(emu: EmulatorThread) -> None:
    """A moderator's message over the socket gets no reply and pauses the thread."""

    async def scenario() -> bool:
        async with open_socket(emu.url) as ws:
            await ws.send(send_frame(THREAD, "hello", originator={"name": "Agent", "role": "moderator"}))
            await receive(ws)
            await nothing_arrives(ws)
        async with client(emu.url) as http:
            status = (await http.get(f"/rest/v1/pause/{THREAD}?sync=true")).json()
        return bool(status["isPaused"])

    assert run(scenario()) is True
