"""The Web socket transport against a real emulator: replies, delivery, pings, reconnects and every fault."""

from __future__ import annotations

import time

import pytest

from pytest_flowai.emulator import Fault
from pytest_flowai.errors import SchemaViolation, TransportError
from pytest_flowai.transports import (
    Incoming,
    Notice,
    Outgoing,
    OutgoingKind,
    SocketTransport,
    TransportConfig,
    open_transport,
)
from tests.helpers.emulators import API_KEY
from tests.helpers.transport import Emulators, config_for, new_thread, reply_texts, run, text, unused_port

GREETINGS = {
    "Hi there! Welcome to Pizza Bella. What can I do for you?",
    "Hello! This is Pizza Bella. How can I help you today?",
}


def test_text_gets_the_bots_greeting(healthy: TransportConfig) -> None:
    """Saying hello over the socket brings back the demo bot's greeting as one reply payload."""

    async def scenario() -> Incoming | Notice | None:
        thread = new_thread()
        async with await open_transport("socket", healthy) as transport:
            assert transport.streaming
            await transport.send(text(thread, "hello"), timeout=5)
            return await transport.receive(5)

    reply = run(scenario)
    assert isinstance(reply, Incoming)
    assert reply.payload["threadId"].endswith("|o_transport-tests")  # type: ignore[union-attr]
    assert reply_texts(reply.payload)[0] in GREETINGS


def test_event_with_params_gets_its_reply(healthy: TransportConfig) -> None:
    """An event with params triggers its step, whose reply is filled from those params."""

    async def scenario() -> Incoming | Notice | None:
        event = Outgoing(
            kind=OutgoingKind.EVENT,
            thread_id=new_thread(),
            event_name="ORDER_SHIPPED",
            params={"orderId": [{"value": "42"}]},
        )
        async with await open_transport("socket", healthy) as transport:
            await transport.send(event, timeout=5)
            return await transport.receive(5)

    reply = run(scenario)
    assert isinstance(reply, Incoming)
    assert reply_texts(reply.payload) == ["Good news! Order 42 is on its way."]


def test_send_returns_once_delivered_and_replies_keep_arriving_in_order(healthy: TransportConfig) -> None:
    """Several sends on one connection are each confirmed, and their replies come back in order."""

    async def scenario() -> list[list[str]]:
        thread = new_thread()
        got: list[list[str]] = []
        async with await open_transport("socket", healthy) as transport:
            for speech in ("order pizza", "large", "Damrak 1"):
                await transport.send(text(thread, speech), timeout=5)
                reply = await transport.receive(5)
                assert isinstance(reply, Incoming)
                got.append(reply_texts(reply.payload))
            assert await transport.receive(0.2) is None
        return got

    texts = run(scenario)
    assert texts[0] == ["Great choice! Which size would you like?"]
    assert texts[1] == ["A large pizza, coming up. What is the delivery address?"]
    assert texts[2][0].startswith("Thanks! Order")


def test_receive_returns_none_when_the_bot_is_silent(healthy: TransportConfig) -> None:
    """An event no step takes gets no reply: receive returns None once its timeout has passed."""

    async def scenario() -> tuple[Incoming | Notice | None, float]:
        event = Outgoing(kind=OutgoingKind.EVENT, thread_id=new_thread(), event_name="NOBODY_LISTENS")
        async with await open_transport("socket", healthy) as transport:
            await transport.send(event, timeout=5)
            started = time.monotonic()
            item = await transport.receive(0.3)
            return item, time.monotonic() - started

    item, waited = run(scenario)
    assert item is None
    assert 0.25 <= waited < 2.0


def test_pings_are_sent_while_open(emulators: Emulators) -> None:
    """The keep-alive pings go out on their interval and the server's pongs are swallowed, not queued."""
    config = config_for(emulators(None))

    async def scenario() -> tuple[int, Incoming | Notice | None]:
        transport = await SocketTransport.open(config, ping_interval=0.05)
        async with transport:
            deadline = time.monotonic() + 5
            while transport.pongs_received < 3 and time.monotonic() < deadline:
                item = await transport.receive(0.05)
                if item is not None:
                    return transport.pongs_received, item
            return transport.pongs_received, None

    pongs, item = run(scenario)
    assert item is None
    assert pongs >= 3


