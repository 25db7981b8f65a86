"""Every example payload of Flow.ai's documents (copied in examples/, see its README) is judged correctly."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_flowai import schemas
from pytest_flowai._json import JSON

EXAMPLES = Path(__file__).parent / "examples"
# Where each example is printed and how it is read (see examples/README.md).
SOURCES: dict[str, dict[str, str]] = json.loads((EXAMPLES / "sources.json").read_text(encoding="utf-8"))[
    "examples"
]
# The Flow.ai documents sit in shared/, beside this repository's checkout (and beside CI's clone).
DOCS = Path(__file__).resolve().parents[3] / "shared" / "flowai-docs"

# file -> (schema, violations as "path: message"); empty means the example must be valid.
JUDGED: dict[str, tuple[str, list[str]]] = {
    "rest-send-text-full-originator.json": ("rest.request", []),
    "socket-message-received-simple.json": ("message.received", []),
    "socket-message-received-advanced.json": ("message.received", []),
    "socket-message-received-simple-messaging-docs.json": ("message.received", []),
    "socket-message-received-advanced-messaging-docs.json": ("message.received", []),
    "messaging-text.json": ("messaging.message", []),
    "messaging-event.json": ("messaging.message", []),
    "messaging-location.json": ("messaging.message", []),
    # The document's media example says "type": "location"; as written it is a location without coordinates.
    "messaging-media-as-written.json": ("messaging.message", ["lat: required", "lng: required"]),
    "messaging-media-javascript.json": ("messaging.message", []),
    "messaging-webhook.json": ("messaging.webhook", []),
    "messaging-webhook-create.json": ("messaging.webhook-create", []),
    # The update body carries every key of a create body (plus organisationId).
    "messaging-webhook-update.json": ("messaging.webhook-create", []),
    "messaging-webhook-list.json": ("messaging.webhook-list", []),
    "socket-info.json": ("socket.info", []),
    "socket-ping.json": ("ping", []),
    "socket-pong.json": ("pong", []),
    "socket-message-send-simple.json": ("message.send", []),
    "socket-message-send-originator.json": ("message.send", []),
    "socket-message-send-profile.json": ("message.send", []),
    "socket-message-send-originator-metadata.json": ("message.send", []),
    "socket-message-send-metadata.json": ("message.send", []),
    "socket-message-send-event.json": ("message.send", []),
    "socket-message-send-javascript-example.json": ("message.send", []),
    "params-passenger-count.json": ("params", []),
    "params-food-with-match.json": ("params", []),
    # The documented echo has no metadata object: valid, though Flow.ai's JavaScript SDK needs one.
    "socket-message-delivered-as-written.json": ("message.delivered", []),
    # The "common format" sketch: its placeholder type "..." is no frame type.
    "socket-common-format-sketch.json": (
        "server-frame",
        [
            "type: must be one of ['message.delivered', 'message.received', 'error', 'pong', 'agent.typing', "
            "'secret.generated', 'interruption.occurred'], got '...'"
        ],
    ),
    "socket-error.json": ("error", []),
    "rest-send-originator-name-role.json": ("rest.request", []),
    "rest-send-originator-profile.json": ("rest.request", []),
    "rest-send-text.json": ("rest.request", []),
    "rest-send-event.json": ("rest.request", []),
    "rest-send-location.json": ("rest.request", []),
    "rest-send-media.json": ("rest.request", []),
    "rest-send-media-javascript.json": ("rest.request", []),
    "rest-javascript-text.json": ("rest.request", []),
    "rest-javascript-event.json": ("rest.request", []),
    "rest-javascript-location.json": ("rest.request", []),
    "rest-javascript-media.json": ("rest.request", []),
    "rest-ok.json": ("rest.ok", []),
    "rest-history.json": ("rest.history", []),
    "rest-threads.json": ("rest.threads", []),
    "rest-handover.json": ("rest.handover", []),
    # The {} body of takeover, trigger event, pause and resume.
    "rest-empty-body.json": ("rest.empty-body", []),
    "rest-trigger-events.json": ("rest.trigger-events", []),
    "rest-business-hours-async.json": ("rest.ok", []),
    "rest-business-hours.json": ("rest.business-hours", []),
    "rest-pause-status.json": ("rest.pause-status", []),
    # Management API objects are runnable bot definitions for the emulator's flow and step schemas.
    "management-flow-hello-world.json": ("flow", []),
    "management-flows-info.json": ("flow", []),
    "management-step-intent.json": ("step", []),
    "management-step-event.json": ("step", []),
}

# Documented, but not judged here: the flows/list answer refers to actions and intents by id only, so it is
# not a runnable bot definition (the emulator's schemas decide that); the originator fragment is judged below.
NOT_JUDGED_HERE = {"management-flows-list.json", "rest-originator-metadata-fragment.json"}


# Bodies whose shape names no schema, so the tables above name it: params objects, the handover body, the
# empty body, and the format sketch (whose type is a placeholder).
NOT_INFERRED = {
    "params-passenger-count.json",
    "params-food-with-match.json",
    "rest-handover.json",
    "rest-empty-body.json",
    "socket-common-format-sketch.json",
}


def _load(name: str) -> JSON:
    data: JSON = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return data


def test_every_example_file_is_judged() -> None:
    """No example file sits in examples/ without a verdict in this module."""
    on_disk = {p.name for p in EXAMPLES.glob("*.json")} - {"sources.json"}
    assert on_disk == set(JUDGED) | NOT_JUDGED_HERE


@pytest.mark.parametrize("name", sorted(JUDGED))
def test_documented_example_is_judged_correctly(name: str) -> None:
    """Each documented example gets exactly its expected verdict from its schema."""
    schema, expected = JUDGED[name]
    assert [str(v) for v in schemas.violations(_load(name), schema)] == expected


@pytest.mark.parametrize("name", sorted(set(JUDGED) - NOT_INFERRED))
def test_documented_example_schema_is_inferred(name: str) -> None:
    """flowai-validate needs no --schema for the documented examples: the schema is inferred."""
    expected = JUDGED[name][0]
    assert schemas.infer_name(_load(name)) == expected


def test_flows_list_answer_is_recognised_as_flows() -> None:
    """The documented flows/list answer is recognised as a list of flows."""
    assert schemas.infer_name(_load("management-flows-list.json")) == "flows"


def test_documented_originator_fragment_is_a_valid_sender() -> None:
    """The REST document's originator fragment (name, role, metadata) is valid inside a text message."""
    fragment = _load("rest-originator-metadata-fragment.json")
    assert isinstance(fragment, dict)
    request: JSON = {"payload": {"type": "text", "speech": "hello", **fragment}}
    assert schemas.violations(request, "rest.request") == []


