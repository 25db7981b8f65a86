"""Flow coverage (`--flowai-coverage`): the steps a run's replies came from, against the bot's flows read from
the embedded emulator's files, from `flowai_coverage_flows` or from the Management API; and the gate."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.helpers.emulators import API_KEY, CLIENT_ID, StartEmulator
from tests.helpers.plugin import output

# The test's own bot: two enabled flows (with NOTHING, EVENT and UNKNOWN steps) and a disabled one.
BOT = """
- title: Greeting
  steps:
    - title: Hello
      type: INTENT
      intent: {title: hello, examples: [{query: hello}]}
      actions: [{type: TEXT, payload: {texts: ["Hi there!"]}}]
    - title: Bye
      type: INTENT
      intent: {title: bye, examples: [{query: bye}]}
      actions: [{type: TEXT, payload: {texts: ["Goodbye!"]}}]
    - title: Reminder
      type: NOTHING
      actions: [{type: TEXT, payload: {texts: ["Still there?"]}}]
- title: Orders
  steps:
    - title: Order pizza
      type: INTENT
      intent: {title: order, examples: [{query: order a pizza}]}
      actions: [{type: TEXT, payload: {texts: ["Which size?"]}}]
    - title: Shipped
      type: EVENT
      actions: [{type: TEXT, payload: {texts: ["Your order shipped"]}}]
    - title: Fallback
      type: UNKNOWN
      actions: [{type: TEXT, payload: {texts: ["Sorry?"]}}]
- title: Old
  disabled: true
  steps:
    - title: Legacy
      type: INTENT
      intent: {title: legacy, examples: [{query: legacy}]}
      actions: [{type: TEXT, payload: {texts: ["old"]}}]
"""

SPECS = """
name: greets
settle: 0.05
steps:
  - say: hello
    expect: [{text: "Hi there!"}]
---
name: orders
settle: 0.05
steps:
  - say: order a pizza
    expect: [{text: "Which size?"}]
  - say: gibberish words
    expect: [{text: "Sorry?"}]
---
name: greets again
settle: 0.05
steps:
  - say: hello
    expect: [{text: "Hi there!"}]
