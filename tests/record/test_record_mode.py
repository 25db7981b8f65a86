"""Record mode from outside: pytest --flowai-record against the embedded emulator and the demo bot, and
the flowai-record console script."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[2] / "example_specs" / "bot"

SPEC = """\
# Recorded by the test: this comment stays.
name: greeting and menu
steps:
  - say: hi   # a greeting
  # the menu next
  - say: see the menu
---
name: untouched
steps:
  - say: hello
    expect:
      - step: hello
"""

RECORDED = """\
# Recorded by the test: this comment stays.
name: greeting and menu
steps:
  - say: hi   # a greeting
    expect:
      - type: text
        text: Hi there! Welcome to Pizza Bella. What can I do for you?
        quickReplies: [Order pizza, See the menu, Opening hours, Talk to a human]
        flow: Greeting
        step: Hello
  # the menu next
  - say: see the menu
    expect:
      - type: text
        text: Here is our menu.
        flow: Greeting
        step: Menu
      - type: carousel
---
name: untouched
steps:
  - say: hello
    expect:
      - step: hello
"""

ORDER_BOT = """\
flowId: orders
title: Orders
steps:
  - title: Place
    type: INTENT
    intent:
      title: place
      examples: [{query: place an order}]
    actions:
      - type: TEXT
        payload:
          texts: [{texts}]
  - title: Status
    type: INTENT
    intent:
      title: status
      examples: [{query: status of order}]
    actions:
      - type: TEXT
        payload:
          texts: ["Checking your order."]
"""
NUMBERS = [4711, 8812, 1290, 5531, 7702, 3318, 9904, 2267, 6645, 1183, 4429, 8056]


def _setup(pytester: pytest.Pytester, bot: Path | None = None) -> None:
    shutil.copytree(bot or BOT, pytester.path / "bot")
    pytester.makeini("[pytest]\nflowai_emulator_flows = bot\nflowai_settle = 0.1\n")


def test_record_writes_entries_keeping_the_rest_of_the_file(pytester: pytest.Pytester) -> None:
    """A spec without expectations gets them, the rest stays byte for byte; a second run changes nothing."""
    _setup(pytester)
    spec = pytester.path / "test_greet.flowai.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    result = pytester.runpytest("--flowai-record")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_greet.flowai.yaml: recorded 2 turn(s)*"])
    # Which greeting variant the emulator picks depends on the node id: either is the exact file.
    assert _one_greeting(spec.read_text(encoding="utf-8")) == RECORDED
    again = pytester.runpytest("--flowai-record")
    again.assert_outcomes(passed=2)
    assert _one_greeting(spec.read_text(encoding="utf-8")) == RECORDED


def _one_greeting(text: str) -> str:
    return text.replace(
        "Hello! This is Pizza Bella. How can I help you today?",
        "Hi there! Welcome to Pizza Bella. What can I do for you?",
    )


def test_recorded_spec_passes_and_fails_when_the_bot_changes(pytester: pytest.Pytester) -> None:
    """The recorded spec passes three runs in a row, and fails once the bot's greeting changes."""
    _setup(pytester)
    spec = pytester.path / "test_greet.flowai.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    pytester.runpytest("--flowai-record", "--flowai-record-runs", "3").assert_outcomes(passed=2)
    for _ in range(3):
        pytester.runpytest().assert_outcomes(passed=2)
    greeting = pytester.path / "bot" / "1-greeting.yaml"
    greeting.write_text(
        greeting.read_text(encoding="utf-8").replace("Here is our menu.", "Our menu:"), "utf-8"
    )
    pytester.runpytest().assert_outcomes(passed=1, failed=1)


def test_record_runs_write_one_of_the_variants(pytester: pytest.Pytester) -> None:
    """With --flowai-record-runs the greeting's two text variants are written as one_of."""
    _setup(pytester)
    spec = pytester.path / "test_greet.flowai.yaml"
    spec.write_text("name: hi\nsteps:\n  - say: hi\n", encoding="utf-8")
    pytester.runpytest("--flowai-record", "--flowai-record-runs", "6").assert_outcomes(passed=1)
    text = spec.read_text(encoding="utf-8")
    assert "one_of:\n" in text
    assert "- Hi there! Welcome to Pizza Bella. What can I do for you?" in text
    assert "- Hello! This is Pizza Bella. How can I help you today?" in text


