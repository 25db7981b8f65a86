"""Response delays per API: the socket sends a step's reply whole (the client applies delays), webhooks get
each delayed response in a later call (Flow.ai applies them), sync REST ignores them."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from pytest_flowai._json import JSONObject
from pytest_flowai.emulator import Emulator
from tests.helpers.dig import dig
from tests.helpers.emulator import (
    client,
    nothing_arrives,
    open_socket,
    receive,
    register,
    run,
    send_frame,
    webhook_receiver,
)
from tests.helpers.emulators import API_KEY, in_process

THREAD = "delay-thread|channel"
SAY_PACE: JSONObject = {"payload": {"type": "text", "speech": "pace"}}
# One step, three bubbles: "one" at once, "two" 20 ms later, "three" 30 ms after that.
PACED_FLOW: JSONObject = {
    "title": "Paced",
    "steps": [
        {
            "title": "Pace",
            "type": "INTENT",
            "intent": {"title": "pace", "examples": [{"query": "pace"}]},
            "actions": [
                {"type": "TEXT", "payload": {"texts": ["one"]}},
                {"type": "TEXT", "payload": {"texts": ["two"], "delay": 20}},
                {"type": "TEXT", "payload": {"texts": ["three"], "delay": 30}},
            ],
        }
    ],
}


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    path = tmp_path / "paced.json"
    path.write_text(json.dumps(PACED_FLOW), encoding="utf-8")
    return path


@asynccontextmanager
async def paced(flows: Path) -> AsyncIterator[Emulator]:
    emulator = await in_process(flows=flows)
    try:
        yield emulator
    finally:
        await emulator.stop()


def _texts(payload: object) -> list[str]:
    assert isinstance(payload, dict)
    return [r["payload"]["text"] for m in payload["messages"] for r in m["responses"]]


def test_socket_sends_the_step_in_one_frame_with_its_delays(flows: Path) -> None:
    """Over the socket the three bubbles come in one message.received frame, each with its delay in ms."""

    async def scenario() -> JSONObject:
        async with paced(flows) as emulator, open_socket(emulator.url) as ws:
            await ws.send(send_frame(THREAD, "pace"))
            assert (await receive(ws))["type"] == "message.delivered"
            reply = await receive(ws)
            await nothing_arrives(ws)
            return reply

    reply = run(scenario())
    responses = dig(reply, "payload", "messages", 0, "responses")
    assert [(dig(r, "payload", "text"), dig(r, "delay")) for r in responses] == [
        ("one", 0),
        ("two", 20),
        ("three", 30),
    ]


def test_rest_webhooks_get_each_delayed_response_later(flows: Path) -> None:
    """Without sync, each delayed bubble is a later `message` call, its delay after the one before."""

    async def scenario() -> list[tuple[float, list[str]]]:
        async with paced(flows) as emulator, webhook_receiver() as receiver, client(emulator.url) as http:
            await register(http, receiver.url, ["message"])
            await http.post(f"/rest/v1/messages/{THREAD}", json=SAY_PACE)
            calls = []
            for _ in range(3):
                body = await receiver.next_body()
                calls.append((time.monotonic(), _texts(body["payload"])))
            return calls

    calls = run(scenario())
    assert [texts for _, texts in calls] == [["one"], ["two"], ["three"]]
    assert calls[1][0] - calls[0][0] >= 0.015
    assert calls[2][0] - calls[1][0] >= 0.025


def test_messaging_api_webhooks_get_each_delayed_response_later(flows: Path) -> None:
    """The older Messaging API's `message.reply` calls are cut at delays the same way."""

    async def scenario() -> list[list[str]]:
        async with (
            paced(flows) as emulator,
            webhook_receiver() as receiver,
            client(emulator.url, f"Bearer {API_KEY}") as http,
        ):
            await register(http, receiver.url, ["message.reply"])
            body = {"threadId": THREAD, "type": "text", "text": "pace"}
            await http.post("/v1/messaging/message", json=body)
            return [_texts((await receiver.next_body())["payload"]) for _ in range(3)]

    assert run(scenario()) == [["one"], ["two"], ["three"]]


def test_sync_rest_answers_with_every_response_at_once(flows: Path) -> None:
    """Sync mode cannot delay (as Flow.ai documents): the answer holds all three bubbles, delays as given."""

    async def scenario() -> JSONObject:
        async with paced(flows) as emulator, client(emulator.url) as http:
            answer = await http.post(f"/rest/v1/messages/{THREAD}", params={"sync": "true"}, json=SAY_PACE)
            body = answer.json()
            assert isinstance(body, dict)
            return body

    assert _texts(run(scenario())["result"]) == ["one", "two", "three"]
