"""The emulator's REST API v1, management and admin routes, spoken to by a real httpx client over loopback."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pytest_flowai._json import JSONObject
from pytest_flowai.emulator import EmulatorThread
from tests.helpers.dig import dig
from tests.helpers.emulator import client, error_message, run, until, valid
from tests.helpers.emulators import API_KEY

THREAD = "6ecfd199-853a-448f-9f91-ef397588ff87|o_21361542"
GREETINGS = (
    "Hi there! Welcome to Pizza Bella. What can I do for you?",
    "Hello! This is Pizza Bella. How can I help you today?",
)


def text(speech: str, **extra: Any) -> JSONObject:
    return {
        "payload": {
            "type": "text",
            "speech": speech,
            "originator": {"name": "Jo", "role": "external"},
            **extra,
        }
    }


async def say(http: httpx.AsyncClient, speech: str, thread: str = THREAD, **extra: Any) -> JSONObject:
    """Send a text in sync mode and return the schema-checked result."""
    response = await http.post(
        f"/rest/v1/messages/{thread}", params={"sync": "true"}, json=text(speech, **extra)
    )
    assert response.status_code == 200, response.text
    body = valid(response.json(), "rest.sync-result")
    assert isinstance(body, dict)
    result = body["result"]
    assert isinstance(result, dict)
    return result


def texts(result: JSONObject) -> list[str]:
    """The text bubbles of a reply, in order."""
    return [
        dig(r, "payload", "text")
        for m in dig(result, "messages")
        for r in dig(m, "responses")
        if dig(r, "type") == "text"
    ]


def test_sync_text_gets_the_bots_reply_inline(emu: EmulatorThread) -> None:
    """A sync text message answers with the matched step's reply, shaped like a message.received payload."""

    async def scenario() -> JSONObject:
        async with client(emu.url) as http:
            return await say(http, "hello")

    result = run(scenario())
    assert result["threadId"] == THREAD
    assert texts(result)[0] in GREETINGS
    assert dig(result, "messages", 0, "step", "stepId") == "hello"
    assert dig(result, "originator", "role") == "bot"


def test_text_may_come_as_text_instead_of_speech(emu: EmulatorThread) -> None:
    """The argument table's ``text`` field works like ``speech``."""

    async def scenario() -> JSONObject:
        async with client(emu.url) as http:
            body = {"payload": {"type": "text", "text": "menu"}}
            response = await http.post(f"/rest/v1/messages/{THREAD}?sync=true&writeConcern=true", json=body)
            answer: JSONObject = response.json()
            return answer

    body = run(scenario())
    valid(body, "rest.sync-result")
    assert texts(dig(body, "result"))[0] == "Here is our menu."


def test_sync_mode_ignores_delays(emu: EmulatorThread) -> None:
    """Sync REST returns one message with every response, the delayed carousel included."""

    async def scenario() -> JSONObject:
        async with client(emu.url) as http:
            return await say(http, "menu")

    result = run(scenario())
    assert len(dig(result, "messages")) == 1
    kinds = [dig(r, "type") for r in dig(result, "messages", 0, "responses")]
    assert kinds == ["text", "carousel"]


def test_event_location_and_media_messages(emu: EmulatorThread) -> None:
    """Events, locations and images reach their EVENT, LOCATION and IMAGE steps."""

    async def scenario() -> list[JSONObject]:
        bodies = [
            {
                "payload": {
                    "type": "event",
                    "eventName": "ORDER_SHIPPED",
                    "params": {"orderId": [{"value": "42"}]},
                }
            },
            {"payload": {"type": "location", "lat": "52.37", "long": "4.89", "title": "Dam"}},
            {
                "payload": {
                    "type": "media",
                    "mediaType": "image",
                    "url": "http://127.0.0.1/p.png",
                    "mimetype": "image/png",
                }
            },
        ]
        results = []
        async with client(emu.url) as http:
            for body in bodies:
                response = await http.post(f"/rest/v1/messages/{THREAD}?sync=true", json=body)
                results.append(dig(valid(response.json(), "rest.sync-result"), "result"))
            history = await http.get(f"/rest/v1/messages/{THREAD}?sync=true")
            sent = [
                entry["messages"][0]["responses"][0]["type"]
                for entry in history.json()["result"]["history"][::2]
            ]
            assert valid(history.json(), "rest.history")
            assert sent == ["event", "location", "image"]
        return results

    shipped, location, image = run(scenario())
    assert texts(shipped) == ["Good news! Order 42 is on its way."]
    assert [dig(r, "type") for r in dig(location, "messages", 0, "responses")] == ["text", "location"]
    assert dig(image, "messages", 0, "step", "stepId") == "photo-received"


