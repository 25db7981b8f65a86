"""Patience: a socket turn whose expectations stay unmet fails once the bot, having replied, falls quiet,
counted from when its last announced (delayed) bubble is due; a bot that never replies waits the timeout."""

from __future__ import annotations

import json
import re

import pytest

from tests.helpers.emulators import StartEmulator
from tests.helpers.plugin import FlowaiTester

HINT = (
    "  hint: if the bot is still typing, raise patience"
    " (turn key, spec key, ini flowai_patience or --flowai-patience)"
)
# One step whose second bubble is announced 120 ms after the first: longer than the tests' patience.
PACED_FLOW = {
    "title": "Paced",
    "steps": [
        {
            "title": "Pace",
            "type": "INTENT",
            "intent": {"title": "pace", "examples": [{"query": "pace"}]},
            "actions": [
                {"type": "TEXT", "payload": {"texts": ["one"]}},
                {"type": "TEXT", "payload": {"texts": ["two"], "delay": 120}},
            ],
        }
    ],
}


def _turn_seconds(output: str) -> float:
    """How long turn 1 took, read from the transcript: its failure's time minus its message's."""
    sent = re.search(r"\+\s*([\d.]+)s > ", output)
    failed = re.search(r"\+\s*([\d.]+)s x turn 1 failed", output)
    assert sent, output
    assert failed, output
    # Rounded to the transcript's hundredths: 0.18 - 0.01 in floats is 0.16999999999999998.
    return round(float(failed.group(1)) - float(sent.group(1)), 2)


def test_wrong_text_fails_after_patience_not_at_the_timeout(flowai: FlowaiTester) -> None:
    """A reply that does not match ends the turn `patience` after it came, saying so, with a hint."""
    flowai.spec(
        """
        name: wrong text
        timeout: 5
        patience: 0.1
        steps:
          - say: hello
            expect:
              - text: Goodbye
        """
    )
    result = flowai.run()
    result.assert_outcomes(failed=1)
    seconds = _turn_seconds(result.stdout.str())
    assert seconds < 4, f"the turn took {seconds:.2f}s: patience did not end it before its 5s timeout"
    result.stdout.fnmatch_lines(
        [
            "test_x.flowai.yaml:7:9: turn 1 of 'wrong text' failed: the bot replied and then said nothing"
            " for 0.1s (1 bubble arrived; no matching reply)",
        ]
    )
    result.stdout.fnmatch_lines([HINT])


def test_wrong_step_fails_after_the_turns_own_patience(flowai: FlowaiTester) -> None:
    """A reply from another step fails after the turn's own `patience`, which wins over the spec's."""
    flowai.spec(
        """
        name: wrong step
        timeout: 5
        patience: 3
        extra: ignore
        steps:
          - say: see the menu
            patience: 0.1
            expect:
              - step: Opening hours
        """
    )
    result = flowai.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "test_x.flowai.yaml:9:9: turn 1 of 'wrong step' failed: the bot replied and then said nothing"
            " for 0.1s (2 bubbles arrived; no matching reply)",
        ]
    )
    result.stdout.fnmatch_lines([HINT])
    assert _turn_seconds(result.stdout.str()) < 3


@pytest.fixture
def paced(start_emulator: StartEmulator, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of an emulator whose bot answers `pace` with a bubble now and one announced 120 ms later."""
    flows = tmp_path_factory.mktemp("paced") / "paced.json"
    flows.write_text(json.dumps(PACED_FLOW), encoding="utf-8")
    return start_emulator(flows=flows).url


def test_announced_delay_longer_than_patience_still_passes(flowai: FlowaiTester, paced: str) -> None:
    """A bubble announced 120 ms after the first still matches under a patience of 50 ms."""
    flowai.url = paced
    flowai.spec(
        """
        name: paced
        timeout: 5
        patience: 0.05
        steps:
          - say: pace
            expect:
              - text: one
              - text: two
        """
    )
    flowai.run().assert_outcomes(passed=1)


def test_patience_counts_from_the_last_announced_bubble(flowai: FlowaiTester, paced: str) -> None:
    """An unmet turn fails no earlier than patience after the delayed bubble is due, not after its arrival."""
    flowai.url = paced
    flowai.spec(
        """
        name: paced
        timeout: 5
        patience: 0.05
        steps:
          - say: pace
            expect:
              - text: three
        """
    )
    result = flowai.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*failed: the bot replied and then said nothing for 0.05s (2 bubbles arrived; *"]
    )
    took = _turn_seconds(result.stdout.str())
    assert 0.17 <= took < 4, f"turn 1 took {took}s; the delayed bubble is due at 0.12s, patience is 0.05s"


def test_no_reply_waits_the_whole_timeout(flowai: FlowaiTester) -> None:
    """A bot that never answers is not judged by patience: the turn waits its timeout."""
    flowai.spec(
        """
        name: unanswered
        timeout: 0.5
        patience: 0.05
        steps:
          - event: NOBODY_LISTENS
            expect:
              - type: text
        """
    )
    result = flowai.run()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["test_x.flowai.yaml:7:9: turn 1 of 'unanswered' failed: no reply within 0.5s"]
    )
    assert "raise patience" not in result.stdout.str()
    assert _turn_seconds(result.stdout.str()) >= 0.45


@pytest.mark.parametrize("where", ["ini", "cli"])
def test_patience_is_settable_by_ini_and_command_line(flowai: FlowaiTester, where: str) -> None:
    """`flowai_patience` in the ini file and `--flowai-patience` set the default a spec does not."""
    flowai.spec(
        """
        name: default patience
        timeout: 5
        steps:
          - say: hello
            expect:
              - text: Goodbye
        """
    )
    args: list[str] = []
    if where == "ini":
        flowai.pytester.makeini("[pytest]\nflowai_patience = 0.15\n")
    else:
        args = ["--flowai-patience", "0.15"]
    result = flowai.run(*args)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*failed: the bot replied and then said nothing for 0.15s *"])


def test_settle_and_silence_flags(flowai: FlowaiTester) -> None:
    """`--flowai-settle 0` is accepted (as `settle: 0` is) and `--flowai-silence` sets the silence wait."""
    flowai.spec(
        """
        name: flags
        steps:
          - say: hello
            expect:
              - type: text
          - say: hello
            expect: none
        """
    )
    result = flowai.run("--flowai-settle", "0", "--flowai-silence", "0.1")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*turn 2 of 'flags' failed: expected silence for 0.1s, but the bot replied"])
