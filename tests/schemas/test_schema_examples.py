"""Every example payload of Flow.ai's documents (copied in examples/, see its README) is judged correctly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_flowai import schemas
from pytest_flowai._json import JSON

EXAMPLES = Path(__file__).parent / "examples"

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
    # The documented echo lacks the metadata object Flow.ai's JavaScript SDK needs.
    "socket-message-delivered-as-written.json": ("message.delivered", ["payload.metadata: required"]),
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


def _load(name: str) -> JSON:
    data: JSON = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return data


def test_every_example_file_is_judged() -> None:
    """No example file sits in examples/ without a verdict in this module."""
    on_disk = {p.name for p in EXAMPLES.glob("*.json")}
    assert on_disk == set(JUDGED) | NOT_JUDGED_HERE


@pytest.mark.parametrize("name", sorted(JUDGED))
def test_documented_example_is_judged_correctly(name: str) -> None:
    """Each documented example gets exactly its expected verdict from its schema."""
    schema, expected = JUDGED[name]
    assert [str(v) for v in schemas.violations(_load(name), schema)] == expected


@pytest.mark.parametrize(
    "name", sorted(n for n, (s, _) in JUDGED.items() if s not in ("params", "rest.handover"))
)
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
