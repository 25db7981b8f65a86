"""Specs checked against the demo bot at collection: unknown names fail collection, doubtful texts warn."""

from __future__ import annotations

import pytest

from tests.helpers.paths import DEMO_BOT
from tests.helpers.plugin import FlowaiTester, output

UNKNOWN_STEP = """
name: greet
steps:
  - say: hello
    expect:
      - step: Helo
"""


def embedded(pytester: pytest.Pytester) -> None:
    """Point the run at the embedded emulator serving the demo bot."""
    pytester.makeini(f"[pytest]\nflowai_emulator_flows = {DEMO_BOT}\n")


def test_an_unknown_step_fails_collection_with_did_you_mean(flowai: FlowaiTester) -> None:
    """A step the demo bot lacks is a collection error at its key, also under --collect-only."""
    embedded(flowai.pytester)
    flowai.spec(UNKNOWN_STEP)
    result = flowai.pytester.runpytest("--collect-only")
    assert result.ret == 2
    result.stdout.fnmatch_lines(
        ["test_x.flowai.yaml:5:9: the bot has no step 'Helo'", "  hint: did you mean 'Hello'?"],
        consecutive=True,
    )
    assert "Traceback" not in output(result)


def test_unknown_flow_and_event_fail_collection(flowai: FlowaiTester) -> None:
    """A flow and an event name the bot lacks are both reported, each with the bot's closest name."""
    embedded(flowai.pytester)
    flowai.spec("steps:\n  - event: INTROO\n  - say: hi\n    expect: [{flow: Greetng}]\n")
    result = flowai.pytester.runpytest()
    result.stdout.fnmatch_lines(
        [
            "test_x.flowai.yaml:2:5: the bot has no EVENT step 'INTROO'",
            "  hint: did you mean 'INTRO'?",
            "test_x.flowai.yaml:4:15: the bot has no flow 'Greetng'",
            "  hint: did you mean 'Greeting'?",
        ],
        consecutive=True,
    )


def test_a_text_of_one_variant_warns_at_the_spec_line(flowai: FlowaiTester) -> None:
    """An exact text that is one of a step's random variants is a warning naming the spec's file and line."""
    embedded(flowai.pytester)
    flowai.spec(
        """
        steps:
          - say: hello
            expect:
              - text: Hello! This is Pizza Bella. How can I help you today?
        """
    )
    result = flowai.pytester.runpytest("--collect-only")
    result.stdout.fnmatch_lines(
        [
            "*test_x.flowai.yaml:4: FlowaiBotWarning: test_x.flowai.yaml:4:9:"
            " text 'Hello! This is Pizza Bella. How can I help you today?'"
            " is only one of the 2 variants step 'Hello' says at random",
            "*hint: match them all: text: {one_of: *",
        ]
    )


def test_an_unknown_type_warns(flowai: FlowaiTester) -> None:
    """An expected type that is no template type warns with the closest known one, and the test still runs."""
    embedded(flowai.pytester)
    flowai.spec("steps:\n  - say: hello\n    expect: [{type: txt}]\n")
    result = flowai.pytester.runpytest("--collect-only")
    result.stdout.fnmatch_lines(["*type 'txt' is no known template type*", "*did you mean 'text'?*"])
    assert "1 test collected" in output(result) or "collected 1 item" in output(result)


def test_with_a_real_bot_url_and_no_flow_files_nothing_is_checked(flowai: FlowaiTester) -> None:
    """Against flowai_url without flow files the bot is unknown: the spec collects, and fails when run."""
    flowai.spec(UNKNOWN_STEP)
    result = flowai.run("--collect-only")
    assert result.ret == 0
    assert "has no step" not in output(result)


def test_a_management_key_lets_collection_check_a_real_bot(
    flowai: FlowaiTester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against flowai_url with FLOWAI_MANAGEMENT_KEY and no flow files, the flows come from the Management
    API once, and a step the bot lacks fails collection as it does against the embedded emulator."""
    from tests.helpers.emulators import API_KEY

    monkeypatch.setenv("FLOWAI_MANAGEMENT_KEY", API_KEY)
    flowai.spec(UNKNOWN_STEP)
    result = flowai.run("--collect-only")
    assert result.ret == 2
    result.stdout.fnmatch_lines(
        ["test_x.flowai.yaml:5:9: the bot has no step 'Helo'", "  hint: did you mean 'Hello'?"],
        consecutive=True,
    )
    assert API_KEY not in output(result)


def test_a_management_api_that_refuses_the_key_leaves_the_specs_unchecked_with_one_warning(
    flowai: FlowaiTester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused management key does not fail collection: one warning says the specs were not checked,
    without the key, and the spec collects."""
    monkeypatch.setenv("FLOWAI_MANAGEMENT_KEY", "wrong-management-key-456")
    flowai.spec(UNKNOWN_STEP)
    result = flowai.run("--collect-only")
    assert result.ret == 0
    text = output(result)
    assert "has no step" not in text
    assert text.count("the specs were not checked against the bot: its flows could not be read") == 1
    assert "wrong-management-key-456" not in text


def test_warnings_made_errors_fail_collection_without_a_traceback(flowai: FlowaiTester) -> None:
    """`-W error::...FlowaiBotWarning` turns a bot warning into a plain collection error."""
    embedded(flowai.pytester)
    flowai.spec("steps:\n  - say: hello\n    expect: [{type: txt}]\n")
    result = flowai.pytester.runpytest("--collect-only", "-W", "error::pytest_flowai.nodes.FlowaiBotWarning")
    assert result.ret == 2
    result.stdout.fnmatch_lines(["test_x.flowai.yaml:3:15: type 'txt' is no known template type"])
    assert "Traceback" not in output(result)


def test_every_spec_file_is_checked_against_the_bot(flowai: FlowaiTester) -> None:
    """The bot, read once for the run, checks each spec file: both bad files are reported."""
    embedded(flowai.pytester)
    flowai.spec(UNKNOWN_STEP, name="test_one")
    flowai.spec(UNKNOWN_STEP, name="test_two")
    result = flowai.pytester.runpytest("--collect-only")
    result.stdout.fnmatch_lines(
        [
            "test_one.flowai.yaml:5:9: the bot has no step 'Helo'",
            "*test_two.flowai.yaml:5:9: the bot has no step*",
        ]
    )
