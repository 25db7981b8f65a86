"""An emulator that keeps serving: busy sockets do not slow other clients, endpoints cannot be evicted by
strangers, slow HTTP clients are cut off, a stop is quick and clean, and webhooks stay on this machine."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import os
import re
import statistics
import struct
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from pytest_flowai.emulator import EmulatorThread
from pytest_flowai.emulator.runtime import EndpointTokens, Turnstile
from tests.helpers.emulator import (
    client,
    close_code,
    error_message,
    open_socket,
    receive,
    run,
    send_frame,
    socket_endpoint,
)
from tests.helpers.emulators import API_KEY, CLIENT_ID, in_process
from tests.helpers.paths import DEMO_BOT

FLOOD = Path(__file__).parents[1] / "helpers" / "socket_flood.py"


# --- one client cannot slow another ------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _emulator_process() -> AsyncIterator[str]:
    """The emulator CLI in its own process (so a load generator cannot share its CPU time); yields its URL."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pytest_flowai.emulator.cli",
        *("--flows", str(DEMO_BOT), "--port", "0", "--api-key", API_KEY, "--client-id", CLIENT_ID),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        found = re.search(r"http://\S+", line)
        assert found, line
        yield found.group(0)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        _out, err = await proc.communicate()
        assert b"Traceback" not in err, err.decode()[-2000:]


async def _ping_times(ws: ClientConnection, count: int = 20) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        await ws.send('{"type": "ping"}')
        while (await receive(ws))["type"] != "pong":
            pass
        times.append(time.perf_counter() - started)
        await asyncio.sleep(0.02)
    return times


async def _rest_times(url: str, count: int = 10) -> list[float]:
    times = []
    async with client(url) as http:
        for _ in range(count):
            started = time.perf_counter()
            response = await http.get("/rest/v1/threads", params={"sync": "true"})
            assert response.status_code == 200, response.text
            times.append(time.perf_counter() - started)
    return times


def test_busy_sockets_leave_another_clients_ping_fast() -> None:
    """While 20 connections send message.send at 95 a second each, another client's ping and REST call stay
    fast (median under 50 ms, or 10 times an unloaded baseline on a loaded machine; it was 2-4 s)."""

    async def scenario() -> tuple[float, float, float]:
        async with _emulator_process() as url, open_socket(url) as probe:
            baseline = statistics.median(await _ping_times(probe))
            flood = await asyncio.create_subprocess_exec(
                sys.executable, str(FLOOD), url, "20", "95", CLIENT_ID, stdout=asyncio.subprocess.PIPE
            )
            try:
                assert flood.stdout is not None
                assert (await asyncio.wait_for(flood.stdout.readline(), 20)).strip() == b"ready"
                await asyncio.sleep(0.5)  # let the flood reach its rate
                pings, rests = await asyncio.gather(_ping_times(probe), _rest_times(url))
            finally:
                flood.kill()
                await flood.wait()
            return baseline, statistics.median(pings), statistics.median(rests)

    baseline, ping, rest = run(scenario(), timeout=60)
    bound = max(0.05, 10 * baseline)
    assert ping < bound, f"ping median {ping * 1000:.1f} ms under load (baseline {baseline * 1000:.1f} ms)"
    assert rest < max(0.1, 10 * baseline), f"REST median {rest * 1000:.1f} ms under load"


def test_turnstile_takes_turns_and_lets_the_loop_run_between() -> None:
    """Tasks queued at the turnstile all get through in arrival order, and a bystander runs between turns."""

    async def scenario() -> tuple[list[int], int]:
        gate = Turnstile(budget=0.001)
        order: list[int] = []
        bystander = 0
        stop = asyncio.Event()

        async def busy(index: int) -> None:
            async with gate:
                started = time.perf_counter()
                while time.perf_counter() - started < 0.002:  # CPU work without an await, as a converse
                    pass
                order.append(index)

        async def watch() -> None:
            nonlocal bystander
            while not stop.is_set():
                bystander += 1
                await asyncio.sleep(0)

        watcher = asyncio.ensure_future(watch())
        await asyncio.gather(*(busy(i) for i in range(20)))
        stop.set()
        await watcher
        return order, bystander

    order, bystander = run(scenario())
    assert order == list(range(20))
    assert bystander >= 19, "the loop did not get a pass between turns"


