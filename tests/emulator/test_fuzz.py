"""Seeded Hypothesis fuzzing of what clients send (REST bodies, query strings, socket frames): never a
server error, a traceback or a counted emulator bug, and the emulator still answers afterwards."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from pytest_flowai.emulator import EmulatorThread
from tests.helpers.emulators import API_KEY, new_emulator

FUZZ = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
JSON_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
_KEYS = st.sampled_from(
    [
        "payload",
        "type",
        "threadId",
        "speech",
        "text",
        "eventName",
        "url",
        "lat",
        "long",
        "lng",
        "metadata",
        "params",
        "originator",
        "traceId",
        "attachment",
        "secondsToPause",
        "verifyKey",
        "events",
        "title",
    ]
)
# Objects with the protocol's own field names, so the fuzzing gets past "not an object" into the fields.
PROTOCOL_SHAPED = st.recursive(
    _SCALARS | st.sampled_from(["text", "event", "location", "media", "image", "message", "ping"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_KEYS, inner, max_size=5),
    max_leaves=12,
)
BODIES = st.one_of(
    st.binary(max_size=200),
    JSON_VALUES.map(lambda value: json.dumps(value).encode()),
    PROTOCOL_SHAPED.map(lambda value: json.dumps({"payload": value}).encode()),
    PROTOCOL_SHAPED.map(lambda value: json.dumps(value).encode()),
)
POST_ROUTES = [
    "/rest/v1/messages/fuzz-thread?sync=true",
    "/rest/v1/messages/fuzz-thread",
    "/v1/messaging/message",
    "/v1/messaging/webhooks",
    "/rest/v1/handover/fuzz-thread",
    "/rest/v1/trigger/event/fuzz-thread?eventName=ORDER",
]
GET_ROUTES = [
    "/rest/v1/messages/fuzz-thread",
    "/rest/v1/threads",
    "/rest/v1/pause/fuzz-thread",
    "/rest/v1/trigger/event",
    "/rest/v1/businesshours",
    "/flows/info",
    "/socket.info",
    "/emulator/v1/deliveries",
]
QUERY_KEYS = st.sampled_from(["sync", "page", "flowId", "eventName", "clientId", "sessionId"]) | st.text(
    max_size=8
)
QUERIES = st.dictionaries(QUERY_KEYS, st.text(max_size=40), max_size=4)
FRAME_TYPES = st.sampled_from(["message.send", "ping", "thread.noticed", "activity.user.typing", "pong", ""])
FRAMES = st.one_of(
    st.text(max_size=200),
    JSON_VALUES.map(json.dumps),
    st.builds(
        lambda kind, payload: json.dumps({"type": kind, "payload": payload}), FRAME_TYPES, PROTOCOL_SHAPED
    ),
)


@pytest.fixture(scope="module")
def fuzz_emulator() -> Iterator[EmulatorThread]:
    """An emulator of its own, with a frame rate limit high enough that fuzzed frames reach the parsers."""
    with new_emulator(max_frames_per_second=1_000_000, verify_webhooks=False) as emu:
        yield emu


@pytest.fixture
def http(fuzz_emulator: EmulatorThread) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=fuzz_emulator.url, headers={"Authorization": API_KEY}, timeout=10, trust_env=False
    ) as session:
        yield session


def _still_serving(emu: EmulatorThread, http: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    assert emu.internal_errors == 0
    assert http.get("/rest/v1/threads", params={"sync": "true"}).status_code == 200
    problems = [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not problems, problems[:3]


def test_fuzzed_rest_bodies_get_no_server_error(
    fuzz_emulator: EmulatorThread, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """Random bytes, JSON and protocol-shaped bodies on the POST routes are answered below 500."""
    caplog.set_level(logging.WARNING)

    @FUZZ
    @given(route=st.sampled_from(POST_ROUTES), body=BODIES, json_type=st.booleans())
    def check(route: str, body: bytes, json_type: bool) -> None:
        headers = {"Content-Type": "application/json"} if json_type else {}
        answer = http.post(route, content=body, headers=headers)
        assert answer.status_code < 500, answer.text

    check()
    _still_serving(fuzz_emulator, http, caplog)


def test_fuzzed_query_strings_get_no_server_error(
    fuzz_emulator: EmulatorThread, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """Random query parameters on the GET routes are answered below 500."""
    caplog.set_level(logging.WARNING)

    @FUZZ
    @given(route=st.sampled_from(GET_ROUTES), query=QUERIES)
    def check(route: str, query: dict[str, str]) -> None:
        answer = http.get(route, params=query)
        assert answer.status_code < 500, answer.text

    check()
    _still_serving(fuzz_emulator, http, caplog)


def _socket(emu: EmulatorThread, http: httpx.Client) -> ClientConnection:
    answer = http.get("/socket.info", params={"clientId": emu.client_id, "sessionId": "fuzz"})
    endpoint = answer.json()["payload"]["endpoint"]
    return connect(endpoint, open_timeout=5, close_timeout=1)


def _until_pong(ws: ClientConnection) -> list[dict[str, Any]]:
    ws.send('{"type": "ping"}')
    frames = []
    while True:
        text = ws.recv(timeout=5)
        frame = json.loads(text)
        frames.append(frame)
        if frame.get("type") == "pong":
            return frames


def test_fuzzed_socket_frames_get_no_server_error(
    fuzz_emulator: EmulatorThread, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """Random text, JSON and frame-shaped frames get answers or error frames, never a broken connection."""
    caplog.set_level(logging.WARNING)
    with _socket(fuzz_emulator, http) as ws:

        @FUZZ
        @given(frame=FRAMES)
        def check(frame: str) -> None:
            try:
                ws.send(frame)
                _until_pong(ws)
            except ConnectionClosed as exc:
                pytest.fail(f"the emulator closed the socket after {frame[:200]!r}: {exc}")

        check()
        assert _until_pong(ws)[-1] == {"type": "pong"}
    _still_serving(fuzz_emulator, http, caplog)
