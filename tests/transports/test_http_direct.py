"""The HTTP client's two routes, against tiny servers on loopback: straight to the connection pool when no
proxy is configured (the wire as httpx's client would write it, TLS, gzip, a stale connection), through
httpx's client when the environment names a proxy (NO_PROXY honoured)."""

from __future__ import annotations

import asyncio
import gzip
import json
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_flowai.errors import TransportError
from pytest_flowai.secret import Secret
from pytest_flowai.transports.http import new_http_client, request
from tests.helpers.transport import run, unused_port

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@dataclass
class Seen:
    """What a loopback server received: each request's head lines and body, and its connections."""

    heads: list[list[str]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    connections: int = 0


Answer = Callable[[list[str], bytes], bytes]  # request head and body -> the whole HTTP answer


def json_answer(body: object, *, extra: str = "", raw: bytes | None = None) -> bytes:
    """An HTTP/1.1 200 answer carrying ``body`` as JSON (or the bytes ``raw``)."""
    data = raw if raw is not None else json.dumps(body).encode()
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n{extra}\r\n"
    return head.encode() + data


@asynccontextmanager
async def serve(
    answer: Answer, *, tls: ssl.SSLContext | None = None, close_after: bool = False
) -> AsyncIterator[tuple[str, Seen]]:
    """A keep-alive HTTP/1.1 server on 127.0.0.1 port 0 answering every request with ``answer``; with
    ``close_after`` it closes each connection once it has answered (as an idle timeout would)."""
    seen = Seen()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.connections += 1
        try:
            while head := (await reader.readuntil(b"\r\n\r\n")).decode("latin-1"):
                lines = head.split("\r\n")[:-2]
                length = next(
                    (
                        int(line.split(":", 1)[1])
                        for line in lines
                        if line.lower().startswith("content-length:")
                    ),
                    0,
                )
                body = await reader.readexactly(length)
                seen.heads.append(lines)
                seen.bodies.append(body)
                writer.write(answer(lines, body))
                await writer.drain()
                if close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}", seen


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment naming no proxy, whatever the machine's says."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def test_a_direct_post_is_written_as_httpx_would(no_proxy_env: pytest.MonkeyPatch) -> None:
    """Without a proxy the request goes straight to the server with the key, compact JSON and its length."""

    async def scenario() -> None:
        async with (
            serve(lambda _head, _body: json_answer({"ok": True})) as (url, seen),
            new_http_client() as http,
        ):
            assert http.direct is not None
            answer = await request(
                http, "POST", f"{url}/rest/v1/x", timeout=5, api_key=Secret("k-1"), body={"a": "é"}
            )
        assert answer.status == 200
        assert answer.body == {"ok": True}
        head = seen.heads[0]
        assert head[0] == "POST /rest/v1/x HTTP/1.1"
        assert head[1] == f"Host: {url.removeprefix('http://')}"
        fields = {line.split(":", 1)[0].lower(): line.split(":", 1)[1].strip() for line in head[1:]}
        assert fields["authorization"] == "k-1"
        assert fields["content-type"] == "application/json"
        assert seen.bodies[0] == '{"a":"é"}'.encode()
        assert fields["content-length"] == str(len(seen.bodies[0]))

    run(scenario)


def test_a_connection_the_server_closed_is_not_reused(no_proxy_env: pytest.MonkeyPatch) -> None:
    """After the server closes an idle kept-alive connection, the next request opens a new one."""

    async def scenario() -> None:
        async with (
            serve(lambda _h, _b: json_answer({"n": 1}), close_after=True) as (url, seen),
            new_http_client() as http,
        ):
            first = await request(http, "GET", f"{url}/a", timeout=5)
            assert http.direct is not None
            # Until the client has seen the close (no event says so): its kept connection reads as expired.
            pool = http.direct
            while not all(kept.has_expired() for kept in pool.connections):  # noqa: ASYNC110
                await asyncio.sleep(0.001)
            second = await request(http, "GET", f"{url}/b", timeout=5)
        assert (first.status, second.status) == (200, 200)
        assert seen.connections == 2

    run(scenario)