def test_every_example_file_says_where_it_is_printed() -> None:
    """Each example file names at least one document line it comes from, and how that printing is read."""
    on_disk = {p.name for p in EXAMPLES.glob("*.json")} - {"sources.json"}
    assert set(SOURCES) == on_disk
    assert all(SOURCES[name] and all(SOURCES[name].values()) for name in SOURCES)


# A line that opens a printed example: a bare brace, or a JavaScript value (var x = {, body: {, f({).
_OPENER = re.compile(
    r"^(?:var \w+ = |body: |formData\.append\('query', JSON\.stringify\(query: |\w+\()?(?:\{\}?|\[\{),?$"
)


def _printed_examples(text: str) -> Iterator[int]:
    """The 1-based first lines of the brace-balanced examples in a document, outermost only."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if not _OPENER.match(lines[i].strip()):
            i += 1
            continue
        yield i + 1
        depth = 0
        while i < len(lines):
            depth += sum(lines[i].count(c) for c in "{[") - sum(lines[i].count(c) for c in "}]")
            i += 1
            if depth <= 0:
                break


def test_every_printed_example_is_a_fixture() -> None:
    """Every JSON example the four Flow.ai documents print is an example file, at the line it names."""
    if not DOCS.is_dir():
        pytest.skip(f"the Flow.ai documents are not at {DOCS}")
    recorded = {where for places in SOURCES.values() for where in places}
    printed = {
        f"{doc.name}:{line}"
        for doc in sorted(DOCS.glob("0*.txt"))
        for line in _printed_examples(doc.read_text(encoding="utf-8"))
    }
    assert len(printed) >= 90
    assert printed == recorded