"""

GREETS, ORDERS, AGAIN = (f"test_cov.flowai.yaml::{name}" for name in ("greets", "orders", "greets again"))


def _step(step_id: str, title: str, kind: str, *conversations: str) -> dict[str, object]:
    return {
        "stepId": step_id,
        "title": title,
        "type": kind,
        "reached": bool(conversations),
        "conversations": list(conversations),
    }


EXPECTED = {
    "total": {"steps": 6, "reached": 3, "percent": 50.0},
    "flows": [
        {
            "flowId": "greeting",
            "title": "Greeting",
            "steps": [
                _step("hello", "Hello", "INTENT", GREETS, AGAIN),
                _step("bye", "Bye", "INTENT"),
                _step("reminder", "Reminder", "NOTHING"),
            ],
        },
        {
            "flowId": "orders",
            "title": "Orders",
            "steps": [
                _step("order-pizza", "Order pizza", "INTENT", ORDERS),
                _step("shipped", "Shipped", "EVENT"),
                _step("fallback", "Fallback", "UNKNOWN", ORDERS),
            ],
        },
    ],
}


def _suite(pytester: pytest.Pytester, ini: str = "flowai_emulator_flows = bot") -> Path:
    """The bot in `bot/flows.yaml`, the specs and an ini file with `ini` in the pytester directory."""
    (pytester.path / "bot").mkdir()
    (pytester.path / "bot" / "flows.yaml").write_text(textwrap.dedent(BOT), encoding="utf-8")
    pytester.makefile(".flowai.yaml", test_cov=textwrap.dedent(SPECS).lstrip())
    pytester.makeini(f"[pytest]\n{ini}\n")
    return pytester.path / "bot"


def _json(pytester: pytest.Pytester, name: str = "cov.json") -> object:
    return json.loads((pytester.path / name).read_text(encoding="utf-8"))


def test_term_table_lists_each_flow_and_its_unreached_steps(pytester: pytest.Pytester) -> None:
    """The default report: a row per enabled flow (steps, reached, percentage), its unreached steps below."""
    _suite(pytester)
    result = pytester.runpytest("--flowai-coverage")
    result.assert_outcomes(passed=3)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "*= flowai coverage =*",
            "3 of 6 steps reached (50.0%), flows from bot",
            "Flow                  Steps  Reached   Cover",
            "Greeting                  3        1   33.3%",
            "    not reached: Bye (INTENT)",
            "    not reached: Reminder (NOTHING)",
            "Orders                    3        2   66.7%",
            "    not reached: Shipped (EVENT)",
            "TOTAL                     6        3   50.0%",
        ],
        consecutive=True,
    )
    assert "Legacy" not in result.stdout.str()


def test_json_report_has_exactly_the_documented_shape(pytester: pytest.Pytester) -> None:
    """`json:PATH` writes the total and every enabled step with its state and the node ids that reached it."""
    _suite(pytester)
    result = pytester.runpytest("--flowai-cov-report", "json:cov.json")
    result.assert_outcomes(passed=3)
    assert _json(pytester) == EXPECTED
    # Only the JSON was asked for: no table on the terminal, one line saying where the file went.
    assert "Flow                  Steps" not in result.stdout.str()
    result.stdout.fnmatch_lines(["json coverage report written to cov.json"])


def test_reports_can_be_combined(pytester: pytest.Pytester) -> None:
    """`--flowai-cov-report` repeated gives every report asked for; the HTML one is a self-contained table."""
    _suite(pytester)
    result = pytester.runpytest(
        "--flowai-cov-report",
        "term",
        "--flowai-cov-report",
        "json:out/cov.json",
        "--flowai-cov-report=html:c.html",
    )
    result.assert_outcomes(passed=3)
    assert _json(pytester, "out/cov.json") == EXPECTED
    page = (pytester.path / "c.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "3 of 6 steps reached (50.0%)" in page
    assert "<td>Shipped</td><td>EVENT</td><td>no</td>" in page
    assert "<link" not in page
    assert "<script" not in page
    result.stdout.fnmatch_lines(["TOTAL                     6        3   50.0%"])


def test_xdist_workers_data_is_merged_on_the_controller(pytester: pytest.Pytester) -> None:
    """Under `-n 2` the controller counts the steps reached on both workers: the report of one process."""
    _suite(pytester)
    result = pytester.runpytest_subprocess("-n", "2", "--flowai-cov-report", "json:cov.json", timeout=60)
    result.assert_outcomes(passed=3)
    assert _json(pytester) == EXPECTED


def test_concurrent_conversations_give_the_same_report(pytester: pytest.Pytester) -> None:
    """`--flowai-concurrency 4` runs the conversations at once and still credits each step to its specs."""
    _suite(pytester)
    result = pytester.runpytest("--flowai-concurrency", "4", "--flowai-cov-report", "json:cov.json")
    result.assert_outcomes(passed=3)
    assert _json(pytester) == EXPECTED


def test_fail_under_fails_a_run_whose_tests_all_pass(pytester: pytest.Pytester) -> None:
    """Coverage under `--flowai-cov-fail-under` makes the exit status 1 and says so in one line."""
    _suite(pytester)
    result = pytester.runpytest("--flowai-cov-fail-under", "80")
    result.assert_outcomes(passed=3)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["FAIL: flowai coverage 50.0% is under the required 80%"])


def test_fail_under_from_the_ini_file_and_a_threshold_that_is_met(pytester: pytest.Pytester) -> None:
    """`flowai_cov_fail_under` in the ini gates a coverage run; a threshold that is met keeps exit 0."""
    _suite(pytester, "flowai_emulator_flows = bot\nflowai_cov_fail_under = 50")
    result = pytester.runpytest("--flowai-coverage")
    result.assert_outcomes(passed=3)
    assert result.ret == 0
    assert "FAIL:" not in result.stdout.str()
    # Without a coverage flag the ini threshold alone measures nothing and gates nothing.
    plain = pytester.runpytest()
    assert plain.ret == 0
    assert "flowai coverage" not in plain.stdout.str()


def test_ignore_leaves_step_types_and_titles_out(pytester: pytest.Pytester) -> None:
    """`flowai_coverage_ignore` names step types (NOTHING) and titles (`*` wildcards) that do not count."""
    _suite(pytester, "flowai_emulator_flows = bot\nflowai_coverage_ignore =\n    NOTHING\n    Ship*")
    result = pytester.runpytest("--flowai-cov-report", "json:cov.json", "--flowai-cov-fail-under", "75")
    result.assert_outcomes(passed=3)
    data = _json(pytester)
    assert isinstance(data, dict)
    assert data["total"] == {"steps": 4, "reached": 3, "percent": 75.0}
    titles = [step["title"] for flow in data["flows"] for step in flow["steps"]]
    assert titles == ["Hello", "Bye", "Order pizza", "Fallback"]
    assert result.ret == 0


def test_coverage_flows_against_a_separately_started_emulator(
    pytester: pytest.Pytester, start_emulator: StartEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `flowai_url` set, `flowai_coverage_flows` (relative to the ini file) says what the bot is."""
    bot = _suite(pytester)
    emulator = start_emulator(flows=bot)
    monkeypatch.setenv("FLOWAI_API_KEY", API_KEY)
    pytester.makeini(
        f"[pytest]\nflowai_url = {emulator.url}\nflowai_client_id = {CLIENT_ID}\n"
        "flowai_coverage_flows = bot\n"
    )
    result = pytester.runpytest("--flowai-cov-report", "json:cov.json", "--flowai-cov-report", "term")
    result.assert_outcomes(passed=3)
    assert _json(pytester) == EXPECTED
    result.stdout.fnmatch_lines(["3 of 6 steps reached (50.0%), flows from bot"])


