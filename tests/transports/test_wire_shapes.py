"""What the transports put on the wire, checked without a server: frames, bodies, paths, config."""

from __future__ import annotations

import asyncio
import json

import pytest

from pytest_flowai import schemas
from pytest_flowai._json import JSONObject
from pytest_flowai.errors import ConfigurationError, TransportError
from pytest_flowai.secret import Secret
from pytest_flowai.transports import Outgoing, OutgoingKind, TransportConfig, open_transport
from pytest_flowai.transports.http import thread_path
from pytest_flowai.transports.rest import rest_payload
from pytest_flowai.transports.socket_protocol import EVENT_SPEECH, SocketProtocol, send_frame

THREAD = "0123456789abcdef0123456789abcdef|o_channel"
PARAMS: JSONObject = {"orderId": [{"value": "42"}]}


def test_config_repr_hides_the_api_key() -> None:
    """The API key never shows in a config's repr, which ends up in logs and tracebacks."""
    config = TransportConfig(url="http://127.0.0.1:1", client_id="c", api_key=Secret("sk-very-secret"))
    assert "sk-very-secret" not in repr(config)
    assert "api_key='***'" in repr(config)


def test_config_rejects_a_url_without_http_scheme() -> None:
    """A base URL that is not http(s) is refused with a message quoting it."""
    with pytest.raises(ConfigurationError, match=r"must start with http:// or https://, got 'api\.flow\.ai'"):
        TransportConfig(url="api.flow.ai")


def test_config_drops_a_trailing_slash() -> None:
    """A trailing slash on the base URL does not double up in the paths built from it."""
    assert TransportConfig(url="https://api.flow.ai/").url == "https://api.flow.ai"


def test_outgoing_refuses_a_message_missing_its_fields() -> None:
    """An event without a name cannot be built, so no transport ever sends one."""
    with pytest.raises(ValueError, match="needs event_name"):
        Outgoing(kind=OutgoingKind.EVENT, thread_id=THREAD)


def test_text_frame_matches_the_message_send_schema() -> None:
    """A text becomes a message.send frame with the speech, a numeric traceId and an external originator."""
    frame = send_frame(Outgoing(kind=OutgoingKind.TEXT, thread_id=THREAD, speech="hello"), trace_id=7)
    schemas.validate(frame, "message.send")
    payload = frame["payload"]
    assert isinstance(payload, dict)
    assert payload["speech"] == "hello"
    assert payload["traceId"] == 7
    assert payload["threadId"] == THREAD
    assert payload["originator"] == {"name": "pytest-flowai", "role": "external", "profile": {}}


def test_event_frame_carries_an_attachment_and_params_in_metadata() -> None:
    """An event is sent as the SDK sends it: speech 'event attachment', the name in an attachment, params in
    metadata.params (merged over the metadata's own params)."""
    message = Outgoing(
        kind=OutgoingKind.EVENT,
        thread_id=THREAD,
        event_name="ORDER_SHIPPED",
        params=PARAMS,
        metadata={"language": "en", "params": {"city": [{"value": "Amsterdam"}]}},
    )
    frame = send_frame(message, trace_id=1, nonce="n0nce")
    schemas.validate(frame, "message.send")
    assert frame["payload"] == {
        "threadId": THREAD,
        "traceId": 1,
        "speech": EVENT_SPEECH,
        "attachment": {"type": "event", "payload": {"name": "ORDER_SHIPPED"}},
        "originator": {"name": "pytest-flowai", "role": "external", "profile": {}},
        "metadata": {"language": "en", "params": {"city": [{"value": "Amsterdam"}], **PARAMS}},
        "nonce": "n0nce",
    }


# Texts whose JSON holds what the prepared frame is split at, escaped inside the string.
TRICKY = ['say "traceId": 0 twice', '{"traceId": 0}', '\\"traceId\\": 0', "traceId"]


