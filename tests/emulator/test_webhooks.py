"""Messaging API webhooks: CRUD, and delivery to a real receiver on loopback, with retries and failures."""

from __future__ import annotations

import logging

import httpx
import pytest

from pytest_flowai._json import JSONObject
from pytest_flowai.emulator import EmulatorThread
from tests.helpers.dig import dig
from tests.helpers.emulator import (
    client,
    error_message,
    open_socket,
    receive,
    register,
    run,
    send_frame,
    until,
    valid,
    webhook_receiver,
)
from tests.helpers.emulators import API_KEY

THREAD = "hook-thread|channel"


def say(speech: str) -> JSONObject:
    return {"payload": {"type": "text", "speech": speech}}


def test_webhook_crud(emu: EmulatorThread) -> None:
    """Create (201 + Location, after a verification GET), get, list newest first, update, delete (204)."""

    async def scenario() -> dict[str, object]:
        async with webhook_receiver() as receiver, client(emu.url) as http:
            first = await register(http, receiver.url, ["message.reply"], verify_key="one")
            created = await http.post(
                "/v1/messaging/webhooks",
                json={"url": receiver.url, "verifyKey": "two", "events": ["message"]},
            )
            second = created.json()
            listed = valid((await http.get("/v1/messaging/webhooks")).json(), "messaging.webhook-list")
            path = f"/v1/messaging/webhooks/{first['webhookId']}"
            got = (await http.get(path)).json()
            put = (await http.put(path, json={"events": ["message.reply", "control.handover"]})).json()
            posted = (await http.post(path, json={"verifyKey": "uno"})).json()
            deleted = await http.delete(path)
            return {
                "verifications": receiver.verifications,
                "location": created.headers["location"],
                "second": second,
                "listed": [dig(item, "verifyKey") for item in dig(listed, "items")],
                "got": got == first,
                "put": (put["events"], put["verifyKey"], put["url"] == receiver.url),
                "posted": (posted["events"], posted["verifyKey"]),
                "deleted": (deleted.status_code, deleted.content),
                "after": (await http.get(path)).status_code,
                "again": (await http.delete(path)).status_code,
            }

    seen = run(scenario())
    assert seen["verifications"] == 2
    assert seen["location"] == f"/v1/messaging/webhooks/{seen['second']['webhookId']}"  # type: ignore[index]
    assert seen["listed"] == ["two", "one"]
    assert seen["got"] is True
    assert seen["put"] == (["message.reply", "control.handover"], "one", True)
    assert seen["posted"] == (["message.reply", "control.handover"], "uno")
    assert seen["deleted"] == (204, b"")
    assert (seen["after"], seen["again"]) == (404, 404)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"url": "https://example.com/hook", "verifyKey": "k", "events": ["message"]}, "this machine"),
        ({"url": "http://10.0.0.1/hook", "verifyKey": "k", "events": ["message"]}, "this machine"),
        ({"url": "http://127.0.0.1:1/hook", "verifyKey": "k"}, "events: required"),
        ({"url": "http://127.0.0.1:1/hook", "verifyKey": "k", "events": []}, "events"),
        ({"verifyKey": "k", "events": ["message"]}, "url: required"),
        ({"url": "http://127.0.0.1:1/hook", "verifyKey": 5, "events": ["message"]}, "verifyKey"),
    ],
)
def test_bad_webhooks_are_refused(emu: EmulatorThread, body: JSONObject, words: str) -> None:
    """A webhook that is not on loopback or misses a field is a 400 naming the field; nothing is called."""

    async def scenario() -> httpx.Response:
        async with client(emu.url) as http:
            return await http.post("/v1/messaging/webhooks", json=body)

    assert words in error_message(run(scenario()), 400)


def test_webhook_that_fails_verification_is_refused(emu: EmulatorThread) -> None:
    """Registering a URL whose verification GET does not answer 2xx is a 400 saying so."""

    async def scenario() -> httpx.Response:
        async with webhook_receiver(verify_status=404) as receiver, client(emu.url) as http:
            return await http.post(
                "/v1/messaging/webhooks", json={"url": receiver.url, "verifyKey": "k", "events": ["message"]}
            )

    message = error_message(run(scenario()), 400)
    assert "did not verify" in message
    assert "404" in message


def test_async_rest_reply_goes_to_the_webhook(emu: EmulatorThread) -> None:
    """Without sync the reply is POSTed as {type: message, verifyKey, payload}; delays split it in two."""

    async def scenario() -> list[JSONObject]:
        async with webhook_receiver() as receiver, client(emu.url) as http:
            await register(http, receiver.url, ["message"], verify_key="secret-vk")
            await http.post(f"/rest/v1/messages/{THREAD}", json=say("menu"))
            return [await receiver.next_body(), await receiver.next_body()]

    first, second = run(scenario())
    assert (first["type"], first["verifyKey"]) == ("message", "secret-vk")
    payload_one, payload_two = first["payload"], second["payload"]
    assert dig(payload_one, "threadId") == THREAD
    assert dig(payload_one, "messages", 0, "responses", 0, "type") == "text"
    assert dig(payload_two, "messages", 0, "responses", 0, "type") == "carousel"


