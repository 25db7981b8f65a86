"""The pure checks of specs against a bot's flows: unknown names are errors, doubtful texts and types warn."""

from __future__ import annotations

import textwrap
from pathlib import Path

from pytest_flowai.botcheck import BotShape, Finding, check, shape_of
from pytest_flowai.options import Options
from pytest_flowai.secret import Secret
from pytest_flowai.session import FlowaiSession
from pytest_flowai.spec import load_spec_text

BOT = shape_of(
    [
        {
            "flowId": "greeting",
            "title": "Greeting",
            "steps": [
                {
                    "stepId": "hello",
                    "title": "Hello",
                    "type": "INTENT",
                    "actions": [{"type": "TEXT", "payload": {"texts": ["Hi there!", "Hello!"]}}],
                },
                {"stepId": "intro", "title": "INTRO", "type": "EVENT", "actions": []},
                {
                    "stepId": "shipped",
                    "title": "Shipped",
                    "type": "INTENT",
                    "actions": [{"type": "TEXT", "payload": {"texts": ["Order {orderId} is on its way."]}}],
                },
            ],
        }
    ]
)


def findings(spec: str, bot: BotShape = BOT) -> list[tuple[bool, str]]:
    """(is an error, finding text) for each finding of a one-conversation spec."""
    (conversation,) = load_spec_text(textwrap.dedent(spec), "t.flowai.yaml").conversations
    found: list[Finding] = check(conversation, bot)
    return [(finding.error, str(finding)) for finding in found]


def test_known_names_and_texts_give_no_finding() -> None:
    """Flow and step by title or id, an event step, a text the step says (placeholders are wildcards)."""
    assert (
        findings(
            """
            steps:
              - event: INTRO
              - say: hi
                expect: [{flow: greeting, step: Hello}, {step: shipped, text: Order 7 is on its way.}]
            """
        )
        == []
    )


def test_unknown_flow_step_and_event_are_errors_with_did_you_mean() -> None:
    """Names the bot lacks are errors at their key, suggesting the bot's closest name."""
    assert findings(
        """
        steps:
          - event: INTRA
          - say: hi
            expect:
              - flow: Greetings
              - step: Helo
        """
    ) == [
        (True, "t.flowai.yaml:3:5: the bot has no EVENT step 'INTRA'\n  hint: did you mean 'INTRO'?"),
        (True, "t.flowai.yaml:6:9: the bot has no flow 'Greetings'\n  hint: did you mean 'Greeting'?"),
        (True, "t.flowai.yaml:7:9: the bot has no step 'Helo'\n  hint: did you mean 'Hello'?"),
    ]


def test_an_unknown_event_expecting_silence_is_allowed() -> None:
    """An event turn with expect: none checks that the bot ignores an event it lacks: no finding."""
    assert findings("steps:\n  - event: NEWSLETTER\n    expect: none\n") == []


def test_a_text_that_is_one_of_several_variants_warns_with_one_of() -> None:
    """An exact text the step says as one of its random variants warns, suggesting one_of."""
    assert findings("steps:\n  - say: hi\n    expect: [{step: Hello, text: Hi there!}]\n") == [
        (
            False,
            "t.flowai.yaml:3:28: text 'Hi there!' is only one of the 2 variants step 'Hello' says at random\n"
            "  hint: match them all: text: {one_of: ['Hi there!', 'Hello!']}",
        )
    ]


def test_a_text_the_named_step_never_says_warns() -> None:
    """With the step named, a text none of its variants is warns, listing them."""
    assert findings("steps:\n  - say: hi\n    expect: [{step: Hello, text: Howdy}]\n") == [
        (
            False,
            "t.flowai.yaml:3:28: step 'Hello' never says 'Howdy'\n  hint: its texts: 'Hi there!', 'Hello!'",
        )
    ]


def test_a_text_no_step_says_warns_with_the_closest() -> None:
    """Without a step, a text no TEXT variant of any step is warns, with the closest text."""
    assert findings("steps:\n  - say: hi\n    expect: [{text: Hi there}]\n") == [
        (False, "t.flowai.yaml:3:15: no step of the bot says 'Hi there'\n  hint: did you mean 'Hi there!'?")
    ]


def test_an_unknown_type_warns_with_did_you_mean() -> None:
    """A type that is no template type warns, with the closest; a placeholder is left alone."""
    assert findings(
        "vars: {kind: card}\nsteps:\n  - say: hi\n    expect: [{type: crad}, {type: '{kind}'}]\n",
    ) == [(False, "t.flowai.yaml:4:15: type 'crad' is no known template type\n  hint: did you mean 'card'?")]


def test_the_session_reads_the_bot_once(tmp_path: Path) -> None:
    """The session's bot shape is read on first use and kept: a flow file removed later changes nothing."""
    flows = tmp_path / "bot.yaml"
    flows.write_text(
        "flowId: f\ntitle: F\nsteps:\n  - {title: Hi, type: EVENT, contexts: []}\n", encoding="utf-8"
    )
    options = Options(
        url=None,
        client_id=None,
        api_key=None,
        transport="socket",
        timeout=1,
        settle=0,
        silence=1,
        emulator_flows=flows,
    )
    session = FlowaiSession(options=options)
    try:
        first = session.bot_shape(None)
        flows.unlink()
        assert first is not None
        assert session.bot_shape(None) is first
        assert [step.title for step in first.steps()] == ["Hi"]
    finally:
        session.close()


def test_a_real_bot_without_flow_files_is_unknown() -> None:
    """With flowai_url and no flow files there is no shape: nothing is checked."""
    options = Options(
        url="http://127.0.0.1:9",
        client_id="c",
        api_key=Secret("k"),
        transport="socket",
        timeout=1,
        settle=0,
        silence=1,
        emulator_flows=None,
    )
    session = FlowaiSession(options=options)
    try:
        assert session.bot_shape(None) is None
    finally:
        session.close()