def test_volatile_order_number_becomes_a_regex_group_and_placeholder(pytester: pytest.Pytester) -> None:
    """An order number that differs per conversation becomes a named group, and the later turn sends it."""
    bot = pytester.path / "orderbot"
    bot.mkdir()
    texts = ", ".join(f'"Order {n} placed."' for n in NUMBERS)
    (bot / "orders.yaml").write_text(ORDER_BOT.replace("{texts}", texts), encoding="utf-8")
    shutil.copytree(bot, pytester.path / "bot")
    pytester.makeini("[pytest]\nflowai_emulator_flows = bot\nflowai_settle = 0.1\n")
    spec = pytester.path / "test_order.flowai.yaml"
    spec.write_text("name: order\nsteps:\n  - say: place an order\n  - say: status of order 0\n", "utf-8")
    pytester.runpytest("--flowai-record", "--flowai-record-runs", "4").assert_outcomes(passed=1)
    text = spec.read_text(encoding="utf-8")
    assert "text: {regex: ^Order (?P<order>\\d+) placed\\.$}" in text, text
    for _ in range(3):
        pytester.runpytest().assert_outcomes(passed=1)


def test_record_without_ruamel_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """Without ruamel.yaml, --flowai-record stops the run with a hint to install the record extra."""
    _setup(pytester)
    pytester.makeconftest("import sys\nsys.modules['ruamel.yaml'] = None\n")
    pytester.makefile(".flowai.yaml", test_x="name: x\nsteps:\n  - say: hi\n")
    result = pytester.runpytest("--flowai-record")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*record mode needs ruamel.yaml*", "*pip install 'pytest-flowai?record?'*"])


