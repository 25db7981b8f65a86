"""Valid spec YAML in, the typed model the runner consumes out."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pytest_flowai.errors import Span, SpecError
from pytest_flowai.spec import (
    ActionKind,
    ExpectEntry,
    ExtraMode,
    SpecFile,
    TransportKind,
    Turn,
    load_spec,
    load_spec_text,
)
from pytest_flowai.spec.model import Event, Handover, Location, Mark, Media, Pause, Resume, Say, Wait

PATH = "test_shop.flowai.yaml"


def load(text: str) -> SpecFile:
    """Load a dedented spec text under a fixed file name."""
    return load_spec_text(textwrap.dedent(text), PATH)


DESIGN_EXAMPLE = """\
name: greeting offers a soda
marks: [smoke]
transport: rest
vars: {city: Amsterdam}
steps:
  - say: hello
    expect:
      - text: {one_of: ["Hi there!", "Hello!"]}
        quickReplies: ["Yes", "No"]
        flow: Greeting
        step: hello
  - say: "Yes"
    expect:
      - text: {regex: "Order (?P<order>\\\\d+) placed"}
  - event: ORDER_SHIPPED
    params: {orderId: "{order}"}
    expect:
      - text: {contains: "{order}"}
  - location: {lat: 52.37, long: 4.89, title: Dam}
    expect: [{type: location}]
  - say: nonsense blah
    expect: [{fallback: true}]
  - say: thanks
    expect: none
