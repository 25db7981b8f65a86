"""How the socket transport reads frames as they arrive on the wire, against a byte-level server: a reply in
fragments, a frame sent with the handshake answer, a binary reply, a text frame that is not UTF-8."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pytest_flowai.errors import TransportError
from pytest_flowai.transports import Incoming, Notice, TransportConfig, open_transport
from tests.helpers.hostile_server import reply
from tests.helpers.raw_websocket import BINARY, TEXT, RawSocketServer, Script, delivered, frame, text_frames
from tests.helpers.transport import new_thread, reply_texts, run, text


def received(thread: str, said: str) -> dict[str, Any]:
    return {"type": "message.received", "payload": reply(thread, f"You said: {said}")}


async def exchange(script: Script, *, with_handshake: bytes = b"") -> list[Incoming | Notice | None]:
    """Send one text through the transport to a raw server and receive twice (the second wait is short)."""
    server = RawSocketServer(script, with_handshake=with_handshake)
    async with server.running():
        config = TransportConfig(url=server.url, client_id="raw", connect_timeout=5.0)
        async with await open_transport("socket", config) as transport:
            await transport.send(text(new_thread(), "hello"), timeout=5)
            return [await transport.receive(5), await transport.receive(0.05)]


def test_a_reply_in_fragments_is_read_as_one_reply() -> None:
    """A reply split over a text frame and two continuation frames arrives whole, once."""

    def script(payload: dict[str, Any]) -> list[bytes]:
        return [delivered(payload), *text_frames(received(payload["threadId"], "hello"), pieces=3)]

    first, second = run(lambda: exchange(script))
    assert isinstance(first, Incoming)
    assert reply_texts(first.payload) == ["You said: hello"]
    assert second is None


def test_a_frame_written_with_the_handshake_answer_is_not_lost() -> None:
    """A frame in the same write as the 101 answer (parsed before the connection is handed over) is read
    first, as a reply for a thread this connection never sent on."""
    early = frame(json.dumps(received("early|o_raw", "nothing yet")).encode())

    def script(payload: dict[str, Any]) -> list[bytes]:
        return [delivered(payload), *text_frames(received(payload["threadId"], "hello"))]

    first, second = run(lambda: exchange(script, with_handshake=early))
    assert isinstance(first, Incoming)
    assert first.foreign
    assert reply_texts(first.payload) == ["You said: nothing yet"]
    assert isinstance(second, Incoming)
    assert not second.foreign
    assert reply_texts(second.payload) == ["You said: hello"]


def test_a_reply_in_a_binary_frame_is_read_as_text() -> None:
    """A binary frame holding UTF-8 JSON is read like a text frame."""

    def script(payload: dict[str, Any]) -> list[bytes]:
        body = json.dumps(received(payload["threadId"], "héllo")).encode()
        return [delivered(payload), frame(body, BINARY)]

    first, _ = run(lambda: exchange(script))
    assert isinstance(first, Incoming)
    assert reply_texts(first.payload) == ["You said: héllo"]


def test_a_text_frame_that_is_not_utf8_fails_the_next_receive() -> None:
    """A text frame with bytes that are not UTF-8 closes the connection with 1007 and the wait for the
    reply fails saying so, without waiting out its timeout."""

    def script(payload: dict[str, Any]) -> list[bytes]:
        return [delivered(payload), frame(b'{"type": "message.received", "payload": "\xff\xfe"}', TEXT)]

    with pytest.raises(TransportError) as caught:
        run(lambda: exchange(script), deadline=4.0)
    assert str(caught.value).startswith(
        "the server sent a frame that is not valid UTF-8 text (code 1007: invalid start byte at position"
    )
