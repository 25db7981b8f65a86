"""What Flow.ai's own reply-template classes emit (corpus/, made by generate.mjs) passes our schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_flowai import schemas
from pytest_flowai._json import JSON

HERE = Path(__file__).parent
CORPUS = HERE / "corpus"
MANIFEST = json.loads((HERE / "manifest.json").read_text(encoding="utf-8"))
PACKAGE_JSON = json.loads((HERE / "package.json").read_text(encoding="utf-8"))
FILES = sorted(p.name for p in CORPUS.glob("*.json"))

TEMPLATE_TYPES = {
    "text", "image", "video", "audio", "file", "location", "card",
    "buttons", "carousel", "list", "custom", "note", "handover", "webview",
}  # fmt: skip
QUICK_REPLY_TYPES = {"text", "location", "user_email", "user_phone_number", "event", "flow", "step"}
BUTTON_TYPES = {"url", "phone", "postback", "share", "login", "webview", "event", "flow", "step"}


def _load(name: str) -> JSON:
    data: JSON = json.loads((CORPUS / name).read_text(encoding="utf-8"))
    return data


def _covered(kind: str, variant: str) -> set[str]:
    return {
        str(case["type"])
        for case in MANIFEST["cases"].values()
        if case["kind"] == kind and case["variant"] == variant
    }


def test_corpus_is_stamped_with_the_pinned_package() -> None:
    """The corpus names the generator and the exact flowai-js-templates version that package.json pins."""
    assert MANIFEST["generator"] == "generate.mjs"
    assert isinstance(MANIFEST["generatorVersion"], int)
    assert MANIFEST["package"] == "flowai-js-templates"
    assert PACKAGE_JSON["dependencies"] == {"flowai-js-templates": MANIFEST["packageVersion"]}


def test_corpus_is_present_and_matches_the_manifest() -> None:
    """Every corpus file is in the manifest and every listed file is there, and there are many."""
    assert set(FILES) == set(MANIFEST["cases"])
    assert len(FILES) >= 60


@pytest.mark.parametrize("variant", ["full", "minimal"])
def test_corpus_covers_every_type(variant: str) -> None:
    """Each template, quick-reply and button type is built with all optional fields and with none."""
    assert _covered("template", variant) == TEMPLATE_TYPES
    assert _covered("quickReply", variant) >= QUICK_REPLY_TYPES
    assert _covered("button", variant) == BUTTON_TYPES


def test_corpus_responses_carry_their_type() -> None:
    """Each template file holds a response of the type its manifest entry names."""
    for name, case in MANIFEST["cases"].items():
        if case["kind"] == "template":
            message = _load(name)
            assert isinstance(message, dict)
            responses = message["responses"]
            assert isinstance(responses, list)
            assert isinstance(responses[0], dict)
            assert responses[0]["type"] == case["type"], name


@pytest.mark.parametrize("name", FILES)
def test_class_output_is_accepted(name: str) -> None:
    """flowai-validate infers 'message' for the classes' output and finds nothing wrong with it."""
    message = _load(name)
    assert schemas.infer_name(message) == "message"
    assert [str(v) for v in schemas.violations(message, "message")] == []


@pytest.mark.parametrize("name", FILES)
def test_class_output_is_accepted_inside_a_reply_frame(name: str) -> None:
    """The same message sent in a message.received frame is a valid server frame."""
    frame: JSON = {"type": "message.received", "payload": {"threadId": "t-1", "messages": [_load(name)]}}
    assert [str(v) for v in schemas.violations(frame, "server-frame")] == []
