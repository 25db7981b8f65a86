"""Both transports on one spec, and every way the network or the server can fail a conversation."""

from __future__ import annotations

import socket

import pytest

from pytest_flowai.emulator.settings import Fault
from tests.helpers.emulators import API_KEY, StartEmulator
from tests.helpers.plugin import FlowaiTester, lit, output
from tests.helpers.transcript_times import ROUNDING, failed_turn_seconds

TWO_TURNS = """
name: order
timeout: 2
settle: 0.05
{transport}
steps:
  - say: hello
    expect:
      - step: hello
  - say: I want to order a pizza
    expect:
      - text: Great choice! Which size would you like?
"""


@pytest.mark.parametrize("transport", ["socket", "rest"])
def test_same_spec_runs_over_either_transport_option(flowai: FlowaiTester, transport: str) -> None:
    """`--flowai-transport` picks the transport of a spec that names none; the transcript says which."""
    flowai.spec(TWO_TURNS.format(transport=""))
    result = flowai.run("--flowai-transport", transport, "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"  conversation 'order' over {transport}, thread pytest-flowai-*~*.main.1"])


def test_spec_transport_key_wins_over_the_option(flowai: FlowaiTester) -> None:
    """A spec's own `transport:` beats `--flowai-transport`, conversation by conversation."""
    flowai.spec(TWO_TURNS.format(transport="transport: rest"), name="test_rest")
    flowai.spec(TWO_TURNS.format(transport="transport: socket"), name="test_socket")
    result = flowai.run("--flowai-transport", "socket", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["test_rest.flowai.yaml::order", "  conversation 'order' over rest, *"])
    result.stdout.fnmatch_lines(["test_socket.flowai.yaml::order", "  conversation 'order' over socket, *"])


def test_ini_transport_applies_when_no_option_is_given(flowai: FlowaiTester) -> None:
    """The `flowai_transport` ini option sets the default transport."""
    flowai.pytester.makeini("[pytest]\nflowai_transport = rest\n")
    flowai.spec(TWO_TURNS.format(transport=""))
    result = flowai.run("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["  conversation 'order' over rest, *"])


@pytest.mark.parametrize("transport", ["socket", "rest"])
def test_reply_breaking_the_schema_names_the_json_path(
    flowai: FlowaiTester, start_emulator: StartEmulator, transport: str
) -> None:
    """A reply that breaks its template schema fails the turn with the violation's JSON path and the reply."""
    flowai.url = start_emulator(fault=Fault.INVALID_REPLY).url
    flowai.spec(TWO_TURNS.format(transport=f"transport: {transport}"))
    result = flowai.run()
    result.assert_outcomes(failed=1)
    schema, root = ("server-frame", "payload") if transport == "socket" else ("rest.sync-result", "result")
    result.stdout.fnmatch_lines(
        [
            "test_x.flowai.yaml:6:5: turn 1 of 'order' failed:"
            f" the bot's reply breaks the protocol schema '{schema}'",
            "> 6 |   - say: hello",
            "  7 |     expect:",
            "  8 |       - step: hello",
            lit(f"  {root}.messages[0].responses[1].payload.url: required"),
        ],
        consecutive=True,
    )
    result.stdout.fnmatch_lines(
        [
            "    +*s < "
            + lit("[Greeting / Hello] image \"no url (emulator fault 'invalid-reply')\" (no url)"),
            f"    +*s ! the reply above breaks the schema '{schema}'",
        ]
    )


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("transport", "doing"),
    [("socket", "asking socket.info for an endpoint"), ("rest", "sending a text message")],
)
def test_connection_refused_is_a_clear_transport_error(
    flowai: FlowaiTester, transport: str, doing: str
) -> None:
    """Nothing listening on the URL fails the first turn with 'cannot connect', not a traceback."""
    flowai.url = f"http://127.0.0.1:{_closed_port()}"
    flowai.spec(TWO_TURNS.format(transport=f"transport: {transport}"))
    result = flowai.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"test_x.flowai.yaml:6:5: turn 1 of 'order' failed: transport error: {doing}: cannot connect: *",
            "> 6 |   - say: hello",
        ]
    )
    result.stdout.fnmatch_lines([">>turn 1", "    +*s x turn 1 failed"])
    assert "Traceback" not in output(result)


