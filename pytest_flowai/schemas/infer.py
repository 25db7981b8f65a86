"""Guesses which protocol schema a parsed JSON document is meant to match, from its telltale keys."""

from __future__ import annotations

from pytest_flowai._json import JSON, JSONObject

_CLIENT_FRAMES = frozenset({"message.send", "ping", "thread.noticed", "activity.user.typing"})
_SERVER_FRAMES = frozenset(
    {
        "message.delivered",
        "message.received",
        "error",
        "pong",
        "agent.typing",
        "secret.generated",
        "interruption.occurred",
    }
)
_MESSAGING_TYPES = frozenset({"text", "event", "location", "media"})
_TEMPLATE_TYPES = frozenset(
    {
        "text",
        "image",
        "video",
        "audio",
        "file",
        "location",
        "card",
        "buttons",
        "carousel",
        "list",
        "custom",
        "note",
        "handover",
        "webview",
    }
)
_WEBHOOK_EVENTS = frozenset(
    {
        "message",
        "history",
        "threads",
        "trigger.events",
        "businessHours",
        "paused",
        "resumed",
        "isPaused",
        "inbound",
        "outbound",
        "takeover",
        "message.reply",
        "message.delivered",
        "control.handover",
    }
)
# Which key of a sync answer's ``result`` tells which REST answer it is.
_RESULT_KEYS = (
    ("messages", "rest.sync-result"),
    ("history", "rest.history"),
    ("threads", "rest.threads"),
    ("items", "rest.trigger-events"),
)


def infer_name(obj: JSON) -> str | None:
    """The name of the schema ``obj`` looks meant for, or None when nothing tells."""
    if isinstance(obj, list):
        return "flows" if obj and all(isinstance(item, dict) and _is_flow(item) for item in obj) else None
    if not isinstance(obj, dict):
        return None
    kind = obj.get("type")
    if isinstance(kind, str):
        return _by_type(obj, kind)
    if "status" in obj:
        return _rest_answer(obj)
    if "payload" in obj:
        return "rest.request"
    return _by_keys(obj)


def _by_type(obj: JSONObject, kind: str) -> str | None:
    # A webhook body carries verifyKey; that also tells a webhook "message.delivered" from the socket frame.
    if "verifyKey" in obj:
        return "webhook"
    if "stepId" in obj:
        return "step"
    if kind in _CLIENT_FRAMES or kind in _SERVER_FRAMES:
        return kind
    if kind in _MESSAGING_TYPES and "threadId" in obj:
        return "messaging.message"
    if kind in _TEMPLATE_TYPES and "payload" in obj:
        return "response"
    if kind in _WEBHOOK_EVENTS:
        return "webhook"
    return None


def _rest_answer(obj: JSONObject) -> str | None:
    if obj.get("status") == "error":
        return "rest.error"
    result = obj.get("result")
    if isinstance(result, dict):
        return next((name for key, name in _RESULT_KEYS if key in result), None)
    if "businessHours" in obj:
        return "rest.business-hours"
    if "isPaused" in obj or "isPaued" in obj:
        return "rest.pause-status"
    if "payload" in obj:
        return "socket.info"
    return "rest.ok" if set(obj) == {"status"} else None


def _by_keys(obj: JSONObject) -> str | None:
    if _is_flow(obj):
        return "flow"
    if isinstance(obj.get("flows"), list):
        return "flows"
    if "webhookId" in obj:
        return "messaging.webhook"
    if {"url", "verifyKey", "events"} <= set(obj):
        return "messaging.webhook-create"
    items = obj.get("items")
    if isinstance(items, list) and items and all(isinstance(i, dict) and "webhookId" in i for i in items):
        return "messaging.webhook-list"
    if "threadId" in obj and "messages" in obj:
        return "reply-payload"
    if "responses" in obj:
        return "message"
    return None


def _is_flow(obj: JSONObject) -> bool:
    return "steps" in obj and ("flowId" in obj or "title" in obj)
