"""Transports move user messages to Flow.ai and replies back (Web socket, sync REST) and control the bot;
they know nothing of specs. Imports only errors, _json and schemas of ours (plus httpx, websockets).
"""

from __future__ import annotations

from pytest_flowai.transports.base import (
    TRANSPORT_KINDS,
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
