"""The failure summary: one line per failed spec (where, conversation, turn, expected, closest actual) just
before pytest's short test summary, cut to the terminal's width; `-p no:flowai-summary` turns it off."""

from __future__ import annotations

import pytest

from tests.helpers.plugin import FlowaiTester, lit

FIRST = """
name: wrong greeting
timeout: 1
settle: 0.05
patience: 0.3
steps:
  - say: hello
    expect:
      - text: Good evening
---
name: passes
settle: 0.05
steps:
  - say: hello
    expect: [{step: hello}]
"""
SECOND = """
name: size question
timeout: 1
settle: 0.05
patience: 0.3
steps:
  - say: hello
    expect:
      - step: hello
  - say: I want to order a pizza
    expect:
      - text: {contains: Which crust}
---
name: should be silent
settle: 0.05
silence: 0.3
steps:
  - say: hello
    expect: none
"""
TABLE = [
    "*= flowai failures (3 specs) =*",
    "spec                   conversation      turn  expected                             closest actual",
    "test_a.flowai.yaml:8   wrong greeting    1     a text reply 'Good evening'          text *",
    "test_b.flowai.yaml:11  size question     2     a text reply containing 'Which cru…  "
    + lit("text 'Great choice! Which size woul…"),
    "test_b.flowai.yaml:17  should be silent  1     silence                              "
    + lit("[Greeting / Hello] text ")
    + "*",
    "*= short test summary info =*",
]
TABLE_PLACES = (("a", 8), ("b", 11), ("b", 17))


@pytest.fixture
def failing(flowai: FlowaiTester, monkeypatch: pytest.MonkeyPatch) -> FlowaiTester:
    """Two spec files with three failing conversations and one passing, on a 120-column terminal."""
    monkeypatch.setenv("COLUMNS", "120")
    flowai.spec(FIRST, name="test_a")
    flowai.spec(SECOND, name="test_b")
    return flowai


def test_one_line_per_failed_spec_before_the_short_summary(failing: FlowaiTester) -> None:
    """Each failed spec gets a row: file:line of the failing entry, its name, turn, expected and closest."""
    result = failing.run("-q")
    result.assert_outcomes(failed=3, passed=1)
    result.stdout.fnmatch_lines(TABLE, consecutive=True)


def test_lines_fit_a_narrow_terminal(failing: FlowaiTester, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a 70-column terminal every row of the table is cut to 70 characters, ending in `…`."""
    monkeypatch.setenv("COLUMNS", "70")
    result = failing.run("-q")
    start = next(i for i, line in enumerate(result.outlines) if "flowai failures (3 specs)" in line)
    rows = result.outlines[start + 1 : start + 5]
    assert [row.split()[0] for row in rows] == [
        "spec",
        *(f"test_{f}.flowai.yaml:{n}" for f, n in TABLE_PLACES),
    ]
    assert all(len(row) <= 70 for row in rows)
    assert any(row.endswith("…") for row in rows)


def test_the_same_table_under_xdist(failing: FlowaiTester) -> None:
    """Under `-n 2` the rows come from the workers' reports and are listed in the same order."""
    result = failing.run_subprocess("-n", "2", "-q")
    result.assert_outcomes(failed=3, passed=1)
    result.stdout.fnmatch_lines(TABLE, consecutive=True)


def test_turned_off_by_disabling_the_plugin_or_in_the_ini(failing: FlowaiTester) -> None:
    """`-p no:flowai-summary` and `flowai_summary = false` both leave the table out."""
    off = failing.run("-q", "-p", "no:flowai-summary")
    off.assert_outcomes(failed=3, passed=1)
    assert "flowai failures" not in off.stdout.str()
    failing.pytester.makeini("[pytest]\nflowai_summary = false\n")
    ini_off = failing.run("-q")
    ini_off.assert_outcomes(failed=3, passed=1)
    assert "flowai failures" not in ini_off.stdout.str()


def test_no_table_when_every_spec_passes(flowai: FlowaiTester) -> None:
    """A run without failed specs prints no failure table."""
    flowai.spec(FIRST.split("---")[1])
    result = flowai.run()
    result.assert_outcomes(passed=1)
    assert "flowai failures" not in result.stdout.str()
