"""What a turn's message action sends: its placeholders filled, as the kind and value `build_outgoing` takes.

Pure: imports spec (the actions, interpolation) and the transports' message kinds; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.spec.interpolate import interpolate, is_template
from pytest_flowai.spec.model import Action, Event, Location, Media, Say
from pytest_flowai.transports.base import OutgoingKind


def message_of(
    action: Action, variables: Mapping[str, JSON], env: Mapping[str, str]
) -> tuple[OutgoingKind, JSON] | None:
    """What a message action sends, its placeholders filled: the wire kind and `build_outgoing`'s value
    (a text or event name, or a location's or media's fields); None for a control action."""

    def filled(**fields: str | None) -> JSONObject:
        return {key: interpolate(value, variables, env) for key, value in fields.items() if value is not None}

    match action:
        case Say(text=text):
            return OutgoingKind.TEXT, interpolate(text, variables, env)
        case Event(name=name):
            return OutgoingKind.EVENT, interpolate(name, variables, env)
        case Location(lat=lat, long=long, title=title):
            return OutgoingKind.LOCATION, filled(lat=lat, long=long, title=title)
        case Media(media_type=media_type, url=url, mime_type=mime_type, title=title):
            return OutgoingKind.MEDIA, filled(mediaType=media_type, url=url, mimeType=mime_type, title=title)
        case _:
            return None


def is_fixed(action: Action) -> bool:
    """Whether ``message_of`` gives the same for any variables: no string of the action holds a placeholder
    or a ``{{``/``}}`` escape (a control action sends no message at all)."""
    match action:
        case Say(text=text):
            return not is_template(text)
        case Event(name=name):
            return not is_template(name)
        case Location(lat=lat, long=long, title=title):
            return not any(is_template(value) for value in (lat, long, title) if value is not None)
        case Media(media_type=media_type, url=url, mime_type=mime_type, title=title):
            fields = (media_type, url, mime_type, title)
            return not any(is_template(value) for value in fields if value is not None)
        case _:
            return True


__all__ = ["is_fixed", "message_of"]
