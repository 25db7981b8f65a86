"""Guesses which protocol schema a parsed JSON document is meant to match, from its telltale keys."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.schemas.validate import raw


@dataclass(frozen=True, slots=True, kw_only=True)
class _Vocabulary:
    """The type names the schemas define, read from them so inference and schemas cannot drift apart."""

    frames: frozenset[str]
    messaging_types: frozenset[str]
    template_types: frozenset[str]
    webhook_events: frozenset[str]


def _type_enum(schema: str) -> frozenset[str]:
    """The values a schema's ``properties.type.enum`` allows."""
    properties = raw(schema).get("properties")
    kind = properties.get("type") if isinstance(properties, dict) else None
    values = kind.get("enum") if isinstance(kind, dict) else None
    return frozenset(v for v in values if isinstance(v, str)) if isinstance(values, list) else frozenset()


def _dispatched(schema: str) -> frozenset[str]:
    """The ``type`` values a schema dispatches on with ``allOf: [{if: {properties: {type: {const}}}}]``."""
    branches = raw(schema).get("allOf")
    found: set[str] = set()
    for branch in branches if isinstance(branches, list) else []:
        condition = branch.get("if") if isinstance(branch, dict) else None
        properties = condition.get("properties") if isinstance(condition, dict) else None
        kind = properties.get("type") if isinstance(properties, dict) else None
        if isinstance(kind, dict) and isinstance(kind.get("const"), str):
            found.add(str(kind["const"]))
    return frozenset(found)


@cache
def _vocabulary() -> _Vocabulary:
    return _Vocabulary(
        frames=_type_enum("server-frame") | _type_enum("client-frame"),
        messaging_types=_type_enum("messaging.message"),
        template_types=_dispatched("response"),
        webhook_events=_dispatched("webhook"),
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
    known = _vocabulary()
    if kind in known.frames:
        return kind
    if kind in known.messaging_types and "threadId" in obj:
        return "messaging.message"
    if kind in known.template_types and "payload" in obj:
        return "response"
    if kind in known.webhook_events:
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