def test_a_gzip_answer_is_decoded_and_capped_decoded(no_proxy_env: pytest.MonkeyPatch) -> None:
    """A gzip-compressed body comes back decoded; the size cap counts the decoded bytes."""
    packed = gzip.compress(json.dumps({"text": "x" * 5000}).encode())

    def answer(_head: list[str], _body: bytes) -> bytes:
        return json_answer(None, raw=packed, extra="Content-Encoding: gzip\r\n")

    async def scenario() -> None:
        async with serve(answer) as (url, _seen), new_http_client() as http:
            decoded = await request(http, "GET", f"{url}/z", timeout=5)
            with pytest.raises(TransportError, match="over the size limit of 1000 bytes"):
                await request(http, "GET", f"{url}/z", timeout=5, max_bytes=1000)
        assert decoded.body == {"text": "x" * 5000}

    run(scenario)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_a_direct_request_over_tls_checks_the_certificate(
    no_proxy_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Over HTTPS the direct route checks the server: a trusted certificate answers, an unknown one fails."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))

    async def scenario() -> None:
        async with (
            serve(lambda _h, _b: json_answer({"tls": True}), tls=server_side) as (url, _seen),
            new_http_client(verify=trusting) as http,
        ):
            answer = await request(http, "GET", f"{url}/t", timeout=5)
            assert answer.body == {"tls": True}
            async with new_http_client() as http:
                with pytest.raises(TransportError, match=r"cannot connect: .*certificate"):
                    await request(http, "GET", f"{url}/t", timeout=5)

    run(scenario)


def test_a_proxy_in_the_environment_carries_the_request(no_proxy_env: pytest.MonkeyPatch) -> None:
    """With HTTP_PROXY set the request goes to the proxy, in absolute form, as httpx's client sends it."""

    async def scenario() -> None:
        target = f"http://127.0.0.1:{unused_port()}/rest/v1/y"
        async with serve(lambda _h, _b: json_answer({"via": "proxy"})) as (proxy, seen):
            no_proxy_env.setenv("HTTP_PROXY", proxy)
            async with new_http_client() as http:
                assert http.direct is None
                answer = await request(http, "GET", target, timeout=5)
        assert answer.body == {"via": "proxy"}
        assert seen.heads[0][0] == f"GET {target} HTTP/1.1"

    run(scenario)


def test_no_proxy_sends_a_listed_host_around_the_proxy(no_proxy_env: pytest.MonkeyPatch) -> None:
    """A host NO_PROXY lists is asked directly even though HTTP_PROXY names a proxy (here: none listening)."""
    no_proxy_env.setenv("HTTP_PROXY", f"http://127.0.0.1:{unused_port()}")
    no_proxy_env.setenv("NO_PROXY", "127.0.0.1")

    async def scenario() -> None:
        async with (
            serve(lambda _h, _b: json_answer({"via": "direct"})) as (url, seen),
            new_http_client() as http,
        ):
            answer = await request(http, "GET", f"{url}/d", timeout=5)
        assert answer.body == {"via": "direct"}
        assert seen.heads[0][0] == "GET /d HTTP/1.1"

    run(scenario)


def test_a_plain_http_bot_skips_loading_the_ca_bundle_but_never_trusts_a_certificate() -> None:
    """For an http:// bot the shared TLS context holds no CA (nothing to load), so it would refuse any
    certificate; an https:// bot gets the verifying context with the CA bundle."""
    import ssl

    from pytest_flowai.transports.http import tls_context_for

    plain = tls_context_for("http://127.0.0.1:8080")
    assert plain.verify_mode is ssl.CERT_REQUIRED
    assert plain.check_hostname
    assert plain.cert_store_stats()["x509_ca"] == 0
    secure = tls_context_for("https://api.flow.ai")
    assert secure.verify_mode is ssl.CERT_REQUIRED
    assert secure.check_hostname
    assert secure.cert_store_stats()["x509_ca"] > 0
