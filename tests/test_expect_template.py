"""Expectation templates: an entry is compiled as far as it can be once per run of its turn; placeholders
are filled when the turn runs."""

from __future__ import annotations

import textwrap

import pytest

from pytest_flowai._json import JSONObject
from pytest_flowai.errors import SpecError, UndefinedVariable
from pytest_flowai.expect import Bubble, template_of
from pytest_flowai.spec import load_spec_text
from pytest_flowai.spec.model import ExpectEntry

NO_ENV: dict[str, str] = {}


def entries_of(expect_yaml: str) -> tuple[ExpectEntry, ...]:
    """The entries of the first turn of a one-turn spec whose `expect` is ``expect_yaml``."""
    text = "vars: {order: '4.2', n: 1}\nsteps:\n  - say: hi\n    expect:\n" + textwrap.indent(
        textwrap.dedent(expect_yaml), "      "
    )
    turn = load_spec_text(text, "test_t.flowai.yaml").conversations[0].turns[0]
    assert turn.expect is not None
    return turn.expect


def text_bubble(value: str) -> Bubble:
    """A bubble holding one text response from step `hello`."""
    response: JSONObject = {"type": "text", "payload": {"text": value}}
    held: JSONObject = {"responses": [response], "step": {"title": "hello"}}
    return Bubble(response=response, message=held, index=0)


def test_an_entry_without_placeholders_is_compiled_with_its_template() -> None:
    """An entry without placeholders is compiled once, when its template is made: every fill gives it."""
    (entry,) = entries_of('- text: {regex: "Pizza Bella"}\n  step: hello\n')
    template = template_of(entry)
    first = template.fill({}, NO_ENV)
    assert template.fill({"other": "values"}, NO_ENV) is first is template.fixed
    assert not first.check(text_bubble("Welcome to Pizza Bella"))


def test_a_placeholder_is_filled_at_each_run_and_the_other_keys_are_kept() -> None:
    """Only the key holding a placeholder is filled and compiled anew; the others stay as compiled once."""
    (entry,) = entries_of('- text: {contains: "Order {order}"}\n  step: hello\n')
    template = template_of(entry)
    first = template.fill({"order": "1"}, NO_ENV)
    second = template.fill({"order": "2"}, NO_ENV)
    assert first.data["text"] == {"contains": "Order 1"}
    assert second.data["text"] == {"contains": "Order 2"}
    assert not second.check(text_bubble("Order 2 is on its way"))
    assert second.check(text_bubble("Order 1 is on its way"))
    step_first, step_second = ([c.matcher for c in e.checks if c.key == "step"] for e in (first, second))
    assert step_first[0] is step_second[0]


def test_a_variable_in_a_regex_matches_literally() -> None:
    """A filled-in "4.2" in a `text` regex matches "4.2" only, not "4x2"."""
    (entry,) = entries_of('- text: {regex: "^Order {order}$"}\n')
    expectation = template_of(entry).fill({"order": "4.2"}, NO_ENV)
    assert not expectation.check(text_bubble("Order 4.2"))
    assert expectation.check(text_bubble("Order 4x2"))


def test_values_that_compare_equal_but_differ_in_type_are_compiled_apart() -> None:
    """Filling with 1 and then True (equal in Python) gives a matcher for True: fillings are told apart."""
    (entry,) = entries_of('- payload: {count: "{n}"}\n')
    template = template_of(entry)
    as_number = template.fill({"n": 1}, NO_ENV)
    as_flag = template.fill({"n": True}, NO_ENV)
    assert as_flag.data["payload"] == {"count": True}
    assert "True" in repr(as_flag.checks[0].matcher)
    assert "True" not in repr(as_number.checks[0].matcher)


def test_an_undefined_variable_is_raised_when_filled() -> None:
    """A placeholder that names nothing raises UndefinedVariable at fill time, naming it."""
    (entry,) = entries_of('- text: {contains: "Order {order}"}\n')
    with pytest.raises(UndefinedVariable) as info:
        template_of(entry).fill({}, NO_ENV)
    assert info.value.name == "order"


def test_an_entry_that_does_not_compile_fails_at_each_fill_not_at_load() -> None:
    """A bad entry built by hand loads, and each fill raises its SpecError (the run reports it, as before)."""
    (good,) = entries_of("- step: hello\n")
    bad = ExpectEntry(data={"stepp": "hello"}, span=good.span, key_spans={})
    template = template_of(bad)
    for _ in range(2):
        with pytest.raises(SpecError, match="unknown expect key 'stepp'"):
            template.fill({}, NO_ENV)
