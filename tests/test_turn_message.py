"""What a turn's action sends: each message action's fields with placeholders filled; controls send none."""

from __future__ import annotations

import pytest

from pytest_flowai._json import JSON
from pytest_flowai.errors import UndefinedVariable
from pytest_flowai.spec.model import Event, Handover, Location, Media, Pause, Resume, Say, Wait
from pytest_flowai.transports import OutgoingKind
from pytest_flowai.transports.outgoing import build_outgoing
from pytest_flowai.turn_message import message_of

VARIABLES: dict[str, JSON] = {"name": "Ann", "lat": 52.37, "order": "42"}


def test_say_and_event_are_filled_in() -> None:
    """A text and an event name get their placeholders filled; `{{` stays a literal brace."""
    assert message_of(Say(text="Hi, {name} {{x}}"), VARIABLES, {}) == (OutgoingKind.TEXT, "Hi, Ann {x}")
    assert message_of(Event(name="ORDER_{order}"), VARIABLES, {}) == (OutgoingKind.EVENT, "ORDER_42")


def test_a_whole_placeholder_keeps_its_type_and_the_wire_gets_text() -> None:
    """`lat: "{lat}"` fills in the number, which the outgoing message then carries as text."""
    message = message_of(Location(lat="{lat}", long="4.89"), VARIABLES, {})
    assert message == (OutgoingKind.LOCATION, {"lat": 52.37, "long": "4.89"})
    assert message is not None
    outgoing = build_outgoing(*message, thread_id="t", params={}, originator={}, metadata={})
    assert (outgoing.lat, outgoing.long, outgoing.title) == ("52.37", "4.89", None)


def test_media_sends_only_the_fields_it_has() -> None:
    """A media action without mimeType or title sends mediaType and url alone, filled in."""
    media = Media(media_type="image", url="https://example.org/{name}.png")
    assert message_of(media, VARIABLES, {}) == (
        OutgoingKind.MEDIA,
        {"mediaType": "image", "url": "https://example.org/Ann.png"},
    )


def test_control_actions_send_no_message() -> None:
    """pause, resume, handover and wait go through the controls or the clock, not as a user message."""
    for action in (Pause(), Resume(), Handover(seconds_to_pause=30.0), Wait(seconds=1.0)):
        assert message_of(action, VARIABLES, {}) is None


def test_an_undefined_variable_is_raised() -> None:
    """A placeholder naming nothing raises UndefinedVariable, for the runner to report."""
    with pytest.raises(UndefinedVariable):
        message_of(Say(text="{missing}"), VARIABLES, {})