def test_failed_attempts_are_retried(emu: EmulatorThread) -> None:
    """A webhook that fails twice gets the third attempt, and nothing is left in the deliveries list."""

    async def scenario() -> tuple[int, JSONObject, list[object]]:
        async with webhook_receiver(fail_first=2) as receiver, client(emu.url) as http:
            await register(http, receiver.url, ["message"])
            await http.post(f"/rest/v1/messages/{THREAD}", json=say("bye"))
            body = await receiver.next_body()

            async def idle() -> bool:
                return not (await http.get("/emulator/v1/deliveries")).json()["result"]["busy"]

            await until(idle)
            deliveries = (await http.get("/emulator/v1/deliveries")).json()["result"]["deliveries"]
            return receiver.attempts, body, deliveries

    attempts, body, deliveries = run(scenario())
    assert attempts == 3
    assert body["type"] == "message"
    assert deliveries == []


def test_final_failure_is_listed_and_logged_without_keys(
    emu: EmulatorThread, caplog: pytest.LogCaptureFixture
) -> None:
    """After the last attempt a delivery shows as failed in /emulator/v1/deliveries; the log names no key."""

    async def scenario() -> tuple[int, list[JSONObject]]:
        async with webhook_receiver(fail_first=100, fail_status=503) as receiver, client(emu.url) as http:
            hook = await register(http, receiver.url, ["message"], verify_key="vk-never-logged")

            async def failed() -> bool:
                result = (await http.get("/emulator/v1/deliveries")).json()["result"]
                return any(d["state"] == "failed" for d in result["deliveries"])

            with caplog.at_level(logging.WARNING, logger="pytest_flowai.emulator"):
                await http.post(f"/rest/v1/messages/{THREAD}", json=say("bye"))
                await until(failed)
            deliveries = (await http.get("/emulator/v1/deliveries")).json()["result"]["deliveries"]
            assert deliveries[0]["webhookId"] == hook["webhookId"]
            return receiver.attempts, deliveries

    attempts, deliveries = run(scenario())
    assert attempts == 3
    (delivery,) = deliveries
    assert (delivery["state"], delivery["attempts"], delivery["lastError"]) == ("failed", 3, "HTTP 503")
    assert (delivery["event"], delivery["threadId"]) == ("message", THREAD)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "gave up" in logged
    assert "vk-never-logged" not in logged
    assert API_KEY not in logged


def test_deliveries_of_a_thread_keep_their_order(emu: EmulatorThread) -> None:
    """Replies to one thread reach the webhook in the order sent, even when the first needs retries."""
    speeches = ["bye", "thanks", "hello", "menu", "goodbye"]

    async def scenario() -> list[str]:
        async with webhook_receiver(fail_first=2) as receiver, client(emu.url) as http:
            await register(http, receiver.url, ["message"])
            for speech in speeches:
                await http.post(f"/rest/v1/messages/{THREAD}", json=say(speech))
            replies: list[str] = []
            while len(replies) < len(speeches):
                body = await receiver.next_body()
                message = dig(body, "payload", "messages", 0)
                if dig(message, "responses", 0, "type") == "text":  # the menu's carousel comes on its own
                    replies.append(dig(message, "replyTo"))
            return replies

    assert run(scenario()) == speeches


def test_messaging_api_events(emu: EmulatorThread) -> None:
    """POST /v1/messaging/message: message.delivered, message.reply, control.handover, then paused."""

    async def scenario() -> tuple[httpx.Response, list[JSONObject]]:
        async with webhook_receiver() as receiver, client(emu.url, key=None) as http:
            http.headers["Authorization"] = f"Bearer {API_KEY}"
            await register(
                http, receiver.url, ["message.delivered", "message.reply", "control.handover", "paused"]
            )
            body = {"threadId": THREAD, "traceId": 5, "type": "text", "text": "talk to a human"}
            response = await http.post("/v1/messaging/message", json=body)
            return response, [await receiver.next_body() for _ in range(4)]

    response, bodies = run(scenario())
    assert valid(response.json(), "rest.ok") == {"status": "ok"}
    assert [b["type"] for b in bodies] == ["message.delivered", "message.reply", "control.handover", "paused"]
    assert bodies[0]["payload"] == {"threadId": THREAD, "traceId": 5}
    assert bodies[3]["payload"] == {"threadId": THREAD}


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"threadId": THREAD, "type": "text"}, "text: required"),
        ({"type": "text", "text": "hi"}, "threadId: required"),
        ({"threadId": THREAD, "type": "location", "lat": "1"}, "lng"),
        ({"threadId": THREAD, "type": "media", "mediaType": "image"}, "url"),
    ],
)
def test_messaging_api_bad_bodies(emu: EmulatorThread, body: JSONObject, words: str) -> None:
    """A bad Messaging API message is a 400 naming the field."""

    async def scenario() -> httpx.Response:
        async with client(emu.url) as http:
            return await http.post("/v1/messaging/message", json=body)

    assert words in error_message(run(scenario()), 400)