def test_cancelled_waiters_do_not_block_the_turnstile() -> None:
    """A task cancelled while waiting for its turn leaves; the ones behind it still get through."""

    async def scenario() -> int:
        gate = Turnstile()
        done = 0

        async def enter() -> None:
            nonlocal done
            async with gate:
                done += 1

        tasks = [asyncio.ensure_future(enter()) for _ in range(5)]
        tasks[1].cancel()
        tasks[3].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.wait_for(enter(), 1)
        return done

    assert run(scenario()) == 4


def test_sockets_past_the_cap_are_closed_with_1013() -> None:
    """A connection beyond max_sockets is closed with 1013 (try again later); the open ones keep working."""

    async def scenario() -> int:
        emulator = await in_process(max_sockets=2)
        try:
            async with (
                open_socket(emulator.url) as first,
                open_socket(emulator.url),
                open_socket(emulator.url) as third,
            ):
                with pytest.raises(ConnectionClosed) as closed:
                    await receive(third)
                await first.send('{"type": "ping"}')
                assert (await receive(first))["type"] == "pong"
                return close_code(closed.value)
        finally:
            await emulator.stop()

    assert run(scenario()) == 1013


# --- endpoint tokens ---------------------------------------------------------------------------------


def test_asking_for_endpoints_evicts_only_the_askers_own() -> None:
    """10 001 requests of one session id push out only that session's own pending endpoints."""
    tokens = EndpointTokens(ttl=60, clock=lambda: 0.0)
    victim = tokens.issue("victim")
    assert victim is not None
    mine = [tokens.issue("attacker") for _ in range(10_001)]
    newest, oldest = mine[-1], mine[0]
    assert newest is not None
    assert oldest is not None
    assert tokens.redeem(victim) is None
    assert tokens.redeem(newest) is None
    assert "unknown" in (tokens.redeem(oldest) or "")


def test_many_session_ids_are_refused_not_evicting() -> None:
    """Past the total of pending endpoints, new ones are refused (None) and the pending ones stay good."""
    now = [0.0]
    tokens = EndpointTokens(ttl=60, clock=lambda: now[0], total=100)
    victim = tokens.issue("victim")
    assert victim is not None
    issued = [tokens.issue(f"s-{i}") for i in range(10_001)]
    assert issued.count(None) == 10_001 - 99
    assert tokens.redeem(victim) is None
    assert tokens.retry_after() == 60
    now[0] = 61
    assert tokens.issue("later") is not None


def test_socket_info_storm_leaves_another_clients_endpoint_usable(emu: EmulatorThread) -> None:
    """After 200 unauthenticated socket.info calls from one session, another's pending endpoint connects."""

    async def scenario() -> str:
        async with client(emu.url, key=None) as http:
            victim = await socket_endpoint(http)  # session "s-1"
            for _ in range(200):
                answer = await http.get(
                    "/socket.info", params={"clientId": emu.client_id, "sessionId": "noisy"}
                )
                assert answer.status_code == 200
        async with connect(victim, open_timeout=5) as ws:
            await ws.send('{"type": "ping"}')
            return str((await receive(ws))["type"])

    assert run(scenario()) == "pong"