"""


def test_design_example_loads_into_the_model() -> None:
    """The example spec of the design document becomes one conversation with six typed turns."""
    spec = load_spec_text(DESIGN_EXAMPLE, PATH)
    assert spec.path == PATH
    (conversation,) = spec.conversations
    assert conversation.name == "greeting offers a soda"
    assert [mark.name for mark in conversation.marks] == ["smoke"]
    assert conversation.transport is TransportKind.REST
    assert conversation.vars == {"city": "Amsterdam"}
    assert conversation.span == Span(PATH, 1, 1)
    assert conversation.document == 0
    assert [turn.action.kind for turn in conversation.turns] == [
        ActionKind.SAY,
        ActionKind.SAY,
        ActionKind.EVENT,
        ActionKind.LOCATION,
        ActionKind.SAY,
        ActionKind.SAY,
    ]
    assert [turn.index for turn in conversation.turns] == [1, 2, 3, 4, 5, 6]


def test_turn_fields_of_the_design_example() -> None:
    """Values, params, expectations, spans and variables of each turn are as written."""
    turns = load_spec_text(DESIGN_EXAMPLE, PATH).conversations[0].turns
    first, second, third, fourth, _, sixth = turns
    assert first.action == Say(text="hello")
    assert first.span == Span(PATH, 6, 5)
    assert first.end_line == 11
    assert first.expect is not None
    (entry,) = first.expect
    assert entry.data == {
        "text": {"one_of": ["Hi there!", "Hello!"]},
        "quickReplies": ["Yes", "No"],
        "flow": "Greeting",
        "step": "hello",
    }
    assert entry.span == Span(PATH, 8, 9)
    assert entry.key_spans["quickReplies"] == Span(PATH, 9, 9)
    assert entry.key_spans["step"] == Span(PATH, 11, 9)
    assert second.action == Say(text="Yes")
    assert second.defines == frozenset({"order"})
    assert third.action == Event(name="ORDER_SHIPPED")
    assert third.params == {"orderId": "{order}"}
    assert third.variables == frozenset({"order"})
    assert fourth.action == Location(lat="52.37", long="4.89", title="Dam")
    assert sixth.expect is None
    assert sixth.expect_none is True


def test_turn_without_expect_checks_only_schemas() -> None:
    """A turn with no `expect` has expect None and expect_none False."""
    turn = load("steps:\n  - say: hi\n").conversations[0].turns[0]
    assert turn.expect is None
    assert turn.expect_none is False
    assert turn.params == {}
    assert turn.originator == {}
    assert turn.metadata == {}


def test_yes_and_no_stay_strings() -> None:
    """YAML 1.1 booleans (Yes, No, on, off, y, n) stay strings; only true/false are booleans."""
    turns = (
        load(
            """\
        steps:
          - say: Yes
            expect:
              - quickReplies: [Yes, No, on, off, y, n]
                silent: false
          - say: no
        """
        )
        .conversations[0]
        .turns
    )
    assert turns[0].action == Say(text="Yes")
    assert turns[1].action == Say(text="no")
    assert turns[0].expect is not None
    assert turns[0].expect[0].data == {"quickReplies": ["Yes", "No", "on", "off", "y", "n"], "silent": False}


def test_yaml_12_numbers_and_dates() -> None:
    """Sexagesimal-looking text and dates stay strings; 010 is ten, as YAML 1.2 reads it."""
    conversation = load(
        """\
        vars: {time: 1:30, day: 2024-05-01, count: 010, ratio: 1e3}
        steps:
          - say: at {time}
        """
    ).conversations[0]
    assert conversation.vars == {"time": "1:30", "day": "2024-05-01", "count": 10, "ratio": 1000.0}


def test_several_documents_and_default_names() -> None:
    """Each non-empty document is a conversation; unnamed ones are called 'conversation N'."""
    spec = load(
        """\
        steps:
          - say: one
        ---
        # an empty document is skipped
        ---
        name: named
        steps:
          - say: two
        ---
        steps:
          - say: three
        """
    )
    assert [c.name for c in spec.conversations] == ["conversation 1", "named", "conversation 3"]
    assert [c.document for c in spec.conversations] == [0, 2, 3]
    assert [c.span.line for c in spec.conversations] == [1, 6, 10]


def test_originator_and_metadata_merge_turn_over_spec() -> None:
    """A turn's originator and metadata are merged over the spec's key by key; the turn wins."""
    turns = (
        load(
            """\
        originator: {name: Ann, role: external}
        metadata: {language: en, timezone: 1, params: {shop: "north"}}
        steps:
          - say: hi
          - say: hallo
            originator: {name: Bob}
            metadata: {language: nl, contexts: [order]}
        """
        )
        .conversations[0]
        .turns
    )
    assert turns[0].originator == {"name": "Ann", "role": "external"}
    assert turns[0].metadata == {"language": "en", "timezone": 1, "params": {"shop": "north"}}
    assert turns[1].originator == {"name": "Bob", "role": "external"}
    assert turns[1].metadata == {
        "language": "nl",
        "timezone": 1,
        "params": {"shop": "north"},
        "contexts": ["order"],
    }


def test_params_simple_and_wire_forms_are_kept_as_written() -> None:
    """Event params and metadata.params accept the simple and the wire form, kept as written."""
    turn = (
        load(
            """\
        steps:
          - event: ORDER
            params: {orderId: "42", qty: 2, tags: [{value: a, match: A}, {value: b}]}
            metadata: {params: {shop: [{value: north}]}}
            expect:
              - params: {orderId: "42"}
        """
        )
        .conversations[0]
        .turns[0]
    )
    assert turn.params == {"orderId": "42", "qty": 2, "tags": [{"value": "a", "match": "A"}, {"value": "b"}]}
    assert turn.metadata == {"params": {"shop": [{"value": "north"}]}}


def test_control_turn_values() -> None:
    """pause/resume carry nothing, handover an optional secondsToPause, wait its seconds as a float."""
    turns = (
        load(
            """\
        steps:
          - pause: true
          - resume: true
          - handover: true
          - handover: {secondsToPause: 30}
          - wait: 2
        """
        )
        .conversations[0]
        .turns
    )
    assert [t.action for t in turns] == [
        Pause(),
        Resume(),
        Handover(),
        Handover(seconds_to_pause=30.0),
        Wait(seconds=2.0),
    ]
    assert all(t.action.kind.is_control for t in turns)
    assert isinstance(turns[4].action, Wait)
    assert isinstance(turns[4].action.seconds, float)


def test_send_actions_are_not_control() -> None:
    """say, event, location and media are user messages, not control actions."""
    assert not any(
        kind.is_control for kind in (ActionKind.SAY, ActionKind.EVENT, ActionKind.LOCATION, ActionKind.MEDIA)
    )


def test_media_turn_value() -> None:
    """A media turn keeps mediaType, url and mimeType."""
    turn = (
        load(
            """\
        transport: rest
        steps:
          - media: {mediaType: image, url: "https://example.org/a.png", mimeType: image/png}
        """
        )
        .conversations[0]
        .turns[0]
    )
    assert turn.action.kind is ActionKind.MEDIA
    assert turn.action == Media(media_type="image", url="https://example.org/a.png", mime_type="image/png")


def test_timing_options_and_unordered_default() -> None:
    """Turn timing options are the turn's own; unordered falls back to the spec's default."""
    conversation = load(
        """\
        timeout: 5
        settle: 0
        silence: 2
        patience: 0.5
        extra: warn
        unordered: true
        steps:
          - say: a
          - say: b
            timeout: 1.5
            settle: 0.1
            silence: 3
            patience: 0.2
            extra: ignore
            unordered: false
        """
    ).conversations[0]
    timings = (conversation.timeout, conversation.settle, conversation.silence, conversation.patience)
    assert timings == (5.0, 0.0, 2.0, 0.5)
    assert conversation.extra is ExtraMode.WARN
    first, second = conversation.turns
    assert (first.timeout, first.settle, first.silence, first.patience, first.extra) == (None,) * 5
    assert first.unordered is True
    timings = (second.timeout, second.settle, second.silence, second.patience)
    assert timings == (1.5, 0.1, 3.0, 0.2)
    assert second.extra is ExtraMode.IGNORE
    assert second.unordered is False


def test_unordered_is_none_when_nobody_says() -> None:
    """Without a turn or spec value, unordered is None."""
    assert load("steps:\n  - say: a\n").conversations[0].turns[0].unordered is None


def test_variables_and_definitions_across_turns() -> None:
    """save keys and regex groups define names; later turns may use them, env names are listed as written."""
    turns = (
        load(
            """\
        vars: {user: {name: Ann}}
        steps:
          - say: "I am {user.name}, key {env.API_USER}"
            expect:
              - text: {regex: "ticket (?P<ticket>[0-9]{4})"}
                save: {first_reply: payload.text}
          - say: "{ticket} {first_reply}"
            expect:
              - text: {not: {regex: "(?P<ignored>x)"}}
        """
        )
        .conversations[0]
        .turns
    )
    assert turns[0].variables == frozenset({"user.name", "env.API_USER"})
    assert turns[0].defines == frozenset({"ticket", "first_reply"})
    assert turns[1].variables == frozenset({"ticket", "first_reply"})
    assert turns[1].defines == frozenset()


def test_expect_entry_keeps_plain_json() -> None:
    """Entry data is plain dicts and lists (no loader subclasses) so it can be interpolated and compared."""
    entry_data = (
        load(
            """\
        steps:
          - say: hi
            expect:
              - payload: {items: [{id: 1}]}
        """
        )
        .conversations[0]
        .turns[0]
        .expect
    )
    assert entry_data is not None
    data = entry_data[0].data
    assert type(data) is dict
    payload = data["payload"]
    assert isinstance(payload, dict)
    assert type(payload["items"]) is list


def test_load_spec_reads_a_file(tmp_path: Path) -> None:
    """load_spec reads a file from disk and names it in spans."""
    path = tmp_path / "test_file.flowai.yaml"
    path.write_text("name: from disk\nsteps:\n  - say: hi\n", encoding="utf-8")
    spec = load_spec(path)
    assert spec.path == str(path)
    assert spec.conversations[0].name == "from disk"
    assert spec.conversations[0].turns[0].span == Span(str(path), 3, 5)


def test_turn_cannot_expect_silence_and_replies() -> None:
    """A Turn built by hand with both `expect_none` and entries is refused with its span."""
    span = Span(PATH, 3, 5)
    entry = ExpectEntry(data={"text": "hi"}, span=span, key_spans={"text": span})
    with pytest.raises(SpecError) as info:
        Turn(
            index=1,
            action=Say(text="hi"),
            params={},
            originator={},
            metadata={},
            expect=(entry,),
            expect_none=True,
            timeout=None,
            settle=None,
            silence=None,
            patience=None,
            extra=None,
            unordered=None,
            span=span,
            end_line=3,
            variables=frozenset(),
            defines=frozenset(),
        )
    assert info.value.span == span


def test_marks_carry_their_arguments() -> None:
    """A mark is a name, or a name with keyword arguments (a mapping) or positional ones (a list)."""
    (conversation,) = load(
        """\
        marks: [smoke, {flaky: {reruns: 2, reruns_delay: 0.5}}, {skipif: [false]}]
        steps:
          - say: hi
        """
    ).conversations
    assert conversation.marks == (
        Mark(name="smoke"),
        Mark(name="flaky", kwargs={"reruns": 2, "reruns_delay": 0.5}),
        Mark(name="skipif", args=(False,)),
    )
