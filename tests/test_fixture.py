"""The `flowai` fixture drives the bot from Python tests with the same runner and failure text as YAML."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "example_specs" / "bot"


@pytest.fixture
def pyfile(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester directory whose ini starts the embedded emulator on the demo bot."""
    pytester.makeini(f"[pytest]\nflowai_emulator_flows = {BOT}\n")
    return pytester


def write(pytester: pytest.Pytester, source: str) -> None:
    pytester.makepyfile(test_bot=textwrap.dedent(source))


def test_say_returns_the_reply_and_expect_captures(pyfile: pytest.Pytester) -> None:
    """say() returns the bot's texts, and a regex group in `expect` becomes a variable."""
    write(
        pyfile,
        """
        def test_order(flowai):
            reply = flowai.say("hello")
            assert any("Pizza Bella" in text for text in reply.texts)
            flowai.say("I want to order a pizza", expect=[{"text": {"regex": "Which (?P<what>\\\\w+)"}}])
            assert flowai.variables["what"] == "size"
        """,
    )
    pyfile.runpytest().assert_outcomes(passed=1)


def test_failed_expectation_points_at_the_test_line(pyfile: pytest.Pytester) -> None:
    """An unmet expectation fails at the calling line with expected, closest and the transcript."""
    write(
        pyfile,
        """
        def test_wrong(flowai):
            flowai.say("hello", expect=[{"text": "Good night"}], timeout=0.5, settle=0.05)
        """,
    )
    result = pyfile.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "E       *TurnFailed: test_bot.py:*:1: turn 1: no matching reply within 0.5s (1 bubble arrived)",
            "E         expected: a text reply 'Good night'",
            "E         closest: bubble #1 (text *Pizza Bella*",
        ]
    )
    # fnmatch reads [] as a character class: ? stands for the brackets around flow / step.
    transcript = ["*Captured flowai transcript call*", "*> say 'hello'", "*< ?Greeting / Hello? text*"]
    result.stdout.fnmatch_lines(transcript)
    assert "conversation.py" not in result.stdout.str()


def test_transport_marker_and_rest_only_turns(pyfile: pytest.Pytester) -> None:
    """@pytest.mark.flowai(transport="rest") runs the chat over REST, where locations can be shared."""
    write(
        pyfile,
        """
        import pytest

        @pytest.mark.flowai(transport="rest")
        def test_store(flowai):
            reply = flowai.location(52.37, 4.89, "Dam", expect=[{"type": "text"}, {"type": "location"}])
            assert reply.responses[1]["payload"]["title"] == "Pizza Bella Damrak"
            assert flowai.transcript.transport == "rest"
        """,
    )
    pyfile.runpytest().assert_outcomes(passed=1)


def test_empty_expect_means_silence(pyfile: pytest.Pytester) -> None:
    """expect=[] passes when the bot stays silent, as `expect: none` does in YAML."""
    write(
        pyfile,
        """
        def test_quiet(flowai):
            assert not flowai.event("NO_SUCH_EVENT", expect=[], silence=0.3)
        """,
    )
    pyfile.runpytest().assert_outcomes(passed=1)