def test_a_drop_reconnects_once_then_fails(emulators: Emulators) -> None:
    """After a dropped connection the transport reconnects and says so; a second drop is an error."""
    config = config_for(emulators(Fault.DROP))
    thread = new_thread()

    async def scenario() -> list[Incoming | Notice | None]:
        seen: list[Incoming | Notice | None] = []
        async with await open_transport("socket", config) as transport:
            await transport.send(text(thread, "hello"), timeout=5)
            seen.append(await transport.receive(5))
            seen.append(await transport.receive(5))
            await transport.send(text(thread, "thanks"), timeout=5)
            seen.append(await transport.receive(5))
            with pytest.raises(TransportError, match=r"dropped again \(code 1006: no close frame\)"):
                await transport.receive(5)
        return seen

    first, notice, second = run(scenario)
    assert isinstance(first, Incoming)
    assert isinstance(notice, Notice)
    assert notice.text == "connection dropped (code 1006: no close frame); reconnected"
    assert isinstance(second, Incoming)
    assert reply_texts(second.payload) == ["You are welcome! How would you rate us, from 1 to 5?"]


def test_a_frame_that_is_not_json_is_a_transport_error(emulators: Emulators) -> None:
    """A text frame that is not JSON fails with an excerpt of what the server sent."""
    config = config_for(emulators(Fault.GARBAGE))

    async def scenario() -> None:
        async with await open_transport("socket", config) as transport:
            await transport.send(text(new_thread(), "hello"), timeout=5)
            await transport.receive(5)

    with pytest.raises(TransportError, match=r"the server sent a frame that is not JSON: .*502 Bad Gateway"):
        run(scenario)


def test_an_off_schema_reply_names_the_path_and_keeps_the_frame(emulators: Emulators) -> None:
    """A reply that breaks its schema raises SchemaViolation naming the JSON path, with the frame attached."""
    config = config_for(emulators(Fault.INVALID_REPLY))

    async def scenario() -> None:
        async with await open_transport("socket", config) as transport:
            await transport.send(text(new_thread(), "hello"), timeout=5)
            await transport.receive(5)

    with pytest.raises(SchemaViolation) as caught:
        run(scenario)
    assert caught.value.schema == "server-frame"
    assert "payload.messages[0].responses[1].payload.url: required" in str(caught.value)
    frame = caught.value.instance
    assert isinstance(frame, dict)
    assert frame["type"] == "message.received"


def test_an_error_frame_carries_the_servers_message(emulators: Emulators) -> None:
    """An error frame becomes a TransportError quoting the server's message."""
    config = config_for(emulators(Fault.ERROR))

    async def scenario() -> None:
        async with await open_transport("socket", config) as transport:
            await transport.send(text(new_thread(), "hello"), timeout=5)
            await transport.receive(5)

    with pytest.raises(TransportError, match="the server sent an error: emulator fault 'error'"):
        run(scenario)


def test_a_hanging_bot_gives_none_within_the_timeout(emulators: Emulators) -> None:
    """When the server confirms delivery but never replies, receive returns None at its timeout."""
    config = config_for(emulators(Fault.HANG))

    async def scenario() -> tuple[Incoming | Notice | None, float]:
        async with await open_transport("socket", config) as transport:
            await transport.send(text(new_thread(), "hello"), timeout=5)
            started = time.monotonic()
            item = await transport.receive(0.3)
            return item, time.monotonic() - started

    item, waited = run(scenario)
    assert item is None
    assert waited < 2.0


def test_an_unknown_client_id_is_refused(emulators: Emulators) -> None:
    """socket.info refusing the client id is a TransportError naming the client id."""
    config = config_for(emulators(None), client_id="no-such-client")
    with pytest.raises(TransportError, match=r"the server refused client id 'no-such-client' \(HTTP 4\d\d"):
        run(lambda: open_transport("socket", config))


def test_a_closed_port_is_a_transport_error_naming_the_url(emulators: Emulators) -> None:
    """Connecting where nothing listens fails fast with the URL and the cause, and no API key."""
    url = f"http://127.0.0.1:{unused_port()}"
    config = config_for(emulators(None), url=url)
    with pytest.raises(TransportError) as caught:
        run(lambda: open_transport("socket", config))
    message = str(caught.value)
    assert "cannot connect: Connection refused" in message
    assert f"{url}/socket.info" in message
    assert API_KEY not in message


def test_location_is_refused_before_anything_is_sent(healthy: TransportConfig) -> None:
    """A location over the socket is refused with a message that points at the REST transport."""

    async def scenario() -> None:
        location = Outgoing(kind=OutgoingKind.LOCATION, thread_id=new_thread(), lat="52.37", long="4.89")
        async with await open_transport("socket", healthy) as transport:
            await transport.send(location, timeout=5)

    with pytest.raises(TransportError, match="cannot send a location message"):
        run(scenario)
