"""A configuration mistake is one clear error for the whole run, before any test runs; a refused key is
said once and fails the rest at once."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.helpers.plugin import FAST, lit, output

SPECS = "\n---\n".join(f"name: chat {n}\nsettle: 0.01\nsteps:\n  - say: hello\n" for n in range(5))
BAD_FLOW = """flowId: broken
title: Broken
steps:
  - title: Hello
    type: INTENT
    intent: {title: hello, examples: [{query: hello}]}
    actions:
      - type: TEXT
        payload: {texts: 42}
"""


def _run(pytester: pytest.Pytester, collect_only: bool) -> pytest.RunResult:
    return pytester.runpytest(*(["--collect-only"] if collect_only else []))


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWAI_API_KEY", raising=False)


def assert_one_usage_error(result: pytest.RunResult, *lines: str) -> None:
    """Exit status 4, the lines on stderr, one ERROR only, no test reported and no traceback."""
    assert result.ret == pytest.ExitCode.USAGE_ERROR, output(result)
    result.stderr.fnmatch_lines(list(lines))
    assert result.stderr.str().count("ERROR:") == 1
    text = output(result)
    assert "Traceback" not in text
    assert "failed" not in result.stdout.str()
    assert "passed" not in result.stdout.str()


@pytest.mark.parametrize("collect_only", [False, True])
def test_missing_flows_path_is_one_usage_error(pytester: pytest.Pytester, collect_only: bool) -> None:
    """flowai_emulator_flows naming nothing: one error with the path, exit 4, no per-spec failures."""
    pytester.makeini("[pytest]\nflowai_emulator_flows = no-such-bot\n")
    pytester.makefile(".flowai.yaml", test_chats=SPECS)
    assert_one_usage_error(
        _run(pytester, collect_only), "ERROR: flowai_emulator_flows: *no-such-bot: no such file or folder"
    )


@pytest.mark.parametrize("collect_only", [False, True])
def test_invalid_flows_is_one_usage_error(pytester: pytest.Pytester, collect_only: bool) -> None:
    """Flow files that break the schema: one error naming the file, the line and the JSON path."""
    (pytester.path / "bot.yaml").write_text(BAD_FLOW, encoding="utf-8")
    pytester.makeini("[pytest]\nflowai_emulator_flows = bot.yaml\n")
    pytester.makefile(".flowai.yaml", test_chats=SPECS)
    result = _run(pytester, collect_only)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: flowai_emulator_flows: invalid bot definition (1 problem):"])
    result.stderr.fnmatch_lines(
        ["  bot.yaml:9: " + lit("steps[0].actions[0].payload.texts: expected array, got 42")]
    )
    assert "Traceback" not in output(result)
    assert "failed" not in result.stdout.str()


@pytest.mark.parametrize("collect_only", [False, True])
def test_url_without_a_scheme_is_one_usage_error(pytester: pytest.Pytester, collect_only: bool) -> None:
    """An invalid flowai_url stops the run once, also under --collect-only."""
    pytester.makeini("[pytest]\nflowai_url = api.flow.ai\n")
    pytester.makefile(".flowai.yaml", test_chats=SPECS)
    assert_one_usage_error(
        _run(pytester, collect_only),
        "ERROR: flowai_url must start with http:// or https://, got 'api.flow.ai'",
    )


def test_a_run_without_specs_needs_no_flowai_configuration(pytester: pytest.Pytester) -> None:
    """Plain Python tests run with the plugin installed and nothing of it configured."""
    pytester.makepyfile("def test_one():\n    assert True\n")
    pytester.runpytest().assert_outcomes(passed=1)


class _Refusing(BaseHTTPRequestHandler):
    """A Flow.ai-shaped server that refuses every key with 401, counting the requests it got."""

    hits = 0

    def _refuse(self) -> None:
        type(self).hits += 1
        body = b'{"status": "error", "message": "invalid API key"}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _refuse

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def refusing_server() -> Iterator[tuple[str, type[_Refusing]]]:
    """A refusing server on 127.0.0.1:0 in a thread; yields its URL and its handler class (the counter)."""
    handler = type("Refusing", (_Refusing,), {"hits": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.mark.parametrize("transport", ["rest", "socket"])
def test_a_refused_key_fails_the_rest_at_once_with_the_same_cause(
    pytester: pytest.Pytester, refusing_server: tuple[str, type[_Refusing]], transport: str
) -> None:
    """After a 401, later conversations fail with the same one-line cause without asking the server again."""
    url, handler = refusing_server
    pytester.makefile(".flowai.yaml", test_chats=SPECS.replace("settle: 0.01\n", FAST))
    result = pytester.runpytest(
        f"--flowai-url={url}",
        "--flowai-client-id=me",
        f"--flowai-transport={transport}",
        "--flowai-api-key=a-wrong-key-5e1f",
    )
    result.assert_outcomes(failed=5)
    assert handler.hits == 1
    result.stdout.fnmatch_lines(
        ["test_chats.flowai.yaml:6:5: turn 1 of 'chat 0' failed: transport error: *HTTP 401*"]
    )
    assert output(result).count("(as for an earlier conversation; not tried again)") >= 4


def test_an_unreachable_url_fails_the_rest_at_once(pytester: pytest.Pytester) -> None:
    """A server that cannot be reached fails the first conversation naming the cause, and the rest at once."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    pytester.makefile(".flowai.yaml", test_chats=SPECS.replace("settle: 0.01\n", FAST))
    result = pytester.runpytest(
        f"--flowai-url=http://127.0.0.1:{port}", "--flowai-transport=rest", "--flowai-api-key=a-key-5e1f"
    )
    result.assert_outcomes(failed=5)
    result.stdout.fnmatch_lines(["*turn 1 of 'chat 0' failed: transport error: *cannot connect*"])
    result.stdout.fnmatch_lines(
        ["*conversation 'chat 4' failed: transport error: *cannot connect*not tried again*"]
    )