def test_async_send_answers_ok(emu: EmulatorThread) -> None:
    """Without sync the send is acknowledged with {"status": "ok"} and no result."""

    async def scenario() -> httpx.Response:
        async with client(emu.url) as http:
            return await http.post(f"/rest/v1/messages/{THREAD}", json=text("hello"))

    response = run(scenario())
    assert response.status_code == 200
    assert valid(response.json(), "rest.ok") == {"status": "ok"}


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "wrong"}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"Authorization": "Bearer"}, 401),
        ({"Authorization": API_KEY}, 200),
        ({"Authorization": f"Bearer {API_KEY}"}, 200),
    ],
)
def test_auth_on_every_route(emu: EmulatorThread, headers: dict[str, str], status: int) -> None:
    """Every REST, messaging, management and admin route wants the key, plain or as a Bearer token."""
    routes = [
        ("GET", "/rest/v1/threads"),
        ("GET", f"/rest/v1/messages/{THREAD}"),
        ("GET", "/rest/v1/trigger/event"),
        ("GET", "/rest/v1/businesshours"),
        ("GET", f"/rest/v1/pause/{THREAD}"),
        ("GET", "/v1/messaging/webhooks"),
        ("GET", "/flows/list"),
        ("GET", "/emulator/v1/deliveries"),
    ]

    async def scenario() -> list[httpx.Response]:
        async with client(emu.url, key=None) as http:
            return [await http.request(method, path, headers=headers) for method, path in routes]

    for response in run(scenario()):
        assert response.status_code == status, (response.request.url, response.text)
        if status == 401:
            message = error_message(response, 401)
            assert "wrong" not in message
            assert API_KEY not in message


@pytest.mark.parametrize(
    ("content", "status", "words"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "empty"),
        (b"[1, 2]", 400, "(root)"),
        (b'{"payload": 3}', 400, "payload"),
        (b'{"payload": {"speech": "hi"}}', 400, "payload.type: required"),
        (b'{"payload": {"type": "fax"}}', 400, "payload.type"),
        (b'{"payload": {"type": "text"}}', 400, "speech"),
        (b'{"payload": {"type": "text", "speech": 5}}', 400, "payload.speech"),
        (b'{"payload": {"type": "event"}}', 400, "eventName"),
        (b'{"payload": {"type": "location", "lat": "1"}}', 400, "long"),
        (b'{"payload": {"type": "media", "mediaType": "image"}}', 400, "url"),
        (b'{"payload": {"type": "media", "mediaType": "gif", "url": "x"}}', 400, "mediaType"),
        (b'{"payload": {"type": "text", "speech": "hi", "traceId": "7"}}', 400, "traceId"),
        (
            b'{"payload": {"type": "text", "speech": "hi", "originator": {"role": "boss"}}}',
            400,
            "originator.role",
        ),
        (
            b'{"payload": {"type": "text", "speech": "hi", "metadata": {"params": {"a": "b"}}}}',
            400,
            "params.a",
        ),
        (b'{"payload": {"type": "text", "speech": "hi", "traceId": 1e999}}', 400, "too large"),
        (b'{"payload": {"type": "text", "speech": NaN}}', 400, "NaN"),
        (b"[" * 100 + b"]" * 100, 400, "deeper"),
        (b"[" * 60_000, 400, "JSON"),
        (b"\xff\xfe", 400, "UTF-8"),
        (b'{"payload": {"type": "text", "speech": "\\ud800"}}', 400, "lone UTF-16 surrogate"),
        (b'{"payload": {"type": "text", "speech": "hi", "\\udc00": 1}}', 400, "lone UTF-16 surrogate"),
    ],
)
def test_bad_send_bodies_get_400_naming_the_field(
    emu: EmulatorThread, content: bytes, status: int, words: str
) -> None:
    """Each kind of malformed send body is a 400 JSON error that says what is wrong where."""

    async def scenario() -> httpx.Response:
        async with client(emu.url) as http:
            return await http.post(
                f"/rest/v1/messages/{THREAD}?sync=true",
                content=content,
                headers={"content-type": "application/json"},
            )

    assert words in error_message(run(scenario()), status)


def test_text_over_255_characters_is_rejected(emu: EmulatorThread) -> None:
    """A text longer than 255 characters is a 400 naming the field and the limit, without the text."""

    async def scenario() -> httpx.Response:
        async with client(emu.url) as http:
            return await http.post(f"/rest/v1/messages/{THREAD}", json=text("x" * 256))

    message = error_message(run(scenario()), 400)
    assert "payload.speech" in message
    assert "255" in message
    assert "x" * 100 not in message


