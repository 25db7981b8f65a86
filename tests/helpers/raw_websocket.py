"""A Flow.ai-shaped socket server written at the byte level, on loopback in the test's own loop: it frames
what no WebSocket library lets a server send (a text frame that is not UTF-8, a frame in the same write as
the handshake answer), and fragments a reply as it is told."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import struct
from collections.abc import AsyncIterator, Callable
from typing import Any

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455's fixed key suffix
TEXT, BINARY, CONT, CLOSE = 0x1, 0x2, 0x0, 0x8

# What the server writes for one client frame: the frames to send, already encoded.
Script = Callable[[dict[str, Any]], list[bytes]]


def frame(payload: bytes, opcode: int = TEXT, *, fin: bool = True) -> bytes:
    """One unmasked server frame."""
    head = bytes([(0x80 if fin else 0) | opcode])
    size = len(payload)
    if size < 126:
        return head + bytes([size]) + payload
    if size < 2**16:
        return head + bytes([126]) + struct.pack("!H", size) + payload
    return head + bytes([127]) + struct.pack("!Q", size) + payload


def text_frames(value: object, *, pieces: int = 1) -> list[bytes]:
    """``value`` as JSON in one text message of ``pieces`` frames (a text frame, then continuations)."""
    data = json.dumps(value).encode()
    step = -(-len(data) // pieces)
    chunks = [data[at : at + step] for at in range(0, len(data), step)]
    return [
        frame(chunk, TEXT if index == 0 else CONT, fin=index == len(chunks) - 1)
        for index, chunk in enumerate(chunks)
    ]


def delivered(payload: dict[str, Any]) -> bytes:
    """The ``message.delivered`` echo of a ``message.send`` payload."""
    echo = {"threadId": payload["threadId"], "traceId": payload["traceId"], "metadata": {}}
    return frame(json.dumps({"type": "message.delivered", "payload": echo}).encode())


async def _read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One masked client frame: its opcode and payload."""
    first, second = await reader.readexactly(2)
    size = second & 0x7F
    if size == 126:
        (size,) = struct.unpack("!H", await reader.readexactly(2))
    elif size == 127:
        (size,) = struct.unpack("!Q", await reader.readexactly(8))
    mask = await reader.readexactly(4)
    data = await reader.readexactly(size)
    return first & 0x0F, bytes(byte ^ mask[index % 4] for index, byte in enumerate(data))


class RawSocketServer:
    """``socket.info`` and a WebSocket endpoint; ``with_handshake`` goes out in the handshake answer's own
    write, and ``script`` answers each ``message.send``."""

    def __init__(self, script: Script, *, with_handshake: bytes = b"") -> None:
        self._script = script
        self._with_handshake = with_handshake
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            if head.startswith("GET /socket.info"):
                endpoint = f"ws://127.0.0.1:{self.port}/ws"
                body = json.dumps({"status": "ok", "payload": {"endpoint": endpoint}}).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
            else:
                await self._websocket(head, reader, writer)
            await writer.drain()
        writer.close()

    async def _websocket(self, head: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        key = next(
            line.split(":", 1)[1].strip()
            for line in head.split("\r\n")
            if line.lower().startswith("sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
            + self._with_handshake
        )
        while True:
            opcode, data = await _read_frame(reader)
            if opcode == CLOSE:
                writer.write(frame(data, CLOSE))  # echo the close, then end the TCP connection
                return
            sent = json.loads(data)
            if sent.get("type") == "message.send":
                writer.write(b"".join(self._script(sent["payload"])))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[RawSocketServer]:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        async with server:
            yield self