def test_socket_info_refuses_with_429_when_full() -> None:
    """With every pending endpoint slot taken, socket.info answers 429 with Retry-After, evicting nothing."""

    async def scenario() -> tuple[int, str | None, str]:
        emulator = await in_process()
        try:
            runtime = emulator._runtime
            assert runtime is not None
            runtime.tokens = EndpointTokens(ttl=60, total=3)
            async with client(emulator.url, key=None) as http:
                for i in range(3):
                    await http.get(
                        "/socket.info", params={"clientId": emulator.client_id, "sessionId": f"s{i}"}
                    )
                answer = await http.get(
                    "/socket.info", params={"clientId": emulator.client_id, "sessionId": "x"}
                )
                return answer.status_code, answer.headers.get("retry-after"), error_message(answer, 429)
        finally:
            await emulator.stop()

    status, retry, message = run(scenario())
    assert (status, retry) == (429, "60")
    assert "try again in 60 s" in message


# --- slow HTTP clients -------------------------------------------------------------------------------


async def _closed_by_server(reader: asyncio.StreamReader, within: float) -> bool:
    """Whether the server closes the connection (EOF or reset) within ``within`` seconds."""
    try:
        async with asyncio.timeout(within):
            while await reader.read(1024):
                pass
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return True


def test_slow_header_connections_are_closed() -> None:
    """50 connections that dribble their request headers are all closed soon after the header timeout."""

    async def scenario() -> list[bool]:
        emulator = await in_process(header_timeout=0.3)
        try:
            host, port = "127.0.0.1", emulator.port
            pairs = [await asyncio.open_connection(host, port) for _ in range(50)]
            for _reader, writer in pairs:
                writer.write(b"GET /rest/v1/threads HTTP/1.1\r\nHost: x\r\n")

            async def dribble(writer: asyncio.StreamWriter) -> None:
                with contextlib.suppress(ConnectionError):
                    for _ in range(40):
                        writer.write(b"X-Slow: 1\r\n")
                        await writer.drain()
                        await asyncio.sleep(0.05)

            dribblers = [asyncio.ensure_future(dribble(writer)) for _reader, writer in pairs]
            closed = await asyncio.gather(*(_closed_by_server(reader, 3) for reader, _writer in pairs))
            for task in dribblers:
                task.cancel()
            for _reader, writer in pairs:
                writer.close()
            return list(closed)
        finally:
            await emulator.stop()

    assert all(run(scenario()))


def test_idle_connections_without_a_request_are_closed() -> None:
    """A connection that never sends a byte is closed after the header timeout."""

    async def scenario() -> bool:
        emulator = await in_process(header_timeout=0.2)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", emulator.port)
            closed = await _closed_by_server(reader, 3)
            writer.close()
            return closed
        finally:
            await emulator.stop()

    assert run(scenario())


def test_a_slow_request_is_still_answered_within_the_header_timeout(emu: EmulatorThread) -> None:
    """Headers sent in pieces but within the timeout get their answer, on a kept-alive connection twice."""

    async def scenario() -> list[bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", emu.port)
        lines = []
        for _ in range(2):
            for piece in (
                b"GET /rest/v1/threads?sync=true HTTP/1.1\r\n",
                f"Authorization: {API_KEY}\r\n".encode(),
            ):
                writer.write(piece)
                await asyncio.sleep(0.05)
            writer.write(b"Host: x\r\n\r\n")
            lines.append(await reader.readline())
            await reader.readuntil(b'"pages":1}')
        writer.close()
        return lines

    assert [line.split()[1] for line in run(scenario())] == [b"200", b"200"]


# --- stopping -----------------------------------------------------------------------------------------


def _masked_text_frame(text: str) -> bytes:
    data = text.encode()
    mask = os.urandom(4)
    size = len(data)
    if size < 126:
        head = bytes([0x81, 0x80 | size])
    elif size < 65536:
        head = bytes([0x81, 0x80 | 126]) + struct.pack(">H", size)
    else:
        head = bytes([0x81, 0x80 | 127]) + struct.pack(">Q", size)
    return head + mask + bytes(byte ^ mask[i % 4] for i, byte in enumerate(data))


def test_stop_is_quick_and_quiet_while_a_client_reads_nothing(caplog: pytest.LogCaptureFixture) -> None:
    """A client that stopped reading while replies pile up neither holds a stop up nor makes a traceback."""
    caplog.set_level(logging.WARNING)

    async def scenario() -> tuple[float, int]:
        emulator = await in_process()
        try:
            async with client(emulator.url, key=None) as http:
                endpoint = await socket_endpoint(http)
            path = endpoint.split(str(emulator.port), 1)[1]
            reader, writer = await asyncio.open_connection("127.0.0.1", emulator.port)
            key = base64.b64encode(os.urandom(16)).decode()
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
            )
            assert b" 101 " in await reader.readuntil(b"\r\n\r\n")
            writer.transport.pause_reading()  # type: ignore[attr-defined]
            # Each message.delivered echoes the metadata: 900 kB out per frame, so the buffers fill at once.
            big = send_frame("t", "hi", metadata={"blob": "x" * 900_000})
            frame = _masked_text_frame(big)
            with contextlib.suppress(TimeoutError):
                for _ in range(60):
                    writer.write(frame)
                    await asyncio.wait_for(writer.drain(), 1)
            started = time.perf_counter()
            await emulator.stop()
            took = time.perf_counter() - started
            writer.transport.abort()
            return took, emulator.internal_errors
        finally:
            await emulator.stop()

    took, bugs = run(scenario(), timeout=60)
    assert took < 2.5, f"the stop took {took:.2f} s"
    assert bugs == 0
    tracebacks = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not tracebacks, [r.getMessage() for r in tracebacks]


