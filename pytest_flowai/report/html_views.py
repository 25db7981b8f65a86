"""The HTML report's view models: clean dicts of strings for the template, built defensively from any JSON
(a test, its conversations, their bubbles, the failure's lines, the coverage). Pure: no pytest, no Jinja2.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pytest_flowai._json import JSON, JSONObject

if TYPE_CHECKING:
    from pytest_flowai.report.html_page import Row

_MEDIA_SCHEMES = ("http://", "https://")
_LINK_SCHEMES = ("http://", "https://", "mailto:", "tel:")


def row_view(entry: Row) -> dict[str, Any]:
    """One test's row: its outcome and marks, its conversations, the failure in its failed turn or above."""
    failure = entry.failure
    chats = []
    placed = False
    for chat in entry.chats:
        # A spec's failure belongs in its failed turn; else (a Python test) it is shown above the chat.
        given = chat.get("failure")
        own = given if isinstance(given, str) else None
        if own is None and failure and not placed and isinstance(chat.get("failedTurn"), int):
            own, placed = failure, True
        elif own is not None:
            placed = True
        chats.append(chat_view(chat, own))
    name, _, _ = entry.nodeid.rpartition("::")
    transports = sorted({view["transport"] for view in chats})
    return {
        "nodeid": entry.nodeid,
        "file": name or entry.nodeid,
        "name": entry.nodeid.rsplit("::", 1)[-1],
        "outcome": entry.outcome,
        "duration": entry.duration,
        "marks": entry.marks,
        "transports": transports,
        "chats": chats,
        "failure": None if placed else _failure_lines(failure),
        "reruns": entry.reruns,
        "skip_reason": entry.skip_reason,
        "attempts": [[chat_view(chat, _own_failure(chat)) for chat in attempt] for attempt in entry.attempts],
    }


def _own_failure(chat: JSONObject) -> str | None:
    given = chat.get("failure")
    return given if isinstance(given, str) else None


def chat_view(chat: JSONObject, failure: str | None) -> dict[str, Any]:
    """One conversation (``chat_data``'s dict) by turn; ``failure`` goes in the failed turn, else below."""
    failed_turn = chat.get("failedTurn")
    turns: dict[int, dict[str, Any]] = {}
    for raw in _objects(chat.get("events")):
        turn_number = raw.get("turn")
        number = turn_number if isinstance(turn_number, int) else 0
        turn = turns.setdefault(
            number, {"index": number, "failed": number == failed_turn, "items": [], "failure": None}
        )
        at = raw.get("at") if isinstance(raw.get("at"), int | float) else None
        kind = raw.get("kind")
        if kind == "sent":
            text, said = _said(_text(raw.get("text")))
            turn["items"].append({"side": "user", "at": at, "text": text, "action": not said})
        elif kind == "received":
            payload = raw.get("payload")
            messages = _objects(payload.get("messages")) if isinstance(payload, dict) else []
            turn["items"].append({"side": "bot", "at": at, "messages": [_message_view(m) for m in messages]})
        elif kind == "noted":
            turn["items"].append({"side": "note", "at": at, "text": _text(raw.get("text"))})
        elif kind == "ended" and raw.get("ok") is False:
            turn["items"].append({"side": "end", "at": at, "text": f"turn {number} failed"})
    ordered = [turns[k] for k in sorted(turns)]
    leftover = _failure_lines(failure)
    if leftover is not None:
        target = next((t for t in ordered if t["failed"]), None)
        if target is not None:
            target["failure"], leftover = leftover, None
    return {
        "name": _text(chat.get("name")),
        "transport": _text(chat.get("transport")),
        "thread_id": _text(chat.get("threadId")),
        "turns": ordered,
        "failure": leftover,
    }


def _said(summary: str) -> tuple[str, bool]:
    """A sent message's text when it was a `say` (the transcript writes `say 'text'`), else the summary."""
    if summary.startswith("say "):
        try:
            import ast

            text = ast.literal_eval(summary[4:])
        except (ValueError, SyntaxError):
            return summary, False
        if isinstance(text, str):
            return text, True
    return summary, False


def _message_view(message: JSONObject) -> dict[str, Any]:
    flow, step = message.get("flow"), message.get("step")
    flow_title = _text(flow.get("title")) if isinstance(flow, dict) else ""
    step_title = _text(step.get("title")) if isinstance(step, dict) else ""
    step_type = _text(step.get("type")) if isinstance(step, dict) else ""
    responses = message.get("responses")
    return {
        "flow": flow_title,
        "step": step_title,
        "step_type": step_type if step_type != "INTENT" else "",
        "responses": [_response_view(r) for r in responses] if isinstance(responses, list) else [],
    }


_Builder = Callable[[JSONObject], dict[str, Any]]


def _response_view(response: JSON) -> dict[str, Any]:
    if not isinstance(response, dict):
        return {"type": "json", "name": "not a response", "json": _pretty(response)}
    kind = response.get("type")
    payload = response.get("payload")
    delay = response.get("delay")
    body = payload if isinstance(payload, dict) else {}
    builder = _BUILDERS.get(kind) if isinstance(kind, str) and isinstance(payload, dict) else None
    view: dict[str, Any]
    if builder is None:
        # custom, a channel's own template, or anything malformed: the JSON as it came.
        view = {"type": "json", "name": _text(kind) or "response", "json": _pretty(payload)}
    else:
        view = {"type": str(kind), **builder(body)}
    view["delay"] = (
        delay if isinstance(delay, int | float) and not isinstance(delay, bool) and delay else None
    )
    return view


