"""What violations() reports: every problem, sorted, at a dotted JSON path, in short plain words."""

from __future__ import annotations

import pytest

from pytest_flowai import schemas
from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.errors import SchemaViolation, Violation


def _lines(obj: JSON, name: str) -> list[str]:
    return [str(v) for v in schemas.violations(obj, name)]


def _reply(*responses: JSON, thread_id: JSON = "t1", **message: JSON) -> JSONObject:
    """A message.received frame holding one message with these responses (and extra message fields)."""
    return {
        "type": "message.received",
        "payload": {
            "threadId": thread_id,
            "messages": [{"fallback": "hi", "responses": list(responses), **message}],
        },
    }


def test_valid_payload_has_no_violations() -> None:
    """A correct reply frame gives an empty list."""
    assert schemas.violations(_reply({"type": "text", "payload": {"text": "hi"}}), "server-frame") == []


def test_missing_property_is_reported_at_its_own_path() -> None:
    """A missing required key is reported where it is missing, with the message 'required'."""
    frame = _reply(
        {"type": "text", "payload": {"text": "ok"}}, {"type": "card", "payload": {"subtitle": "s"}}
    )
    assert schemas.violations(frame, "message.received") == [
        Violation("payload.messages[0].responses[1].payload.title", "required")
    ]


def test_every_violation_is_reported_sorted_by_path() -> None:
    """All problems are listed, indexes ordered as numbers, not only the first one found."""
    responses: list[JSON] = [{"type": "text", "payload": {"text": "ok"}} for _ in range(12)]
    responses[10] = {"type": "text", "payload": {"text": 10}}
    responses[2] = {"type": "image", "payload": {"url": "u"}}
    frame = _reply(*responses, thread_id=7)
    assert _lines(frame, "server-frame") == [
        "payload.messages[0].responses[2].payload.title: required",
        "payload.messages[0].responses[10].payload.text: expected string, got 10",
        "payload.threadId: expected string, got 7",
    ]


@pytest.mark.parametrize(
    ("obj", "name", "expected"),
    [
        ({"type": "text", "payload": {"text": 3}}, "response", "payload.text: expected string, got 3"),
        ({"type": "custom", "payload": {}, "delay": -1}, "response", "delay: must be >= 0, got -1"),
        ({"type": "pong", "payload": None, "x": 1}, "server-frame", None),
        (
            {"type": "bogus"},
            "server-frame",
            "type: must be one of ['message.delivered', 'message.received', "
            "'error', 'pong', 'agent.typing', 'secret.generated', 'interruption.occurred'], got 'bogus'",
        ),
        ({"status": "fine"}, "rest.ok", "status: must be 'ok', got 'fine'"),
        (
            {"status": "ok", "payload": {"endpoint": "http://x"}},
            "socket.info",
            "payload.endpoint: must match '^wss?://', got 'http://x'",
        ),
        (
            {"payload": {"type": "text", "speech": "x" * 256}},
            "rest.request",
            "payload.speech: must be at most 255 characters long, got 256",
        ),
        (
            {"url": "u", "verifyKey": "k", "events": []},
            "messaging.webhook-create",
            "events: must not be empty",
        ),
        ({"responses": [], "replyTo": False}, "message", "replyTo: expected string or null, got false"),
        ([], "message", "(root): expected object, got an array"),
    ],
)
def test_messages_are_short_and_plain(obj: JSON, name: str, expected: str | None) -> None:
    """Each kind of violation reads as one short sentence naming the expected and the actual value."""
    assert _lines(obj, name) == ([] if expected is None else [expected])


def test_unexpected_property_is_reported_where_the_schema_is_closed() -> None:
    """On an object the project owns (the webhook body) an unknown key is named, at its own path."""
    body: JSON = {"type": "paused", "verifyKey": "k", "payload": {"threadId": "t"}, "extra": 1, "more": 2}
    assert _lines(body, "webhook") == [
        "extra: unexpected property 'extra'",
        "more: unexpected property 'more'",
    ]


def test_protocol_objects_accept_unknown_fields() -> None:
    """Flow.ai's own objects may carry fields the schemas do not name."""
    frame = _reply({"type": "text", "payload": {"text": "hi"}, "channel": "web"}, newField={"a": 1})
    assert schemas.violations(frame, "server-frame") == []


def test_dispatch_reports_the_error_inside_the_matching_branch() -> None:
    """For a frame checked by its type, the problem inside that frame is reported, not a vague mismatch."""
    assert _lines({"type": "error"}, "server-frame") == ["message: required"]
    assert _lines({"type": "message.delivered", "payload": {"traceId": "1"}}, "server-frame") == [
        "payload.traceId: expected number, got '1'",
    ]


def test_webhook_body_is_checked_by_its_event_type() -> None:
    """A webhook body's payload is checked against the shape of its event; unknown events take any object."""
    assert _lines({"type": "message", "verifyKey": "k", "payload": {"messages": []}}, "webhook") == [
        "payload.threadId: required"
    ]
    assert _lines({"type": "history", "verifyKey": "k", "payload": {"history": [{}]}}, "webhook") == [
        "payload.history[0].messages: required"
    ]
    assert (
        schemas.violations({"type": "brand.new.event", "verifyKey": "k", "payload": {"x": 1}}, "webhook")
        == []
    )
    assert _lines({"type": "brand.new.event", "verifyKey": "k", "payload": 1}, "webhook") == [
        "payload: expected object, got 1"
    ]


