"""Each failure names the party at fault in its own words: the spec author, the bot, the network or the
configuration."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET

import pytest

from pytest_flowai.errors import (
    BotError,
    ConfigurationError,
    SchemaViolation,
    SpecError,
    SpecRunError,
    TransportError,
    TurnFailed,
    UndefinedVariable,
)
from pytest_flowai.report import text as report
from pytest_flowai.spec.model import Conversation
from tests.helpers.plugin import FAST, FlowaiTester, output

UNSET = """
name: unset
settle: 0.05
steps:
  - say: hello
    expect:
      - text: {regex: "Pizza Bella(?P<suffix> rocks)?"}
  - say: "{suffix}"
    expect: [{type: text}]
"""


def test_an_unset_variable_at_run_time_is_a_spec_error_naming_file_and_line(flowai: FlowaiTester) -> None:
    """A variable still unset when its turn runs reads as the spec's mistake at file:line, not the bot's."""
    flowai.spec(UNSET)
    result = flowai.run("--junitxml=junit.xml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "test_x.flowai.yaml:7:5: spec error in turn 2 of 'unset': variable 'suffix' is not set",
            '> 7 |   - say: "{suffix}"',
            "  8 |     expect: [{type: text}]",
            "  hint: it is set by `vars`, or by a `save` or regex group of an earlier turn,"
            " and that did not happen",
        ],
        consecutive=True,
    )
    # The transcript so far: what turn 1 sent and got.
    result.stdout.fnmatch_lines(["    +*s > say 'hello'", "    +*s < ?Greeting / Hello? text *", ">>turn 2"])
    assert "failed: variable" not in output(result)
    assert "Traceback" not in output(result)
    failure = ET.parse(flowai.pytester.path / "junit.xml").getroot().find(".//testcase/failure")
    assert failure is not None
    assert failure.get("message", "").startswith("test_x.flowai.yaml:7:5: spec error in turn 2 of 'unset'")


def test_a_value_that_breaks_an_expectation_once_filled_in_is_a_spec_error(flowai: FlowaiTester) -> None:
    """An expectation that a variable's value makes invalid is the spec's mistake, at the entry's line."""
    flowai.spec(
        """
        name: number text
        vars: {n: 3}
        steps:
          - say: hello
            expect:
              - text: "{n}"
        """
    )
    result = flowai.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "test_x.flowai.yaml:6:9: spec error in turn 1 of 'number text':"
            " text: expected a string or a mapping, got 3"
        ]
    )


def test_a_missing_api_key_is_one_configuration_error_naming_the_setting(
    flowai: FlowaiTester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No API key for a REST spec: one ERROR line naming FLOWAI_API_KEY and the flag, exit 4, nothing ran."""
    monkeypatch.delenv("FLOWAI_API_KEY")
    flowai.spec(f"name: order\ntransport: rest\n{FAST}steps:\n  - say: hello\n")
    flowai.spec(f"name: chat\n{FAST}steps:\n  - say: hello\n", name="test_y")
    result = flowai.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: FLOWAI_API_KEY is not set: transport 'rest' needs an API key"
            " (test_x.flowai.yaml:1: 'order')",
            "  hint: set the FLOWAI_API_KEY environment variable, or pass --flowai-api-key",
        ],
        consecutive=True,
    )
    assert result.stderr.str().count("ERROR:") == 1
    assert "Traceback" not in output(result)
    assert "failed" not in result.stdout.str()
    assert "passed" not in result.stdout.str()


def test_control_turns_without_an_api_key_name_the_setting(
    flowai: FlowaiTester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A socket spec with a `pause` turn needs the API key too: the error says so, for every such spec."""
    monkeypatch.delenv("FLOWAI_API_KEY")
    for name in ("test_x", "test_y"):
        flowai.spec(f"name: {name}\n{FAST}steps:\n  - pause: true\n  - say: hello\n", name=name)
    result = flowai.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: FLOWAI_API_KEY is not set: control turns (pause, resume, handover) need an API key"
            " (test_x.flowai.yaml:1: 'test_x' and 1 more)",
        ]
    )


