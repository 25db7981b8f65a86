"""Specs behave as pytest tests: -k, -m, -x, --lf, --junitxml, -v, xdist; and the API key never shows."""

from __future__ import annotations

import json
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.helpers.emulators import API_KEY, StartEmulator
from tests.helpers.plugin import FlowaiTester, lit, output

PASSING = """
name: greets
settle: 0.05
marks: [smoke]
steps:
  - say: hello
    expect:
      - step: hello
"""
FAILING = """
name: wrong flow
transport: rest
steps:
  - say: hello
    expect:
      - flow: Order
"""
MARKERS_INI = "[pytest]\nmarkers =\n    smoke: the first conversations to run\n"


def _two_files(flowai: FlowaiTester) -> None:
    flowai.pytester.makeini(MARKERS_INI)
    flowai.spec(PASSING, name="test_good")
    flowai.spec(FAILING, name="test_bad")


def test_k_selects_conversations_by_name(flowai: FlowaiTester) -> None:
    """`-k` matches the conversation name, so only the chosen spec runs."""
    _two_files(flowai)
    result = flowai.run("-k", "greets")
    result.assert_outcomes(passed=1, deselected=1)


def test_m_selects_conversations_by_their_marks(flowai: FlowaiTester) -> None:
    """`-m smoke` runs the conversations whose `marks:` list smoke; every spec also carries `flowai`."""
    _two_files(flowai)
    flowai.run("-m", "smoke").assert_outcomes(passed=1, deselected=1)
    flowai.run("-m", "flowai and not smoke").assert_outcomes(failed=1, deselected=1)


def test_x_stops_at_the_first_failure(flowai: FlowaiTester) -> None:
    """With -x the run stops after the first failed conversation."""
    flowai.spec(FAILING + "---\n" + PASSING.replace("marks: [smoke]\n", ""))
    result = flowai.run("-x")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*stopping after 1 failures*"])


def test_lf_reruns_only_the_failures(flowai: FlowaiTester) -> None:
    """`--lf` after a run with one failure runs that conversation alone."""
    _two_files(flowai)
    flowai.run().assert_outcomes(passed=1, failed=1)
    result = flowai.run("--lf")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["run-last-failure: rerun previous 1 failure (skipped 1 file)"])


def _properties(path: str) -> dict[str, dict[str, str]]:
    """JUnit properties per test case name."""
    root = ET.parse(path).getroot()
    return {
        case.attrib["name"]: {p.attrib["name"]: p.attrib["value"] for p in case.iter("property")}
        for case in root.iter("testcase")
    }


def test_junitxml_carries_transport_and_transcript(flowai: FlowaiTester) -> None:
    """Every test case in the JUnit file has flowai_transport and flowai_transcript properties."""
    _two_files(flowai)
    result = flowai.run("--junitxml=junit.xml")
    result.assert_outcomes(passed=1, failed=1)
    props = _properties(str(flowai.pytester.path / "junit.xml"))
    assert props["greets"]["flowai_transport"] == "socket"
    assert props["wrong flow"]["flowai_transport"] == "rest"
    assert "    +  " in props["greets"]["flowai_transcript"]
    assert "> say 'hello'" in props["greets"]["flowai_transcript"]
    assert props["wrong flow"]["flowai_transcript"].splitlines()[1] == ">>turn 1"


def test_v_prints_transcripts_of_passing_conversations(flowai: FlowaiTester) -> None:
    """Under -v a section lists the transcript of each passing conversation; without -v it is absent."""
    flowai.spec(PASSING.replace("marks: [smoke]\n", ""))
    quiet = flowai.run()
    assert "flowai transcripts (passed)" not in quiet.stdout.str()
    result = flowai.run("-v")
    result.stdout.fnmatch_lines(
        [
            "*= flowai transcripts (passed) =*",
            "",
            "test_x.flowai.yaml::greets",
            "  conversation 'greets' over socket, thread pytest-flowai-*~*.main.1",
            "    turn 1",
            "      +*s > say 'hello'",
            "      +*s < *Greeting / Hello*",
        ],
        consecutive=True,
    )


# A spec that sends the key (as a careless author might) and fails, so the transcript is printed everywhere.
LEAKY = """
name: leaky {n}
transport: {transport}
settle: 0.05
steps:
  - say: "my key is {{env.FLOWAI_API_KEY}}"
    expect:
      - fallback: {passes}
"""


