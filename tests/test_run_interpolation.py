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