def test_a_missing_client_id_is_a_configuration_error_also_under_collect_only(
    flowai: FlowaiTester,
) -> None:
    """No client id for a socket spec: one ERROR line naming flowai_client_id and its flag, exit 4."""
    flowai.spec(f"name: chat\n{FAST}steps:\n  - say: hello\n")
    result = flowai.pytester.runpytest("--flowai-url", flowai.url, "--collect-only")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: flowai_client_id is not set: transport 'socket' needs a client id"
            " (test_x.flowai.yaml:1: 'chat')",
            "  hint: set flowai_client_id in the ini file or pass --flowai-client-id",
        ],
        consecutive=True,
    )
    assert "Traceback" not in output(result)


def test_under_xdist_a_missing_client_id_fails_each_test_as_a_configuration_error(
    flowai: FlowaiTester,
) -> None:
    """On xdist workers (where a usage error would crash xdist) each test fails naming the setting instead."""
    flowai.spec(f"name: chat\n{FAST}steps:\n  - say: hello\n")
    result = flowai.pytester.runpytest_subprocess("--flowai-url", flowai.url, "-n", "2", timeout=60)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "test_x.flowai.yaml:1:1: configuration error: the Web socket API needs a client id;"
            " none is configured",
            "  hint: set flowai_client_id in the ini file or pass --flowai-client-id",
        ],
        consecutive=True,
    )
    assert "INTERNALERROR" not in output(result)


def test_a_reply_that_does_not_match_is_still_the_bots_failure(flowai: FlowaiTester) -> None:
    """A reply other than the expected one keeps the bot-failure wording: `turn N of ... failed:`."""
    flowai.spec(
        """
        name: goodbye
        transport: rest
        timeout: 1
        steps:
          - say: hello
            expect:
              - text: Goodbye
        """
    )
    result = flowai.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "test_x.flowai.yaml:7:9: turn 1 of 'goodbye' failed: an expected reply is not in the answer"
            " (sync REST: the HTTP answer is the whole reply)"
        ]
    )
    assert "spec error" not in output(result)


def test_a_refused_connection_is_a_network_error(flowai: FlowaiTester) -> None:
    """A server that refuses the connection fails the turn as a transport error saying it cannot connect."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    flowai.url = f"http://127.0.0.1:{port}"
    flowai.spec(f"name: nobody home\ntransport: rest\n{FAST}steps:\n  - say: hello\n")
    result = flowai.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["test_x.flowai.yaml:7:5: turn 1 of 'nobody home' failed: transport error: *cannot connect*"]
    )
    assert "spec error" not in output(result)
    assert "configuration error" not in output(result)


def test_a_configuration_error_found_in_a_run_is_said_as_one() -> None:
    """A missing setting a transport finds while a test runs reads as a configuration error with its hint."""
    conversation = Conversation.adhoc(name="chat", transport="rest", path="test_x.flowai.yaml")
    error = ConfigurationError("the REST API needs an API key; none is configured", credential="API key")
    text = report.render_failure(error, conversation, None, seed=0)
    assert text.splitlines() == [
        "test_x.flowai.yaml:1:1: configuration error: the REST API needs an API key; none is configured",
        "  hint: set the FLOWAI_API_KEY environment variable, or pass --flowai-api-key",
    ]


def test_each_error_type_belongs_to_one_party() -> None:
    """Spec mistakes, bot failures, network errors and configuration errors are four separate families."""
    parties = [SpecError, BotError, TransportError, ConfigurationError]
    members = {
        SpecRunError: SpecError,
        UndefinedVariable: SpecError,
        TurnFailed: BotError,
        SchemaViolation: BotError,
        TransportError: TransportError,
        ConfigurationError: ConfigurationError,
    }
    for error, party in members.items():
        assert [p for p in parties if issubclass(error, p)] == [party], error