def _text(value: JSON) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _objects(value: JSON) -> list[JSONObject]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _pretty(value: JSON) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=False)


def _url(value: JSON, schemes: tuple[str, ...]) -> str | None:
    """A URL the page may point at: only these schemes, so a bot's `javascript:` link stays text."""
    if isinstance(value, str) and value.strip().lower().startswith(schemes):
        return value.strip()
    return None


def _button(raw: JSONObject) -> dict[str, Any]:
    kind, value = _text(raw.get("type")), raw.get("value")
    href = None
    if kind in ("url", "webview", "login"):
        href = _url(value, _LINK_SCHEMES)
    elif kind == "phone" and isinstance(value, str) and value.strip():
        href = "tel:" + value.strip()
    return {"label": _text(raw.get("label")), "kind": kind, "value": _text(value), "href": href}


def _buttons(value: JSON) -> list[dict[str, Any]]:
    return [_button(b) for b in _objects(value)]


def _media(value: JSON) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {"url": _text(value.get("url")), "src": _url(value.get("url"), _MEDIA_SCHEMES)}


def _card(body: JSONObject) -> dict[str, Any]:
    return {
        "title": _text(body.get("title")),
        "subtitle": _text(body.get("subtitle")),
        "media": _media(body.get("media")),
        "buttons": _buttons(body.get("buttons")),
    }


def _text_view(body: JSONObject) -> dict[str, Any]:
    chips = []
    for reply in _objects(body.get("quickReplies")):
        if reply:
            chips.append(
                {"label": _text(reply.get("label") or reply.get("type")), "value": _text(reply.get("value"))}
            )
    return {"text": _text(body.get("text")), "quick_replies": chips}


def _file_view(body: JSONObject) -> dict[str, Any]:
    url = _text(body.get("url"))
    return {
        "title": _text(body.get("title")) or url,
        "url": url,
        "src": _url(body.get("url"), _MEDIA_SCHEMES),
    }


def _location_view(body: JSONObject) -> dict[str, Any]:
    lat, long = _text(body.get("lat")), _text(body.get("long"))
    href = None
    if re.fullmatch(r"-?\d+(\.\d+)?", lat) and re.fullmatch(r"-?\d+(\.\d+)?", long):
        href = f"https://www.openstreetmap.org/?mlat={lat}&mlon={long}#map=16/{lat}/{long}"
    return {"title": _text(body.get("title")), "lat": lat, "long": long, "href": href}


def _handover_view(body: JSONObject) -> dict[str, Any]:
    flags = [name for name in ("setBotToPause", "resetContext", "indefinitePause") if body.get(name) is True]
    return {"flags": flags, "json": _pretty(body)}


_BUILDERS: dict[str, _Builder] = {
    "text": _text_view,
    "image": _file_view,
    "video": _file_view,
    "audio": _file_view,
    "file": _file_view,
    "location": _location_view,
    "card": _card,
    "buttons": lambda body: {"title": _text(body.get("title")), "buttons": _buttons(body.get("buttons"))},
    "carousel": lambda body: {"cards": [_card(c) for c in _objects(body.get("cards"))]},
    "list": lambda body: {
        "items": [_card(i) for i in _objects(body.get("items"))],
        "buttons": _buttons(body.get("buttons")),
    },
    "webview": lambda body: {
        "label": _text(body.get("label")),
        "url": _text(body.get("url")),
        "href": _url(body.get("url"), _LINK_SCHEMES),
    },
    "note": lambda body: {"note": _text(body.get("note"))},
    "handover": _handover_view,
}


def _failure_lines(text: str | None) -> list[dict[str, str]] | None:
    """The failure report's lines, each with a class: headline, the failing spec line, expected, closest."""
    if not text:
        return None
    lines = []
    for number, line in enumerate(text.split("\n")):
        stripped = line.lstrip()
        if number == 0:
            kind = "headline"
        elif re.match(r">\s*\d+ \|", line):
            kind = "focus"
        elif stripped.startswith("expected:"):
            kind = "expected"
        elif stripped.startswith(("closest:", "got:")):
            kind = "closest"
        elif stripped.startswith("hint:"):
            kind = "hint"
        elif re.match(r"\s{3,}\S.*: expected ", line):
            kind = "diff"
        else:
            kind = ""
        lines.append({"kind": kind, "text": line})
    return lines


def coverage_view(coverage: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The coverage plugin's dict, checked field by field, so a partial one still renders."""
    if not isinstance(coverage, Mapping):
        return None
    given = coverage.get("total")
    total: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    flows = []
    for flow in coverage.get("flows") or []:
        if not isinstance(flow, Mapping):
            continue
        steps = []
        for step in flow.get("steps") or []:
            if isinstance(step, Mapping):
                conversations = step.get("conversations")
                steps.append(
                    {
                        "id": _text(step.get("stepId")),
                        "title": _text(step.get("title")),
                        "type": _text(step.get("type")),
                        "reached": step.get("reached") is True,
                        "conversations": [_text(c) for c in conversations]
                        if isinstance(conversations, list)
                        else [],
                    }
                )
        reached = sum(1 for s in steps if s["reached"])
        flows.append(
            {
                "id": _text(flow.get("flowId")),
                "title": _text(flow.get("title")),
                "steps": steps,
                "reached": reached,
                "percent": round(100 * reached / len(steps), 1) if steps else 100.0,
            }
        )
    percent = total.get("percent")
    return {
        "steps": total.get("steps"),
        "reached": total.get("reached"),
        "percent": percent if isinstance(percent, int | float) else None,
        "flows": flows,
    }


__all__ = ["chat_view", "coverage_view", "row_view"]