@pytest.mark.parametrize("speech", ["hello", *TRICKY])
@pytest.mark.parametrize("secret", [None, "n0nce"])
def test_a_prepared_frame_is_the_frame_sent_unprepared(speech: str, secret: str | None) -> None:
    """A frame encoded ahead (while the last message is with the server) is the text the frame encoded at
    its send would be, its trace id put in: for texts and events, with and without the secret's nonce."""
    messages = [
        Outgoing(kind=OutgoingKind.TEXT, thread_id=f"{THREAD}{speech}", speech=speech),
        # A metadata key of the spec's own may be named as the frame's trace id is.
        Outgoing(kind=OutgoingKind.TEXT, thread_id=THREAD, speech=speech, metadata={"traceId": 0}),
        Outgoing(kind=OutgoingKind.EVENT, thread_id=THREAD, event_name=speech, params=PARAMS),
    ]
    for message in messages:
        ahead, at_send = SocketProtocol(), SocketProtocol()
        ahead.secret = at_send.secret = secret
        ahead.send_message(message)  # trace id 1 on both, so the next is 2
        at_send.send_message(message)
        ahead.prepare(message)
        assert ahead.send_message(message).text == at_send.send_message(message).text
        assert json.loads(at_send.send_message(message).text)["payload"]["traceId"] == 3


def test_a_prepared_frame_is_not_sent_under_a_stale_secret_or_for_another_message() -> None:
    """The secret changed since the frame was prepared (a reconnect got a new one): the frame is encoded
    again with the new nonce. A resend of another message in between leaves the preparation in place."""
    protocol = SocketProtocol()
    upcoming = Outgoing(kind=OutgoingKind.TEXT, thread_id=THREAD, speech="next")
    resent = Outgoing(kind=OutgoingKind.TEXT, thread_id=THREAD, speech="again")
    protocol.prepare(upcoming)
    assert json.loads(protocol.send_message(resent).text)["payload"]["speech"] == "again"
    protocol.secret = "new-secret"
    payload = json.loads(protocol.send_message(upcoming).text)["payload"]
    assert (payload["speech"], payload["nonce"], payload["traceId"]) == ("next", "new-secret", 2)


def test_preparing_a_message_the_socket_cannot_carry_leaves_the_error_to_its_send() -> None:
    """A location cannot be prepared; its send still says to use the REST transport."""
    protocol = SocketProtocol()
    message = Outgoing(kind=OutgoingKind.LOCATION, thread_id=THREAD, lat="52.37", long="4.89")
    protocol.prepare(message)
    with pytest.raises(TransportError, match="use the REST transport"):
        protocol.send_message(message)


def test_socket_refuses_location_and_media() -> None:
    """A location message over the socket is refused with a message pointing at the REST transport."""
    message = Outgoing(kind=OutgoingKind.LOCATION, thread_id=THREAD, lat="52.37", long="4.89")
    with pytest.raises(TransportError, match=r"cannot send a location message.*use the REST transport"):
        send_frame(message, trace_id=1)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            Outgoing(kind=OutgoingKind.TEXT, thread_id=THREAD, speech="hi"),
            {"type": "text", "speech": "hi"},
        ),
        (
            Outgoing(kind=OutgoingKind.EVENT, thread_id=THREAD, event_name="GO", params=PARAMS),
            {"type": "event", "eventName": "GO", "metadata": {"params": PARAMS}, "params": PARAMS},
        ),
        (
            Outgoing(kind=OutgoingKind.LOCATION, thread_id=THREAD, lat="52.37", long="4.89", title="Dam"),
            {"type": "location", "lat": "52.37", "long": "4.89", "title": "Dam"},
        ),
        (
            Outgoing(
                kind=OutgoingKind.MEDIA,
                thread_id=THREAD,
                media_type="image",
                url="https://example.com/a.png",
                mime_type="image/png",
            ),
            {
                "type": "media",
                "mediaType": "image",
                "url": "https://example.com/a.png",
                "mimeType": "image/png",
            },
        ),
    ],
    ids=["text", "event", "location", "media"],
)
def test_rest_payload_matches_the_documents(message: Outgoing, expected: dict[str, object]) -> None:
    """Each kind of message becomes the REST payload 003_*.txt documents, valid against rest.request."""
    payload = rest_payload(message)
    schemas.validate({"payload": payload}, "rest.request")
    assert payload == {**expected, "originator": {"name": "pytest-flowai", "role": "external", "profile": {}}}


def test_thread_path_keeps_a_thread_id_in_one_segment() -> None:
    """A thread id with '|' or '/' is quoted so it stays one path segment."""
    assert thread_path("abc|o_1/2") == "abc%7Co_1%2F2"


def test_open_transport_refuses_an_unknown_kind() -> None:
    """Asking for a transport that does not exist names the ones that do."""
    config = TransportConfig(url="http://127.0.0.1:1", client_id="c", api_key=Secret("k"))
    expected = "unknown transport 'carrier-pigeon': expected one of 'socket', 'rest'"
    with pytest.raises(ConfigurationError, match=expected):
        asyncio.run(open_transport("carrier-pigeon", config))
