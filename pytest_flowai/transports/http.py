"""The HTTP plumbing the REST transport, ``socket.info`` and the bot controls share: one request function
that turns every httpx error into a ``TransportError``, and the answer it returns. Imports base and checks.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import os
import socket
import ssl
import time
import urllib.parse
import urllib.request
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpcore
import httpx

from pytest_flowai.errors import TransportError, quote
from pytest_flowai.secret import Secret, reveal
from pytest_flowai.transports.base import DEFAULT_MAX_REPLY_BYTES, redact
from pytest_flowai.transports.checks import TooDeep, check_schema, parse_json
from pytest_flowai.transports.netstream import AsyncioBackend

if TYPE_CHECKING:
    from types import TracebackType

    from pytest_flowai._json import JSON

_EXCERPT = 200
# What httpx's client sends by default, sent on the direct path too (see ``HttpClient``).
_HEADERS = {
    "Accept": "*/*",
    "Accept-Encoding": "gzip, deflate",
    "Connection": "keep-alive",
    "User-Agent": f"python-httpx/{httpx.__version__}",
}


class HttpClient(httpx.AsyncClient):
    """An httpx client whose requests through ``request`` skip httpx when no proxy is configured.

    Those go straight to an httpcore connection pool of its own (``direct``) on asyncio's transports (see
    netstream): about half the CPU of a request through httpx's client (0.6 against 1.1-1.3 ms on
    loopback), with no ``build_request`` merge, cookie jar, auth and redirect loops, event hooks,
    per-request timeouts or anyio cancel scopes. Flow.ai's APIs
    set no cookies and a redirect is an error for them (not followed either way). With a proxy in the
    environment (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``; ``NO_PROXY`` applies) every request goes
    through the client layer, which routes it as httpx does. ``answered`` is when an answer last came.
    """

    def __init__(self, *, verify: ssl.SSLContext | bool = True) -> None:
        context = verify if isinstance(verify, ssl.SSLContext) else tls_context(verify=verify)
        super().__init__(follow_redirects=False, timeout=None, verify=context)
        self.direct: httpcore.AsyncConnectionPool | None = None
        if not _proxy_in_env():
            # httpx's own pool limits and keep-alive expiry.
            self.direct = httpcore.AsyncConnectionPool(
                ssl_context=context,
                max_connections=100,
                max_keepalive_connections=20,
                keepalive_expiry=5.0,
                network_backend=AsyncioBackend(),
            )
        self.answered = 0.0

    async def aclose(self) -> None:
        try:
            if self.direct is not None:
                await self.direct.aclose()
        finally:
            await super().aclose()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        # httpx's own exit closes its transports without ``aclose``; ours closes the direct pool too.
        await self.aclose()


def _proxy_in_env() -> bool:
    """True when the environment names a proxy httpx would use for some URL (as its ``trust_env`` reads)."""
    proxies = urllib.request.getproxies()
    return any(proxies.get(scheme) for scheme in ("http", "https", "all"))


def new_http_client(*, verify: ssl.SSLContext | bool = True) -> HttpClient:
    """An HTTP client for Flow.ai: no redirects (a redirect is an error for an API), no cookies when the
    requests go direct (see ``HttpClient``); ``request`` bounds each request by one overall timeout.

    ``verify``: a TLS context to share (see ``tls_context``); by default httpx builds one, which costs ~25 ms.
    """
    return HttpClient(verify=verify)


def tls_context(*, verify: bool = True) -> ssl.SSLContext:
    """The TLS context httpx would build by default (certificate checks on), made once to be shared."""
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    make = getattr(httpx, "create_ssl_context", None)  # public from httpx 0.28
    if make is None:
        import certifi  # httpx's own CA bundle before 0.28

        return ssl.create_default_context(cafile=certifi.where())
    made: ssl.SSLContext = make()
    return made


def tls_context_for(base_url: str) -> ssl.SSLContext:
    """The TLS context for the clients of a bot at ``base_url``: ``tls_context()`` for https. A plain-http
    bot (the embedded emulator, a local one) never needs one, so it gets a context without CA certificates
    (~0.4 ms instead of ~25 ms for loading the CA bundle), which refuses every certificate if ever used."""
    if base_url.lower().startswith("http://"):
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return tls_context()


def thread_path(thread_id: str) -> str:
    """A thread id quoted as one path segment: ``|`` (channel separator) and ``/`` never split the path."""
    return urllib.parse.quote(thread_id, safe="")


def describe_cause(exc: BaseException) -> str:
    """The most telling text of an exception chain: the OS error at its root when there is one."""
    seen: BaseException | None = exc
    best = str(exc) or type(exc).__name__
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            best = f"the server's TLS certificate was refused ({seen.verify_message or seen.reason})"
        elif isinstance(seen, ssl.SSLError):
            best = f"TLS failed ({seen.reason or seen})"  # its errno is OpenSSL's code, not the OS's
        elif isinstance(seen, socket.gaierror) and seen.strerror:
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
    """An HTTP answer: its status, its text and its JSON body (``is_json`` False when it did not parse).

    ``location`` and ``retry_after`` are those headers, for the messages of a redirect or a 429. ``text``,
    ``body`` and ``location`` are exactly what the server sent; the messages made from them hide ``secret``.
    """

    url: str
    status: int
    text: str
    body: JSON
    is_json: bool
    location: str | None = None
    retry_after: str | None = None
    secret: Secret | None = field(default=None, repr=False)

    def excerpt(self) -> str:
        """The body quoted and cut, for error messages; the key is hidden before the cut."""
        return quote(redact(self.text, self.secret), _EXCERPT)

    def server_message(self) -> str:
        """What the server said went wrong: a ``rest.error`` body's message, else a cut excerpt."""
        if self.is_json and isinstance(self.body, dict):
            message = self.body.get("message")
            if isinstance(message, str) and message:
                return redact(message, self.secret)
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
    url: str | httpx.URL,
    *,
    timeout: float,  # noqa: ASYNC109
    max_bytes: int = DEFAULT_MAX_REPLY_BYTES,
    api_key: Secret | None = None,
    bearer: bool = False,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: JSON = None,
    what: str = "",
) -> HttpAnswer:
    """Send one HTTP request, bounded by ``timeout`` in all (connect, send, read the whole body) and by
    ``max_bytes`` for the body, which is read as it streams in and abandoned at the cap.

    Raises ``TransportError`` naming the URL (never the key) for any network failure or timeout, a body
    over the cap or JSON nested too deep; its message starts with ``what`` (what we were doing), else the
    method. The answer's text is not rewritten: only messages hide the key.
    """
    doing = what or method
    all_headers = dict(_HEADERS)
    if headers:
        all_headers.update(headers)
    if api_key:
        # The REST API takes the bare key; the Messaging API documents it as a bearer token.
        all_headers["Authorization"] = ("Bearer " if bearer else "") + (reveal(api_key) or "")
    content = None
    if body is not None and method != "GET":
        # Encoded once, as httpx's own ``json=`` would (compact, UTF-8 as is, no NaN).
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
        all_headers["Content-Type"] = "application/json"
    address = url if params is None else httpx.URL(url, params=params)

    # The URL as reported in errors; made a string only when one is raised.
    def shown() -> str:
        # Without params a URL keeps its own query (httpx.URL(url, params=None) would drop it).
        return str(httpx.URL(address))

    direct = http.direct if isinstance(http, HttpClient) else None
    cap = _Cap(max_bytes, doing, shown)
    try:
        # The one timeout: the client has none of its own (no per-request ``httpx.Timeout``).
        async with asyncio.timeout(timeout):
            if direct is not None:
                answered_url, status, head, raw = await _direct(
                    direct, method, address, all_headers, content, cap
                )
            else:
                async with http.stream(method, address, headers=all_headers, content=content) as response:
                    status, head = response.status_code, response.headers
                    raw = await cap.read(response.aiter_bytes(), head)
                answered_url = str(response.request.url)
    except (TimeoutError, httpx.TimeoutException, httpcore.TimeoutException) as exc:
        raise TransportError(f"{doing}: no answer within {timeout:g}s", url=shown()) from exc
    except (httpx.ConnectError, httpcore.ConnectError) as exc:
        cause = redact(describe_cause(exc), api_key)
        raise TransportError(f"{doing}: cannot connect: {cause}", url=shown(), affects_all=True) from exc
    except (httpx.HTTPError, OSError, *_HTTPCORE_ERRORS) as exc:
        raise TransportError(
            f"{doing}: the connection failed: {redact(describe_cause(exc), api_key)}", url=shown()
        ) from exc
    if isinstance(http, HttpClient):
        http.answered = time.monotonic()
    encoding = _encoding(head)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        if 200 <= status < 300:
            # A success whose body cannot be read is garbage on the wire, not a reply that breaks a schema.
            raise TransportError(
                f"{doing}: the server answered with a body that is not {encoding}"
                f" ({exc.reason} at byte {exc.start})",
                url=answered_url,
            ) from None
        # An error page: its status says what went wrong; show what of its text can be read.
        text = raw.decode(encoding, errors="replace")
    try:
        parsed: JSON = parse_json(text) if text else None
        is_json = bool(text)
    except TooDeep as exc:
        raise TransportError(f"{doing}: the server answered with {exc}", url=answered_url) from None
    except ValueError:
        parsed, is_json = None, False
    return HttpAnswer(
        url=answered_url,
        status=status,
        text=text,
        body=parsed,
        is_json=is_json,
        location=head.get("location"),
        retry_after=head.get("retry-after"),
        secret=api_key,
    )