def _cli(*args: str, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest_flowai.record.cli", *args]
    return subprocess.run(command, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=60)


def test_cli_from_arguments_writes_a_spec_that_passes(pytester: pytest.Pytester) -> None:
    """flowai-record with --say and --event writes a spec that then passes under pytest."""
    _setup(pytester)
    done = _cli(
        "--out", "test_new.flowai.yaml", "--transport", "rest", "--flows", "bot",
        "--say", "hello", "--say", "I want a pizza", "--event", "INTRO", cwd=pytester.path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = (pytester.path / "test_new.flowai.yaml").read_text(encoding="utf-8")
    assert "  - event: INTRO\n    expect:\n" in text
    assert "step: Order pizza" in text
    pytester.runpytest().assert_outcomes(passed=1)


def test_cli_reads_turns_from_a_terminal_session(pytester: pytest.Pytester) -> None:
    """flowai-record without --say reads one turn per input line; `event NAME` lines are events."""
    _setup(pytester)
    done = _cli(
        "--out",
        "test_typed.flowai.yaml",
        "--flows",
        "bot",
        "--runs",
        "6",
        cwd=pytester.path,
        stdin="hi\nevent INTRO\n",
    )
    assert done.returncode == 0, done.stderr
    assert "bot (text): Welcome to Pizza Bella!" in done.stdout
    text = (pytester.path / "test_typed.flowai.yaml").read_text(encoding="utf-8")
    assert "  - say: hi\n" in text
    assert "  - event: INTRO\n" in text
    pytester.runpytest().assert_outcomes(passed=1)


def test_a_later_turn_sending_the_recorded_value_gets_its_placeholder(pytester: pytest.Pytester) -> None:
    """A later turn that sends the order number the bot gave is rewritten to send `{order}` instead."""
    bot = pytester.path / "bot"
    bot.mkdir()
    texts = ", ".join(f'"Order {n} placed."' for n in NUMBERS)
    (bot / "orders.yaml").write_text(ORDER_BOT.replace("{texts}", texts), encoding="utf-8")
    pytester.makeini("[pytest]\nflowai_emulator_flows = bot\nflowai_settle = 0.1\n")
    spec = pytester.path / "test_order.flowai.yaml"
    spec.write_text("name: order\nsteps:\n  - say: place an order\n", "utf-8")
    # The emulator's pick for this conversation is the same in every run: learn it, then send it back.
    seen = pytester.runpytest("-rP")
    seen.assert_outcomes(passed=1)
    number = next(str(n) for n in NUMBERS if f"Order {n} placed." in seen.stdout.str())
    spec.write_text(
        f"name: order\nsteps:\n  - say: place an order\n  - say: status of order {number}\n", "utf-8"
    )
    pytester.runpytest("--flowai-record", "--flowai-record-runs", "4").assert_outcomes(passed=1)
    text = spec.read_text(encoding="utf-8")
    assert "(?P<order>" in text, text
    assert 'say: "status of order {order}"' in text, text
    for _ in range(3):
        pytester.runpytest().assert_outcomes(passed=1)


def test_record_update_rewrites_a_failing_expectation(pytester: pytest.Pytester) -> None:
    """--flowai-record-update replaces the expectation of a failing turn with what the bot said."""
    _setup(pytester)
    spec = pytester.path / "test_menu.flowai.yaml"
    spec.write_text(
        "name: menu\npatience: 0.2\nsteps:\n  - say: see the menu\n    expect:\n      - text: Nothing here\n",
        "utf-8",
    )
    pytester.runpytest("--flowai-record-update").assert_outcomes(failed=1)
    text = spec.read_text(encoding="utf-8")
    assert "Nothing here" not in text
    assert "text: Here is our menu." in text, text
    pytester.runpytest().assert_outcomes(passed=1)


def test_record_under_xdist_writes_each_file_once_as_one_process_would(pytester: pytest.Pytester) -> None:
    """Under `-n 2` the workers run the conversations and the controller writes every spec file once: the
    same entries, the rest of each file kept, as a run in one process writes."""
    _setup(pytester)
    specs = [pytester.path / f"test_greet_{n}.flowai.yaml" for n in (1, 2)]
    for spec in specs:
        spec.write_text(SPEC, encoding="utf-8")
    result = pytester.runpytest_subprocess("-n", "2", "--flowai-record", timeout=120)
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        ["*test_greet_1.flowai.yaml: recorded 2 turn(s)*", "*test_greet_2.flowai.yaml: recorded 2 turn(s)*"],
        consecutive=False,
    )
    for spec in specs:
        assert _one_greeting(spec.read_text(encoding="utf-8")) == RECORDED


COMMON = """\
name: greet twice
steps:
  - say: hi
  - say: hello
"""

INCLUDES = """\
name: greets then the menu
steps:
  - include: "common.flowai.yaml#greet twice"
  - say: see the menu
"""


def test_included_turns_are_recorded_in_their_own_file(pytester: pytest.Pytester) -> None:
    """Turns an `include` splices in get their expectations in the file they are written in, the including
    spec only its own turns; two specs including the same turns write them once; the result passes."""
    _setup(pytester)
    common = pytester.path / "common.flowai.yaml"
    common.write_text(COMMON, encoding="utf-8")
    including = pytester.path / "test_a.flowai.yaml"
    including.write_text(INCLUDES, encoding="utf-8")
    (pytester.path / "test_b.flowai.yaml").write_text(
        'name: greets\nsteps:\n  - include: "common.flowai.yaml#greet twice"\n', encoding="utf-8"
    )
    result = pytester.runpytest("--flowai-record")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*common.flowai.yaml: recorded 2 turn(s)*", "*test_a.flowai.yaml: recorded 1 turn(s)*"]
    )
    assert including.read_text(encoding="utf-8") == INCLUDES + (
        "    expect:\n"
        "      - type: text\n"
        "        text: Here is our menu.\n"
        "        flow: Greeting\n"
        "        step: Menu\n"
        "      - type: carousel\n"
    )
    recorded = common.read_text(encoding="utf-8")
    assert recorded.startswith("name: greet twice\nsteps:\n  - say: hi\n    expect:\n      - type: text\n")
    assert recorded.count("expect:") == 2
    assert recorded.count("step: Hello") == 2
    pytester.runpytest().assert_outcomes(passed=2)


def test_a_bot_warning_in_an_included_file_is_given_once(pytester: pytest.Pytester) -> None:
    """A text the bot never says, in a file two specs include, is one warning, not one per spec."""
    _setup(pytester)
    (pytester.path / "common.flowai.yaml").write_text(
        "name: greet\nsteps:\n  - say: hi\n    expect:\n      - text: Good morning, pizza fan\n",
        encoding="utf-8",
    )
    for name in ("a", "b"):
        (pytester.path / f"test_{name}.flowai.yaml").write_text(
            'name: greets\nsteps:\n  - include: "common.flowai.yaml#greet"\n', encoding="utf-8"
        )
    result = pytester.runpytest("--flowai-settle", "0", "--flowai-patience", "0.05")
    result.assert_outcomes(failed=2, warnings=1)