def test_multipart_media_upload_is_refused_saying_so(emu: EmulatorThread) -> None:
    """The documented multipart media upload gets a 400 that says uploads are unsupported, not "bad JSON"."""
    query = '{"threadId": "t", "type": "media", "mediaType": "image", "mimetype": "image/png"}'

    async def scenario() -> httpx.Response:
        async with client(emu.url) as http:
            files = {"file": ("image.png", b"\x89PNG\r\n", "image/png")}
            return await http.post("/v1/messaging/message", data={"query": query}, files=files)

    assert "multipart/form-data uploads are not supported" in error_message(run(scenario()), 400)


def test_rest_calls_without_sync_answer_through_webhooks(emu: EmulatorThread) -> None:
    """Pause, resume, takeover, status, history, threads, events and business hours each send their event."""
    calls = [
        ("POST", f"/rest/v1/pause/{THREAD}", "paused"),
        ("DELETE", f"/rest/v1/pause/{THREAD}", "resumed"),
        ("POST", f"/rest/v1/takeover/{THREAD}", "takeover"),
        ("GET", f"/rest/v1/pause/{THREAD}", "isPaused"),
        ("GET", f"/rest/v1/messages/{THREAD}", "history"),
        ("GET", "/rest/v1/threads", "threads"),
        ("GET", "/rest/v1/trigger/event", "trigger.events"),
        ("GET", "/rest/v1/businesshours", "businessHours"),
    ]
    events = sorted({event for _, _, event in calls})

    async def scenario() -> list[tuple[str, JSONObject]]:
        async with webhook_receiver() as receiver, client(emu.url) as http:
            await register(http, receiver.url, events)
            seen: list[tuple[str, JSONObject]] = []
            for method, path, _ in calls:
                answer = await http.request(method, path)
                assert valid(answer.json(), "rest.ok") == {"status": "ok"}
                body = await receiver.next_body()
                seen.append((str(body["type"]), dig(body, "payload")))
            return seen

    seen = run(scenario())
    assert [event for event, _ in seen] == [event for _, _, event in calls]
    assert seen[3][1] == {"isPaused": True, "isPaued": True, "threadId": THREAD}


def test_socket_traffic_is_mirrored_as_inbound_and_outbound(emu: EmulatorThread) -> None:
    """Messages over the socket (a non-REST channel) reach inbound/outbound webhooks."""

    async def scenario() -> list[JSONObject]:
        async with webhook_receiver() as receiver, client(emu.url) as http:
            await register(http, receiver.url, ["inbound", "outbound"])
            async with open_socket(emu.url) as ws:
                await ws.send(send_frame(THREAD, "bye"))
                await receive(ws)
                await receive(ws)
            return [await receiver.next_body(), await receiver.next_body()]

    inbound, outbound = run(scenario())
    assert inbound["type"] == "inbound"
    assert dig(inbound, "payload", "messages", 0, "responses", 0, "payload", "text") == "bye"
    assert outbound["type"] == "outbound"
    assert dig(outbound, "payload", "messages", 0, "step", "stepId") == "goodbye"


def test_reset_forgets_webhooks(emu: EmulatorThread) -> None:
    """After a reset no webhook is registered and no delivery is listed."""

    async def scenario() -> tuple[object, object]:
        async with webhook_receiver() as receiver, client(emu.url) as http:
            await register(http, receiver.url, ["message"])
            await http.post("/emulator/v1/reset")
            hooks = (await http.get("/v1/messaging/webhooks")).json()
            deliveries = (await http.get("/emulator/v1/deliveries")).json()
            return hooks, deliveries["result"]["deliveries"]

    assert run(scenario()) == ({"items": []}, [])


def test_webhook_bodies_are_json_posts(emu: EmulatorThread) -> None:
    """Every webhook call is a JSON POST with exactly type, verifyKey and payload."""

    async def scenario() -> JSONObject:
        async with webhook_receiver() as receiver, client(emu.url) as http:
            await register(http, receiver.url, ["message"])
            await http.post(f"/rest/v1/messages/{THREAD}", json=say("bye"))
            return await receiver.next_body()

    body = run(scenario())
    assert sorted(body) == ["payload", "type", "verifyKey"]
