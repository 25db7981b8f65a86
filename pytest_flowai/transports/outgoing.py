"""Wire shaping of a user message: a turn's (interpolated) value, params, originator and metadata become an
``Outgoing`` in the form Flow.ai takes. Pure; imports only base of the transports, nothing of specs.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pytest_flowai.transports.base import Outgoing, OutgoingKind

if TYPE_CHECKING:
    from pytest_flowai._json import JSON, JSONObject

# A `{var}` alone keeps its variable's type; where Flow.ai takes only strings, a number is sent as its text.
_PROFILE_NUMBERS = frozenset({"timezone"})


def wire_params(params: Mapping[str, JSON]) -> JSONObject:
    """Params as the wire carries them: `{"orderId": "42"}` becomes `{"orderId": [{"value": "42"}]}`."""
    wired: JSONObject = {}
    for name, value in params.items():
        if isinstance(value, list) and all(isinstance(v, dict) and "value" in v for v in value):
            wired[name] = value
            continue
        values = value if isinstance(value, list) else [value]
        wired[name] = [{"value": v if isinstance(v, str) else _scalar_text(v)} for v in values]
    return wired


def wire_originator_fields(originator: Mapping[str, JSON]) -> JSONObject:
    """An originator with its values as text (Flow.ai takes strings), ``profile.timezone`` kept a number."""
    out = _texts({key: value for key, value in originator.items() if key != "profile"})
    profile = originator.get("profile")
    if isinstance(profile, dict):
        out["profile"] = _texts(profile, keep=_PROFILE_NUMBERS)
    return out


def wire_metadata_fields(metadata: Mapping[str, JSON]) -> JSONObject:
    """Metadata with params in wire form and ``language`` and ``contexts`` as text."""
    out: JSONObject = dict(metadata)
    params = out.get("params")
    if isinstance(params, dict):
        out["params"] = wire_params(params)
    if "language" in out:
        out["language"] = _as_text(out["language"])
    contexts = out.get("contexts")
    if isinstance(contexts, list):
        out["contexts"] = [_as_text(context) for context in contexts]
    return out


def build_outgoing(
    kind: OutgoingKind,
    value: JSON,
    *,
    thread_id: str,
    params: Mapping[str, JSON],
    originator: Mapping[str, JSON],
    metadata: Mapping[str, JSON],
) -> Outgoing:
    """The ``Outgoing`` of ``kind`` for a turn's value: the text or event name, or a location's or media's
    fields (a mapping). An empty originator is filled in by ``Outgoing.wire_originator``, as the SDK would.
    """
    # Most turns give no params, originator or metadata: an empty one needs no shaping.
    wired_originator = wire_originator_fields(originator) if originator else {}
    wired_metadata = wire_metadata_fields(metadata) if metadata else {}
    wired_params = wire_params(params) if params else {}
    if kind is OutgoingKind.TEXT:
        # The usual message, built without the partial below.
        return Outgoing(
            kind=kind,
            thread_id=thread_id,
            speech=_text(value),
            originator=wired_originator,
            metadata=wired_metadata,
            params=wired_params,
        )
    message = functools.partial(
        Outgoing,
        thread_id=thread_id,
        originator=wired_originator,
        metadata=wired_metadata,
        params=wired_params,
    )
    fields = value if isinstance(value, dict) else {}
    match kind:
        case OutgoingKind.EVENT:
            return message(kind=kind, event_name=_text(value))
        case OutgoingKind.LOCATION:
            return message(
                kind=kind,
                lat=_text(fields.get("lat")),
                long=_text(fields.get("long")),
                title=_optional_text(fields.get("title")),
            )
        case _:
            return message(
                kind=kind,
                media_type=_text(fields.get("mediaType")),
                url=_text(fields.get("url")),
                mime_type=_optional_text(fields.get("mimeType")),
                title=_optional_text(fields.get("title")),
            )


def describe_outgoing(message: Outgoing) -> str:
    """One line for the transcript: `say 'hello'`, `event ORDER_SHIPPED {orderId: 42}`."""
    if message.kind is OutgoingKind.TEXT:
        return f"say {message.speech!r}"
    if message.kind is OutgoingKind.EVENT:
        params = ", ".join(f"{k}: {_first_value(v)}" for k, v in message.params.items())
        return f"event {message.event_name}" + (f" {{{params}}}" if params else "")
    if message.kind is OutgoingKind.LOCATION:
        title = f" ({message.title})" if message.title else ""
        return f"location {message.lat},{message.long}{title}"
    return f"media {message.media_type} {message.url}"


def _first_value(value: JSON) -> JSON:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0].get("value")
    return value


def _as_text(value: JSON) -> str:
    # As a variable reads inside a longer string of a spec: strings as they are, other values as JSON.
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _texts(mapping: Mapping[str, JSON], keep: frozenset[str] = frozenset()) -> JSONObject:
    return {key: value if key in keep else _as_text(value) for key, value in mapping.items()}


def _scalar_text(value: JSON) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _text(value: JSON) -> str:
    return value if isinstance(value, str) else "" if value is None else _scalar_text(value)


def _optional_text(value: JSON) -> str | None:
    return None if value is None else _text(value)


__all__ = [
    "build_outgoing",
    "describe_outgoing",
    "wire_metadata_fields",
    "wire_originator_fields",
    "wire_params",
]