def test_body_over_the_size_limit_is_413(emu: EmulatorThread) -> None:
    """A body over 64 KiB is refused with 413, whether or not it declares its length."""

    async def chunks() -> Any:
        for _ in range(20):
            yield b" " * 8192

    async def scenario() -> list[httpx.Response]:
        async with client(emu.url) as http:
            declared = await http.post(f"/rest/v1/messages/{THREAD}", content=b" " * 70_000)
            streamed = await http.post(f"/rest/v1/messages/{THREAD}", content=chunks())
            return [declared, streamed]

    for response in run(scenario()):
        assert "limit" in error_message(response, 413)


def test_unknown_route_is_404_and_wrong_method_405(emu: EmulatorThread) -> None:
    """Unknown paths answer 404 and known paths with the wrong method 405, both as JSON errors."""

    async def scenario() -> list[httpx.Response]:
        async with client(emu.url) as http:
            return [await http.get("/rest/v1/nothing"), await http.put(f"/rest/v1/messages/{THREAD}")]

    missing, wrong = run(scenario())
    assert "/rest/v1/nothing" in error_message(missing, 404)
    assert "PUT" in error_message(wrong, 405)
    assert "POST" in wrong.headers["allow"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/rest/v1/messages"), ("GET", "/rest/v1/threads/"), ("GET", "/flows/list/")],
)
def test_a_slash_too_many_or_too_few_is_a_json_404(emu: EmulatorThread, method: str, path: str) -> None:
    """A path off by a trailing slash gets a JSON 404 naming it, not an empty-bodied redirect."""

    async def scenario() -> httpx.Response:
        async with client(emu.url) as http:
            return await http.request(method, path, json={"payload": {"type": "text", "speech": "hi"}})

    assert f"no such route: {method} {path}" == error_message(run(scenario()), 404)


def test_history_pages_hold_twenty_entries(emu: EmulatorThread) -> None:
    """History lists user and bot entries oldest first, 20 a page, with page and pages."""

    async def scenario() -> list[JSONObject]:
        async with client(emu.url) as http:
            for _ in range(11):
                await say(http, "bye")  # 11 user entries + 11 bot entries = 22
            pages = []
            for page in (1, 2, 3):
                response = await http.get(
                    f"/rest/v1/messages/{THREAD}", params={"sync": "true", "page": page}
                )
                pages.append(dig(valid(response.json(), "rest.history"), "result"))
            return pages

    first, second, third = run(scenario())
    assert [len(dig(page, "history")) for page in (first, second, third)] == [20, 2, 0]
    assert (first["page"], first["pages"], first["threadId"]) == (1, 2, THREAD)
    entry = dig(first, "history", 0)
    assert dig(entry, "originator", "name") == "Jo"
    assert dig(entry, "messages", 0, "responses", 0, "payload", "text") == "bye"
    assert dig(first, "history", 1, "originator", "role") == "bot"


@pytest.mark.parametrize(
    "page", ["0", "-1", "abc", "\u00b2", "1.5", "99999999999999999999999999", "9" * 5000]
)
@pytest.mark.parametrize("route", ["/rest/v1/threads", f"/rest/v1/messages/{THREAD}"])
def test_bad_page_is_400(emu: EmulatorThread, route: str, page: str) -> None:
    """A page that is not a whole number in range (a superscript digit, a huge number) is a 400 naming it."""

    async def scenario() -> httpx.Response:
        async with client(emu.url) as http:
            return await http.get(route, params={"sync": "true", "page": page})

    assert "page: must be a whole number" in error_message(run(scenario()), 400)


def test_page_past_the_end_is_empty(emu: EmulatorThread) -> None:
    """The largest page accepted answers with an empty list, not an error."""

    async def scenario() -> httpx.Response:
        async with client(emu.url) as http:
            return await http.get("/rest/v1/threads", params={"sync": "true", "page": "1000000000"})

    body = valid(run(scenario()).json(), "rest.threads")
    assert dig(body, "result", "threads") == []


def test_threads_list_in_creation_order(emu: EmulatorThread) -> None:
    """GET threads lists every thread id, paged, in the order threads began."""

    async def scenario() -> JSONObject:
        async with client(emu.url) as http:
            for index in range(3):
                await say(http, "hello", thread=f"t-{index}|channel")
            response = await http.get("/rest/v1/threads?sync=true")
            result: JSONObject = dig(valid(response.json(), "rest.threads"), "result")
            return result

    result = run(scenario())
    assert result["threads"] == ["t-0|channel", "t-1|channel", "t-2|channel"]
    assert (result["page"], result["pages"]) == (1, 1)


