"""The sync REST transport: ``POST rest/v1/messages/{thread}?sync=true``, whose answer is the whole reply.
Imports base, http and outgoing of the transports; never ws.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING

from pytest_flowai.errors import TransportError
from pytest_flowai.transports.base import (
    Incoming,
    Notice,
    Outgoing,
    OutgoingKind,
    Transport,
    TransportConfig,
)
from pytest_flowai.transports.http import new_http_client, request, thread_path

if TYPE_CHECKING:
    import httpx

    from pytest_flowai._json import JSONObject


def rest_payload(message: Outgoing) -> JSONObject:
    """The ``payload`` of a REST send body, as 000_*.txt and 003_*.txt show it.

    Params go in ``metadata.params`` (where 000_*.txt and the socket API carry them) and also as the
    top-level ``params`` the 003_*.txt argument tables list, so a server reading either sees the same.
    """
    payload: JSONObject = {"type": message.kind.value}
    if message.kind is OutgoingKind.TEXT:
        payload["speech"] = message.speech
    elif message.kind is OutgoingKind.EVENT:
        payload["eventName"] = message.event_name
    elif message.kind is OutgoingKind.LOCATION:
        payload["lat"] = message.lat
        payload["long"] = message.long
        if message.title is not None:
            payload["title"] = message.title
    else:
        payload["mediaType"] = message.media_type
        payload["url"] = message.url
        if message.mime_type is not None:
            payload["mimeType"] = message.mime_type
        if message.title is not None:
            payload["title"] = message.title
    payload["originator"] = message.wire_originator()
    metadata = message.wire_metadata()
    if metadata:
        payload["metadata"] = metadata
    if message.params:
        payload["params"] = dict(message.params)
    return payload


class RestTransport(Transport):
    """Sends each message with ``?sync=true``; the HTTP answer is the whole reply, queued for ``receive``."""

    name = "rest"
    streaming = False

    def __init__(self, config: TransportConfig, *, http: httpx.AsyncClient | None = None) -> None:
        if not config.api_key:
            raise TransportError(
                "the REST API needs an API key; none is configured", url=config.url, credential="API key"
            )
        self._config = config
        self._owns_http = http is None
        self._http = http if http is not None else new_http_client()
        self._replies: deque[Incoming] = deque()
        self._closed = False

    @classmethod
    async def open(cls, config: TransportConfig, *, http: httpx.AsyncClient | None = None) -> RestTransport:
        """A ready transport; REST has no connection to open before the first send."""
        return cls(config, http=http)

    def __repr__(self) -> str:
        return f"RestTransport(url={self._config.url!r})"

    async def send(self, message: Outgoing, *, timeout: float) -> None:  # noqa: ASYNC109
        if self._closed:
            raise TransportError("the REST transport is closed", url=self._config.url)
        url = f"{self._config.url}/rest/v1/messages/{thread_path(message.thread_id)}"
        what = f"sending a {message.kind.value} message"
        answer = await request(
            self._http,
            "POST",
            url,
            timeout=timeout,
            api_key=self._config.api_key,
            params={"sync": "true"},
            body={"payload": rest_payload(message)},
            what=what,
        )
        body = answer.checked_body(what, "rest.sync-result")
        if isinstance(body, dict):
            result = body.get("result")
            if isinstance(result, dict):
                self._replies.append(Incoming(payload=result, at=time.monotonic()))

    async def receive(self, timeout: float) -> Incoming | Notice | None:  # noqa: ASYNC109
        # The sync answer is the whole reply: never wait for more.
        return self._replies.popleft() if self._replies else None

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._owns_http:
            await self._http.aclose()


__all__ = ["RestTransport", "rest_payload"]
