"""Spec errors and model of `forbid` and of the text keys `similar`, `min`, `all_of` and `any_of`."""

from __future__ import annotations

import textwrap

import pytest

from pytest_flowai.errors import SpecError, SpecSchemaError
from pytest_flowai.spec import load_spec_text

PATH = "specs/test_authoring.flowai.yaml"


def problems(text: str) -> list[SpecError]:
    """The problems a spec text is rejected with (the test fails if it loads)."""
    with pytest.raises(SpecSchemaError) as info:
        load_spec_text(textwrap.dedent(text), PATH)
    return list(info.value.problems)


def only_problem(text: str) -> tuple[int, int, str, str | None]:
    """The single problem of a spec text as (line, column, message, hint)."""
    found = problems(text)
    assert len(found) == 1, [str(p) for p in found]
    problem = found[0]
    assert problem.span is not None
    return problem.span.line, problem.span.column, problem.message, problem.hint


def test_similar_min_outside_zero_to_one_is_an_error_at_its_value() -> None:
    """`min: 1.5` is reported at the value, saying the range."""
    assert only_problem(
        """\
        steps:
          - say: hi
            expect:
              - text: {similar: Hello there, min: 1.5}
        """
    )[:3] == (4, 43, "'min' must be a number from 0 to 1, got 1.5")


def test_min_without_similar_is_an_error_at_its_key() -> None:
    """`min` beside `contains` says it works only with `similar`."""
    assert only_problem(
        """\
        steps:
          - say: hi
            expect:
              - text: {contains: Hello, min: 0.5}
        """
    )[:3] == (4, 33, "'min' works only with 'similar' in 'text' of expect entry 1 of turn 1")


def test_empty_all_of_is_an_error() -> None:
    """`all_of: []` must not be empty."""
    assert only_problem(
        """\
        steps:
          - say: hi
            expect:
              - text: {all_of: []}
        """
    )[:3] == (4, 24, "'all_of' must not be empty")


def test_unknown_key_inside_any_of_suggests_the_closest() -> None:
    """A misspelt key in an element of `any_of` is reported at the key with a did-you-mean."""
    assert only_problem(
        """\
        steps:
          - say: hi
            expect:
              - text:
                  any_of:
                    - Hello
                    - {simliar: Hi there}
        """
    ) == (
        7,
        16,
        "unknown key 'simliar' in item 2 of 'any_of' of expect entry 1 of turn 1",
        "did you mean 'similar'?",
    )


def test_a_bad_regex_inside_all_of_is_an_error_at_the_regex() -> None:
    """Regexes nested in `all_of` are compiled at load time like a plain one."""
    line, _, message, _ = only_problem(
        """\
        steps:
          - say: hi
            expect:
              - text: {all_of: [{contains: a}, {regex: "Order (\\\\d+"}]}
        """
    )
    assert (line, message) == (
        4,
        "invalid regex 'Order (\\\\d+': missing ), unterminated subpattern at position 6",
    )


def test_regex_groups_of_all_of_define_variables_but_any_of_groups_do_not() -> None:
    """A later turn may use an `all_of` regex group; an `any_of` one is undefined at collection."""
    loaded = load_spec_text(
        textwrap.dedent(
            """\
            steps:
              - say: hi
                expect:
                  - text: {all_of: [{regex: "Order (?P<order>\\\\d+)"}, {contains: placed}]}
              - say: "status of {order}"
            """
        ),
        PATH,
    )
    assert loaded.conversations[0].turns[0].defines == frozenset({"order"})
    assert (
        only_problem(
            """\
        steps:
          - say: hi
            expect:
              - text: {any_of: [{regex: "Order (?P<order>\\\\d+)"}, Hi]}
          - say: "status of {order}"
        """
        )[2]
        == "undefined variable 'order' in turn 2"
    )


def test_forbid_entries_are_built_with_their_spans() -> None:
    """A turn's `forbid` entries reach the model with the line and column of each entry."""
    loaded = load_spec_text(
        textwrap.dedent(
            """\
            steps:
              - say: hi
                forbid:
                  - fallback: true
                  - text: {contains: error, icase: true}
            """
        ),
        PATH,
    )
    turn = loaded.conversations[0].turns[0]
    assert turn.expect is None
    assert [(entry.span.line, entry.span.column) for entry in turn.forbid] == [(4, 9), (5, 9)]
    assert dict(turn.forbid[0].data) == {"fallback": True}


def test_unknown_key_in_a_forbid_entry_suggests_the_closest() -> None:
    """A misspelt key in a forbid entry names the forbid entry and suggests the expect key."""
    assert only_problem(
        """\
        steps:
          - say: hi
            forbid:
              - fallbak: true
        """
    ) == (4, 9, "unknown key 'fallbak' in forbid entry 1 of turn 1", "did you mean 'fallback'?")


def test_save_in_a_forbid_entry_is_an_error() -> None:
    """A forbid entry cannot capture: `save` there is an error at its key."""
    assert only_problem(
        """\
        steps:
          - say: hi
            forbid:
              - {text: Sorry, save: {x: payload.text}}
        """
    ) == (
        4,
        23,
        "'save' has no place in forbid entry 1: a forbid entry captures nothing",
        "a reply that matches a forbid entry fails the turn; save values in expect entries",
    )


def test_forbid_on_a_control_turn_is_an_error() -> None:
    """Control turns send no message, so there is no reply to forbid."""
    assert only_problem(
        """\
        steps:
          - pause: true
            forbid: [{fallback: true}]
        """
    )[:3] == (3, 5, "'forbid' belongs to a message turn (say, event, location, media), not a pause turn")


def test_an_undefined_variable_in_a_forbid_entry_is_an_error() -> None:
    """Placeholders in forbid entries are checked like those of expect entries."""
    assert (
        only_problem(
            """\
        steps:
          - say: hi
            forbid: [{text: "{nope}"}]
        """
        )[2]
        == "undefined variable 'nope' in turn 1"
    )


def test_empty_forbid_is_an_error() -> None:
    """`forbid: []` must not be empty."""
    assert only_problem(
        """\
        steps:
          - say: hi
            forbid: []
        """
    )[:3] == (3, 13, "'forbid' must not be empty")