def _leaky_specs(flowai: FlowaiTester) -> None:
    flowai.spec(
        "---\n".join(
            LEAKY.format(n=n, transport=transport, passes=passes)
            for n, (transport, passes) in enumerate([("socket", "true"), ("rest", "false")])
        )
    )


def _assert_never_shown(flowai: FlowaiTester, result: pytest.RunResult) -> None:
    text = output(result)
    junit = (flowai.pytester.path / "junit.xml").read_text(encoding="utf-8")
    assert API_KEY not in text
    assert API_KEY not in junit
    assert "my key is ***" in text
    assert "my key is ***" in junit


def test_key_from_environment_never_appears(flowai: FlowaiTester) -> None:
    """A key from FLOWAI_API_KEY is redacted in failures, -v transcripts and the JUnit file."""
    _leaky_specs(flowai)
    result = flowai.run("-v", "--junitxml=junit.xml", "-rA")
    result.assert_outcomes(passed=1, failed=1)
    _assert_never_shown(flowai, result)


def test_key_from_the_command_line_never_appears(
    flowai: FlowaiTester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key given with --flowai-api-key is redacted just the same."""
    _leaky_specs(flowai)
    result = flowai.run("--flowai-api-key", API_KEY, "-v", "--junitxml=junit.xml")
    result.assert_outcomes(passed=1, failed=1)
    _assert_never_shown(flowai, result)


class _EchoingHandler(BaseHTTPRequestHandler):
    """Refuses every request, quoting the Authorization header back (a careless server)."""

    def _refuse(self) -> None:
        body = json.dumps({"status": "error", "message": f"bad key {self.headers.get('Authorization')}"})
        data = body.encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _refuse

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def echoing_server() -> Iterator[str]:
    """A loopback HTTP server that echoes the API key in its error messages."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(10)


def test_key_echoed_by_the_server_never_appears(flowai: FlowaiTester, echoing_server: str) -> None:
    """When the server quotes the key in its error, the failure and the JUnit file show *** instead."""
    flowai.url = echoing_server
    flowai.spec(FAILING)
    result = flowai.run("--junitxml=junit.xml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*HTTP 401 (the API key was refused): " + lit("bad key ***") + " (http*"])
    assert API_KEY not in output(result)
    assert API_KEY not in (flowai.pytester.path / "junit.xml").read_text(encoding="utf-8")


def test_xdist_runs_specs_in_parallel_with_unique_threads(flowai: FlowaiTester) -> None:
    """Under `-n 2` every conversation gets its own thread id, naming its worker."""
    for n in range(4):
        flowai.spec(
            PASSING.replace("marks: [smoke]\n", "").replace("greets", f"greets {n}"), name=f"test_{n}"
        )
    result = flowai.run_subprocess("-n", "2", "--junitxml=junit.xml")
    result.assert_outcomes(passed=4)
    props = _properties(str(flowai.pytester.path / "junit.xml"))
    threads = [p["flowai_thread_id"] for p in props.values()]
    assert len(set(threads)) == 4
    assert {thread.split(".")[1] for thread in threads} <= {"gw0", "gw1"}
    result.stdout.fnmatch_lines(["created: 2/2 workers"])


def test_concurrency_starts_the_next_conversations_before_the_first_is_reported(
    flowai: FlowaiTester, start_emulator: StartEmulator
) -> None:
    """With --flowai-concurrency 3, all three conversations have talked to the bot when the first reports."""
    flowai.url = start_emulator().url  # a bot of this test's own: its threads are only these
    flowai.spec(
        "".join(
            f"---\nname: c{n}\ntransport: rest\nsteps:\n  - say: hello\n    expect:\n      - step: hello\n"
            for n in range(3)
        )
    )
    flowai.pytester.makeconftest(
        f"""
        import httpx

        seen = []

        def pytest_runtest_logreport(report):
            if report.when == "call" and not seen:
                url = "{flowai.url}/rest/v1/threads?sync=true"
                answer = httpx.get(url, headers={{"Authorization": "{API_KEY}"}})
                seen.append(answer.text.count("pytest-flowai-"))
                print("threads when the first was reported:", seen[0])
        """
    )
    result = flowai.run("--flowai-concurrency", "3", "-s")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*threads when the first was reported: 3*"])
