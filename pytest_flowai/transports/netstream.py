"""httpcore's network interface on asyncio's own transports: what its anyio backend does, without a cancel
scope, a sniffio look-up and a socket poll around every read and write (~0.15 ms of CPU per request).
Timeouts are the caller's (one ``asyncio.timeout`` around the whole request); httpcore passes none.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

import httpcore

# Reading pauses while this much is received and not yet read (a server pushing more than we take).
_READ_AHEAD = 256 * 1024
_T = TypeVar("_T")


class _Protocol(asyncio.Protocol):
    """Collects what arrives and wakes the one reader; holds writes back while the transport asks to."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.chunks: deque[bytes] = deque()
        self.size = 0
        self.eof = False
        # Why the connection broke (a reset, say); None while it is open or when it closed cleanly.
        self.error: Exception | None = None
        self.paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.size += len(data)
        if self.size > _READ_AHEAD and self.transport is not None and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # close our side too: an HTTP/1.1 client has nothing more to say

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake()
        self.resume_writing()

    def pause_writing(self) -> None:
        if self._drained is None:
            self._drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    async def readable(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    @property
    def writing_paused(self) -> bool:
        return self._drained is not None

    async def drained(self) -> None:
        if self._drained is not None:
            # Shielded: a cancelled writer leaves the future for the transport to resolve.
            await asyncio.shield(self._drained)

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One TCP (or TLS) connection."""

    def __init__(self, protocol: _Protocol) -> None:
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        protocol = self._protocol
        while not protocol.chunks:
            if protocol.eof:
                if protocol.error is not None:
                    raise httpcore.ReadError(str(protocol.error)) from protocol.error
                return b""  # httpcore reads b"" as the server having closed
            await _within(timeout, httpcore.ReadTimeout, protocol.readable())
        chunk = protocol.chunks.popleft()
        if len(chunk) > max_bytes:
            protocol.chunks.appendleft(chunk[max_bytes:])
            chunk = chunk[:max_bytes]
        protocol.size -= len(chunk)
        if protocol.paused and protocol.size <= _READ_AHEAD and protocol.transport is not None:
            protocol.paused = False
            protocol.transport.resume_reading()
        return chunk

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        protocol = self._protocol
        transport = protocol.transport
        if transport is None or transport.is_closing():
            raise httpcore.WriteError(str(protocol.error or "the server closed the connection"))
        transport.write(buffer)
        if protocol.writing_paused:
            await _within(timeout, httpcore.WriteTimeout, protocol.drained())
        if protocol.error is not None:
            raise httpcore.WriteError(str(protocol.error)) from protocol.error

    async def aclose(self) -> None:
        if self._protocol.transport is not None:
            self._protocol.transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        protocol = self._protocol
        assert protocol.transport is not None
        loop = asyncio.get_running_loop()
        try:
            starting = loop.start_tls(
                protocol.transport, protocol, ssl_context, server_hostname=server_hostname
            )
            transport = await _within(timeout, httpcore.ConnectTimeout, starting)
        except (OSError, ssl.SSLError) as exc:
            protocol.transport.close()
            raise httpcore.ConnectError(str(exc)) from exc
        assert isinstance(transport, asyncio.Transport)
        protocol.transport = transport
        return self

    def get_extra_info(self, info: str) -> Any:
        protocol = self._protocol
        if info == "is_readable":
            # httpcore asks before reusing an idle connection: readable means closed or sent unasked.
            return bool(protocol.chunks) or protocol.eof
        name = {"ssl_object": "ssl_object", "client_addr": "sockname", "server_addr": "peername"}
        if protocol.transport is None:
            return None
        return protocol.transport.get_extra_info(name.get(info, info))


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Opens ``AsyncioStream`` connections for an ``httpcore.AsyncConnectionPool``."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        try:
            connecting = loop.create_connection(_Protocol, host, port, local_addr=local)
            transport, protocol = await _within(timeout, httpcore.ConnectTimeout, connecting)
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(protocol)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def _within(timeout: float | None, error: type[Exception], waiting: Awaitable[_T]) -> _T:  # noqa: ASYNC109
    """``waiting`` awaited, its timeout raised as httpcore's ``error``; no timer without a timeout."""
    if timeout is None:
        return await waiting
    try:
        async with asyncio.timeout(timeout):
            return await waiting
    except TimeoutError as exc:
        raise error(f"no progress within {timeout:g}s") from exc


__all__ = ["AsyncioBackend", "AsyncioStream"]
