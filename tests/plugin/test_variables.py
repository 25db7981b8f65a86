"""Variables at run time: captures (`save`, regex groups) feed later turns; unset ones are spec errors."""

from __future__ import annotations

import pytest

from tests.helpers.plugin import FlowaiTester


def test_regex_group_and_save_are_used_in_later_turns(flowai: FlowaiTester) -> None:
    """A named regex group and a `save` set variables that a later turn sends and expects."""
    flowai.spec(
        """
        name: captures
        settle: 0.05
        steps:
          - event: ORDER_SHIPPED
            params: {orderId: "42"}
            expect:
              - text: {regex: "Order (?P<order>\\\\d+) is on its way"}
              - buttons: [Track order, Call the driver]
                save: {tracking: "payload.buttons[0].value", flow_title: message.flow.title}
          - event: ORDER_SHIPPED
            params: {orderId: "{order}7"}
            expect:
              - text: "Good news! Order 427 is on its way."
              - payload: {buttons: [{value: "{tracking}7"}, {type: phone}]}
                flow: "{flow_title}"
        """
    )
    result = flowai.run("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "      +*s ! captured order = '42'",
            "      +*s ! captured tracking = 'https://pizzabella.example/track/42'",
            "      +*s ! captured flow_title = 'Order'",
            "    turn 2",
            "      +*s > event ORDER_SHIPPED {orderId: 427}",
        ]
    )


def test_capture_that_did_not_happen_fails_the_turn_using_it(flowai: FlowaiTester) -> None:
    """An optional regex group that matched nothing leaves its variable unset: a spec error at its turn."""
    flowai.spec(
        """
        name: optional group
        timeout: 1
        settle: 0.05
        steps:
          - say: hello
            expect:
              - text: {regex: "Pizza Bella(?P<suffix> rocks)?"}
          - say: "{suffix}"
            expect: [{type: text}]
        """
    )
    result = flowai.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "test_x.flowai.yaml:8:5: spec error in turn 2 of 'optional group': variable 'suffix' is not set",
            '> 8 |   - say: "{suffix}"',
            "  9 |     expect: [{type: text}]",
            "  hint: it is set by `vars`, or by a `save` or regex group of an earlier turn,"
            " and that did not happen",
        ],
        consecutive=True,
    )


def test_missing_environment_variable_fails_at_run_time(
    flowai: FlowaiTester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`{env.NAME}` of an unset environment variable is a spec error at its turn, saying what to set."""
    monkeypatch.delenv("FLOWAI_PLUGIN_TESTS_UNSET", raising=False)
    flowai.spec(
        """
        name: env
        steps:
          - say: "hello {env.FLOWAI_PLUGIN_TESTS_UNSET}"
        """
    )
    result = flowai.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "test_x.flowai.yaml:3:5: spec error in turn 1 of 'env':"
            " environment variable 'FLOWAI_PLUGIN_TESTS_UNSET' is not set",
            '> 3 |   - say: "hello {env.FLOWAI_PLUGIN_TESTS_UNSET}"',
            "  hint: set the environment variable FLOWAI_PLUGIN_TESTS_UNSET before running pytest",
        ],
        consecutive=True,
    )


def test_environment_variable_is_sent(flowai: FlowaiTester, monkeypatch: pytest.MonkeyPatch) -> None:
    """`{env.NAME}` of a set environment variable is filled in before sending."""
    monkeypatch.setenv("FLOWAI_PLUGIN_TESTS_ORDER", "1042")
    flowai.spec(
        """
        name: env
        settle: 0.05
        steps:
          - event: ORDER_SHIPPED
            params: {orderId: "{env.FLOWAI_PLUGIN_TESTS_ORDER}"}
            expect:
              - text: {contains: Order 1042 is}
              - type: buttons
        """
    )
    flowai.run().assert_outcomes(passed=1)


@pytest.mark.parametrize("transport", ["socket", "rest"])
def test_number_variable_in_a_text_field_is_sent_as_text(flowai: FlowaiTester, transport: str) -> None:
    """A `{var}` holding a number, alone in a field Flow.ai takes as text, is sent as that number's text."""
    flowai.spec(
        f"""
        name: numbers as text
        transport: {transport}
        settle: 0.05
        vars: {{agent: 7, lang: 1, shop: 42}}
        originator: {{name: "{{agent}}", profile: {{firstName: "{{agent}}", timezone: 2}}}}
        metadata: {{language: "{{lang}}", contexts: ["{{shop}}"]}}
        steps:
          - say: hello
            expect:
              - step: hello
        """
    )
    flowai.run().assert_outcomes(passed=1)
