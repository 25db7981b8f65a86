"""infer_name: which schema a document is meant for, told by its telltale keys."""

from __future__ import annotations

import pytest

from pytest_flowai import schemas
from pytest_flowai._json import JSON

REPLY: JSON = {"threadId": "t", "messages": [], "originator": {}}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"type": "message.send", "payload": {}}, "message.send"),
        ({"type": "ping"}, "ping"),
        ({"type": "activity.user.typing", "payload": {}}, "activity.user.typing"),
        ({"type": "message.received", "payload": REPLY}, "message.received"),
        ({"type": "message.delivered", "payload": {}}, "message.delivered"),
        ({"type": "error", "message": "bad"}, "error"),
        ({"type": "interruption.occurred"}, "interruption.occurred"),
        ({"type": "message.delivered", "verifyKey": "k", "payload": {}}, "webhook"),
        ({"type": "paused", "payload": {"threadId": "t"}}, "webhook"),
        ({"type": "brand.new", "verifyKey": "k", "payload": {}}, "webhook"),
        ({"threadId": "t", "type": "text", "text": "hi"}, "messaging.message"),
        ({"type": "card", "payload": {"title": "t"}}, "response"),
        ({"payload": {"type": "text", "speech": "hi"}}, "rest.request"),
        ({"status": "ok"}, "rest.ok"),
        ({"status": "error", "message": "no"}, "rest.error"),
        ({"status": "ok", "result": REPLY}, "rest.sync-result"),
        ({"status": "ok", "result": {"history": []}}, "rest.history"),
        ({"status": "ok", "result": {"threads": [], "page": 1}}, "rest.threads"),
        ({"status": "ok", "result": {"items": []}}, "rest.trigger-events"),
        ({"status": "ok", "businessHours": []}, "rest.business-hours"),
        ({"status": "ok", "isPaued": False, "threadId": "t"}, "rest.pause-status"),
        ({"status": "ok", "payload": {"endpoint": "wss://x"}}, "socket.info"),
        ({"webhookId": "w", "url": "u"}, "messaging.webhook"),
        ({"url": "u", "verifyKey": "k", "events": ["message.reply"]}, "messaging.webhook-create"),
        ({"items": [{"webhookId": "w"}]}, "messaging.webhook-list"),
        ({"flowId": "f", "title": "Greeting", "steps": []}, "flow"),
        ([{"title": "Greeting", "steps": []}], "flows"),
        ({"flows": []}, "flows"),
        ({"stepId": "s", "type": "INTENT", "title": "Hi"}, "step"),
        (REPLY, "reply-payload"),
        ({"fallback": "hi", "responses": []}, "message"),
    ],
)
def test_documents_are_recognised(obj: JSON, expected: str) -> None:
    """Each protocol document is matched to the schema written for it."""
    assert schemas.infer_name(obj) == expected
    assert expected in schemas.names()


@pytest.mark.parametrize(
    "obj",
    [
        None,
        3,
        "text",
        [],
        [1, 2],
        {},
        {"type": "nope"},
        {"type": 5},
        {"status": "ok", "result": {"x": 1}},
        {"a": 1},
    ],
)
def test_unrecognisable_documents_give_none(obj: JSON) -> None:
    """A document that says nothing about what it is gets None, not a guess."""
    assert schemas.infer_name(obj) is None
