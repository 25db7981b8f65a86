"""What only the Web socket transport does, against a real emulator: delivery, pings, reconnects, silent
bots, client ids (the shared contract is in test_transport_contract.py)."""

from __future__ import annotations

import asyncio
import time

import pytest

from pytest_flowai.emulator import Fault
from pytest_flowai.errors import TransportError
from pytest_flowai.transports import (
    Incoming,
    Notice,
    Outgoing,
    OutgoingKind,
    SocketTransport,
    TransportConfig,
    open_transport,
)
from tests.helpers.hostile_server import HostileThread
from tests.helpers.transport import Emulators, config_for, new_thread, reply_texts, run, text


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


def test_two_receives_waiting_at_once_each_get_a_reply(healthy: TransportConfig) -> None:
    """Two receives awaiting replies together each get one of the two, neither gives up early."""

    async def scenario() -> list[Incoming | Notice | None]:
        thread = new_thread()
        async with await open_transport("socket", healthy) as transport:
            waiting = asyncio.gather(transport.receive(5), transport.receive(5))
            await transport.send(text(thread, "hello"), timeout=5)
            await transport.send(text(thread, "thanks"), timeout=5)
            return list(await waiting)

    got = run(scenario)
    assert [type(item) for item in got] == [Incoming, Incoming]


def test_receive_returns_none_when_the_bot_is_silent(healthy: TransportConfig) -> None:
    """An event no step takes gets no reply: receive returns None once its timeout has passed."""

    async def scenario() -> tuple[Incoming | Notice | None, bool]:
        event = Outgoing(kind=OutgoingKind.EVENT, thread_id=new_thread(), event_name="NOBODY_LISTENS")
        async with await open_transport("socket", healthy) as transport:
            await transport.send(event, timeout=5)
            # Order, not a measured time: a 0.25 s sleep started first has ended when receive gives up,
            # which it does within 2 s.
            floor = asyncio.create_task(asyncio.sleep(0.25))
            async with asyncio.timeout(2.0):
                item = await transport.receive(0.3)
            return item, floor.done()

    item, waited_its_timeout = run(scenario)
    assert item is None
    assert waited_its_timeout, "receive gave up before its 0.3 s timeout"


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


def test_a_message_larger_than_the_write_buffer_is_sent_and_answered() -> None:
    """A megabyte of speech, more than the socket writes at once, is still sent, confirmed and answered."""
    speech = "x" * 2**20

    async def scenario(config: TransportConfig) -> Incoming | Notice | None:
        async with await open_transport("socket", config) as transport:
            await transport.send(text(new_thread(), speech), timeout=5)
            return await transport.receive(5)

    with HostileThread() as server:
        reply = run(lambda: scenario(TransportConfig(url=server.url, client_id="big", connect_timeout=5.0)))
    assert isinstance(reply, Incoming)
    assert reply_texts(reply.payload) == [f"You said: {speech}"]


def test_a_hanging_bot_gives_none_within_the_timeout(emulators: Emulators) -> None:
    """When the server confirms delivery but never replies, receive returns None at its timeout."""
    config = config_for(emulators(Fault.HANG))

    async def scenario() -> Incoming | Notice | None:
        async with await open_transport("socket", config) as transport:
            await transport.send(text(new_thread(), "hello"), timeout=5)
            async with asyncio.timeout(2.0):  # a bound on the wait, not a measurement
                return await transport.receive(0.3)

    assert run(scenario) is None


def test_an_unknown_client_id_is_refused(emulators: Emulators) -> None:
    """socket.info refusing the client id is a TransportError naming the client id."""
    config = config_for(emulators(None), client_id="no-such-client")
    with pytest.raises(TransportError, match=r"the server refused client id 'no-such-client' \(HTTP 4\d\d"):
        run(lambda: open_transport("socket", config))


def test_location_is_refused_before_anything_is_sent(healthy: TransportConfig) -> None:
    """A location over the socket is refused with a message that points at the REST transport."""

    async def scenario() -> None:
        location = Outgoing(kind=OutgoingKind.LOCATION, thread_id=new_thread(), lat="52.37", long="4.89")
        async with await open_transport("socket", healthy) as transport:
            await transport.send(location, timeout=5)

    with pytest.raises(TransportError, match="cannot send a location message"):
        run(scenario)
