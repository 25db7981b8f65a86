"""The sync REST transport (``POST rest/v1/messages/{thread}?sync=true``) and the HTTP plumbing that the
socket transport and the bot controls share: every httpx error becomes a ``TransportError`` here.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from pytest_flowai import schemas
from pytest_flowai.errors import SchemaViolation, TransportError, quote
from pytest_flowai.transports.base import (
    Incoming,
    Notice,
    Outgoing,
    OutgoingKind,
    Transport,
    TransportConfig,
    redact,
)

if TYPE_CHECKING:
    from pytest_flowai._json import JSON, JSONObject

_EXCERPT = 200


def new_http_client(*, verify: ssl.SSLContext | bool = True) -> httpx.AsyncClient:
    """An HTTP client for Flow.ai: no redirects (a redirect is an error for an API), timeouts per request.

    ``verify``: a TLS context to share (see ``tls_context``); by default httpx builds one, which costs ~25 ms.
    """
    return httpx.AsyncClient(follow_redirects=False, timeout=None, verify=verify)


def tls_context() -> ssl.SSLContext:
    """The TLS context httpx would build by default (certificate checks on), made once to be shared."""
    make = getattr(httpx, "create_ssl_context", None)  # public from httpx 0.28
    if make is None:
        import certifi  # httpx's own CA bundle before 0.28

        return ssl.create_default_context(cafile=certifi.where())
    context: ssl.SSLContext = make()
    return context


def thread_path(thread_id: str) -> str:
    """A thread id quoted as one path segment: ``|`` (channel separator) and ``/`` never split the path."""
    return urllib.parse.quote(thread_id, safe="")


def check_schema(instance: JSON, name: str) -> None:
    """Raise ``SchemaViolation`` carrying ``instance`` when it breaks the protocol schema ``name``."""
    found = schemas.violations(instance, name)
    if found:
        raise SchemaViolation(name, found, instance)


def describe_cause(exc: BaseException) -> str:
    """The most telling text of an exception chain: the OS error at its root when there is one."""
    seen: BaseException | None = exc
    best = str(exc) or type(exc).__name__
    while seen is not None:
        if isinstance(seen, socket.gaierror) and seen.strerror:
            # Resolver codes are not errno values: os.strerror(-2) reads "Unknown error -2".
            best = f"cannot resolve the host name ({seen.strerror})"
        elif isinstance(seen, OSError) and seen.errno:
            best = os.strerror(seen.errno)  # asyncio's own strerror adds noise ("Connect call failed ...")
        elif isinstance(seen, OSError) and seen.strerror:
            best = seen.strerror
        seen = seen.__cause__ or seen.__context__
    return best


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpAnswer:
    """An HTTP answer: its status, its text and its JSON body (``is_json`` False when it did not parse)."""

    url: str
    status: int
    text: str
    body: JSON
    is_json: bool

    def excerpt(self) -> str:
        """The body quoted and cut, for error messages."""
        return quote(self.text, _EXCERPT)

    def server_message(self) -> str:
        """What the server said went wrong: a ``rest.error`` body's message, else a cut excerpt."""
        if self.is_json and isinstance(self.body, dict):
            message = self.body.get("message")
            if isinstance(message, str) and message:
                return message
        return self.excerpt() if self.text else "(empty body)"

    def json_body(self, what: str) -> JSON:
        """The parsed body, or a ``TransportError`` saying it is not JSON."""
        if not self.is_json:
            raise TransportError(
                f"{what}: the server answered with a body that is not JSON: {self.excerpt()}", url=self.url
            )
        return self.body

    def checked_body(self, what: str, schema: str) -> JSON:
        """The body of a 2xx JSON answer that fits the protocol schema ``schema``.

        Raises ``TransportError`` for another status or a body that is not JSON, ``SchemaViolation`` for one
        that breaks the schema.
        """
        if not 200 <= self.status < 300:
            raise failed_status(self, what)
        body = self.json_body(what)
        check_schema(body, schema)
        return body


async def request(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    timeout: float,  # noqa: ASYNC109
    api_key: str | None = None,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: JSON = None,
    what: str = "",
) -> HttpAnswer:
    """Send one HTTP request, bounded by ``timeout`` in all (connect, send, read the whole body).

    Raises ``TransportError`` naming the URL (never the key) for any network failure or timeout; its
    message starts with ``what`` (what we were doing), else the method.
    """
    doing = what or method
    all_headers = dict(headers or {})
    if api_key:
        all_headers["Authorization"] = api_key
    shown = str(httpx.URL(url, params=params))
    try:
        async with asyncio.timeout(timeout):
            response = await http.request(
                method,
                url,
                params=params,
                headers=all_headers,
                json=body if method != "GET" else None,
                timeout=httpx.Timeout(timeout),
            )
            text = response.text
    except (TimeoutError, httpx.TimeoutException) as exc:
        raise TransportError(f"{doing}: no answer within {timeout:g}s", url=shown) from exc
    except httpx.ConnectError as exc:
        cause = redact(describe_cause(exc), api_key)
        raise TransportError(f"{doing}: cannot connect: {cause}", url=shown, affects_all=True) from exc
    except (httpx.HTTPError, OSError) as exc:
        raise TransportError(
            f"{doing}: the connection failed: {redact(describe_cause(exc), api_key)}", url=shown
        ) from exc
    text = redact(text, api_key)
    try:
        parsed: JSON = json.loads(text) if text else None
        is_json = bool(text)
    except ValueError:
        parsed, is_json = None, False
    return HttpAnswer(url=shown, status=response.status_code, text=text, body=parsed, is_json=is_json)


def failed_status(answer: HttpAnswer, what: str) -> TransportError:
    """The error for a non-2xx answer: the status and the server's message."""
    refused = answer.status in (401, 403)
    hint = " (the API key was refused)" if refused else ""
    return TransportError(
        f"{what}: HTTP {answer.status}{hint}: {answer.server_message()}",
        url=answer.url,
        credential="API key" if refused else None,
    )


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


__all__ = [
    "HttpAnswer",
    "RestTransport",
    "check_schema",
    "describe_cause",
    "failed_status",
    "new_http_client",
    "request",
    "rest_payload",
    "thread_path",
    "tls_context",
]
