"""Loading bot definitions: the accepted shapes, derived ids, and the errors a bot author sees."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from pytest_flowai import schemas
from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.emulator.flows import StepType, bot_from_data, load_bot
from pytest_flowai.errors import EmulatorError
from tests.helpers.dig import dig
from tests.helpers.paths import DEMO_BOT


def hello_flow(title: str = "Greeting", **extra: object) -> JSONObject:
    flow: JSONObject = {
        "title": title,
        "steps": [
            {
                "title": "Hello",
                "type": "INTENT",
                "intent": {"examples": [{"query": "hello"}]},
                "actions": [{"type": "TEXT", "payload": {"texts": ["Hi!"]}}],
            }
        ],
    }
    flow.update(extra)  # type: ignore[arg-type]
    return flow


def load_error(path: Path) -> str:
    with pytest.raises(EmulatorError) as info:
        load_bot(path)
    return str(info.value)


def data_error(data: object, source: str = "bot.yaml") -> str:
    with pytest.raises(EmulatorError) as info:
        bot_from_data(data, source)  # type: ignore[arg-type]
    return str(info.value)


def test_single_flow_yaml_file_loads(tmp_path: Path) -> None:
    """A YAML file holding one flow object gives a bot with that flow and its steps."""
    file = tmp_path / "greeting.yaml"
    file.write_text(
        "title: Greeting\nsteps:\n  - title: Hello\n    type: INTENT\n"
        "    intent: {examples: [{query: hello}]}\n",
        encoding="utf-8",
    )
    bot = load_bot(file)
    assert [flow.title for flow in bot.flows] == ["Greeting"]
    step = bot.steps()[0]
    assert (step.title, step.type, step.examples, step.contexts) == ("Hello", StepType.INTENT, ("hello",), ())


@pytest.mark.parametrize(
    "data",
    [
        [hello_flow("One"), hello_flow("Two", steps=[])],
        {"flows": [hello_flow("One"), hello_flow("Two", steps=[])]},
    ],
    ids=["list", "flows-key"],
)
def test_list_and_flows_key_shapes_load(data: object) -> None:
    """A list of flows and ``{"flows": [...]}`` both load every flow in order."""
    bot = bot_from_data(data)  # type: ignore[arg-type]
    assert [flow.title for flow in bot.flows] == ["One", "Two"]


def test_folder_loads_flow_files_sorted_and_skips_other_files(tmp_path: Path) -> None:
    """A folder's .json/.yaml/.yml files load in name order; other files (README.md) are ignored."""
    (tmp_path / "b.yml").write_text("title: B\nsteps: []\n", encoding="utf-8")
    (tmp_path / "a.json").write_text(json.dumps({"title": "A", "steps": []}), encoding="utf-8")
    (tmp_path / "c.yaml").write_text("- {title: C, steps: []}\n", encoding="utf-8")
    (tmp_path / "README.md").write_text("# not a flow: [", encoding="utf-8")
    assert [flow.title for flow in load_bot(tmp_path).flows] == ["A", "B", "C"]


def test_missing_ids_are_derived_from_titles_and_explicit_ids_win() -> None:
    """A missing flowId/stepId is the slug of the title; given ids are kept; raw flows show both."""
    bot = bot_from_data(
        [
            {"title": "Pizza Order!", "steps": [{"title": "Pick  a Size", "type": "ANYTHING"}]},
            {"flowId": "f-2", "title": "O", "steps": [{"stepId": "s-9", "title": "X", "type": "UNKNOWN"}]},
        ]
    )
    assert [(s.flow_id, s.step_id) for s in bot.steps()] == [("pizza-order", "pick-a-size"), ("f-2", "s-9")]
    raw = bot.raw_flows()
    assert raw[0]["flowId"] == "pizza-order"
    assert dig(raw[0], "steps", 0, "stepId") == "pick-a-size"


def test_raw_flows_are_fresh_copies() -> None:
    """Changing what raw_flows returned does not change the bot."""
    bot = bot_from_data(hello_flow())
    bot.raw_flows()[0]["title"] = "changed"
    assert bot.raw_flows()[0]["title"] == "Greeting"


def test_disabled_flows_are_listed_but_have_no_steps() -> None:
    """A disabled flow stays in flows/raw_flows and flow(), but its steps are not the bot's steps."""
    off_step = {"stepId": "off-step", "title": "Hi", "type": "ANYTHING"}
    bot = bot_from_data([hello_flow("Off", disabled=True, steps=[off_step]), hello_flow("On")])
    assert [flow.flow_id for flow in bot.flows] == ["off", "on"]
    assert [step.step_id for step in bot.steps()] == ["hello"]
    off = bot.flow("off")
    assert off is not None
    assert off.disabled
    assert bot.step("off-step") is None
    assert bot.raw_flows()[0]["disabled"] is True


