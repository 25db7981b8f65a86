"""The sans-I/O socket protocol, with plain strings: frames out for messages and pings, events for frames."""

from __future__ import annotations

import json

import pytest

from pytest_flowai import schemas
from pytest_flowai._json import JSONObject
from pytest_flowai.errors import SchemaViolation, TransportError
from pytest_flowai.transports import Incoming, Outgoing, OutgoingKind
from pytest_flowai.transports.socket_protocol import Delivered, Pong, ProtocolFailure, SocketProtocol

THREAD = "0123456789abcdef0123456789abcdef|o_channel"
AT = 100.0


def hello() -> Outgoing:
    """A text message on THREAD."""
    return Outgoing(kind=OutgoingKind.TEXT, thread_id=THREAD, speech="hello")


def frame(kind: str, payload: object = None, **extra: object) -> str:
    """A server frame as text."""
    body: dict[str, object] = {"type": kind, **extra}
    if payload is not None:
        body["payload"] = payload
    return json.dumps(body)


def reply(thread: str = THREAD, text: str = "Hi!") -> JSONObject:
    """A reply payload with one text bubble."""
    return {
        "threadId": thread,
        "messages": [{"fallback": text, "responses": [{"type": "text", "payload": {"text": text}}]}],
    }


def delivered(trace_id: object) -> str:
    """The server's echo of a send."""
    return frame("message.delivered", {"threadId": THREAD, "traceId": trace_id, "metadata": {}})


def test_each_send_gets_its_own_trace_id_and_a_schema_valid_frame() -> None:
    """Sends are numbered 1, 2, ... and each frame is a valid message.send carrying its number."""
    protocol = SocketProtocol()
    first, second = protocol.send_message(hello()), protocol.send_message(hello())
    assert (first.trace_id, second.trace_id) == (1, 2)
    sent = json.loads(second.text)
    schemas.validate(sent, "message.send")
    assert sent["payload"]["traceId"] == 2
    assert sent["payload"]["speech"] == "hello"


def test_a_delivered_echo_is_matched_to_its_send_once() -> None:
    """message.delivered for an awaited traceId gives Delivered; the same echo again gives nothing."""
    protocol = SocketProtocol()
    sent = protocol.send_message(hello())
    assert protocol.receive_frame(delivered(sent.trace_id), at=AT) == [Delivered(trace_id=sent.trace_id)]
    assert protocol.receive_frame(delivered(sent.trace_id), at=AT) == []


def test_an_echo_for_an_unknown_or_forgotten_trace_id_is_ignored() -> None:
    """An echo nobody waits for (never sent, or given up on) is no delivery."""
    protocol = SocketProtocol()
    sent = protocol.send_message(hello())
    protocol.forget(sent.trace_id)
    assert protocol.receive_frame(delivered(sent.trace_id), at=AT) == []
    assert protocol.receive_frame(delivered(99), at=AT) == []


def test_a_reply_frame_becomes_an_incoming_with_its_arrival_time() -> None:
    """message.received gives the payload as an Incoming stamped with the time passed in."""
    protocol = SocketProtocol()
    protocol.send_message(hello())
    events = protocol.receive_frame(frame("message.received", reply()), at=AT)
    assert events == [Incoming(payload=reply(), at=AT)]


def test_bytes_frames_are_read_as_utf8() -> None:
    """A binary frame is decoded as UTF-8 text and read like a text frame."""
    protocol = SocketProtocol()
    protocol.send_message(hello())
    events = protocol.receive_frame(frame("message.received", reply(text="Grüß")).encode(), at=AT)
    assert events == [Incoming(payload=reply(text="Grüß"), at=AT)]


def test_a_binary_frame_that_is_not_utf8_is_a_failure_naming_the_byte() -> None:
    """Bytes that are not UTF-8 fail the frame as garbage on the wire, not as a reply breaking a schema."""
    (failure,) = SocketProtocol().receive_frame(b'{"type": "pong", "x": "\xff"}', at=AT)
    assert isinstance(failure, ProtocolFailure)
    assert isinstance(failure.error, TransportError)
    assert (
        str(failure.error)
        == "the server sent a binary frame that is not UTF-8 (invalid start byte at byte 23)"
    )


def test_ping_and_pong() -> None:
    """The keep-alive is the protocol's own ping frame; a pong is counted and passed on as Pong."""
    protocol = SocketProtocol()
    assert json.loads(protocol.ping()) == {"type": "ping"}
    assert protocol.receive_frame(frame("pong"), at=AT) == [Pong(at=AT)]
    assert protocol.pongs_received == 1


def test_an_error_frame_is_a_failure_quoting_the_server() -> None:
    """An error frame becomes a TransportError with the server's message."""
    events = SocketProtocol().receive_frame(frame("error", message="rate limited"), at=AT)
    assert len(events) == 1
    failure = events[0]
    assert isinstance(failure, ProtocolFailure)
    assert isinstance(failure.error, TransportError)
    assert str(failure.error) == "the server sent an error: rate limited"


