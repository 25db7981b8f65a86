"""The failure report, pinned line by line: header, spec excerpt, expected/closest/mismatch, transcript."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.helpers.plugin import FlowaiTester, lit, output

SPEC = """
name: size question
timeout: 1
settle: 0.05
steps:
  - say: hello
    expect:
      - step: hello
  - say: I want to order a pizza
    expect:
      - text: {contains: Which size}
        quickReplies: [Small, Medium, Large, Family]
"""


def test_failure_report_shape(flowai: FlowaiTester) -> None:
    """A failed turn shows file:line:col, its YAML with `>` on the failing key, a diff and the transcript."""
    flowai.spec(SPEC)
    result = flowai.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ flowai: size question _*",
            "test_x.flowai.yaml:11:9: turn 2 of 'size question' failed:"
            " no matching reply within 1s (1 bubble arrived)",
            "   8 |   - say: I want to order a pizza",
            "   9 |     expect:",
            "  10 |       - text: {contains: Which size}",
            "> 11 |         quickReplies: " + lit("[Small, Medium, Large, Family]"),
            "  expected: a text reply containing 'Which size', quick replies "
            + lit("['Small', 'Medium', 'Large', 'Family']"),
            "  closest: bubble #1 (text 'Great choice! Which size would you like?')",
            "    payload.quickReplies: expected 4 quick replies "
            + lit("['Small', 'Medium', 'Large', 'Family'], got 3 ['Small', 'Medium', 'Large']"),
            "",
            "conversation 'size question' over socket, thread pytest-flowai-*~*.main.1",
            "  turn 1",
            "    +*s > say 'hello'",
            "    +*s < " + lit("[Greeting / Hello] text ") + "*",
            ">>turn 2",
            "    +*s > say 'I want to order a pizza'",
            "    +*s < "
            + lit("[Order / Order pizza] text 'Great choice! Which size would you like?' | quick replies: ")
            + "Small, Medium, Large",
            "    +*s x turn 2 failed",
        ],
        consecutive=True,
    )
    result.stdout.fnmatch_lines(
        ["FAILED test_x.flowai.yaml::size question - test_x.flowai.yaml:11:9: turn 2 *"]
    )
    assert "Traceback" not in output(result)
    assert "conversation.py" not in output(result)


def test_tb_line_shows_only_the_header(flowai: FlowaiTester) -> None:
    """`--tb=line` prints one line per failure: where and why, without excerpt or transcript."""
    flowai.spec(SPEC)
    result = flowai.run("--tb=line", "-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "test_x.flowai.yaml:11:9: turn 2 of 'size question' failed:"
            " no matching reply within 1s (1 bubble arrived)"
        ]
    )
    assert "conversation 'size question' over" not in result.stdout.str()
    # pytest sums up a plain-text report by its first 50 characters; the headline must not be cut so.
    located = [line for line in result.outlines if line.startswith("test_x.flowai.yaml:11:9:")]
    assert len(located) == 1


def test_junit_failure_message_is_the_headline(flowai: FlowaiTester) -> None:
    """JUnit's `message` attribute holds the one-line headline; the full report is the failure's text."""
    flowai.spec(SPEC)
    flowai.run("--junitxml=junit.xml").assert_outcomes(failed=1)
    failure = ET.parse(flowai.pytester.path / "junit.xml").find(".//failure")
    assert failure is not None
    headline = (
        "test_x.flowai.yaml:11:9: turn 2 of 'size question' failed: "
        + "no matching reply within 1s (1 bubble arrived)"
    )
    assert failure.get("message") == headline
    assert failure.text is not None
    assert failure.text.startswith(headline + "\n")
    assert ">>turn 2" in failure.text


def test_second_conversation_in_a_file_reports_its_own_lines(flowai: FlowaiTester) -> None:
    """Line numbers count from the top of the file, across `---` documents."""
    flowai.spec(
        """
        name: first
        settle: 0.05
        steps:
          - say: hello
        ---
        name: second
        transport: rest
        steps:
          - say: hello
            expect:
              - flow: Order
        """
    )
    result = flowai.run()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "test_x.flowai.yaml:11:9: turn 1 of 'second' failed: *",
            "   9 |   - say: hello",
            "  10 |     expect:",
            "> 11 |       - flow: Order",
        ],
        consecutive=True,
    )
