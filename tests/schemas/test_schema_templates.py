"""Response templates: each known type checks its payload; unknown types take any object payload."""

from __future__ import annotations

import pytest

from pytest_flowai import schemas
from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.errors import Violation

BUTTON: JSONObject = {"type": "url", "label": "Site", "value": "https://example.com"}
CARD: JSONObject = {
    "title": "Weather",
    "subtitle": "Cloudy",
    "media": {"url": "https://x/y.png", "type": "image"},
}

# type -> (a valid payload, an invalid payload, the violations of the invalid one as "path: message")
CASES: dict[str, tuple[JSONObject, JSONObject, list[str]]] = {
    "text": (
        {"text": "Want a soda?", "quickReplies": [{"label": "Yes", "value": "yes", "type": "text"}]},
        {"quickReplies": [{"value": "yes"}]},
        ["payload.quickReplies[0].label: required", "payload.text: required"],
    ),
    "image": (
        {"title": "Pretty", "url": "https://x/p.png"},
        {"url": "https://x/p.png"},
        ["payload.title: required"],
    ),
    "video": ({"title": "Clip", "url": "https://x/v.mp4"}, {"title": "Clip"}, ["payload.url: required"]),
    "audio": (
        {"title": "Song", "url": "https://x/s.mp3"},
        {"title": 3, "url": "u"},
        ["payload.title: expected string, got 3"],
    ),
    "file": ({"url": "https://x/f.pdf"}, {"title": "Manual"}, ["payload.url: required"]),
    "location": (
        {"title": "Infinite Loop 1", "lat": "37.331860", "long": "-122.030248"},
        {"title": "Dam", "lat": True},
        ["payload.lat: expected string or number, got true", "payload.long: required"],
    ),
    "card": (
        {**CARD, "buttons": [BUTTON]},
        {"subtitle": "no title", "media": {"url": "u"}},
        ["payload.media.type: required", "payload.title: required"],
    ),
    "buttons": (
        {
            "title": "Vintage bikes",
            "buttons": [BUTTON, {"type": "postback", "label": "Offers", "value": "offers"}],
        },
        {"title": "Bikes", "buttons": [{"type": "", "label": "Fax", "value": "0"}]},
        ["payload.buttons[0].type: must not be empty"],
    ),
    "carousel": (
        {"cards": [CARD, {"title": "Two"}]},
        {"cards": [CARD, {"subtitle": "x"}]},
        ["payload.cards[1].title: required"],
    ),
    "list": (
        {
            "items": [{"title": '40" TV', "action": {"type": "webview", "value": "https://.."}}],
            "buttons": [BUTTON],
        },
        {"items": {"title": "not a list"}},
        ["payload.items: expected array, got an object"],
    ),
    "custom": ({"brand": "Awesome", "prices": {"EURO": 1800}}, {}, []),
    "note": ({"note": "Customer is angry"}, {"text": "wrong key"}, ["payload.note: required"]),
    "handover": (
        {"resetContext": False, "indefinitePause": False, "setBotToPause": True},
        {"resetContext": "no", "setBotToPause": True},
        ["payload.indefinitePause: required", "payload.resetContext: expected boolean, got 'no'"],
    ),
    "webview": ({"label": "Open", "url": "https://x"}, {"label": "Open"}, ["payload.url: required"]),
}


def _lines(found: list[Violation]) -> list[str]:
    return [str(v) for v in found]


def test_every_known_template_is_covered() -> None:
    """This file tests each template schema the package ships."""
    shipped = sorted(n.removeprefix("template.") for n in schemas.names() if n.startswith("template."))
    assert shipped == sorted(CASES)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_valid_template_passes(kind: str) -> None:
    """A response with a correct payload for its type has no violations."""
    valid, _, _ = CASES[kind]
    assert schemas.violations({"type": kind, "payload": valid, "delay": 0}, "response") == []
    assert schemas.violations(valid, f"template.{kind}") == []


@pytest.mark.parametrize("kind", sorted(k for k in CASES if k != "custom"))
def test_invalid_template_reports_its_violations(kind: str) -> None:
    """A response whose payload breaks its type's template gets exactly the expected violations."""
    _, invalid, expected = CASES[kind]
    assert _lines(schemas.violations({"type": kind, "payload": invalid}, "response")) == expected


def test_custom_template_still_needs_an_object() -> None:
    """A custom template takes any object, but not a non-object payload."""
    assert schemas.violations({"type": "custom", "payload": {}}, "response") == []
    assert _lines(schemas.violations({"type": "custom", "payload": [1]}, "response")) == [
        "payload: expected object, got an array"
    ]


def test_unknown_template_type_accepts_any_object_payload() -> None:
    """A channel template the schemas do not know (whatsapp_list) is valid with any object payload."""
    response: JSON = {"type": "whatsapp_list", "payload": {"sections": [{"rows": 3}], "anything": None}}
    assert schemas.violations(response, "response") == []


