"""uvicorn's h11 HTTP protocol with a deadline for request headers, so slow clients cannot hold connections.

uvicorn has no header timeout of its own, and its keep-alive timer restarts on every byte received: a client
that sends one header byte every few seconds would keep its connection (and a file descriptor) forever.
"""

from __future__ import annotations

import asyncio
import contextlib

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class HeaderDeadlineProtocol(H11Protocol):
    """Closes a connection whose next request's headers are not complete ``header_timeout`` seconds after
    it opened or after its last response (set per server by ``with_header_timeout``)."""

    header_timeout: float = 10.0
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._disarm()  # the headers are complete; the WebSocket has its own idle timeout
        super().handle_websocket_upgrade(event)

    def _arm(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self._deadline = self.loop.call_later(self.header_timeout, self._on_deadline)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _on_deadline(self) -> None:
        self._deadline = None
        waiting = self.cycle is None or self.cycle.response_complete
        if waiting and self.conn.their_state in (h11.IDLE, h11.DONE) and not self.transport.is_closing():
            # Between requests, or inside one whose headers never finished: nothing is being answered.
            with contextlib.suppress(h11.LocalProtocolError):
                self.conn.send(h11.ConnectionClosed())
            self.transport.close()


def with_header_timeout(seconds: float) -> type[HeaderDeadlineProtocol]:
    """The protocol class for one server, its headers due within ``seconds``."""
    return type("HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {"header_timeout": seconds})


__all__ = ["HeaderDeadlineProtocol", "with_header_timeout"]