def test_flows_come_from_the_management_api(
    pytester: pytest.Pytester, start_emulator: StartEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against `flowai_url` with no flow files, the flows come from `GET flows/list` (key: the API key)."""
    bot = _suite(pytester)
    emulator = start_emulator(flows=bot)
    monkeypatch.setenv("FLOWAI_API_KEY", API_KEY)
    pytester.makeini(f"[pytest]\nflowai_url = {emulator.url}\nflowai_client_id = {CLIENT_ID}\n")
    result = pytester.runpytest("--flowai-cov-report", "json:cov.json", "--flowai-cov-report", "term")
    result.assert_outcomes(passed=3)
    assert _json(pytester) == EXPECTED
    result.stdout.fnmatch_lines([f"3 of 6 steps reached (50.0%), flows from Management API {emulator.url}"])


def test_a_refused_management_key_is_said_once_and_fails_a_gated_run(
    pytester: pytest.Pytester, start_emulator: StartEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A management key the server refuses: one error naming the route, no key shown; a threshold fails."""
    bot = _suite(pytester)
    emulator = start_emulator(flows=bot)
    monkeypatch.setenv("FLOWAI_API_KEY", API_KEY)
    monkeypatch.setenv("FLOWAI_MANAGEMENT_KEY", "wrong-management-key-123")
    pytester.makeini(f"[pytest]\nflowai_url = {emulator.url}\nflowai_client_id = {CLIENT_ID}\n")
    result = pytester.runpytest("--flowai-cov-fail-under", "10")
    result.assert_outcomes(passed=3)
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "ERROR: flowai coverage cannot read the bot's flows: flows/list: HTTP 401"
            " (the management key was refused): *",
            "  hint: check flowai_management_url and FLOWAI_MANAGEMENT_KEY*",
            "FAIL: flowai coverage could not be measured, so the required 10% is not met",
        ],
        consecutive=True,
    )
    assert "wrong-management-key-123" not in output(result)


def test_a_bad_report_kind_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """`--flowai-cov-report xml` is refused before anything runs, with the kinds that exist."""
    _suite(pytester)
    result = pytester.runpytest("--flowai-cov-report", "xml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --flowai-cov-report must be term, json:PATH or html:PATH, got 'xml'"]
    )


def test_python_tests_using_the_fixture_count_too(pytester: pytest.Pytester) -> None:
    """A Python test's `flowai` conversation credits its steps to the test's node id."""
    _suite(pytester)
    pytester.makepyfile(
        test_py="""
        def test_ships(flowai):
            flowai.event("Shipped", expect=[{"text": "Your order shipped"}], settle=0.05)
        """
    )
    result = pytester.runpytest("--flowai-cov-report", "json:cov.json")
    result.assert_outcomes(passed=4)
    data = _json(pytester)
    assert isinstance(data, dict)
    shipped = data["flows"][1]["steps"][1]
    assert shipped == _step("shipped", "Shipped", "EVENT", "test_py.py::test_ships")
    assert data["total"] == {"steps": 6, "reached": 4, "percent": 66.67}