def _status(http: httpx.AsyncClient) -> Any:
    async def status() -> bool:
        response = await http.get(f"/rest/v1/pause/{THREAD}?sync=true")
        body = valid(response.json(), "rest.pause-status")
        assert dig(body, "threadId") == THREAD
        assert dig(body, "isPaused") == dig(body, "isPaued")
        return bool(dig(body, "isPaused"))

    return status


def test_pause_silences_the_bot_until_resumed(emu: EmulatorThread) -> None:
    """POST pause makes sync sends answer no messages; DELETE pause brings the bot back."""

    async def scenario() -> list[Any]:
        async with client(emu.url) as http:
            status = _status(http)
            seen: list[Any] = [await status()]
            seen.append(valid((await http.post(f"/rest/v1/pause/{THREAD}", json={})).json(), "rest.ok"))
            seen += [await status(), (await say(http, "hello"))["messages"]]
            await http.delete(f"/rest/v1/pause/{THREAD}")
            seen += [await status(), texts(await say(http, "hello"))]
            return seen

    before, ack, paused, silent, after, reply = run(scenario())
    assert (before, ack, paused, silent, after) == (False, {"status": "ok"}, True, [], False)
    assert reply[0] in GREETINGS


@pytest.mark.parametrize("route", ["takeover", "handover"])
def test_takeover_and_handover_pause_indefinitely(emu: EmulatorThread, route: str) -> None:
    """Takeover, and handover without secondsToPause, pause the bot until resumed (threads are created)."""

    async def scenario() -> tuple[bool, list[Any]]:
        async with client(emu.url) as http:
            response = await http.post(f"/rest/v1/{route}/{THREAD}")
            valid(response.json(), "rest.ok")
            return await _status(http)(), dig(await say(http, "hello"), "messages")

    assert run(scenario()) == (True, [])


def test_handover_with_seconds_to_pause_expires(emu: EmulatorThread) -> None:
    """After secondsToPause the bot answers again without being resumed."""

    async def scenario() -> tuple[bool, list[str]]:
        async with client(emu.url) as http:
            await http.post(f"/rest/v1/handover/{THREAD}", json={"secondsToPause": 0.3})
            paused = await _status(http)()

            async def resumed() -> bool:
                return not await _status(http)()

            await until(resumed)
            return paused, texts(await say(http, "hello"))

    paused, reply = run(scenario(), timeout=5)
    assert paused is True
    assert reply[0] in GREETINGS


def test_handover_body_is_checked(emu: EmulatorThread) -> None:
    """A negative or non-number secondsToPause is a 400 naming it."""

    async def scenario() -> list[httpx.Response]:
        async with client(emu.url) as http:
            return [
                await http.post(f"/rest/v1/handover/{THREAD}", json={"secondsToPause": -1}),
                await http.post(f"/rest/v1/handover/{THREAD}", json={"secondsToPause": "soon"}),
            ]

    for response in run(scenario()):
        assert "secondsToPause" in error_message(response, 400)


def test_moderator_message_pauses_the_bot(emu: EmulatorThread) -> None:
    """A message from a moderator gets no reply and pauses the bot for the thread."""

    async def scenario() -> tuple[list[Any], bool, list[Any]]:
        async with client(emu.url) as http:
            moderator = {"name": "Agent", "role": "moderator"}
            first = dig(await say(http, "hello", originator=moderator), "messages")
            return first, await _status(http)(), dig(await say(http, "hello"), "messages")

    assert run(scenario()) == ([], True, [])


def test_handover_action_pauses_the_bot(emu: EmulatorThread) -> None:
    """A HANDOVER action with setBotToPause replies, then leaves the bot paused."""

    async def scenario() -> tuple[list[str], bool]:
        async with client(emu.url) as http:
            result = await say(http, "talk to a human")
            kinds = [dig(r, "type") for r in dig(result, "messages", 0, "responses")]
            return kinds, await _status(http)()

    assert run(scenario()) == (["text", "note", "handover"], True)


