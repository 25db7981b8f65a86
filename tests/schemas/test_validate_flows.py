"""flowai-validate on a bot's flow files and folders: the emulator's own checks, each at file:line:column."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pytest_flowai.emulator.flows import load_bot
from pytest_flowai.errors import EmulatorError
from pytest_flowai.schemas.cli import main
from tests.helpers.paths import DEMO_BOT

HELLO = """\
title: Greeting
steps:
  - title: Hello
    type: INTENT
    intent:
      examples: [{query: hello}]
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, so reported paths are short and relative."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], list[str]]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err.splitlines()


def write(folder: Path, name: str, text: str) -> str:
    (folder / name).write_text(text, encoding="utf-8")
    return name


def test_duplicate_step_id_in_one_file(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two steps with one stepId (here one given, one derived from the title) name both places."""
    name = write(workdir, "bot.yaml", HELLO + "  - title: Again\n    stepId: hello\n    type: ANYTHING\n")
    assert validate(capsys, name) == (
        1,
        [
            "bot.yaml:8:13: steps[1].stepId: duplicate stepId 'hello' (also bot.yaml:3);"
            " give the steps distinct stepId values"
        ],
        [],
    )


def test_duplicate_flow_id(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two flows with one flowId are reported at the second flow's flowId."""
    text = "- {flowId: main, title: A, steps: []}\n- {flowId: main, title: B, steps: []}\n"
    name = write(workdir, "bot.yaml", text)
    assert validate(capsys, name) == (
        1,
        ["bot.yaml:2:12: [1].flowId: duplicate flowId 'main' (also bot.yaml:1)"],
        [],
    )


def test_context_naming_no_step(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A context that names no step of the bot is reported at that context."""
    name = write(workdir, "bot.yaml", HELLO + "  - title: Next\n    type: ANYTHING\n    contexts: [helo]\n")
    assert validate(capsys, name) == (
        1,
        ["bot.yaml:9:16: steps[1].contexts[0]: 'helo' names no step of this bot"],
        [],
    )


def test_step_that_is_its_own_context(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A step whose contexts name itself is reported."""
    text = HELLO + "  - title: Loop\n    type: ANYTHING\n    contexts:\n      - hello\n      - loop\n"
    name = write(workdir, "bot.yaml", text)
    assert validate(capsys, name) == (
        1,
        ["bot.yaml:11:9: steps[1].contexts[1]: a step cannot be its own context"],
        [],
    )


def test_intent_without_examples(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An INTENT step with an empty examples list is reported at the list."""
    name = write(workdir, "bot.yaml", HELLO.replace("[{query: hello}]", "[]"))
    assert validate(capsys, name) == (
        1,
        ["bot.yaml:6:17: steps[0].intent.examples: an INTENT step needs at least one example"],
        [],
    )


def test_slot_without_label(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A SLOT step whose slot has no label is reported at the slot (a schema rule, as in the emulator)."""
    text = (
        HELLO + "  - title: City\n    type: SLOT\n    contexts: [hello]\n    slot: {validation: REQUIRED}\n"
    )
    name = write(workdir, "bot.yaml", text)
    assert validate(capsys, name) == (1, ["bot.yaml:10:11: steps[1].slot.label: required"], [])


def test_slot_without_context(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A top-level SLOT (no step asks its question) is reported at the step."""
    name = write(
        workdir, "bot.yaml", "title: F\nsteps:\n  - title: City\n    type: SLOT\n    slot: {label: city}\n"
    )
    assert validate(capsys, name) == (
        1,
        ["bot.yaml:3:5: steps[0].contexts: a SLOT step needs a context: the step that asks the question"],
        [],
    )


def test_intent_without_intent_object(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A flow inferred from its keys gets the flow schema's rules too, each at its line."""
    name = write(workdir, "bot.yaml", "title: F\nsteps:\n  - title: Hi\n    type: INTENT\n")
    assert validate(capsys, name) == (1, ["bot.yaml:3:5: steps[0].intent: required"], [])


def test_folder_is_one_bot_across_files(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """In a folder, a context may name a step of another file, and a stepId repeated across files is found."""
    bot = workdir / "bot"
    bot.mkdir()
    write(bot, "1-greeting.yaml", HELLO)
    write(bot, "2-more.yaml", "title: More\nsteps:\n  - {title: After, type: ANYTHING, contexts: [hello]}\n")
    write(
        bot, "3-again.json", '{"title": "Again",\n "steps": [\n  {"title": "Hello", "type": "UNKNOWN"}\n ]}\n'
    )
    write(bot, "notes.txt", "not a flow file: [")
    assert validate(capsys, "bot") == (
        1,
        [
            "bot/3-again.json:3:3: steps[0].stepId: duplicate stepId 'hello' (also bot/1-greeting.yaml:3);"
            " give the steps distinct stepId values"
        ],
        [],
    )


def test_single_file_of_a_folder_is_a_bot_of_its_own(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file given alone is checked as `--flows FILE` loads it: a context into another file names no step."""
    write(
        workdir, "2-more.yaml", "title: More\nsteps:\n  - {title: After, type: ANYTHING, contexts: [hello]}\n"
    )
    assert validate(capsys, "2-more.yaml") == (
        1,
        ["2-more.yaml:3:47: steps[0].contexts[0]: 'hello' names no step of this bot"],
        [],
    )


def test_demo_bot_folder_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    """The demo bot, given as a folder, passes with exit status 0 and no output."""
    assert validate(capsys, str(DEMO_BOT)) == (0, [], [])


def test_folder_output_matches_the_emulator(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """For a broken folder, flowai-validate reports exactly the emulator's problems (plus the column)."""
    bot = workdir / "bot"
    bot.mkdir()
    write(bot, "a.yaml", HELLO + "  - {title: Ask, type: SLOT, slot: {label: x}}\n")
    write(
        bot,
        "b.yaml",
        "flows:\n  - title: Greeting\n    steps:\n      - {title: Z, type: INTENT, intent: {examples: []}}\n",
    )
    write(bot, "c.yaml", "title: C\nsteps:\n  - {type: EVENT}\n")
    with pytest.raises(EmulatorError) as info:
        load_bot(bot)
    emulator = sorted(line.strip() for line in str(info.value).splitlines()[1:])
    code, out, err = validate(capsys, "bot")
    without_columns = sorted(re.sub(r"^([^:]+:\d+):\d+:", r"\1:", line) for line in out)
    assert (code, err, without_columns) == (1, [], emulator)
    assert len(out) == 4


def test_json_flow_file_lines_and_columns(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Problems in a JSON flow file, tab-indented as editors write it, name the right line and column."""
    flow = {
        "title": "F",
        "steps": [
            {"title": "Hi", "type": "INTENT", "intent": {"examples": []}},
            {"title": "Next", "type": "ANYTHING", "contexts": ["nowhere"]},
        ],
    }
    name = write(workdir, "bot.json", json.dumps(flow, indent="\t") + "\n")
    lines = (workdir / name).read_text(encoding="utf-8").splitlines()
    examples = next(i for i, line in enumerate(lines, start=1) if '"examples"' in line)
    nowhere = next(i for i, line in enumerate(lines, start=1) if '"nowhere"' in line)
    assert validate(capsys, name) == (
        1,
        [
            f"bot.json:{examples}:{lines[examples - 1].index('[') + 1}: steps[0].intent.examples:"
            " an INTENT step needs at least one example",
            f"bot.json:{nowhere}:5: steps[1].contexts[0]: 'nowhere' names no step of this bot",
        ],
        [],
    )


def test_yaml_flow_file_reads_scalars_as_the_emulator_does(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A quick reply labelled No is the string 'No' in a flow file, as the emulator reads it (YAML 1.2)."""
    text = (
        HELLO
        + "    actions:\n      - type: TEXT\n"
        + "        payload: {texts: ['Sure?'], quickReplies: [{label: No}]}\n"
    )
    name = write(workdir, "bot.yaml", text)
    assert validate(capsys, name) == (0, [], [])


def test_broken_file_in_a_folder_exits_2_at_its_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A flow file that does not parse makes the folder unusable input (exit 2), named at line and column."""
    bot = workdir / "bot"
    bot.mkdir()
    write(bot, "a.yaml", HELLO)
    write(bot, "b.yaml", "title: B\nsteps: [\n")
    code, out, err = validate(capsys, "bot")
    assert (code, out) == (2, [])
    assert len(err) == 1
    assert err[0].startswith("bot/b.yaml:3:1: YAML parse error: ")


def test_several_yaml_documents_in_a_flow_file_exit_2(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The emulator reads one document per flow file; a second one is reported as it would refuse it."""
    name = write(workdir, "bot.yaml", HELLO + "---\n" + HELLO)
    assert validate(capsys, name) == (
        2,
        [],
        [
            "bot.yaml:7:1: YAML parse error:"
            " expected a single document in the stream, but found another document"
        ],
    )


def test_wrong_shape_in_a_folder_is_invalid(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file of the bot folder that holds no flow says what it holds instead."""
    bot = workdir / "bot"
    bot.mkdir()
    write(bot, "a.yaml", HELLO)
    write(bot, "b.yaml", "flows: 3\n")
    assert validate(capsys, "bot") == (1, ["bot/b.yaml: flows: must be a list of flows"], [])


def test_empty_folder_exits_2(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder without flow files is unusable input, in one line."""
    (workdir / "bot").mkdir()
    assert validate(capsys, "bot") == (2, [], ["bot: no flow files (*.json, *.yaml, *.yml) in this folder"])


def test_folder_with_another_schema_exits_2(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder is always a bot: asking for another schema is refused in one line."""
    (workdir / "bot").mkdir()
    write(workdir / "bot", "a.yaml", HELLO)
    assert validate(capsys, "--schema", "response", "bot") == (
        2,
        [],
        ["bot: a folder is checked as a bot (schema 'flows'), not against --schema response"],
    )


def test_json_output_for_a_bot_carries_lines(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json lists each flow file of the bot with its problems' paths, lines and columns."""
    bot = workdir / "bot"
    bot.mkdir()
    write(bot, "a.yaml", HELLO)
    write(bot, "b.yaml", "title: B\nsteps:\n  - {title: X, type: ANYTHING, contexts: [nope]}\n")
    assert main(["--json", "bot"]) == 1
    assert json.loads(capsys.readouterr().out) == [
        {"file": "bot/a.yaml", "document": None, "schema": "flows", "valid": True, "violations": []},
        {
            "file": "bot/b.yaml",
            "document": None,
            "schema": "flows",
            "valid": False,
            "violations": [
                {
                    "path": "steps[0].contexts[0]",
                    "message": "'nope' names no step of this bot",
                    "line": 3,
                    "column": 43,
                }
            ],
        },
    ]
