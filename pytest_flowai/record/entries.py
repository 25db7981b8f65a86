"""What the bot answered to one turn, as expectation entries: type, text, quick replies, card, buttons,
flow and step; several runs of the turn give `one_of` variants or a `regex` for volatile parts. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.record.volatile import Namer, volatile_regex
from pytest_flowai.spec.interpolate import placeholders


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    """One bubble as the recorder sees it; ``flow``/``step`` only on the first bubble of a message."""

    type: str
    text: str | None
    quick_replies: tuple[str, ...] | None
    card: JSONObject | None
    buttons: tuple[str, ...] | None
    flow: str | None
    step: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedTurn:
    """A turn's entries, and the values its regex groups caught in the first run (for later turns)."""

    entries: tuple[JSONObject, ...]
    captured: tuple[tuple[str, str], ...] = ()


def responses_of(payloads: Sequence[JSONObject]) -> list[Response]:
    """Every bubble of the reply payloads of one turn, in arrival order."""
    found: list[Response] = []
    for payload in payloads:
        for message in _objects(payload.get("messages")):
            first = True
            for response in _objects(message.get("responses")):
                body = response.get("payload")
                body = body if isinstance(body, dict) else {}
                kind = str(response.get("type", ""))
                text = body.get("text")
                found.append(
                    Response(
                        type=kind,
                        text=text if isinstance(text, str) else None,
                        quick_replies=_labels(body.get("quickReplies")),
                        card=_card(body) if kind == "card" else None,
                        buttons=_labels(body.get("buttons")) if kind == "buttons" else None,
                        flow=_title(message.get("flow")) if first else None,
                        step=_title(message.get("step")) if first else None,
                    )
                )
                first = False
    return found


def expectations(runs: Sequence[Sequence[Response]], namer: Namer | None = None) -> RecordedTurn:
    """The entries for one turn from its runs (the first run gives the shape, later runs the variants)."""
    namer = namer or Namer()
    if not runs:
        return RecordedTurn(entries=())
    entries: list[JSONObject] = []
    captured: list[tuple[str, str]] = []
    for position, response in enumerate(runs[0]):
        entry: JSONObject = {"type": response.type}
        if response.text is not None:
            texts = [
                run[position].text
                for run in runs
                if len(run) > position
                and run[position].type == response.type
                and run[position].text is not None
            ]
            value, caught = _text(texts, namer)  # type: ignore[arg-type]
            entry["text"] = value
            captured.extend(caught)
        if response.quick_replies:
            entry["quickReplies"] = [_literal(label) for label in response.quick_replies]
        if response.card:
            entry["card"] = response.card
        if response.buttons:
            entry["buttons"] = [_literal(label) for label in response.buttons]
        if response.flow is not None:
            entry["flow"] = _literal(response.flow)
        if response.step is not None:
            entry["step"] = _literal(response.step)
        entries.append(entry)
    return RecordedTurn(entries=tuple(entries), captured=tuple(captured))


def _text(texts: Sequence[str], namer: Namer) -> tuple[JSON, list[tuple[str, str]]]:
    volatile = volatile_regex(texts, namer)
    if volatile is not None:
        return {"regex": volatile.regex}, list(volatile.captured)
    variants = list(dict.fromkeys(texts))
    if len(variants) == 1:
        return _literal(variants[0]), []
    return {"one_of": [_literal(text) for text in variants]}, []


def _literal(text: str) -> str:
    """A recorded string as a spec writes it: braces doubled where the spec would read a placeholder."""
    if placeholders(text) or "{{" in text or "}}" in text:
        return text.replace("{", "{{").replace("}", "}}")
    return text


def _objects(value: JSON) -> list[JSONObject]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _labels(value: JSON) -> tuple[str, ...] | None:
    labels = [item.get("label") for item in _objects(value)]
    return tuple(label for label in labels if isinstance(label, str)) or None


def _card(body: JSONObject) -> JSONObject | None:
    card: JSONObject = {}
    for key in ("title", "subtitle"):
        value = body.get(key)
        if isinstance(value, str):
            card[key] = _literal(value)
    buttons = _labels(body.get("buttons"))
    if buttons:
        card["buttons"] = [_literal(label) for label in buttons]
    return card or None


def _title(value: JSON) -> str | None:
    if isinstance(value, dict):
        title = value.get("title")
        return title if isinstance(title, str) else None
    return None


__all__ = ["RecordedTurn", "Response", "expectations", "responses_of"]
