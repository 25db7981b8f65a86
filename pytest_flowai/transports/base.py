"""The transport interface: what the user sends (`Outgoing`), what comes back (`Incoming`, `Notice`) and the
`Transport` protocol. Knows nothing of specs; imports only errors and _json of ours, never rest or ws.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self, runtime_checkable

from pytest_flowai.errors import ConfigurationError
from pytest_flowai.secret import MASK, Secret, secret_or_none
from pytest_flowai.secret import redact as redact_all

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_flowai._json import JSONObject

# The default cap on one socket frame or one HTTP body; Flow.ai's replies are kilobytes.
DEFAULT_MAX_REPLY_BYTES = 4 * 2**20

# What Flow.ai's web-chat SDK sends when the application sets no originator (PROTOCOL-NOTES.md).
DEFAULT_ORIGINATOR_NAME = "pytest-flowai"


def redact(text: str, secret: Secret | str | None) -> str:
    """``text`` with ``secret`` (in all its forms, see ``secret.redact``) blanked out, for messages only."""
    return redact_all(text, (secret,))


@dataclass(frozen=True, slots=True, kw_only=True)
class TransportConfig:
    """Where and who to connect as. ``url`` is the base URL ("https://api.flow.ai", "http://127.0.0.1:PORT")."""

    url: str
    client_id: str | None = None
    api_key: Secret | None = field(default=None, repr=False)
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    connect_timeout: float = 10.0
    max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ConfigurationError(f"the Flow.ai URL must start with http:// or https://, got {self.url!r}")
        if self.connect_timeout <= 0:
            raise ConfigurationError(f"connect_timeout must be positive, got {self.connect_timeout!r}")
        if self.max_reply_bytes <= 0:
            raise ConfigurationError(f"max_reply_bytes must be positive, got {self.max_reply_bytes!r}")
        # A plain string is wrapped, so the key is never an attribute a repr or traceback shows.
        object.__setattr__(self, "api_key", secret_or_none(self.api_key))
        # A trailing slash would double up in every path we build.
        object.__setattr__(self, "url", self.url.rstrip("/"))

    def __repr__(self) -> str:
        key = MASK if self.api_key else None
        return (
            f"TransportConfig(url={self.url!r}, client_id={self.client_id!r}, api_key={key!r}, "
            f"session_id={self.session_id!r}, connect_timeout={self.connect_timeout!r}, "
            f"max_reply_bytes={self.max_reply_bytes!r})"
        )


class OutgoingKind(StrEnum):
    """What a user message carries."""

    TEXT = "text"
    EVENT = "event"
    LOCATION = "location"
    MEDIA = "media"


# The fields each kind needs; checked when an Outgoing is built, so an incomplete one cannot exist.
_REQUIRED: dict[OutgoingKind, tuple[str, ...]] = {
    OutgoingKind.TEXT: ("speech",),
    OutgoingKind.EVENT: ("event_name",),
    OutgoingKind.LOCATION: ("lat", "long"),
    OutgoingKind.MEDIA: ("media_type", "url"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Outgoing:
    """One message from the user. ``params`` are in wire form (``{"name": [{"value": "x"}]}``)."""

    kind: OutgoingKind
    thread_id: str
    speech: str | None = None
    event_name: str | None = None
    params: JSONObject = field(default_factory=dict)
    lat: str | None = None
    long: str | None = None
    title: str | None = None
    media_type: str | None = None
    url: str | None = None
    mime_type: str | None = None
    originator: JSONObject = field(default_factory=dict)
    metadata: JSONObject = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A missing field here is a bug of the caller (the runner), not of a spec: plain ValueError.
        missing = [name for name in _REQUIRED[self.kind] if getattr(self, name) is None]
        if missing:
            raise ValueError(f"an Outgoing of kind {self.kind.value!r} needs {', '.join(missing)}")
        if not self.thread_id:
            raise ValueError("an Outgoing needs a non-empty thread_id")

    def wire_originator(self) -> JSONObject:
        """The originator to send: the given one, or an anonymous external user as the SDK sends."""
        if self.originator:
            return dict(self.originator)
        return {"name": DEFAULT_ORIGINATOR_NAME, "role": "external", "profile": {}}

    def wire_metadata(self) -> JSONObject:
        """The metadata to send, with ``params`` merged over ``metadata.params`` (the message's own win)."""
        metadata = dict(self.metadata)
        if self.params:
            given = metadata.get("params")
            merged: JSONObject = dict(given) if isinstance(given, dict) else {}
            merged.update(self.params)
            metadata["params"] = merged
        return metadata


@dataclass(frozen=True, slots=True, kw_only=True)
class Incoming:
    """One reply payload ``{threadId, messages, originator}`` (schema-valid) and its ``time.monotonic()``.

    ``foreign``: its ``threadId`` is not the thread the message was sent on, so it answers someone else.
    ``duplicate``: the same payload already arrived since the last send (delivered twice).
    """

    payload: JSONObject
    at: float
    foreign: bool = False
    duplicate: bool = False

    @property
    def thread_id(self) -> str:
        """The ``threadId`` the reply names."""
        return str(self.payload.get("threadId"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    """A transport event the user should see in the transcript, e.g. a reconnect.

    ``drop``: set when the notice reports a connection that closed (its code and reason), after which
    replies sent meanwhile are lost.
    """

    text: str
    at: float
    drop: str | None = None


# Timeouts are arguments here (ruff's ASYNC109 is silenced on purpose): the runner owns each turn's deadline
# and passes what is left of it.
class Transport(Protocol):
    """Moves user messages out and reply payloads in; used as ``async with``.

    ``streaming``: True when replies arrive over time (socket); False when the answer to ``send`` is the
    whole reply (sync REST), so the runner must not wait for more.
    """

    name: str
    streaming: bool

    async def send(
        self,
        message: Outgoing,
        *,
        timeout: float,  # noqa: ASYNC109
        on_sent: Callable[[], object] | None = None,
    ) -> None:
        """Send one message; returns once the server has accepted it. Raises ``TransportError``.

        ``on_sent`` is called once, when the message is on its way and the server's answer is awaited (at
        the latest before returning): the caller's own work done there overlaps the server's."""
        ...

    async def receive(self, timeout: float) -> Incoming | Notice | None:  # noqa: ASYNC109
        """The next reply or notice, or ``None`` when nothing arrived within ``timeout`` seconds."""
        ...

    async def aclose(self) -> None:
        """Close the connection; safe to call twice."""
        ...

    def prepare(self, message: Outgoing) -> None:
        """``message`` is the next the caller sends: the transport may encode it now, while it waits for the
        server's answer to the last one. This default does nothing."""
        return None

    def has_queued(self) -> bool:
        """Whether ``receive`` may have an item at hand; False only when it certainly has none, so a wait
        of 0 seconds can end without a round of the event loop. This default cannot tell: True."""
        return True

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


@runtime_checkable
class Listening(Protocol):
    """A transport whose replies are routed by thread (webhooks): it must know the thread before it sends,
    so that events of a control turn are heard too, and can say why nothing came."""

    def listen(self, thread_id: str) -> None:
        """Take the deliveries of ``thread_id`` from now on."""
        ...

    def quiet_reason(self, timeout: float) -> str | None:
        """A turn's failure reason when nothing came within ``timeout`` for a cause of the transport."""
        ...


__all__ = [
    "Incoming",
    "Listening",
    "Notice",
    "Outgoing",
    "OutgoingKind",
    "Transport",
    "TransportConfig",
    "redact",
]
