"""How a turn ends: timeouts, silence, extra replies under each `extra` mode, and unordered matching."""

from __future__ import annotations

import pytest

from tests.helpers.emulators import StartEmulator
from tests.helpers.plugin import FAST, FlowaiTester, lit
from tests.helpers.transcript_times import ROUNDING, failed_turn_seconds


def test_slow_bot_fails_at_the_turn_timeout_showing_what_arrived(
    flowai: FlowaiTester, start_emulator: StartEmulator
) -> None:
    """A reply slower than `timeout` fails the turn in about the timeout, naming it, with the transcript."""
    slow = start_emulator(latency_ms=3000)
    flowai.url = slow.url
    flowai.spec(
        """
        name: slow
        timeout: 0.5
        steps:
          - say: hello
            expect:
              - type: text
        """
    )
    result = flowai.run()
    result.assert_outcomes(failed=1)
    # On the runner's clock: it gave up at its timeout, before the reply due at 3 s.
    seconds = failed_turn_seconds(result.stdout.str())
    assert 0.5 - ROUNDING <= seconds < 2.5, f"the turn took {seconds:.2f}s, its timeout is 0.5s"
    result.stdout.fnmatch_lines(
        [
            "test_x.flowai.yaml:6:9: turn 1 of 'slow' failed: no reply within 0.5s",
            "  4 |   - say: hello",
            "  5 |     expect:",
            "> 6 |       - type: text",
            "  no reply arrived",
            "  expected: a text reply",
        ],
        consecutive=True,
    )
    result.stdout.fnmatch_lines(
        [">>turn 1", "    +*s > say 'hello'", "    +*s x turn 1 failed"], consecutive=True
    )


def test_timeout_shows_the_replies_that_did_arrive(flowai: FlowaiTester) -> None:
    """When some replies came but an entry stays unmet, the failure lists what arrived and the closest one."""
    flowai.spec(
        """
        name: partial
        timeout: 1
        settle: 0.05
        steps:
          - say: see the menu
            expect:
              - type: text
              - type: list
        """
    )
    result = flowai.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "test_x.flowai.yaml:8:9: turn 1 of 'partial' failed:"
            " no matching reply within 1s (2 bubbles arrived)",
            "  5 |   - say: see the menu",
            "  6 |     expect:",
            "  7 |       - type: text",
            "> 8 |       - type: list",
            "  expected: a list reply",
            "  closest: bubble #2 (carousel)",
            "    type: expected 'list', got 'carousel'",
        ],
        consecutive=True,
    )
    result.stdout.fnmatch_lines(
        [
            "    +*s < " + lit("[Greeting / Menu] text 'Here is our menu.'"),
            "    +*s < "
            + lit("[Greeting / Menu] carousel of 3: Margherita, Diavola, Quattro Formaggi")
            + "*",
        ]
    )


@pytest.mark.parametrize("transport", ["socket", "rest"])
def test_expect_none_passes_when_the_bot_stays_silent(flowai: FlowaiTester, transport: str) -> None:
    """An event no step takes gets no reply, so `expect: none` passes over either transport."""
    flowai.spec(
        f"""
        name: quiet
        transport: {transport}
        silence: 0.3
        steps:
          - event: NOBODY_LISTENS
            expect: none
        """
    )
    flowai.run().assert_outcomes(passed=1)


@pytest.mark.parametrize("transport", ["socket", "rest"])
def test_expect_none_fails_when_the_bot_replies(flowai: FlowaiTester, transport: str) -> None:
    """`expect: none` on a turn the bot answers fails, saying silence was expected and showing the reply."""
    flowai.spec(
        f"""
        name: chatty
        transport: {transport}
        silence: 0.3
        settle: 0.05
        steps:
          - say: hello
            expect: none
        """
    )
    result = flowai.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "test_x.flowai.yaml:6:5: turn 1 of 'chatty' failed: expected silence for 0.3s, *",
            "> 6 |   - say: hello",
            "  7 |     expect: none",
        ],
        consecutive=True,
    )
    result.stdout.fnmatch_lines(["    +*s < " + lit("[Greeting / Hello] text ") + "*"])


