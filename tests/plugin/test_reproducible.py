"""The embedded emulator's replies depend on its seed and the suite, never on the run: verdicts reproduce."""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

# A bot whose one step answers with one of eight variants, so two runs that pick differently show it.
VARIANTS = [f"Variant {letter}" for letter in "ABCDEFGH"]
BOT = textwrap.dedent(
    f"""
    flowId: variants
    title: Variants
    steps:
      - title: Hello
        type: INTENT
        intent: {{title: hello, examples: [{{query: hello}}]}}
        actions:
          - type: TEXT
            payload: {{texts: {VARIANTS}}}
    """
)
# Six conversations of two turns each: twelve picks, so a different seed differs somewhere.
SPECS = "\n---\n".join(
    f"name: chat {n}\nsettle: 0.01\nsteps:\n  - say: hello\n  - say: hello\n" for n in range(6)
)


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A suite of six conversations against the variants bot on the embedded emulator."""
    monkeypatch.delenv("FLOWAI_API_KEY", raising=False)
    (pytester.path / "bot.yaml").write_text(BOT, encoding="utf-8")
    pytester.makeini("[pytest]\nflowai_emulator_flows = bot.yaml\n")
    pytester.makefile(".flowai.yaml", test_chats=SPECS)
    return pytester


def replies(pytester: pytest.Pytester, *args: str, subprocess: bool = False) -> dict[str, list[str]]:
    """Run the suite and return, per conversation, the texts the bot sent (from the JUnit transcripts)."""
    junit = pytester.path / "junit.xml"
    argv = (f"--junitxml={junit}", *args)
    result = pytester.runpytest_subprocess(*argv, timeout=120) if subprocess else pytester.runpytest(*argv)
    result.assert_outcomes(passed=6)
    return _texts(junit)


def _texts(junit: Path) -> dict[str, list[str]]:
    texts: dict[str, list[str]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        transcript = next(
            p.attrib["value"] for p in case.iter("property") if p.attrib["name"] == "flowai_transcript"
        )
        texts[case.attrib["name"]] = [
            line.split("< ", 1)[1] for line in transcript.splitlines() if " < " in line
        ]
    return texts


def test_two_runs_get_the_same_replies(suite: pytest.Pytester) -> None:
    """Two runs of an unchanged suite get the same text variant in every turn of every conversation."""
    first = replies(suite)
    second = replies(suite)
    assert first == second
    picked = {text for texts in first.values() for text in texts}
    assert len(picked) > 1, "the bot's variants should vary between conversations and turns"


def test_the_same_replies_in_parallel_in_reverse_and_concurrently(suite: pytest.Pytester) -> None:
    """Under -n 2, in reversed order and at concurrency 4 every conversation gets the same replies."""
    baseline = replies(suite)
    suite.makeconftest(
        "def pytest_collection_modifyitems(items):\n    items.reverse()\n",
    )
    assert replies(suite, "--flowai-concurrency", "4") == baseline
    assert replies(suite, "-n", "2", subprocess=True) == baseline


def test_another_seed_picks_other_variants(suite: pytest.Pytester) -> None:
    """--flowai-emulator-seed changes the picks, and the same seed twice gives the same picks."""
    default = replies(suite)
    seeded = replies(suite, "--flowai-emulator-seed", "7")
    assert seeded != default
    assert replies(suite, "--flowai-emulator-seed", "7") == seeded


def test_runs_never_share_a_thread(suite: pytest.Pytester) -> None:
    """Thread ids carry the run: two runs of the same conversation talk on two threads."""

    def threads() -> set[str]:
        junit = suite.path / "junit.xml"
        suite.runpytest(f"--junitxml={junit}").assert_outcomes(passed=6)
        return {
            p.attrib["value"]
            for p in ET.parse(junit).iter("property")
            if p.attrib["name"] == "flowai_thread_id"
        }

    first, second = threads(), threads()
    assert len(first) == 6
    assert first.isdisjoint(second)


def test_header_and_failure_name_the_seed(suite: pytest.Pytester) -> None:
    """The report header shows the seed; a failure says which seed gives the same replies again."""
    suite.makefile(
        ".flowai.yaml",
        test_wrong="name: wrong\nsettle: 0.01\npatience: 0.05\nsteps:\n  - say: hello\n"
        "    expect:\n      - text: Nothing like it\n",
    )
    result = suite.runpytest("--flowai-emulator-seed", "3")
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines(["flowai: target embedded emulator (flows: *bot.yaml, seed 3), *"])
    result.stdout.fnmatch_lines(
        ["  the embedded emulator ran with seed 3: --flowai-emulator-seed 3 gives the same replies"]
    )


@pytest.mark.parametrize("value", ["-1", "many"])
def test_a_bad_seed_is_a_usage_error(suite: pytest.Pytester, value: str) -> None:
    """A seed that is not a whole number >= 0 stops the run before any test, naming the option."""
    result = suite.runpytest(f"--flowai-emulator-seed={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: flowai_emulator_seed must be *"])
