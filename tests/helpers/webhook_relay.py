"""A webhook relay of the tests' own: what a tunnel in front of the plugin's receiver would be, with faults
(a 500 first, a changed body, a copy for another thread, a call delivered twice, nothing passed on).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from pytest_flowai._json import JSONObject

# Turns one webhook body into those to pass on (none: swallow it), in order.
Rewrite = Callable[[JSONObject], list[JSONObject]]


def free_port() -> int:
    """A port free on 127.0.0.1 just now, for a receiver the relay must know the address of in advance."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Relay:
    """Listens on 127.0.0.1:0 and passes webhook calls on to ``target``; ``fail_first`` calls get a 500."""

    def __init__(self, target: str, *, fail_first: int = 0, rewrite: Rewrite | None = None) -> None:
        self.target = target
        self.fail_first = fail_first
        self.rewrite = rewrite or (lambda body: [body])
        self.calls = 0
        self.failed = 0
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(200)

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
                relay.calls += 1
                if relay.failed < relay.fail_first:
                    relay.failed += 1
                    self._answer(500)
                    return
                status = 200
                try:
                    for item in relay.rewrite(body):
                        status = httpx.post(relay.target, json=item, timeout=5).status_code
                except httpx.HTTPError:
                    status = 502  # the receiver is gone (its run ended): as a tunnel would answer
                self._answer(status)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Relay:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