# The shipping event's text and buttons arrive in one frame: the buttons are the extra reply.
EXTRA = """
name: extra {mode}
{fast}extra: {mode}
steps:
  - event: ORDER_SHIPPED
    params: {{orderId: "42"}}
    expect:
      - text: {{contains: is on its way}}
"""


def test_extra_reply_fails_by_default(flowai: FlowaiTester) -> None:
    """A reply no entry matched fails the turn under the default `extra: fail`, listing it with a hint."""
    flowai.spec(EXTRA.format(mode="fail", fast=FAST).replace("extra: fail\n", ""))
    result = flowai.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "test_x.flowai.yaml:6:5: turn 1 of 'extra fail' failed:"
            " 1 unexpected reply bubble(s) (extra: fail)",
            "> 6 |   - event: ORDER_SHIPPED",
            '  7 |     params: {orderId: "42"}',
            "  8 |     expect:",
            "  9 |       - text: {contains: is on its way}",
            "  unexpected: bubble #2 (buttons 'Follow your pizza')",
            "  hint: every reply must match an entry; set `extra: warn` or `extra: ignore` to allow more",
        ],
        consecutive=True,
    )


def test_extra_reply_warns_under_extra_warn(flowai: FlowaiTester) -> None:
    """`extra: warn` passes and notes the unmatched reply in the transcript (shown with -v)."""
    flowai.spec(EXTRA.format(mode="warn", fast=FAST))
    result = flowai.run("-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*! warning: 1 reply bubble(s) matched no expectation"])


def test_extra_reply_is_ignored_under_extra_ignore(flowai: FlowaiTester) -> None:
    """`extra: ignore` passes and says nothing about the unmatched reply."""
    flowai.spec(EXTRA.format(mode="ignore", fast=FAST))
    result = flowai.run("-v")
    result.assert_outcomes(passed=1)
    assert "matched no expectation" not in result.stdout.str()


def test_extra_mode_is_settable_per_turn(flowai: FlowaiTester) -> None:
    """A turn's own `extra` wins over the spec's."""
    flowai.spec(
        """
        name: per turn
        timeout: 1
        settle: 0.05
        extra: fail
        steps:
          - event: ORDER_SHIPPED
            params: {orderId: "42"}
            extra: ignore
            expect:
              - text: {contains: is on its way}
        """
    )
    flowai.run().assert_outcomes(passed=1)


UNORDERED = """
name: any order
{fast}{unordered}
steps:
  - say: see the menu
    expect:
      - type: carousel
      - text: {{contains: menu}}
"""


def test_unordered_matches_where_in_order_fails(flowai: FlowaiTester) -> None:
    """Entries listed against the reply order fail in order (with a note) and pass under `unordered: true`."""
    flowai.spec(UNORDERED.format(fast=FAST, unordered=""), name="test_ordered")
    flowai.spec(UNORDERED.format(fast=FAST, unordered="unordered: true"), name="test_unordered")
    result = flowai.run()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "test_ordered.flowai.yaml:*: turn 1 of 'any order' failed:*",
            "*it matches, but out of order: entries match replies in order (set `unordered: true` *",
        ]
    )
    result.stdout.fnmatch_lines(["FAILED test_ordered.flowai.yaml::any order - *"])


def test_unordered_finds_the_assignment_greedy_matching_misses(flowai: FlowaiTester) -> None:
    """A loose entry first must not take the bubble the strict entry needs: bipartite matching finds it."""
    flowai.spec(
        """
        name: greedy trap
        timeout: 1
        settle: 0.05
        unordered: true
        steps:
          - say: see the menu
            expect:
              - schema: {required: [type]}
              - text: Here is our menu.
        """
    )
    result = flowai.run()
    result.assert_outcomes(passed=1)