def test_step_and_flow_lookup_by_id() -> None:
    """step() and flow() find by id and return None for an unknown id."""
    bot = bot_from_data(hello_flow())
    assert bot.step("hello") is bot.steps()[0]
    assert bot.step("nope") is None
    assert bot.flow("greeting") is bot.flows[0]
    assert bot.flow("nope") is None


def test_event_names_lists_manually_triggered_events_once() -> None:
    """event_names() gives EVENT steps marked manualTrigger, in file order, without repeats."""
    steps: list[JSON] = [
        {"stepId": "a", "title": "PROMO", "type": "EVENT", "manualTrigger": True},
        {"stepId": "b", "title": "SHIPPED", "type": "EVENT"},
        {"stepId": "c", "title": "PROMO", "type": "EVENT", "manualTrigger": True, "contexts": ["a"]},
        {"stepId": "d", "title": "INTRO", "type": "EVENT", "manualTrigger": True},
    ]
    assert bot_from_data({"title": "Events", "steps": steps}).event_names() == ["PROMO", "INTRO"]


def test_yaml_yes_no_and_dates_stay_strings(tmp_path: Path) -> None:
    """YAML 1.1 oddities do not leak in: a quick reply labelled No and a createdAt date stay strings."""
    file = tmp_path / "bot.yaml"
    file.write_text(
        "title: Q\ncreatedAt: 2018-10-24T06:45:19.541Z\nsteps:\n  - title: Ask\n    type: ANYTHING\n"
        "    actions:\n      - type: TEXT\n"
        "        payload: {texts: ['Sure?'], quickReplies: [{label: No}, {label: on}]}\n",
        encoding="utf-8",
    )
    bot = load_bot(file)
    assert bot.flows[0].raw["createdAt"] == "2018-10-24T06:45:19.541Z"
    payload = bot.steps()[0].actions[0]["payload"]
    assert dig(payload, "quickReplies") == [{"label": "No"}, {"label": "on"}]


def test_yaml_parse_error_names_file_and_line(tmp_path: Path) -> None:
    """Broken YAML is reported with the file, line and column of the problem."""
    file = tmp_path / "shop.yaml"
    file.write_text("title: Shop\nsteps:\n  - title: [unclosed\n", encoding="utf-8")
    message = load_error(file)
    assert re.search(r"shop\.yaml:\d+:\d+: YAML parse error: ", message), message


def test_json_parse_error_names_file_and_line(tmp_path: Path) -> None:
    """Broken JSON is reported with the file, line and column of the problem."""
    file = tmp_path / "shop.json"
    file.write_text('{"title": "Shop",\n "steps": [,]}\n', encoding="utf-8")
    assert "shop.json:2:12: JSON parse error: " in load_error(file)


def test_schema_problems_name_file_line_and_json_path(tmp_path: Path) -> None:
    """A step missing a required field is reported as file:line: JSON path: required."""
    file = tmp_path / "shop.yaml"
    file.write_text(
        "flows:\n  - title: Shop\n    steps:\n      - title: Hello\n        type: INTENT\n"
        "        intent: {title: greet}\n",
        encoding="utf-8",
    )
    assert "shop.yaml:6: flows[0].steps[0].intent.examples: required" in load_error(file)


def test_tab_indented_json_problems_name_their_line(tmp_path: Path) -> None:
    """A JSON flow file indented with tabs (which YAML refuses) still gets line numbers in its problems."""
    file = tmp_path / "shop.json"
    flow = {"title": "Shop", "steps": [{"title": "Hi", "type": "INTENT", "intent": {"examples": []}}]}
    file.write_text(json.dumps(flow, indent="\t"), encoding="utf-8")
    line = file.read_text(encoding="utf-8").splitlines().index('\t\t\t\t"examples": []') + 1
    assert f"shop.json:{line}: steps[0].intent.examples: an INTENT step needs" in load_error(file)


def test_json_flow_file_with_byte_order_mark_loads(tmp_path: Path) -> None:
    """A UTF-8 byte order mark (Windows editors write one) does not make a JSON flow file unreadable."""
    file = tmp_path / "shop.json"
    file.write_bytes(b"\xef\xbb\xbf" + json.dumps(hello_flow()).encode())
    assert [flow.title for flow in load_bot(file).flows] == ["Greeting"]


def test_every_problem_of_every_file_is_reported(tmp_path: Path) -> None:
    """Problems in several flows and files are all listed, not only the first one."""
    (tmp_path / "a.yaml").write_text("title: A\nsteps:\n  - {type: INTENT}\n", encoding="utf-8")
    b_text = "- {title: B}\n- {title: C, steps: [{title: X, type: WHAT}]}\n"
    (tmp_path / "b.yaml").write_text(b_text, encoding="utf-8")
    message = load_error(tmp_path)
    assert "(4 problems)" in message
    for expected in [
        "a.yaml:3: steps[0].title: required",
        "a.yaml:3: steps[0].intent: required",
        "b.yaml:1: [0].steps: required",
        "b.yaml:2: [1].steps[0].type: ",
    ]:
        assert expected in message


