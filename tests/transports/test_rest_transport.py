"""The sync REST transport against a real emulator: inline replies, every kind of message, every fault."""

from __future__ import annotations

import time

import pytest
from conftest import Emulators
from transport_helpers import API_KEY, config_for, new_thread, reply_texts, run, text, unused_port

from pytest_flowai.emulator import Fault
from pytest_flowai.errors import ConfigurationError, SchemaViolation, TransportError
from pytest_flowai.transports import Incoming, Notice, Outgoing, OutgoingKind, TransportConfig, open_transport

GREETINGS = {
    "Hi there! Welcome to Pizza Bella. What can I do for you?",
    "Hello! This is Pizza Bella. How can I help you today?",
}


async def _send_and_collect(config: TransportConfig, message: Outgoing) -> list[Incoming | Notice]:
    """Send one message over REST and drain what receive gives back."""
    got: list[Incoming | Notice] = []
    async with await open_transport("rest", config) as transport:
        assert not transport.streaming
        await transport.send(message, timeout=5)
        while (item := await transport.receive(5)) is not None:
            got.append(item)
    return got


def test_text_gets_the_greeting_inline(healthy: TransportConfig) -> None:
    """A text sent with sync=true comes back with the bot's greeting as exactly one queued reply."""
    got = run(lambda: _send_and_collect(healthy, text(new_thread(), "hello")))
    assert len(got) == 1
    reply = got[0]
    assert isinstance(reply, Incoming)
    assert reply_texts(reply.payload)[0] in GREETINGS


def test_event_params_reach_the_bot(healthy: TransportConfig) -> None:
    """An event's params reach the bot, which fills them into its reply."""
    event = Outgoing(
        kind=OutgoingKind.EVENT,
        thread_id=new_thread(),
        event_name="ORDER_SHIPPED",
        params={"orderId": [{"value": "77"}]},
    )
    got = run(lambda: _send_and_collect(healthy, event))
    assert [reply_texts(item.payload) for item in got if isinstance(item, Incoming)] == [
        ["Good news! Order 77 is on its way."]
    ]


def test_location_and_media_get_their_steps(healthy: TransportConfig) -> None:
    """A location reaches the LOCATION step and an image the IMAGE step, which only REST can send."""
    location = Outgoing(kind=OutgoingKind.LOCATION, thread_id=new_thread(), lat="52.37", long="4.89")
    image = Outgoing(
        kind=OutgoingKind.MEDIA,
        thread_id=new_thread(),
        media_type="image",
        url="https://example.com/pizza.png",
        mime_type="image/png",
    )
    by_location = run(lambda: _send_and_collect(healthy, location))
    by_image = run(lambda: _send_and_collect(healthy, image))
    assert isinstance(by_location[0], Incoming)
    assert reply_texts(by_location[0].payload) == ["The nearest Pizza Bella is on the Damrak in Amsterdam."]
    assert isinstance(by_image[0], Incoming)
    assert reply_texts(by_image[0].payload) == ["Thanks for the photo! Our kitchen team will have a look."]


def test_receive_never_waits(healthy: TransportConfig) -> None:
    """With nothing queued, receive returns None at once, whatever the timeout."""

    async def scenario() -> float:
        async with await open_transport("rest", healthy) as transport:
            started = time.monotonic()
            assert await transport.receive(30) is None
            return time.monotonic() - started

    assert run(scenario) < 0.5


def test_a_wrong_api_key_is_refused_without_showing_it(emulators: Emulators) -> None:
    """A 401 for a wrong key says the key was refused and never shows the key itself."""
    wrong_key = "sk-wrong-key-do-not-print"
    config = config_for(emulators(None), api_key=wrong_key)
    with pytest.raises(TransportError) as caught:
        run(lambda: _send_and_collect(config, text(new_thread(), "hello")))
    message = str(caught.value)
    assert "HTTP 401 (the API key was refused)" in message
    assert wrong_key not in message
    assert wrong_key not in repr(caught.value)


def test_a_body_that_is_not_json_is_a_transport_error(emulators: Emulators) -> None:
    """A 200 whose body is not JSON fails with a cut excerpt of that body."""
    config = config_for(emulators(Fault.GARBAGE))
    with pytest.raises(TransportError, match=r"body that is not JSON: .*502 Bad Gateway"):
        run(lambda: _send_and_collect(config, text(new_thread(), "hello")))


def test_an_off_schema_result_names_the_path(emulators: Emulators) -> None:
    """A sync result that breaks its schema raises SchemaViolation naming the path, with the body attached."""
    config = config_for(emulators(Fault.INVALID_REPLY))
    with pytest.raises(SchemaViolation) as caught:
        run(lambda: _send_and_collect(config, text(new_thread(), "hello")))
    assert caught.value.schema == "rest.sync-result"
    assert "result.messages[0].responses[1].payload.url: required" in str(caught.value)
    body = caught.value.instance
    assert isinstance(body, dict)
    assert body["status"] == "ok"


def test_an_error_status_carries_the_servers_message(emulators: Emulators) -> None:
    """An HTTP error status becomes a TransportError with the status and the server's message."""
    config = config_for(emulators(Fault.ERROR))
    with pytest.raises(TransportError, match=r"sending a text message: HTTP 503: emulator fault 'error'"):
        run(lambda: _send_and_collect(config, text(new_thread(), "hello")))


def test_a_hanging_server_fails_at_the_timeout(emulators: Emulators) -> None:
    """A request the server holds fails with a TransportError once the send timeout has passed."""
    config = config_for(emulators(Fault.HANG))

    async def scenario() -> float:
        async with await open_transport("rest", config) as transport:
            started = time.monotonic()
            with pytest.raises(TransportError, match=r"sending a text message: no answer within 0.3s"):
                await transport.send(text(new_thread(), "hello"), timeout=0.3)
            return time.monotonic() - started

    assert 0.25 <= run(scenario) < 3.0


def test_a_closed_port_is_a_transport_error_naming_the_url(emulators: Emulators) -> None:
    """Sending where nothing listens fails with the URL and the cause, and never the API key."""
    url = f"http://127.0.0.1:{unused_port()}"
    config = config_for(emulators(None), url=url)
    with pytest.raises(TransportError) as caught:
        run(lambda: _send_and_collect(config, text("a|b", "hello")))
    message = str(caught.value)
    assert "cannot connect: Connection refused" in message
    assert f"{url}/rest/v1/messages/a%7Cb?sync=true" in message
    assert API_KEY not in message


def test_no_api_key_is_a_clear_error() -> None:
    """Without an API key the REST transport refuses to start with a configuration error naming it."""
    config = TransportConfig(url="http://127.0.0.1:1", client_id="c")
    with pytest.raises(ConfigurationError, match="the REST API needs an API key"):
        run(lambda: open_transport("rest", config))


def test_thread_ids_with_separators_survive_the_path(healthy: TransportConfig) -> None:
    """A thread id holding '|' and '/' reaches the server intact: the reply names the same thread."""
    thread = f"{new_thread()}/sub thread"
    got = run(lambda: _send_and_collect(healthy, text(thread, "hello")))
    assert isinstance(got[0], Incoming)
    assert got[0].payload["threadId"] == thread
