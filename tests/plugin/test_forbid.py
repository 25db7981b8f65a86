"""`forbid`: a reply that must never come fails its turn the moment it arrives, over the socket and REST."""

from __future__ import annotations

import textwrap

from tests.helpers.emulators import CLIENT_ID
from tests.helpers.plugin import FlowaiTester, lit
from tests.helpers.transcript_times import failed_turn_seconds

# How the report names the demo bot's fallback bubble: its text cut at 80 characters.
FALLBACK_BUBBLE = (
    "bubble #1 (text 'Sorry, I did not get that. I can help you order a pizza, show the menu or our o…"
    "(+14 chars))"
)


def test_forbid_ends_a_socket_turn_before_its_patience_and_timeout(flowai: FlowaiTester) -> None:
    """The fallback arriving fails the turn at once, not after 10 s of patience or the 30 s timeout."""
    flowai.spec(
        """
        name: no fallback
        timeout: 30
        patience: 10
        steps:
          - say: nonsense blah
            expect:
              - text: This never comes
            forbid:
              - text: {contains: error}
              - fallback: true
        """
    )
    result = flowai.run()
    result.assert_outcomes(failed=1)
    # On the runner's clock (the transcript's stamps): well inside the 10 s of patience it would have waited.
    seconds = failed_turn_seconds(result.stdout.str())
    assert seconds < 5, f"the turn took {seconds:.2f}s: the forbidden reply did not end it"
    result.stdout.fnmatch_lines(
        [
            lit(
                "test_x.flowai.yaml:10:9: turn 1 of 'no fallback' failed: a forbidden reply arrived: "
                f"{FALLBACK_BUBBLE} matches forbid entry 2"
            ),
            "*|     forbid:",
            "*|       - text: {contains: error}",
            ">*|       - fallback: true",
            "  forbidden: a reply, answered by the fallback (UNKNOWN) step",
        ]
    )


def test_forbid_without_expect_fails_fast_too(flowai: FlowaiTester) -> None:
    """A turn with `forbid` alone (no `expect`) fails on the forbidden reply without waiting for silence."""
    flowai.spec(
        """
        name: forbid only
        silence: 20
        steps:
          - say: nonsense blah
            forbid: [{text: {similar: "Sorry, I did not get that"}}]
        """
    )
    result = flowai.run()
    result.assert_outcomes(failed=1)
    seconds = failed_turn_seconds(result.stdout.str())
    assert seconds < 5, f"the turn took {seconds:.2f}s: the forbidden reply did not end it"
    result.stdout.fnmatch_lines(
        ["*turn 1 of 'forbid only' failed: a forbidden reply arrived: *forbid entry 1"]
    )


def test_forbid_over_rest_fails_when_the_answer_is_checked(flowai: FlowaiTester) -> None:
    """Over sync REST a forbidden bubble in the answer fails the turn before its expectations are weighed."""
    flowai.spec(
        """
        name: rest forbid
        transport: rest
        steps:
          - say: nonsense blah
            expect: [{fallback: true}]
            forbid: [{quickReplies: {subset: [Talk to a human]}}]
        """
    )
    result = flowai.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            lit(
                "test_x.flowai.yaml:6:14: turn 1 of 'rest forbid' failed: a forbidden reply arrived: "
                f"{FALLBACK_BUBBLE} matches forbid entry 1"
            ),
        ]
    )


def test_a_forbid_entry_that_does_not_match_lets_the_turn_pass(flowai: FlowaiTester) -> None:
    """Forbidding the fallback changes nothing for a turn the bot answers properly, socket and REST alike."""
    steps = """\
        steps:
          - say: hello
            expect: [{step: hello}]
            forbid: [{fallback: true}, {text: {contains: Sorry}}]
          - say: I want to order a pizza
            forbid: [{fallback: true}]
        """
    steps = textwrap.dedent(steps)
    flowai.spec(f"name: socket\ntimeout: 3\nsettle: 0.05\n{steps}---\nname: rest\ntransport: rest\n{steps}")
    flowai.run().assert_outcomes(passed=2)


def test_forbid_with_expect_none_names_the_forbidden_reply(flowai: FlowaiTester) -> None:
    """With `expect: none` a reply fails the turn anyway; a forbidden one is named as such."""
    flowai.spec(
        """
        name: silent
        steps:
          - say: nonsense blah
            expect: none
            forbid: [{fallback: true}]
        """
    )
    result = flowai.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*turn 1 of 'silent' failed: a forbidden reply arrived: *forbid entry 1"])


def test_the_fixture_takes_forbid(flowai: FlowaiTester) -> None:
    """`flowai.say(..., forbid=[...])` fails at the test's line naming the forbidden bubble."""
    flowai.pytester.makeini(f"[pytest]\nflowai_url = {flowai.url}\nflowai_client_id = {CLIENT_ID}\n")
    flowai.pytester.makepyfile(
        test_bot="""
def test_no_fallback(flowai):
    flowai.say("hello", forbid=[{"fallback": True}])
    flowai.say("nonsense blah", expect=[{"text": "never"}], forbid=[{"fallback": True}], timeout=30)
"""
    )
    result = flowai.pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["E       *TurnFailed: test_bot.py:3:1: turn 2: a forbidden reply arrived: *matches forbid entry 1"]
    )