def test_unknown_template_type_with_non_object_payload_is_invalid() -> None:
    """Whatever the type, the payload of a response must be an object."""
    assert _lines(schemas.violations({"type": "rbm_card", "payload": "text"}, "response")) == [
        "payload: expected object, got 'text'"
    ]


def test_response_needs_type_and_payload() -> None:
    """A response without type and payload reports both as required."""
    assert _lines(schemas.violations({"delay": 5}, "response")) == ["payload: required", "type: required"]


@pytest.mark.parametrize("delay", [0, 1000, 0.5])
def test_delay_accepts_any_non_negative_number(delay: float) -> None:
    """delay is milliseconds: any number >= 0, fractions included."""
    assert schemas.violations({"type": "custom", "payload": {}, "delay": delay}, "response") == []


def test_negative_or_textual_delay_is_invalid() -> None:
    """A negative delay, or one written as text, is a violation."""
    assert _lines(schemas.violations({"type": "custom", "payload": {}, "delay": -1}, "response")) == [
        "delay: must be >= 0, got -1"
    ]
    assert _lines(schemas.violations({"type": "custom", "payload": {}, "delay": "1s"}, "response")) == [
        "delay: expected number, got '1s'"
    ]


@pytest.mark.parametrize("kind", ["location", "user_email", "user_phone_number", "event", "flow", "step"])
def test_quick_reply_without_label_is_fine_unless_text(kind: str) -> None:
    """Only text quick replies (the default type) require a label."""
    payload: JSON = {"text": "Where are you?", "quickReplies": [{"type": kind, "value": "x"}]}
    assert schemas.violations(payload, "template.text") == []


def test_quick_reply_type_is_any_non_empty_string() -> None:
    """Quick-reply types beyond Flow.ai's list (postback) are valid; an empty or non-string type is not."""
    good: JSON = {"text": "?", "quickReplies": [{"label": "a", "type": "postback"}, {"type": "calendar_x"}]}
    bad: JSON = {"text": "?", "quickReplies": [{"label": "a", "type": ""}, {"label": "b", "type": 3}]}
    assert schemas.violations(good, "template.text") == []
    assert _lines(schemas.violations(bad, "template.text")) == [
        "quickReplies[0].type: must not be empty",
        "quickReplies[1].type: expected string, got 3",
    ]


def test_button_type_is_any_non_empty_string() -> None:
    """A button type outside the nine Flow.ai names is valid, as Flow.ai's Button class emits it."""
    payload: JSON = {"title": "t", "buttons": [{**BUTTON, "type": "fax"}]}
    assert schemas.violations(payload, "template.buttons") == []


def test_quick_reply_tags_in_wire_form_or_as_a_list() -> None:
    """Tags come as Flow.ai's classes emit them ({} or {name: [{value}]}) or as a list of strings."""
    forms: list[JSON] = [{}, {"colour": [{"value": "red"}]}, ["red"]]
    for tags in forms:
        payload: JSON = {"text": "?", "quickReplies": [{"label": "Y", "tags": tags}]}
        assert schemas.violations(payload, "template.text") == [], tags
    replies: list[JSON] = [{"label": "Y", "tags": "red"}, {"label": "N", "tags": {"c": "x"}}]
    bad: JSON = {"text": "?", "quickReplies": replies}
    assert _lines(schemas.violations(bad, "template.text")) == [
        "quickReplies[0].tags: expected object, got 'red'",
        "quickReplies[1].tags.c: expected array, got 'x'",
    ]


def test_quick_reply_params_are_in_wire_form() -> None:
    """Quick reply params follow the wire form {name: [{value, match?}]}."""
    good: JSON = {
        "text": "?",
        "quickReplies": [{"label": "Y", "value": "Y", "params": {"id": [{"value": "1"}]}}],
    }
    bad: JSON = {"text": "?", "quickReplies": [{"label": "Y", "value": "Y", "params": {"id": "1"}}]}
    assert schemas.violations(good, "template.text") == []
    assert _lines(schemas.violations(bad, "template.text")) == [
        "quickReplies[0].params.id: expected array, got '1'"
    ]


@pytest.mark.parametrize("missing", ["type", "label", "value"])
def test_button_needs_type_label_and_value(missing: str) -> None:
    """A button lacking any of type, label or value reports that key as required."""
    button = {k: v for k, v in BUTTON.items() if k != missing}
    assert _lines(schemas.violations({"title": "t", "buttons": [button]}, "template.buttons")) == [
        f"buttons[0].{missing}: required"
    ]


def test_template_payloads_allow_unknown_fields() -> None:
    """Flow.ai adds fields of its own to templates; an unknown key is not a violation."""
    assert schemas.violations({"text": "hi", "tags": ["x"], "channelData": {}}, "template.text") == []
