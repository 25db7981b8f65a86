"""Transports move user messages to Flow.ai and replies back (Web socket, sync REST) and control the bot;
they know nothing of specs. This init is the registry of transport kinds and must stay light: the names
below load on first use, so the plugin can read `TRANSPORT_KINDS` without importing httpx or websockets.

Inside the package an arrow means "may import"; nothing imports rest or ws but `open_transport`:

    base, checks                       leaves (errors, _json, schemas of ours)
    outgoing         → base            the wire shape of a user message
    socket_protocol  → base, checks    the socket's frames, sans I/O (no asyncio, no websockets)
    netstream        leaf              httpcore's network interface on asyncio's transports
    http             → base, checks, netstream   one bounded HTTP request (httpcore; httpx's client
                                                 behind a proxy)
    rest, controls   → base, http
    ws               → base, http, socket_protocol   the socket's I/O (websockets)
    receiver         → checks                         the webhook receiver (uvicorn in a thread)
    hub              → http, receiver                 the receiver's registration with Flow.ai
    webhook          → base, http, rest               REST without sync and the Messaging API
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from pytest_flowai._lazy import load_lazily
from pytest_flowai.errors import ConfigurationError

if TYPE_CHECKING:
    import httpx

    from pytest_flowai.transports.base import (
        Incoming,
        Notice,
        Outgoing,
        OutgoingKind,
        Transport,
        TransportConfig,
    )
    from pytest_flowai.transports.controls import Controls
    from pytest_flowai.transports.hub import WebhookHub
    from pytest_flowai.transports.rest import RestTransport
    from pytest_flowai.transports.ws import SocketTransport

# The registry of transport kinds: what a spec's `transport:` and `flowai_transport` may name, and the
# module and class of each (imported when a transport of that kind is first opened).
_KINDS: dict[str, tuple[str, str]] = {
    "socket": ("ws", "SocketTransport"),
    "rest": ("rest", "RestTransport"),
    "webhook": ("webhook", "WebhookTransport"),
    "messaging": ("webhook", "MessagingTransport"),
}
TRANSPORT_KINDS = tuple(_KINDS)
# The kinds whose replies come as webhook calls, through the session's receiver (a ``WebhookHub``).
WEBHOOK_KINDS = frozenset({"webhook", "messaging"})

_HOMES = {
    "Controls": "controls",
    "Incoming": "base",
    "Notice": "base",
    "Outgoing": "base",
    "OutgoingKind": "base",
    "RestTransport": "rest",
    "SocketTransport": "ws",
    "Transport": "base",
    "TransportConfig": "base",
}


async def open_transport(
    kind: str,
    config: TransportConfig,
    *,
    http: httpx.AsyncClient | None = None,
    timeout: float | None = None,  # noqa: ASYNC109
    hub: WebhookHub | None = None,
) -> Transport:
    """Open a connected transport of ``kind`` (one of ``TRANSPORT_KINDS``).

    ``http``: an HTTP client to share (one per session); the transport then leaves it open on close.
    ``timeout``: what connecting may take (the turn's timeout); else the config's ``connect_timeout``.
    ``hub``: the session's webhook receiver, for the kinds in ``WEBHOOK_KINDS``.
    """
    home = _KINDS.get(kind)
    if home is None:
        known = ", ".join(map(repr, TRANSPORT_KINDS))
        raise ConfigurationError(f"unknown transport {kind!r}: expected one of {known}")
    module, name = home
    cls = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    extra = {"hub": hub} if kind in WEBHOOK_KINDS else {}
    transport: Transport = await cls.open(config, http=http, timeout=timeout, **extra)
    return transport


def __getattr__(name: str) -> object:
    return load_lazily(__name__, _HOMES, name)


__all__ = [
    "TRANSPORT_KINDS",
    "WEBHOOK_KINDS",
    "Controls",
    "Incoming",
    "Notice",
    "Outgoing",
    "OutgoingKind",
    "RestTransport",
    "SocketTransport",
    "Transport",
    "TransportConfig",
    "open_transport",
]
