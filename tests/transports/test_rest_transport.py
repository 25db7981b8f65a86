"""What only the sync REST transport does, against a real emulator: media and locations, a receive that
never waits, key refusals, timeouts (the shared contract is in test_transport_contract.py)."""

from __future__ import annotations

import asyncio

import pytest

from pytest_flowai.emulator import Fault
from pytest_flowai.errors import ConfigurationError, TransportError
from pytest_flowai.transports import Incoming, Notice, Outgoing, OutgoingKind, TransportConfig, open_transport
from tests.helpers.transport import Emulators, config_for, new_thread, reply_texts, run, text


async def _send_and_collect(config: TransportConfig, message: Outgoing) -> list[Incoming | Notice]:
    """Send one message over REST and drain what receive gives back."""
    got: list[Incoming | Notice] = []
    async with await open_transport("rest", config) as transport:
        assert not transport.streaming
        await transport.send(message, timeout=5)
        while (item := await transport.receive(5)) is not None:
            got.append(item)
    return got


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
    """With nothing queued, receive(30) returns None without ever suspending: it cannot wait at all."""

    async def scenario() -> None:
        async with await open_transport("rest", healthy) as transport:
            receiving = transport.receive(30)
            with pytest.raises(StopIteration) as finished:
                receiving.send(None)  # one step of the coroutine: it returns instead of awaiting
            assert finished.value.value is None

    run(scenario)


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


def test_a_hanging_server_fails_at_the_timeout(emulators: Emulators) -> None:
    """A request the server holds fails with a TransportError once the send timeout has passed."""
    config = config_for(emulators(Fault.HANG))

    async def scenario() -> bool:
        async with await open_transport("rest", config) as transport:
            # Order, not a measured time: a 0.25 s sleep started first has ended when the send gives up,
            # and the send gives up within 3 s (else TimeoutError, not the TransportError, comes out).
            floor = asyncio.create_task(asyncio.sleep(0.25))
            with pytest.raises(TransportError, match=r"sending a text message: no answer within 0.3s"):
                async with asyncio.timeout(3.0):
                    await transport.send(text(new_thread(), "hello"), timeout=0.3)
            return floor.done()

    assert run(scenario), "the send failed before its 0.3 s timeout"


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
