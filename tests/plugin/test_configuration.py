"""Where specs are sent (ini `flowai_url`, the embedded emulator) and how bad ini options are reported."""

from __future__ import annotations

import pytest

from pytest_flowai.emulator import EmulatorThread
from tests.helpers.emulators import API_KEY, CLIENT_ID
from tests.helpers.paths import DEMO_BOT
from tests.helpers.plugin import FlowaiTester

GREETS = """
name: greets
settle: 0.05
steps:
  - say: hello
    expect:
      - step: hello
"""


def test_ini_url_and_client_id_point_at_a_running_emulator(
    pytester: pytest.Pytester, emulator: EmulatorThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`flowai_url` and `flowai_client_id` in the ini file reach an emulator started by the test."""
    monkeypatch.setenv("FLOWAI_API_KEY", API_KEY)
    pytester.makeini(f"[pytest]\nflowai_url = {emulator.url}\nflowai_client_id = {CLIENT_ID}\n")
    pytester.makefile(".flowai.yaml", test_x=GREETS)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"flowai: target {emulator.url}, transport socket, specs *"])


def test_wrong_client_id_is_a_clear_transport_error(
    pytester: pytest.Pytester, emulator: EmulatorThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client id the server does not know fails the conversation saying so, not with a traceback."""
    monkeypatch.setenv("FLOWAI_API_KEY", API_KEY)
    pytester.makeini(
        f"[pytest]\nflowai_url = {emulator.url}\nflowai_client_id = nobody\nflowai_timeout = 2\n"
    )
    pytester.makefile(".flowai.yaml", test_x=GREETS)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "test_x.flowai.yaml:4:5: turn 1 of 'greets' failed: transport error: the server refused client id"
            " 'nobody' *",
            "  hint: set flowai_client_id in the ini file or pass --flowai-client-id",
        ],
        consecutive=True,
    )
    assert "Traceback" not in result.stdout.str()


def test_missing_client_id_and_api_key_say_which_setting_to_fix(
    pytester: pytest.Pytester, emulator: EmulatorThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a URL but no client id (socket) or no key (REST), one configuration error names the setting."""
    monkeypatch.delenv("FLOWAI_API_KEY", raising=False)
    pytester.makeini(f"[pytest]\nflowai_url = {emulator.url}\n")
    pytester.makefile(".flowai.yaml", test_x=GREETS)
    socket = pytester.runpytest()
    assert socket.ret == pytest.ExitCode.USAGE_ERROR
    socket.stderr.fnmatch_lines(
        [
            "ERROR: flowai_client_id is not set: transport 'socket' needs a client id"
            " (test_x.flowai.yaml:1: 'greets')",
            "  hint: set flowai_client_id in the ini file or pass --flowai-client-id",
        ]
    )
    rest = pytester.runpytest("--flowai-transport=rest")
    assert rest.ret == pytest.ExitCode.USAGE_ERROR
    rest.stderr.fnmatch_lines(
        [
            "ERROR: FLOWAI_API_KEY is not set: transport 'rest' needs an API key"
            " (test_x.flowai.yaml:1: 'greets')",
            "  hint: set the FLOWAI_API_KEY environment variable, or pass --flowai-api-key",
        ]
    )


def test_embedded_emulator_starts_with_flows_relative_to_the_ini_file(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no URL, `flowai_emulator_flows` (relative to the ini file) starts the emulator in-process."""
    monkeypatch.delenv("FLOWAI_API_KEY", raising=False)
    suite = pytester.mkdir("suite")
    (suite / "bot").symlink_to(DEMO_BOT, target_is_directory=True)
    (suite / "pytest.ini").write_text("[pytest]\nflowai_emulator_flows = bot\n", encoding="utf-8")
    (suite / "test_x.flowai.yaml").write_text(GREETS, encoding="utf-8")
    result = pytester.runpytest("suite")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [f"flowai: target embedded emulator (flows: {suite / 'bot'}, seed 0), transport socket, *"]
    )


@pytest.mark.parametrize("collect_only", [False, True])
def test_no_url_and_no_flows_is_one_usage_error(pytester: pytest.Pytester, collect_only: bool) -> None:
    """Without a URL or emulator flows the run stops once, before any test, naming both settings (exit 4)."""
    pytester.makefile(".flowai.yaml", test_x=GREETS, test_y=GREETS)
    result = pytester.runpytest(*(["--collect-only"] if collect_only else []))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: neither flowai_url nor flowai_emulator_flows is set, so there is no bot to talk to",
            "  hint: set flowai_url (and flowai_client_id, FLOWAI_API_KEY) for a Flow.ai bot, or*",
        ]
    )
    assert result.stderr.str().count("ERROR:") == 1
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
    assert "failed" not in result.stdout.str()


@pytest.mark.parametrize(
    ("ini", "message"),
    [
        ("flowai_timeout = ten", "ERROR: flowai_timeout must be a number of seconds, got 'ten'"),
        ("flowai_timeout = 0", "ERROR: flowai_timeout must be > 0, got '0'"),
        ("flowai_settle = soon", "ERROR: flowai_settle must be a number of seconds, got 'soon'"),
        ("flowai_settle = -1", "ERROR: flowai_settle must be >= 0, got '-1'"),
        ("flowai_silence = nan", "ERROR: flowai_silence must be a number of seconds, got 'nan'"),
        ("flowai_patience = 0", "ERROR: flowai_patience must be > 0, got '0'"),
        ("flowai_transport = carrier-pigeon", "ERROR: flowai_transport must be one of socket, rest, *"),
    ],
)
def test_bad_ini_option_is_a_usage_error(flowai: FlowaiTester, ini: str, message: str) -> None:
    """A bad ini value stops the run as a usage error naming the option, before any test runs."""
    flowai.pytester.makeini(f"[pytest]\n{ini}\n")
    flowai.spec(GREETS)
    result = flowai.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


@pytest.mark.parametrize("url", ["127.0.0.1:8080", "ftp://example.org"])
def test_url_without_http_scheme_is_a_usage_error(flowai: FlowaiTester, url: str) -> None:
    """A `--flowai-url` that is not http(s) stops the run once, instead of failing every conversation."""
    flowai.spec(GREETS)
    result = flowai.pytester.runpytest("--flowai-url", url)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*flowai_url must start with http:// or https://, got '{url}'"])
    assert "Traceback" not in result.stderr.str()


def test_bad_transport_option_is_a_usage_error(flowai: FlowaiTester) -> None:
    """An unknown `--flowai-transport` is refused by the option parser, listing the choices."""
    flowai.spec(GREETS)
    result = flowai.run("--flowai-transport", "fax")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*argument --flowai-transport: invalid choice: 'fax' (choose from *socket*rest*)"]
    )
