"""What a pytest user expects of any plugin: defaults in --help, -rP sections, safe node ids, JUnit names."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.helpers.paths import DEMO_BOT
from tests.helpers.plugin import FlowaiTester, output

PASSING = "name: greets\nsettle: 0.01\nsteps:\n  - say: hello\n    expect:\n      - step: hello\n"


def test_help_shows_every_flowai_option_with_its_default(pytester: pytest.Pytester) -> None:
    """`pytest --help` lists each --flowai-* flag and each flowai_* ini option with its default."""
    result = pytester.runpytest("--help")
    text = " ".join(result.stdout.str().split())
    for flag, default in [
        ("--flowai-timeout", "10"),
        ("--flowai-settle", "0.25"),
        ("--flowai-silence", "1"),
        ("--flowai-patience", "2"),
        ("--flowai-concurrency", "1"),
        ("--flowai-emulator-seed", "0"),
        ("--flowai-transport", "socket"),
    ]:
        assert flag in text
        ini = flag.removeprefix("--").replace("-", "_")
        assert f"{ini} (string):" in text or f"{ini}:" in text or ini in text
        assert f"(default: {default})" in text, flag


def test_a_passing_transcript_reaches_rP(flowai: FlowaiTester) -> None:
    """-rP shows the transcript of a passing spec as a report section."""
    flowai.spec(PASSING)
    result = flowai.run("-rP")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*= PASSES =*",
            "*_ flowai: greets _*",
            "*- Captured flowai transcript call -*",
            "conversation 'greets' over socket, thread *",
        ]
    )


def test_the_embedded_emulator_is_running_before_the_first_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The emulator starts when collection ends, so its start-up counts in no test's duration."""
    monkeypatch.delenv("FLOWAI_API_KEY", raising=False)
    pytester.makeini(f"[pytest]\nflowai_emulator_flows = {DEMO_BOT}\n")
    pytester.makeconftest(
        "import threading\n"
        "seen = []\n"
        "def pytest_runtest_setup(item):\n"
        "    seen.append(any(t.name == 'flowai-emulator' for t in threading.enumerate()))\n"
        "def pytest_terminal_summary(terminalreporter):\n"
        "    terminalreporter.write_line(f'emulator up at first setup: {seen[0]}')\n"
    )
    pytester.makefile(".flowai.yaml", test_x=PASSING)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["emulator up at first setup: True"])


def test_names_with_separators_and_control_characters_give_selectable_node_ids(flowai: FlowaiTester) -> None:
    """A name with `::`, a newline and ESC prints escaped, and `FILE::NAME` as printed selects it."""
    flowai.spec('name: "a::b\\nc\\u001b[31m"\nsettle: 0.01\nsteps:\n  - say: hello\n---\n' + PASSING)
    listed = flowai.run("--collect-only", "-q")
    node_id = "test_x.flowai.yaml::a: :b\\nc\\x1b[31m"
    listed.stdout.fnmatch_lines([node_id.replace("[", "[[]")])
    assert "\x1b" not in output(listed)
    chosen = flowai.run(node_id, "-v")
    chosen.assert_outcomes(passed=1)
    assert "\x1b" not in output(chosen)


def test_junit_classname_is_the_spec_path_without_its_suffix(flowai: FlowaiTester) -> None:
    """JUnit groups a spec's conversations under its file as a dotted path: `sub.test_menu`."""
    sub = flowai.pytester.mkdir("sub")
    (sub / "test_menu.flowai.yaml").write_text(PASSING, encoding="utf-8")
    flowai.spec(PASSING)
    junit = flowai.pytester.path / "junit.xml"
    flowai.run(f"--junitxml={junit}").assert_outcomes(passed=2)
    cases = {case.attrib["classname"]: case.attrib["name"] for case in ET.parse(junit).iter("testcase")}
    assert cases == {"sub.test_menu": "greets", "test_x": "greets"}


def test_junit_classname_keeps_the_junit_prefix(flowai: FlowaiTester) -> None:
    """With --junit-prefix=suite the classname reads `suite.test_x`, as pytest prefixes Python tests."""
    flowai.spec(PASSING)
    junit = flowai.pytester.path / "junit.xml"
    flowai.run(f"--junitxml={junit}", "--junit-prefix=suite").assert_outcomes(passed=1)
    assert [case.attrib["classname"] for case in ET.parse(junit).iter("testcase")] == ["suite.test_x"]


def test_settle_zero_is_accepted_in_the_ini_file(flowai: FlowaiTester) -> None:
    """`flowai_settle = 0` is valid, as a spec's `settle: 0` is."""
    flowai.pytester.makeini("[pytest]\nflowai_settle = 0\n")
    flowai.spec(PASSING.replace("settle: 0.01\n", ""))
    flowai.run().assert_outcomes(passed=1)