def test_duplicate_step_ids_are_reported_with_both_places() -> None:
    """Two steps with one stepId (given or derived) are an error naming both places."""
    data = [hello_flow("One"), hello_flow("Two")]
    message = data_error(data)
    assert "bot.yaml: [1].steps[0].stepId: duplicate stepId 'hello' (also bot.yaml)" in message


def test_duplicate_flow_ids_are_reported() -> None:
    """Two flows with one flowId are an error."""
    message = data_error([hello_flow("Same", steps=[]), hello_flow("Same", steps=[])])
    assert "[1].flowId: duplicate flowId 'same'" in message


def test_context_naming_no_step_is_reported() -> None:
    """A context that names no step of the bot is an error at that context's path."""
    flow = hello_flow()
    dig(flow, "steps").append({"title": "Next", "type": "ANYTHING", "contexts": ["helo"]})
    assert "bot.yaml: steps[1].contexts[0]: 'helo' names no step of this bot" in data_error(flow)


def test_intent_without_examples_is_reported() -> None:
    """An INTENT step with an empty examples list is an error."""
    flow = {"title": "F", "steps": [{"title": "Hi", "type": "INTENT", "intent": {"examples": []}}]}
    assert "steps[0].intent.examples: an INTENT step needs at least one example" in data_error(flow)


def test_top_level_slot_is_reported() -> None:
    """A SLOT with no context (no step asks its question) is an error."""
    flow = {"title": "F", "steps": [{"title": "City", "type": "SLOT", "slot": {"label": "city"}}]}
    assert "steps[0].contexts: a SLOT step needs a context" in data_error(flow)


@pytest.mark.parametrize(
    ("content", "expected"),
    [("", "got an empty file"), ("42\n", "got a int"), ("flows: 3\n", "flows: must be a list of flows")],
)
def test_wrong_file_shapes_are_reported(tmp_path: Path, content: str, expected: str) -> None:
    """A file that holds no flow, a list or {flows: [...]} is an error saying what it holds."""
    file = tmp_path / "bot.yaml"
    file.write_text(content, encoding="utf-8")
    assert expected in load_error(file)


def test_non_json_yaml_values_are_reported(tmp_path: Path) -> None:
    """YAML values JSON cannot hold (a non-string key) are reported with their path."""
    file = tmp_path / "bot.yaml"
    file.write_text("title: F\nsteps: []\nextra: {1: one}\n", encoding="utf-8")
    assert "bot.yaml: extra: key 1 is not a string" in load_error(file)


def test_self_containing_yaml_alias_is_reported(tmp_path: Path) -> None:
    """A flow whose anchor holds an alias to itself is an error naming the place, not a RecursionError."""
    file = tmp_path / "bot.yaml"
    file.write_text("title: F\nsteps: &s [{title: a, type: UNKNOWN, actions: *s}]\n", encoding="utf-8")
    assert "bot.yaml: steps[0].actions: holds itself" in load_error(file)


def test_missing_path_and_empty_folder_are_reported(tmp_path: Path) -> None:
    """A path that does not exist, or a folder without flow files, is a clear error."""
    assert "no such file or folder" in load_error(tmp_path / "missing")
    assert "no flow files (*.json, *.yaml, *.yml) in this folder" in load_error(tmp_path)


def test_demo_bot_loads_with_every_step_type_and_template() -> None:
    """The demo bot loads and uses every step type and the response templates the specs rely on."""
    bot = load_bot(DEMO_BOT)
    assert len(bot.flows) >= 2
    unused = {StepType.FILE, StepType.AUDIO, StepType.VIDEO}
    assert {step.type for step in bot.steps()} >= set(StepType) - unused
    action_types = {str(action["type"]) for step in bot.steps() for action in step.actions}
    wanted = {"TEXT", "IMAGE", "CARD", "CAROUSEL", "LIST", "LOCATION", "BUTTONS", "NOTE", "CUSTOM"}
    assert action_types >= wanted | {"HANDOVER"}
    assert bot.event_names() == ["DAILY_DEAL"]


def test_demo_bot_readme_names_every_step() -> None:
    """The demo bot's README mentions every stepId, so spec writers can rely on it."""
    readme = (DEMO_BOT / "README.md").read_text(encoding="utf-8")
    missing = [step.step_id for step in load_bot(DEMO_BOT).steps() if f"`{step.step_id}`" not in readme]
    assert missing == []


def test_demo_bot_files_match_the_flows_schema() -> None:
    """Each demo bot file is valid against the shipped ``flows`` schema (what flowai-validate checks)."""
    for file in sorted(DEMO_BOT.glob("*.yaml")):
        assert schemas.violations(yaml.safe_load(file.read_text(encoding="utf-8")), "flows") == [], file.name


def test_flow_schemas_are_valid_json_schemas() -> None:
    """The flow, step and flows schemas are themselves valid draft 2020-12 schemas."""
    from jsonschema import Draft202012Validator

    for name in ("flow", "step", "flows"):
        Draft202012Validator.check_schema(schemas.raw(name))