def test_dropped_socket_reconnects_once_and_says_so(
    flowai: FlowaiTester, start_emulator: StartEmulator
) -> None:
    """A connection cut after a reply is re-opened once (noted in the transcript); a second cut fails."""
    flowai.url = start_emulator(fault=Fault.DROP).url
    flowai.spec(
        """
        name: one turn
        steps:
          - say: hello
            expect:
              - step: hello
        """,
        name="test_once",
    )
    flowai.spec(TWO_TURNS.format(transport=""), name="test_twice")
    result = flowai.run("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "test_once.flowai.yaml::one turn",
            "*",
            "    turn 1",
            "      +*s > say 'hello'",
            "      +*s < " + lit("[Greeting / Hello] text ") + "*",
            "      +*s ! connection dropped (code 1006: no close frame); reconnected",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "test_twice.flowai.yaml:9:5: turn 2 of 'order' failed: transport error:"
            " the connection dropped again *; not reconnecting a second time (http://127.0.0.1:*)",
        ]
    )


@pytest.mark.parametrize(
    ("transport", "message"),
    [
        ("socket", 'the server sent a frame that is not JSON: "<html><body>502 Bad Gateway: *'),
        ("rest", "sending a text message: the server answered with a body that is not JSON: *"),
    ],
)
def test_garbage_from_the_server_is_a_transport_error(
    flowai: FlowaiTester, start_emulator: StartEmulator, transport: str, message: str
) -> None:
    """A reply that is not JSON fails the turn quoting what came, without a traceback."""
    flowai.url = start_emulator(fault=Fault.GARBAGE).url
    flowai.spec(TWO_TURNS.format(transport=f"transport: {transport}"))
    result = flowai.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [f"test_x.flowai.yaml:6:5: turn 1 of 'order' failed: transport error: {message}"]
    )
    assert "Traceback" not in output(result)


@pytest.mark.parametrize(
    ("transport", "message"),
    [
        ("socket", "the server sent an error: emulator fault 'error': the reply was replaced by this error"),
        (
            "rest",
            "sending a text message: HTTP 503: emulator fault 'error': the reply was replaced by this *",
        ),
    ],
)
def test_server_error_is_a_transport_error(
    flowai: FlowaiTester, start_emulator: StartEmulator, transport: str, message: str
) -> None:
    """An error frame (socket) or a 5xx answer (REST) fails the turn with the server's message."""
    flowai.url = start_emulator(fault=Fault.ERROR).url
    flowai.spec(TWO_TURNS.format(transport=f"transport: {transport}"))
    result = flowai.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [f"test_x.flowai.yaml:6:5: turn 1 of 'order' failed: transport error: {message}"]
    )


def test_wrong_api_key_is_refused_clearly_and_never_printed(
    flowai: FlowaiTester, start_emulator: StartEmulator
) -> None:
    """A key the server refuses fails with HTTP 401 and a hint, and the key appears nowhere in the output."""
    flowai.url = start_emulator(api_key="the-server-expects-another-key").url
    flowai.spec(TWO_TURNS.format(transport="transport: rest"))
    result = flowai.run("--junitxml=junit.xml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "test_x.flowai.yaml:6:5: turn 1 of 'order' failed: transport error: sending a text message:"
            " HTTP 401 (the API key was refused): invalid API key *",
            "  hint: set the FLOWAI_API_KEY environment variable, or pass --flowai-api-key",
        ],
        consecutive=True,
    )
    assert API_KEY not in output(result)
    assert API_KEY not in (flowai.pytester.path / "junit.xml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("transport", "message"),
    [
        (
            "socket",
            "test_x.flowai.yaml:8:9: turn 1 of 'order' failed: no reply within 0.5s",
        ),
        (
            "rest",
            "test_x.flowai.yaml:6:5: turn 1 of 'order' failed: transport error: sending a text message:"
            " no answer within 0.5s *",
        ),
    ],
)
def test_server_that_never_answers_fails_at_the_timeout(
    flowai: FlowaiTester, start_emulator: StartEmulator, transport: str, message: str
) -> None:
    """A reply that never comes (socket) or a request held open (REST) ends at the turn timeout."""
    flowai.url = start_emulator(fault=Fault.HANG).url
    flowai.spec(TWO_TURNS.format(transport=f"transport: {transport}").replace("timeout: 2", "timeout: 0.5"))
    result = flowai.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([message])
    seconds = failed_turn_seconds(result.stdout.str())
    assert 0.5 - ROUNDING <= seconds < 3, f"the turn took {seconds:.2f}s, its timeout is 0.5s"
    assert "turn 2" not in result.stdout.str(), "the second turn ran after the first failed"
