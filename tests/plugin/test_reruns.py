"""Reruns with pytest-rerunfailures: a flaky bot (the emulator's `wrong-once` fault) passes on a new thread,
and every attempt's transcript stays in the terminal output and the JUnit XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from pytest_flowai.emulator.settings import Fault
from tests.helpers.emulators import API_KEY, StartEmulator
from tests.helpers.plugin import FAST, FlowaiTester, lit

pytest.importorskip("pytest_rerunfailures")

GREETS = f"""
name: greets
{FAST}patience: 0.3
steps:
  - say: hello
    expect: [{{text: {{contains: Pizza Bella}}}}]
"""
WRONG = "emulator fault 'wrong-once': a wrong first answer"


@pytest.fixture
def flaky(
    pytester: pytest.Pytester, start_emulator: StartEmulator, monkeypatch: pytest.MonkeyPatch
) -> FlowaiTester:
    """A runner against an emulator that answers each conversation wrongly the first time only."""
    monkeypatch.setenv("FLOWAI_API_KEY", API_KEY)
    return FlowaiTester(pytester=pytester, url=start_emulator(fault=Fault.WRONG_ONCE).url)


def _outcomes(result: pytest.RunResult, **expected: int) -> None:
    """The run's counts (pytester's assert_outcomes knows no `rerun`)."""
    assert result.parseoutcomes() == expected, result.stdout.str()


def _properties(junit: ET.Element, name: str) -> dict[str, str]:
    """The properties of the last <testcase> called ``name`` (the final attempt's)."""
    cases = [case for case in junit.iter("testcase") if case.get("name") == name]
    return {p.get("name", ""): p.get("value", "") for p in cases[-1].iter("property")}


def test_reruns_runs_a_failed_spec_again_on_a_new_thread(flaky: FlowaiTester) -> None:
    """`--reruns 1`: the first attempt fails, the rerun passes; each attempt had its own thread id."""
    flaky.spec(GREETS)
    result = flaky.run("--reruns", "1", "--junitxml=junit.xml")
    _outcomes(result, passed=1, rerun=1)
    props = _properties(ET.parse(flaky.pytester.path / "junit.xml").getroot(), "greets")
    assert props["flowai_thread_id"] != props["flowai_thread_id_attempt_1"]
    assert WRONG in props["flowai_transcript_attempt_1"]
    assert WRONG not in props["flowai_transcript"]
    assert props["flowai_transcript"].startswith(
        f"conversation 'greets' over socket, thread {props['flowai_thread_id']}"
    )


def test_reruns_under_concurrency_start_each_attempt_anew(flaky: FlowaiTester) -> None:
    """With `--flowai-concurrency 4` every spec is rerun as a fresh conversation, not a finished one again."""
    for n in range(4):
        flaky.spec(GREETS.replace("greets", f"greets {n}"), name=f"test_{n}")
    result = flaky.run("--reruns", "1", "--flowai-concurrency", "4", "--junitxml=junit.xml")
    _outcomes(result, passed=4, rerun=4)
    junit = ET.parse(flaky.pytester.path / "junit.xml").getroot()
    threads = set()
    for n in range(4):
        props = _properties(junit, f"greets {n}")
        threads |= {props["flowai_thread_id"], props["flowai_thread_id_attempt_1"]}
    assert len(threads) == 8


def test_a_flaky_mark_with_arguments_in_the_spec(flaky: FlowaiTester) -> None:
    """`marks: [{flaky: {reruns: 2}}]` reruns that spec without any command-line option."""
    flaky.spec(GREETS.replace("name: greets\n", "name: greets\nmarks: [{flaky: {reruns: 2}}]\n"))
    _outcomes(flaky.run(), passed=1, rerun=1)


def test_only_rerun_picks_the_failures_to_rerun(flaky: FlowaiTester) -> None:
    """`--only-rerun` matches the failure type: TurnFailed reruns a failed turn, TransportError does not."""
    flaky.spec(GREETS)
    flaky.run("--reruns", "2", "--only-rerun", "TransportError").assert_outcomes(failed=1)
    flaky.pytester.path.joinpath("test_x.flowai.yaml").write_text(
        GREETS.replace("greets", "greets later"), encoding="utf-8"
    )
    _outcomes(flaky.run("--reruns", "2", "--only-rerun", "TurnFailed"), passed=1, rerun=1)


def test_flaky_report_lists_the_specs_that_passed_only_after_a_rerun(flaky: FlowaiTester) -> None:
    """`--flowai-flaky-report` names each spec that needed a rerun, and why its earlier attempts failed."""
    flaky.spec(GREETS)
    flaky.spec(
        "name: steady\nsteps:\n  - event: nothing at all\n    expect: none\n    silence: 0.2\n", name="test_y"
    )
    result = flaky.run("--reruns", "1", "--flowai-flaky-report")
    _outcomes(result, passed=2, rerun=1)
    result.stdout.fnmatch_lines(
        [
            "*= flowai flaky specs (passed only after a rerun) =*",
            "test_x.flowai.yaml::greets: passed on attempt 2",
            "  attempt 1: test_x.flowai.yaml:8:15: turn 1 of 'greets' failed: *",
        ],
        consecutive=True,
    )


def test_a_spec_that_fails_every_attempt_shows_each_transcript(flowai: FlowaiTester) -> None:
    """When the reruns run out, the failure shows the last attempt and a section per earlier attempt."""
    flowai.spec(GREETS.replace("Pizza Bella", "Burger Palace"))
    result = flowai.run("--reruns", "1")
    _outcomes(result, failed=1, rerun=1)
    result.stdout.fnmatch_lines(
        [
            "*- Captured flowai transcript (attempt 1) call -*",
            "attempt 1 failed: test_x.flowai.yaml:8:15: turn 1 of 'greets' failed: *",
            "",
            "conversation 'greets' over socket, thread pytest-flowai-*~*.main.1",
            ">>turn 1",
            "    +*s > say 'hello'",
            "    +*s < " + lit("[Greeting / Hello] text ") + "*",
        ],
        consecutive=True,
    )
    result.stdout.fnmatch_lines(["conversation 'greets' over socket, thread pytest-flowai-*~*.main.2"])


def test_the_html_report_keeps_each_earlier_attempt(flaky: FlowaiTester) -> None:
    """The HTML report shows the passing try and, folded under it, the first try with its wrong answer."""
    pytest.importorskip("jinja2")
    flaky.spec(GREETS)
    page = flaky.pytester.path / "report.html"
    result = flaky.run("--reruns", "1", f"--flowai-html={page}")
    _outcomes(result, passed=1, rerun=1)
    html = page.read_text(encoding="utf-8")
    assert "attempt 1 of 2 (rerun)" in html
    assert html.count("a wrong first answer") >= 1
    # The rerun is counted once in the summary and the test itself passed.
    assert 'class="badge o-passed"' in html