def test_a_frame_that_is_not_json_is_a_failure_with_an_excerpt() -> None:
    """Text that does not parse as JSON fails with a quoted excerpt of it."""
    (failure,) = SocketProtocol().receive_frame("<html>502 Bad Gateway</html>", at=AT)
    assert isinstance(failure, ProtocolFailure)
    assert str(failure.error) == "the server sent a frame that is not JSON: '<html>502 Bad Gateway</html>'"


def test_an_off_schema_frame_is_a_schema_violation_keeping_the_frame() -> None:
    """A reply whose bubble lacks a required field fails naming the JSON path, with the frame attached."""
    broken = reply()
    broken["messages"] = [{"responses": [{"type": "image", "payload": {}}]}]
    (failure,) = SocketProtocol().receive_frame(frame("message.received", broken), at=AT)
    assert isinstance(failure, ProtocolFailure)
    assert isinstance(failure.error, SchemaViolation)
    assert failure.error.schema == "server-frame"
    assert "payload.messages[0].responses[0].payload.url: required" in str(failure.error)


def test_a_generated_secret_becomes_the_nonce_of_later_sends() -> None:
    """secret.generated sets the nonce that every later message.send carries."""
    protocol = SocketProtocol()
    assert "nonce" not in json.loads(protocol.send_message(hello()).text)["payload"]
    assert protocol.receive_frame(frame("secret.generated", {"secret": "s3cr3t"}), at=AT) == []
    assert json.loads(protocol.send_message(hello()).text)["payload"]["nonce"] == "s3cr3t"


def test_typing_frames_bring_no_event() -> None:
    """agent.typing is valid and ignored: nothing a test waits for."""
    assert SocketProtocol().receive_frame(frame("agent.typing", {"threadId": THREAD}), at=AT) == []


def test_a_location_cannot_be_framed() -> None:
    """The socket carries text and events only; a location is refused before any frame exists."""
    location = Outgoing(kind=OutgoingKind.LOCATION, thread_id=THREAD, lat="1", long="2")
    with pytest.raises(TransportError, match="use the REST transport"):
        SocketProtocol().send_message(location)


def test_a_reply_for_another_thread_is_marked_foreign() -> None:
    """A reply naming a thread this connection never sent on is foreign; one for its own thread is not."""
    protocol = SocketProtocol()
    protocol.send_message(hello())
    (own,) = protocol.receive_frame(frame("message.received", reply()), at=AT)
    (other,) = protocol.receive_frame(frame("message.received", reply(thread="other|o_x")), at=AT)
    assert isinstance(own, Incoming)
    assert not own.foreign
    assert isinstance(other, Incoming)
    assert other.foreign
    assert other.thread_id == "other|o_x"


def test_the_same_reply_twice_is_marked_duplicate_until_the_next_send() -> None:
    """A payload that arrives again since the last send is a duplicate; after a new send it is not."""
    protocol = SocketProtocol()
    protocol.send_message(hello())
    first, second = (protocol.receive_frame(frame("message.received", reply()), at=AT)[0] for _ in range(2))
    assert isinstance(first, Incoming)
    assert not first.duplicate
    assert isinstance(second, Incoming)
    assert second.duplicate
    protocol.send_message(hello())
    (again,) = protocol.receive_frame(frame("message.received", reply()), at=AT)
    assert isinstance(again, Incoming)
    assert not again.duplicate


@pytest.mark.parametrize("depth", [65, 100_000], ids=["just-past", "far-past"])
def test_json_nested_too_deep_is_a_failure(depth: int) -> None:
    """A frame nested past the limit fails clearly, however deep (no RecursionError)."""
    (failure,) = SocketProtocol().receive_frame("[" * depth + "]" * depth, at=AT)
    assert isinstance(failure, ProtocolFailure)
    assert str(failure.error) == "the server sent a frame of JSON nested deeper than 64 levels"


def test_a_reply_counts_as_duplicate_only_when_its_frame_text_repeats() -> None:
    """The same payload serialised again with its keys in another order is a new reply, not a redelivery."""
    protocol = SocketProtocol()
    protocol.send_message(hello())
    payload = reply()
    reordered = dict(reversed(list(payload.items())))
    first = protocol.receive_frame(frame("message.received", payload), at=AT)[0]
    other = protocol.receive_frame(frame("message.received", reordered), at=AT)[0]
    again = protocol.receive_frame(frame("message.received", payload), at=AT)[0]
    assert isinstance(first, Incoming)
    assert isinstance(other, Incoming)
    assert isinstance(again, Incoming)
    assert (first.duplicate, other.duplicate, again.duplicate) == (False, False, True)
    assert other.payload == first.payload
