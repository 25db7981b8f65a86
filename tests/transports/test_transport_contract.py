"""What the REST and the socket transport both promise, run against a real emulator over each of them."""

from __future__ import annotations

import functools

import pytest

from pytest_flowai.emulator import Fault
from pytest_flowai.errors import SchemaViolation, TransportError
from pytest_flowai.transports import Incoming, Notice, Outgoing, OutgoingKind, TransportConfig, open_transport
from tests.helpers.emulators import API_KEY
from tests.helpers.transport import Emulators, config_for, new_thread, reply_texts, run, text, unused_port

GREETINGS = {
    "Hi there! Welcome to Pizza Bella. What can I do for you?",
    "Hello! This is Pizza Bella. How can I help you today?",
}
KINDS = pytest.mark.parametrize("kind", ["rest", "socket"])


async def _exchange(kind: str, config: TransportConfig, message: Outgoing) -> list[Incoming | Notice | None]:
    """Send one message, then gather what arrives until nothing more comes within 0.3 s."""
    got: list[Incoming | Notice | None] = []
    async with await open_transport(kind, config) as transport:
        assert transport.streaming is (kind == "socket")
        await transport.send(message, timeout=5)
        got.append(await transport.receive(5))
        while (item := await transport.receive(0.3)) is not None:
            got.append(item)
    return got


@KINDS
def test_text_gets_the_bots_greeting(kind: str, healthy: TransportConfig) -> None:
    """Saying hello brings back the demo bot's greeting as exactly one reply, on the thread it was sent on."""
    got = run(lambda: _exchange(kind, healthy, text(new_thread(), "hello")))
    assert len(got) == 1
    reply = got[0]
    assert isinstance(reply, Incoming)
    thread = reply.payload["threadId"]
    assert isinstance(thread, str)
    assert thread.endswith("|o_transport-tests")
    assert reply_texts(reply.payload)[0] in GREETINGS


@KINDS
def test_event_params_reach_the_bot(kind: str, healthy: TransportConfig) -> None:
    """An event's params reach the bot, which fills them into its one reply."""
    event = Outgoing(
        kind=OutgoingKind.EVENT,
        thread_id=new_thread(),
        event_name="ORDER_SHIPPED",
        params={"orderId": [{"value": "77"}]},
    )
    got = run(lambda: _exchange(kind, healthy, event))
    assert [reply_texts(item.payload) for item in got if isinstance(item, Incoming)] == [
        ["Good news! Order 77 is on its way."]
    ]
    assert len(got) == 1


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("rest", r"body that is not JSON: .*502 Bad Gateway"),
        ("socket", r"the server sent a frame that is not JSON: .*502 Bad Gateway"),
    ],
)
def test_an_answer_that_is_not_json_is_a_transport_error(
    kind: str, message: str, emulators: Emulators
) -> None:
    """An answer (a REST body, a socket frame) that is not JSON fails with a cut excerpt of what was sent."""
    config = config_for(emulators(Fault.GARBAGE))
    with pytest.raises(TransportError, match=message):
        run(lambda: _exchange(kind, config, text(new_thread(), "hello")))


@pytest.mark.parametrize(
    ("kind", "schema", "path", "field", "value"),
    [
        ("rest", "rest.sync-result", "result.messages[0]", "status", "ok"),
        ("socket", "server-frame", "payload.messages[0]", "type", "message.received"),
    ],
)
def test_an_off_schema_reply_names_the_path_and_keeps_the_answer(
    kind: str, schema: str, path: str, field: str, value: str, emulators: Emulators
) -> None:
    """A reply that breaks its schema raises SchemaViolation naming the JSON path, with the reply attached."""
    config = config_for(emulators(Fault.INVALID_REPLY))
    with pytest.raises(SchemaViolation) as caught:
        run(lambda: _exchange(kind, config, text(new_thread(), "hello")))
    assert caught.value.schema == schema
    assert f"{path}.responses[1].payload.url: required" in str(caught.value)
    answer = caught.value.instance
    assert isinstance(answer, dict)
    assert answer[field] == value


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("rest", r"sending a text message: HTTP 503: emulator fault 'error'"),
        ("socket", r"the server sent an error: emulator fault 'error'"),
    ],
)
def test_an_error_answer_carries_the_servers_message(kind: str, message: str, emulators: Emulators) -> None:
    """An HTTP error status or an error frame becomes a TransportError quoting the server's message."""
    config = config_for(emulators(Fault.ERROR))
    with pytest.raises(TransportError, match=message):
        run(lambda: _exchange(kind, config, text(new_thread(), "hello")))


@pytest.mark.parametrize(
    ("kind", "where"), [("rest", "/rest/v1/messages/a%7Cb?sync=true"), ("socket", "/socket.info")]
)
def test_a_closed_port_is_a_transport_error_naming_the_url(
    kind: str, where: str, emulators: Emulators
) -> None:
    """Sending where nothing listens fails with the URL and the cause, and never the API key."""
    url = f"http://127.0.0.1:{unused_port()}"
    config = config_for(emulators(None), url=url)
    with pytest.raises(TransportError) as caught:
        run(lambda: _exchange(kind, config, text("a|b", "hello")))
    message = str(caught.value)
    assert "cannot connect: Connection refused" in message
    assert f"{url}{where}" in message
    assert API_KEY not in message


@KINDS
def test_on_sent_runs_once_per_send_before_it_returns(kind: str, healthy: TransportConfig) -> None:
    """The work a caller hands to `send` as `on_sent` runs exactly once per message, before `send` returns
    (over the socket while the delivery echo is awaited), and the reply still arrives."""

    async def scenario() -> tuple[list[int], Incoming | Notice | None]:
        calls: list[int] = []
        async with await open_transport(kind, healthy) as transport:
            for number in (1, 2):
                await transport.send(
                    text(new_thread(), "hello"), timeout=5, on_sent=functools.partial(calls.append, number)
                )
                assert calls[-1] == number
            return calls, await transport.receive(5)

    calls, reply = run(scenario)
    assert calls == [1, 2]
    assert isinstance(reply, Incoming)