def test_stop_closes_sockets_with_1001() -> None:
    """Stopping the emulator closes each open WebSocket with 1001 (going away) and a reason."""

    async def scenario() -> tuple[int, str]:
        emulator = await in_process()
        async with open_socket(emulator.url) as ws:
            await emulator.stop()
            with pytest.raises(ConnectionClosed) as closed:
                await receive(ws)
        rcvd = closed.value.rcvd
        return close_code(closed.value), rcvd.reason if rcvd else ""

    assert run(scenario()) == (1001, "the emulator is stopping")


# --- webhooks -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://evil.localhost/hook", "http://127.0.0.2/hook", "http://localhost.example.com/hook"]
)
def test_webhooks_only_on_the_three_loopback_hosts(emu: EmulatorThread, url: str) -> None:
    """A webhook on any host but 127.0.0.1, ::1 or localhost is refused with 400 naming the url."""

    async def scenario() -> str:
        async with client(emu.url) as http:
            body = {"url": url, "verifyKey": "k", "events": ["message"]}
            return error_message(await http.post("/v1/messaging/webhooks", json=body), 400)

    message = run(scenario())
    assert message.startswith("url:")
    assert url in message


def test_frame_fast_path_agrees_with_the_schema() -> None:
    """The frames the socket accepts without a schema walk are exactly valid by the protocol schema."""
    from pytest_flowai import schemas
    from pytest_flowai.emulator.routes.socket_session import _BARE_FRAMES

    for kind in _BARE_FRAMES:
        assert schemas.violations({"type": kind}, "client-frame") == []


def test_the_reply_order_holds_under_a_burst() -> None:
    """Frames sent in one burst are answered in order: every delivered before its reply, traceIds rising."""

    async def scenario() -> list[tuple[str, int]]:
        emulator = await in_process()
        try:
            async with open_socket(emulator.url) as ws:
                for trace in range(1, 11):
                    await ws.send(send_frame("burst", "hello", trace_id=trace))
                seen: list[tuple[str, int]] = []
                while len(seen) < 20:
                    frame = await receive(ws)
                    payload = frame.get("payload")
                    if frame["type"] == "message.delivered" and isinstance(payload, dict):
                        seen.append(("delivered", int(str(payload["traceId"]))))
                    elif frame["type"] == "message.received":
                        seen.append(("received", 0))
                return seen
        finally:
            await emulator.stop()

    seen = run(scenario())
    delivered = [trace for kind, trace in seen if kind == "delivered"]
    assert delivered == list(range(1, 11))
    assert seen[0] == ("delivered", 1)
    assert json.dumps(seen)  # a plain list of pairs
