"""Each emulator fault, seen by real clients: the failure paths a Flow.ai client must survive."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from pytest_flowai import schemas
from pytest_flowai._json import JSONObject
from pytest_flowai.emulator import Fault
from tests.helpers.emulator import (
    client,
    close_code,
    error_message,
    nothing_arrives,
    open_socket,
    receive,
    run,
    until,
)
from tests.helpers.emulators import in_process

THREAD = "fault-thread"
SAY_BYE = {"payload": {"type": "text", "speech": "bye"}}
BYE_FRAME = json.dumps({"type": "message.send", "payload": {"threadId": THREAD, "speech": "bye"}})


def test_invalid_reply_breaks_the_template_schema() -> None:
    """Fault invalid-reply: every reply message carries an image without url, over the socket and REST."""

    async def scenario() -> tuple[str, object]:
        emulator = await in_process(fault=Fault.INVALID_REPLY)
        try:
            async with open_socket(emulator.url) as ws:
                await ws.send(BYE_FRAME)
                await receive(ws)
                async with asyncio.timeout(5):
                    frame = await ws.recv()
            async with client(emulator.url) as http:
                response = await http.post(f"/rest/v1/messages/{THREAD}?sync=true", json=SAY_BYE)
            return str(frame), response.json()
        finally:
            await emulator.stop()

    frame, body = run(scenario())
    frame_problems = [str(v) for v in schemas.violations(json.loads(frame), "server-frame")]
    body_problems = [str(v) for v in schemas.violations(body, "rest.sync-result")]  # type: ignore[arg-type]
    assert frame_problems == ["payload.messages[0].responses[1].payload.url: required"]
    assert body_problems == ["result.messages[0].responses[1].payload.url: required"]


def test_garbage_sends_non_json() -> None:
    """Fault garbage: a non-JSON text frame instead of message.received; a 200 non-JSON sync REST body."""

    async def scenario() -> tuple[str, httpx.Response]:
        emulator = await in_process(fault=Fault.GARBAGE)
        try:
            async with open_socket(emulator.url) as ws:
                await ws.send(BYE_FRAME)
                await receive(ws)
                async with asyncio.timeout(5):
                    frame = str(await ws.recv())
            async with client(emulator.url) as http:
                response = await http.post(f"/rest/v1/messages/{THREAD}?sync=true", json=SAY_BYE)
            return frame, response
        finally:
            await emulator.stop()

    frame, response = run(scenario())
    for text in (frame, response.text):
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)
    assert response.status_code == 200


def test_drop_cuts_the_connection_after_the_first_reply() -> None:
    """Fault drop: the first message's reply arrives, then the connection is cut without a close frame."""

    async def scenario() -> tuple[list[str], int]:
        emulator = await in_process(fault=Fault.DROP)
        try:
            async with open_socket(emulator.url) as ws:
                await ws.send(BYE_FRAME)
                kinds = [str((await receive(ws))["type"]), str((await receive(ws))["type"])]
                with pytest.raises(ConnectionClosed) as closed:
                    await receive(ws)
                return kinds, close_code(closed.value)
        finally:
            await emulator.stop()

    assert run(scenario()) == (["message.delivered", "message.received"], 1006)


def test_hang_delivers_but_never_replies() -> None:
    """Fault hang: the socket echoes but never replies; sync REST holds the request until the client quits."""

    async def scenario() -> type[BaseException]:
        emulator = await in_process(fault=Fault.HANG)
        try:
            async with open_socket(emulator.url) as ws:
                await ws.send(BYE_FRAME)
                assert (await receive(ws))["type"] == "message.delivered"
                await nothing_arrives(ws)
            async with client(emulator.url) as http:
                try:
                    await http.post(f"/rest/v1/messages/{THREAD}?sync=true", json=SAY_BYE, timeout=0.3)
                except httpx.ReadTimeout as exc:
                    return type(exc)
                return type(None)  # type: ignore[return-value]
        finally:
            await emulator.stop()

    assert run(scenario()) is httpx.ReadTimeout


def test_hang_lets_the_emulator_stop_promptly() -> None:
    """A request held by fault hang does not keep the emulator from stopping: it gets a 503."""

    async def scenario() -> tuple[float, httpx.Response]:
        emulator = await in_process(fault=Fault.HANG)
        async with client(emulator.url) as http:
            held = asyncio.ensure_future(http.post(f"/rest/v1/messages/{THREAD}?sync=true", json=SAY_BYE))

            async def reached() -> bool:
                history = await http.get(f"/rest/v1/messages/{THREAD}?sync=true")
                return bool(history.json()["result"]["history"])

            await until(reached)
            started = time.monotonic()
            await emulator.stop()
            return time.monotonic() - started, await held

    took, response = run(scenario())
    assert took < 3
    assert "stopping" in error_message(response, 503)


def test_error_replaces_the_reply() -> None:
    """Fault error: an error frame after message.delivered; a 503 JSON error over REST."""

    async def scenario() -> tuple[JSONObject, httpx.Response, httpx.Response]:
        emulator = await in_process(fault=Fault.ERROR)
        try:
            async with open_socket(emulator.url) as ws:
                await ws.send(BYE_FRAME)
                await receive(ws)
                frame = await receive(ws)
            async with client(emulator.url) as http:
                sync = await http.post(f"/rest/v1/messages/{THREAD}?sync=true", json=SAY_BYE)
                background = await http.post(f"/rest/v1/messages/{THREAD}", json=SAY_BYE)
            return frame, sync, background
        finally:
            await emulator.stop()

    frame, sync, background = run(scenario())
    assert frame["type"] == "error"
    assert "fault" in str(frame["message"])
    for response in (sync, background):
        assert "fault" in error_message(response, 503)


def test_wrong_once_answers_each_conversation_wrongly_the_first_time_only() -> None:
    """Fault wrong-once: a conversation's first reply has its text replaced; its next thread and later
    messages get the bot's own answer, and another conversation gets its own wrong first answer."""

    async def texts_of(emulator_url: str, thread: str) -> str:
        async with client(emulator_url) as http:
            response = await http.post(f"/rest/v1/messages/{thread}?sync=true", json=SAY_BYE)
        return str(response.json()["result"]["messages"][0]["responses"][0]["payload"]["text"])

    async def scenario() -> list[str]:
        emulator = await in_process(fault=Fault.WRONG_ONCE)
        try:
            threads = ["conv-a~run1", "conv-a~run1", "conv-a~run2", "conv-b~run1"]
            return [await texts_of(emulator.url, thread) for thread in threads]
        finally:
            await emulator.stop()

    first, again, rerun, other = run(scenario())
    wrong = "emulator fault 'wrong-once': a wrong first answer"
    assert (first, other) == (wrong, wrong)
    assert again == rerun != wrong
