"""Transports move user messages to Flow.ai and replies back (Web socket, sync REST) and control the bot;
they know nothing of specs. Imports only errors, _json and schemas of ours (plus httpx, websockets).
The names below load on first use, so the plugin can read `TRANSPORT_KINDS` without httpx or websockets.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_flowai.transports.base import (
        Incoming,
        Notice,
        Outgoing,
        OutgoingKind,
        Transport,
        TransportConfig,
        open_transport,
    )
    from pytest_flowai.transports.controls import Controls
    from pytest_flowai.transports.rest import RestTransport
    from pytest_flowai.transports.ws import SocketTransport

# The registry of transport kinds: what a spec's `transport:` and `flowai_transport` may name.
TRANSPORT_KINDS = ("socket", "rest")

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
    "open_transport": "base",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "TRANSPORT_KINDS",
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
