"""The sync REST transport: ``POST rest/v1/messages/{thread}?sync=true``, whose answer is the whole reply.
Imports base, http and outgoing of the transports; never ws.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import time
from collections import deque
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx

from pytest_flowai.errors import ConfigurationError, TransportError
from pytest_flowai.transports.base import (
    Incoming,
    Notice,
    Outgoing,
    OutgoingKind,
    Transport,
    TransportConfig,
)
from pytest_flowai.transports.http import HttpAnswer, failed_status, new_http_client, request, thread_path

if TYPE_CHECKING:
    from collections.abc import Callable

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


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (a number of seconds or an HTTP date); ``None`` when
    it is missing or unreadable."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


def _too_many(
    answer: HttpAnswer, what: str, wait: float | None, timeout: float, *, again: bool = False
) -> TransportError:
    if again:
        why = "again after the one retry"
    elif wait is None:
        why = (
            "without a Retry-After saying when to retry"
            if answer.retry_after is None
            else (f"with a Retry-After that is not a time: {answer.retry_after!r}")
        )
    else:
        why = f"with Retry-After {wait:g}s, past the turn's timeout of {timeout:g}s"
    error = failed_status(answer, what)
    error.message = f"{error.message} (too many requests, {why})"
    return error


class RestTransport(Transport):
    """Sends each message with ``?sync=true``; the HTTP answer is the whole reply, queued for ``receive``."""

    name = "rest"
    streaming = False

    def __init__(self, config: TransportConfig, *, http: httpx.AsyncClient | None = None) -> None:
        if not config.api_key:
            raise ConfigurationError(
                "the REST API needs an API key; none is configured", credential="API key"
            )
        self._config = config
        self._owns_http = http is None
        self._http = http if http is not None else new_http_client()
        self._replies: deque[Incoming | Notice] = deque()
        self._urls: dict[str, httpx.URL] = {}
        self._closed = False

    @classmethod
    async def open(
        cls,
        config: TransportConfig,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> RestTransport:
        """A ready transport; REST has no connection to open before the first send (``timeout`` unused)."""
        return cls(config, http=http)

    def __repr__(self) -> str:
        return f"RestTransport(url={self._config.url!r})"

    async def send(
        self,
        message: Outgoing,
        *,
        timeout: float,  # noqa: ASYNC109
        on_sent: Callable[[], object] | None = None,
    ) -> None:
        """Send ``message`` and queue the reply; a 429 whose ``Retry-After`` fits in ``timeout`` is retried
        once (said in a ``Notice``). Any other failure, 5xx included, is not retried."""
        if self._closed:
            raise TransportError("the REST transport is closed", url=self._config.url)
        what = f"sending a {message.kind.value} message"
        deadline = time.monotonic() + timeout
        answer = await self._post(message, what, timeout)
        if on_sent is not None:
            on_sent()  # the answer is the reply: nothing of the server's to overlap
        if answer.status == 429:
            wait = retry_after_seconds(answer.retry_after)
            left = deadline - time.monotonic()
            if wait is None or wait >= left:
                raise _too_many(answer, what, wait, timeout)
            self._replies.append(
                Notice(
                    text=f"HTTP 429 (too many requests): retrying once after {wait:g}s, as Retry-After asks",
                    at=time.monotonic(),
                )
            )
            await asyncio.sleep(wait)
            answer = await self._post(message, what, deadline - time.monotonic())
            if answer.status == 429:
                raise _too_many(answer, what, None, timeout, again=True)
        body = answer.checked_body(what, "rest.sync-result")
        if isinstance(body, dict):
            result = body.get("result")
            if isinstance(result, dict):
                foreign = result.get("threadId") != message.thread_id
                self._replies.append(Incoming(payload=result, at=time.monotonic(), foreign=foreign))

    async def _post(self, message: Outgoing, what: str, timeout: float) -> HttpAnswer:  # noqa: ASYNC109
        return await request(
            self._http,
            "POST",
            self._send_url(message.thread_id),
            timeout=timeout,
            max_bytes=self._config.max_reply_bytes,
            api_key=self._config.api_key,
            body={"payload": rest_payload(message)},
            what=what,
        )

    def _send_url(self, thread_id: str) -> httpx.URL:
        """The sync send URL of a thread, parsed once (httpx parses a string URL and its params again for
        every request, ~0.05 ms); a conversation keeps to its one thread."""
        url = self._urls.get(thread_id)
        if url is None:
            address = f"{self._config.url}/rest/v1/messages/{thread_path(thread_id)}"
            url = self._urls[thread_id] = httpx.URL(address, params={"sync": "true"})
        return url

    async def receive(self, timeout: float) -> Incoming | Notice | None:  # noqa: ASYNC109
        # The sync answer is the whole reply: never wait for more.
        return self._replies.popleft() if self._replies else None

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._owns_http:
            await self._http.aclose()


__all__ = ["RestTransport", "rest_payload", "retry_after_seconds"]