def test_trigger_events_list_and_trigger(emu: EmulatorThread) -> None:
    """GET trigger/event lists the manual events; POST triggers one on a thread (inline with sync)."""

    async def scenario() -> tuple[JSONObject, JSONObject, httpx.Response]:
        async with client(emu.url) as http:
            events = valid((await http.get("/rest/v1/trigger/event?sync=true")).json(), "rest.trigger-events")
            fired = await http.post(
                f"/rest/v1/trigger/event/{THREAD}", params={"eventName": "DAILY_DEAL", "sync": "true"}
            )
            missing = await http.post(f"/rest/v1/trigger/event/{THREAD}")
            return dig(events), dig(valid(fired.json(), "rest.sync-result")), missing

    events, fired, missing = run(scenario())
    assert events["result"] == {"items": ["DAILY_DEAL"]}
    assert texts(dig(fired, "result")) == ["Today only - two Margheritas for the price of one!"]
    assert "eventName" in error_message(missing, 400)


def test_business_hours(emu: EmulatorThread) -> None:
    """GET businesshours?sync=true answers the documented shape."""

    async def scenario() -> Any:
        async with client(emu.url) as http:
            return (await http.get("/rest/v1/businesshours?sync=true")).json()

    body = valid(run(scenario()), "rest.business-hours")
    assert dig(body, "businessHours", 0, "weekdays", 0, "weekday") == "Monday"


def test_flows_list_and_info(emu: EmulatorThread) -> None:
    """The management routes list the bot's flows and show one, 404 for an unknown id, 400 without one."""

    async def scenario() -> tuple[Any, Any, httpx.Response, httpx.Response]:
        async with client(emu.url) as http:
            flows = (await http.get("/flows/list")).json()
            info = (await http.get("/flows/info", params={"flowId": "order"})).json()
            return flows, info, await http.get("/flows/info?flowId=nope"), await http.get("/flows/info")

    flows, info, unknown, missing = run(scenario())
    valid(flows, "flows")
    assert [f["flowId"] for f in flows] == ["greeting", "order", "stores", "support"]
    assert dig(valid(info, "flow"), "title") == "Order"
    assert "nope" in error_message(unknown, 404)
    assert "flowId" in error_message(missing, 400)


def test_reset_forgets_threads(emu: EmulatorThread) -> None:
    """POST /emulator/v1/reset empties the thread list and the history."""

    async def scenario() -> tuple[Any, Any]:
        async with client(emu.url) as http:
            await say(http, "hello")
            valid((await http.post("/emulator/v1/reset")).json(), "rest.ok")
            threads = (await http.get("/rest/v1/threads?sync=true")).json()
            history = (await http.get(f"/rest/v1/messages/{THREAD}?sync=true")).json()
            return threads["result"]["threads"], history["result"]["history"]

    assert run(scenario()) == ([], [])


def test_state_follows_the_thread(emu: EmulatorThread) -> None:
    """Context is per thread: an answer to a question only counts on the thread that asked it."""

    async def scenario() -> tuple[list[str], list[str]]:
        async with client(emu.url) as http:
            await say(http, "I want to order a pizza", thread="a")
            return texts(await say(http, "small", thread="a")), texts(await say(http, "small", thread="b"))

    asked, not_asked = run(scenario())
    assert asked == ["A small pizza, coming up. What is the delivery address?"]
    assert not_asked != asked


def test_garbage_never_reaches_the_catch_all(emu: EmulatorThread) -> None:
    """A bounded barrage of odd requests on every route gets 2xx or 4xx JSON answers, never a 500."""
    bodies: list[bytes] = [
        b"",
        b"null",
        b"{}",
        b"[]",
        b'"x"',
        b"{{{",
        b'{"payload": {}}',
        b'{"payload": null}',
    ]
    paths = [
        "/rest/v1/messages/x",
        "/rest/v1/threads",
        "/rest/v1/takeover/x",
        "/rest/v1/handover/x",
        "/rest/v1/trigger/event",
        "/rest/v1/trigger/event/x?eventName=%00",
        "/rest/v1/businesshours",
        "/rest/v1/pause/x",
        "/v1/messaging/message",
        "/v1/messaging/webhooks",
        "/v1/messaging/webhooks/x",
        "/flows/list",
        "/flows/info?flowId=%ff",
        "/emulator/v1/reset",
        "/emulator/v1/deliveries",
        "/socket.info?clientId=&sessionId=",
        "/rest/v1/messages/",
        "/rest/v1/messages/x?page=-1&sync=true",
    ]

    async def scenario() -> list[httpx.Response]:
        answers = []
        async with client(emu.url) as http:
            for path in paths:
                for method in ("GET", "POST", "PUT", "DELETE"):
                    for body in bodies:
                        answers.append(await http.request(method, path, content=body))
        return answers

    for response in run(scenario(), timeout=60):
        assert response.status_code < 500, (response.request.method, response.request.url, response.text)
        if response.status_code >= 400:
            error_message(response, response.status_code)