# httpcore's errors that are not its timeouts or a failed connect (those are caught by name).
_HTTPCORE_ERRORS = (
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ProxyError,
)


def _raw_headers(
    url: httpx.URL, headers: dict[str, str], method: str, content: bytes | None
) -> list[tuple[bytes, bytes]]:
    """The request's header lines as httpx would send them: Host first, a length for a body."""
    raw = [(b"Host", url.netloc)]
    raw += [(name.encode("ascii"), value.encode("ascii")) for name, value in headers.items()]
    if content is not None:
        raw.append((b"Content-Length", str(len(content)).encode("ascii")))
    elif method in ("POST", "PUT", "PATCH"):
        raw.append((b"Content-Length", b"0"))
    return raw


def _head(lines: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Response headers by lower-case name (repeats joined by commas, as httpx's ``Headers.get`` does)."""
    head: dict[str, str] = {}
    for name, value in lines:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        head[key] = f"{head[key]}, {text}" if key in head else text
    return head


class _Chunks(httpx.AsyncByteStream):
    """httpcore's body stream as httpx's, for httpx to decode (gzip, deflate)."""

    def __init__(self, chunks: AsyncIterable[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            yield chunk


def _decoded(answer: httpcore.Response) -> AsyncIterator[bytes]:
    """A compressed body, decompressed as it streams in."""
    assert isinstance(answer.stream, AsyncIterable)
    return httpx.Response(answer.status, headers=answer.headers, stream=_Chunks(answer.stream)).aiter_bytes()


@dataclass(frozen=True, slots=True)
class _Cap:
    """Reads a body up to ``max_bytes``; past it, the error says what we were doing (and the URL)."""

    max_bytes: int
    doing: str
    shown: Callable[[], str]

    async def read(self, chunks: AsyncIterable[bytes], head: Mapping[str, str]) -> bytes:
        """The body, or a ``TransportError`` as soon as it (or its announced length) passes the cap."""
        announced = head.get("content-length", "")
        if announced.isdigit() and int(announced) > self.max_bytes:
            raise TransportError(
                f"{self.doing}: the answer is {int(announced)} bytes,"
                f" over the size limit of {self.max_bytes} bytes",
                url=self.shown(),
            )
        kept: list[bytes] = []
        size = 0
        async for chunk in chunks:
            size += len(chunk)
            if size > self.max_bytes:
                raise TransportError(
                    f"{self.doing}: the answer is over the size limit of {self.max_bytes} bytes"
                    " (stopped reading there)",
                    url=self.shown(),
                )
            kept.append(chunk)
        # Most answers come in one chunk: no copy then.
        return kept[0] if len(kept) == 1 else b"".join(kept)


async def _direct(
    pool: httpcore.AsyncConnectionPool,
    method: str,
    address: str | httpx.URL,
    headers: dict[str, str],
    content: bytes | None,
    cap: _Cap,
) -> tuple[str, int, Mapping[str, str], bytes]:
    """One request through the pool: the URL answered, the status, the headers and the body."""
    url = address if isinstance(address, httpx.URL) else httpx.URL(address)
    sent = httpcore.Request(
        method,
        httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
        headers=_raw_headers(url, headers, method, content),
        content=content,
    )
    answer = await pool.handle_async_request(sent)
    try:
        head = _head(answer.headers)
        plain = "content-encoding" not in head and isinstance(answer.stream, AsyncIterable)
        chunks: AsyncIterable[bytes] = answer.stream if plain else _decoded(answer)  # type: ignore[assignment]
        return str(url), answer.status, head, await cap.read(chunks, head)
    finally:
        await answer.aclose()


def _encoding(head: Mapping[str, str]) -> str:
    """The body's charset when Python knows it, else UTF-8 (JSON's own)."""
    name = "utf-8"
    for param in head.get("content-type", "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            name = value.strip().strip("\"'") or "utf-8"
    try:
        codecs.lookup(name)
    except LookupError:
        return "utf-8"
    return name


def failed_status(answer: HttpAnswer, what: str) -> TransportError:
    """The error for a non-2xx answer: the status and the server's message (a redirect: where to)."""
    if 300 <= answer.status < 400:
        where = quote(redact(answer.location, answer.secret)) if answer.location else "no Location header"
        return TransportError(
            f"{what}: HTTP {answer.status}, a redirect to {where}; redirects are not followed"
            " (use the address it points to as the base URL if it is the right one)",
            url=answer.url,
        )
    refused = answer.status in (401, 403)
    hint = " (the API key was refused)" if refused else ""
    return TransportError(
        f"{what}: HTTP {answer.status}{hint}: {answer.server_message()}",
        url=answer.url,
        credential="API key" if refused else None,
    )


__all__ = [
    "HttpAnswer",
    "HttpClient",
    "describe_cause",
    "failed_status",
    "new_http_client",
    "request",
    "thread_path",
    "tls_context",
    "tls_context_for",
]
