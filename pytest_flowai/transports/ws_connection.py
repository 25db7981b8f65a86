"""A websockets client connection that hands each whole message to a callback the moment its last frame is
parsed, and sends a text frame without awaiting when nothing would make it wait.

websockets (opening handshake, TLS, proxies, size limit, close handshake) stays in charge of the wire; this
subclass only skips the queue between the socket and ``recv()``: no reader task wakes per frame, and no
``Assembler`` or send context runs per message. Its ``create_connection`` parameter takes such a subclass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.frames import DATA_OPCODES, CloseCode, Frame, Opcode
from websockets.protocol import Event, State

OnMessage = Callable[[str | bytes], None]
OnLost = Callable[[], None]

_FRAME_HEADER = 14  # the most a WebSocket frame header of a client takes (length and mask)


def _ignore_message(data: str | bytes) -> None:
    """What a message does once nobody listens (after ``detach``)."""


def _ignore_lost() -> None:
    """What the end of the connection does once nobody listens (after ``detach``)."""


class FrameConnection(ClientConnection):
    """A ``ClientConnection`` whose messages go to ``on_message`` and whose end calls ``on_lost`` (both
    from the loop's I/O callback); until ``attach`` names them, messages wait in order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fragments: list[bytes] = []
        self._text = False
        self._early: list[str | bytes] | None = []
        self._on_message: OnMessage = self._early.append
        self._on_lost: OnLost | None = None
        self._ended = False

    def attach(self, on_message: OnMessage, on_lost: OnLost) -> None:
        """Hand every message so far and from now on to ``on_message``; ``on_lost`` once the connection
        ends (at once when it already has)."""
        early, self._early = self._early or [], None
        self._on_message, self._on_lost = on_message, on_lost
        for message in early:
            on_message(message)
        if self._ended:
            on_lost()

    def detach(self) -> None:
        """Drop what arrives from now on: the owner has moved to another connection or closed."""
        self._on_message, self._on_lost = _ignore_message, _ignore_lost

    def send_now(self, text: str) -> bool:
        """Send ``text`` as one text frame at once; False, sending nothing, when ``send`` would wait (the
        connection is not open, or the frame would fill the write buffer past its high-water mark)."""
        transport = self.transport
        if self.protocol.state is not State.OPEN or transport.is_closing():
            return False
        data = text.encode()
        room = transport.get_write_buffer_limits()[1] - transport.get_write_buffer_size()
        if len(data) + _FRAME_HEADER > room:
            return False
        self.protocol.send_text(data)
        self.send_data()
        return True

    # -- websockets' hooks ------------------------------------------------------------------------------

    def process_event(self, event: Event) -> None:
        if self.response is None or not isinstance(event, Frame) or event.opcode not in DATA_OPCODES:
            super().process_event(event)  # the handshake response, a close, ping or pong frame
            return
        if event.opcode is not Opcode.CONT:
            self._text = event.opcode is Opcode.TEXT
        if event.data:
            self._fragments.append(bytes(event.data))
        if not event.fin:
            return
        data = b"".join(self._fragments)
        self._fragments = []
        if not self._text:
            self._on_message(data)
            return
        try:
            text = data.decode()
        except UnicodeDecodeError as exc:
            self._refuse_text(exc)
            return
        self._on_message(text)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._ended = True
        if self._on_lost is not None:
            self._on_lost()

    def _refuse_text(self, exc: UnicodeDecodeError) -> None:
        """Close with 1007 as ``recv`` would for a text message that is not UTF-8, and end the connection
        if the server does not close within the close timeout."""
        self.set_connection_exc(exc)
        self.protocol.fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
        self.send_data()
        self.loop.call_later(self.close_timeout or 0.0, self._abort)

    def _abort(self) -> None:
        if not self._ended:
            self.transport.abort()


__all__ = ["FrameConnection"]