def test_alternative_keys_are_named_together() -> None:
    """Where either of two keys will do, the message names both instead of calling one required."""
    assert _lines({"payload": {"type": "text"}}, "rest.request") == [
        "payload: requires one of 'speech', 'text'"
    ]
    assert _lines({"status": "ok", "threadId": "t"}, "rest.pause-status") == [
        "(root): requires one of 'isPaused', 'isPaued'"
    ]


@pytest.mark.parametrize("spelling", ["isPaused", "isPaued"])
def test_pause_status_accepts_both_spellings(spelling: str) -> None:
    """The bot status flag may be spelled as Flow.ai's documents spell it, or correctly."""
    assert schemas.violations({"status": "ok", "threadId": "t", spelling: True}, "rest.pause-status") == []


def test_rest_request_is_checked_per_message_type() -> None:
    """Each kind of REST message requires its own keys."""
    assert _lines({"payload": {"type": "event"}}, "rest.request") == ["payload.eventName: required"]
    assert _lines({"payload": {"type": "location", "lat": 52.3}}, "rest.request") == [
        "payload.lat: expected string, got 52.3",
        "payload.long: required",
    ]
    assert _lines({"payload": {"type": "media", "mediaType": "gif", "url": "u"}}, "rest.request") == [
        "payload.mediaType: must be one of ['image', 'file', 'audio', 'video'], got 'gif'"
    ]
    assert _lines({"payload": {"type": "sticker"}}, "rest.request") == [
        "payload.type: must be one of ['text', 'event', 'location', 'media'], got 'sticker'"
    ]


def test_sender_role_is_external_or_moderator() -> None:
    """A message sent to Flow.ai names its originator's role as external or moderator."""
    frame: JSON = {
        "type": "message.send",
        "payload": {"threadId": "t", "speech": "hi", "originator": {"name": "Bo", "role": "bot"}},
    }
    assert _lines(frame, "message.send") == [
        "payload.originator.role: must be one of ['external', 'moderator'], got 'bot'"
    ]


def test_event_attachment_needs_a_name() -> None:
    """An event sent over the socket names the event in attachment.payload.name."""
    frame: JSON = {
        "type": "message.send",
        "payload": {
            "threadId": "t",
            "speech": "event attachment",
            "attachment": {"type": "event", "payload": {}},
        },
    }
    assert _lines(frame, "message.send") == ["payload.attachment.payload.name: required"]


def test_alternatives_explain_the_closest_shape() -> None:
    """Against a schema of alternatives, the errors of the shape the value came closest to are reported."""
    bot: JSON = {"flows": [{"title": "Greeting", "steps": "none"}]}
    assert _lines(bot, "flows") == ["flows[0].steps: expected array, got 'none'"]


def test_odd_keys_are_quoted_in_paths() -> None:
    """A key that is not a plain name appears quoted in brackets, so the path stays unambiguous."""
    params: JSON = {"order id": [{"match": "x"}], "a.b": "1"}
    assert _lines(params, "params") == [
        "[\"a.b\"]: expected array, got '1'",
        '["order id"][0].value: required',
    ]


def test_format_path_joins_keys_and_indexes() -> None:
    """format_path writes keys with dots and indexes in brackets."""
    assert schemas.format_path(["payload", "messages", 0, "responses", 1, "payload", "title"]) == (
        "payload.messages[0].responses[1].payload.title"
    )
    assert schemas.format_path([]) == ""
    assert schemas.format_path([0, "x-y", ""]) == '[0].x-y[""]'


def test_violations_leave_the_input_unchanged() -> None:
    """Checking a payload does not modify it."""
    frame = _reply({"type": "text", "payload": {}})
    before = repr(frame)
    schemas.violations(frame, "server-frame")
    assert repr(frame) == before


def test_validate_raises_with_every_violation_and_the_instance() -> None:
    """validate() raises SchemaViolation carrying the schema name, all violations and the payload."""
    frame = _reply({"type": "text", "payload": {}}, {"type": "image", "payload": {"url": 1}})
    with pytest.raises(SchemaViolation) as excinfo:
        schemas.validate(frame, "server-frame.json")
    error = excinfo.value
    assert error.schema == "server-frame"
    assert error.instance is frame
    assert [str(v) for v in error.violations] == [
        "payload.messages[0].responses[0].payload.text: required",
        "payload.messages[0].responses[1].payload.title: required",
        "payload.messages[0].responses[1].payload.url: expected string, got 1",
    ]
    assert str(error).splitlines()[0] == "does not match schema 'server-frame':"


def test_validate_returns_none_for_a_valid_payload() -> None:
    """validate() is silent when the payload matches."""
    schemas.validate({"status": "ok"}, "rest.ok")
