"""Reuse end to end: included turns fail at their own file's line; parametrized items are named, selected."""

from __future__ import annotations

import textwrap

from tests.helpers.plugin import FlowaiTester, lit, output

SHARED = """
name: size question
settle: 0.05
steps:
  - say: I want to order a pizza
    expect:
      - text: {contains: Which size}
        quickReplies: [Small, Medium, Large, Family]
"""


def test_a_failing_included_turn_points_into_the_included_file(flowai: FlowaiTester) -> None:
    """The failure header and excerpt of an included turn show the included file's lines, numbered on."""
    flowai.pytester.makefile(".flowai.yaml", shared=textwrap.dedent(SHARED).lstrip("\n"))
    flowai.spec(
        """
        name: order
        timeout: 1
        steps:
          - say: hello
          - include: shared.flowai.yaml#size question
        """
    )
    result = flowai.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "shared.flowai.yaml:7:9: turn 2 of 'order' failed: no matching reply within 1s*",
            "  4 |   - say: I want to order a pizza",
            "  5 |     expect:",
            "  6 |       - text: {contains: Which size}",
            "> 7 |         quickReplies: " + lit("[Small, Medium, Large, Family]"),
        ],
        consecutive=True,
    )


def test_include_cycle_is_a_collection_error(flowai: FlowaiTester) -> None:
    """A cycle of includes fails collection with the chain, under --collect-only too."""
    flowai.pytester.makefile(".flowai.yaml", other="name: y\nsteps:\n  - include: test_x.flowai.yaml#x\n")
    flowai.spec("name: x\nsteps:\n  - include: other.flowai.yaml#y\n")
    result = flowai.run("--collect-only")
    assert result.ret == 2
    result.stdout.fnmatch_lines(
        [
            "test_x.flowai.yaml:3:14: include cycle: "
            "test_x.flowai.yaml#x -> other.flowai.yaml#y -> test_x.flowai.yaml#x"
        ]
    )
    assert "Traceback" not in output(result)


PARAMETRIZED = """
name: greet
parametrize:
  ids: [hello, hi]
  rows: [{word: hello}, {word: hi}]
steps:
  - say: "{word}"
    expect:
      - step: Hello
"""


def test_parametrized_items_are_named_by_id_and_run(flowai: FlowaiTester) -> None:
    """Each row is one item `name[id]`, run with the row's variables."""
    flowai.spec(PARAMETRIZED)
    result = flowai.run("-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            lit("test_x.flowai.yaml::greet[hello] PASSED") + "*",
            lit("test_x.flowai.yaml::greet[hi] PASSED") + "*",
        ]
    )


def test_a_node_id_with_brackets_selects_one_item(flowai: FlowaiTester) -> None:
    """`pytest 'file::name[id]'` runs that row only, and -k selects by id."""
    flowai.spec(PARAMETRIZED)
    flowai.run("test_x.flowai.yaml::greet[hi]").assert_outcomes(passed=1)
    result = flowai.run("--collect-only", "-q", "-k", "hello")
    result.stdout.fnmatch_lines(
        [lit("test_x.flowai.yaml::greet[hello]"), "*1/2 tests collected (1 deselected)*"]
    )


def test_one_of_file_expands_within_the_ini_cap(flowai: FlowaiTester) -> None:
    """flowai_max_expansions caps the items one_of_file makes; the same lines are picked every run."""
    flowai.pytester.path.joinpath("greetings.txt").write_text("hello\nhi\nhey\nhi there\n", encoding="utf-8")
    flowai.spec("name: g\nsteps:\n  - say: {one_of_file: greetings.txt}\n    expect: [{step: Hello}]\n")
    flowai.pytester.makeini("[pytest]\nflowai_max_expansions = 2\n")
    first = flowai.run("--collect-only", "-q")
    again = flowai.run("--collect-only", "-q")
    items = [line for line in first.outlines if "::g[" in line]
    assert len(items) == 2
    assert items == [line for line in again.outlines if "::g[" in line]
    flowai.run().assert_outcomes(passed=2)
