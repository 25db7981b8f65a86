"""Helpers of the transport tests: a bounded runner, configs for an emulator, a port nobody listens on."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pytest_flowai.emulator import EmulatorThread, Fault
from pytest_flowai.secret import secret_or_none
from pytest_flowai.transports import Outgoing, OutgoingKind, TransportConfig

TEST_DEADLINE = 20.0  # no transport test may take longer than this

T = TypeVar("T")
# `emulators(fault)`: the running emulator with that fault (None: healthy), started once per session.
Emulators = Callable[[Fault | None], EmulatorThread]


def config_for(emulator: EmulatorThread, **changes: str) -> TransportConfig:
    """A config pointing at ``emulator`` with its credentials, optionally changed."""
    url = changes.get("url", emulator.url)
    client_id = changes.get("client_id", emulator.client_id)
    api_key = changes.get("api_key", emulator.api_key)
    return TransportConfig(url=url, client_id=client_id, api_key=secret_or_none(api_key), connect_timeout=5.0)


def run(make: Callable[[], Awaitable[T]], deadline: float = TEST_DEADLINE) -> T:
    """Run a coroutine in a fresh loop, failing (not hanging) after ``deadline`` seconds."""

    async def bounded() -> T:
        async with asyncio.timeout(deadline):
            return await make()

    return asyncio.run(bounded())


def unused_port() -> int:
    """A loopback port nothing listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def text(thread_id: str, speech: str) -> Outgoing:
    """A text message."""
    return Outgoing(kind=OutgoingKind.TEXT, thread_id=thread_id, speech=speech)


def reply_texts(payload: object) -> list[str]:
    """The texts of every text response in a reply payload, in order."""
    found: list[str] = []
    messages = payload.get("messages") if isinstance(payload, dict) else None
    for message in messages if isinstance(messages, list) else []:
        responses = message.get("responses") if isinstance(message, dict) else None
        for response in responses if isinstance(responses, list) else []:
            inner = response.get("payload") if isinstance(response, dict) else None
            if isinstance(response, dict) and response.get("type") == "text" and isinstance(inner, dict):
                found.append(str(inner.get("text")))
    return found


def new_thread() -> str:
    """A fresh thread id shaped like the SDK's: 32 hex digits, '|', a channel id."""
    return f"{uuid.uuid4().hex}|o_transport-tests"
