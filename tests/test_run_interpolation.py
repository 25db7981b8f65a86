"""Variables filled in at run time: a value inside a regex matches literally."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "example_specs" / "bot"


def test_variable_in_regex_is_literal(pytester: pytest.Pytester) -> None:
    """`{dot}` = "Great.choice" in a regex must not match "Great choice": the dot is escaped."""
    pytester.makeini(f"[pytest]\nflowai_emulator_flows = {BOT}\n")
    spec = """
        name: literal variables
        vars: {dot: "Great.choice", mark: "like?"}
        steps:
          - say: I want to order a pizza
            expect:
              - text: {not: {regex: "{dot}"}, icase: true}
          - say: I want to order a pizza
            expect:
              - text: {regex: "would you {mark}$"}
        """
    pytester.makefile(".flowai.yaml", test_vars=textwrap.dedent(spec))
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_variables_in_all_of_and_any_of_elements_are_filled_in(pytester: pytest.Pytester) -> None:
    """Elements of `all_of`/`any_of` are interpolated like a plain text, a regex one literally."""
    pytester.makeini(f"[pytest]\nflowai_emulator_flows = {BOT}\n")
    spec = """
        name: combined variables
        vars: {dot: "Great.choice", size: size}
        steps:
          - say: I want to order a pizza
            expect:
              - text: {all_of: [{not: {regex: "{dot}"}}, {contains: "Which {size}"}]}
          - say: I want to order a pizza
            expect:
              - text: {any_of: ["{size}", {contains: "Which {size}"}]}
        """
    pytester.makefile(".flowai.yaml", test_vars=textwrap.dedent(spec))
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
