"""Every `expect` key end to end: a spec that holds passes, and one that does not fails naming the mismatch.

Each case is one pytester run of a file with two conversations: the passing one over the socket (the
default transport), the failing one over sync REST, whose answer is the whole reply (no wait for a timeout).
"""

from __future__ import annotations

import glob
from dataclasses import dataclass

import pytest

from tests.helpers.plugin import FlowaiTester


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """The steps of a passing and a failing conversation, and lines the failure must show."""

    passing: str
    failing: str
    shows: tuple[str, ...]


def _steps(send: str, expect: str) -> str:
    return f"steps:\n  - {send}\n    expect: {expect}\n"


ORDER = "say: I want to order a pizza"
SIZE = "Great choice! Which size would you like?"
HELLO = "say: hello"
SHIPPED = 'event: ORDER_SHIPPED\n    params: {orderId: "42"}'
ADDRESS = (
    'metadata: {params: {orderNumber: "1042"}}\n'
    "steps:\n  - say: I want to order a pizza\n  - say: large\n  - say: Damrak 1\n    expect: "
)

CASES = {
    "type": Case(
        passing=_steps("say: see the menu", "[{type: text}, {type: carousel}]"),
        failing=_steps("say: see the menu", "[{type: text}, {type: list}]"),
        shows=(
            "  expected: a list reply",
            "  closest: bubble #2 (carousel)",
            "    type: expected 'list', got 'carousel'",
        ),
    ),
    "text exact": Case(
        passing=_steps(ORDER, '[{text: "Great choice! Which size would you like?"}]'),
        failing=_steps(ORDER, '[{text: "Great choice!"}]'),
        shows=(f"    payload.text: expected 'Great choice!', got {SIZE!r}",),
    ),
    "text contains": Case(
        passing=_steps(ORDER, "[{text: {contains: Which size}}]"),
        failing=_steps(ORDER, "[{text: {contains: Which colour}}]"),
        shows=(f"    payload.text: expected text containing 'Which colour', got {SIZE!r}",),
    ),
    "text regex": Case(
        passing=_steps(ORDER, '[{text: {regex: "^Great \\\\w+!"}}]'),
        failing=_steps(ORDER, '[{text: {regex: "^\\\\d+$"}}]'),
        shows=(f"    payload.text: expected text matching regex '^\\\\d+$', got {SIZE!r}",),
    ),
    "text one_of": Case(
        passing=_steps(
            HELLO,
            '[{text: {one_of: ["Hi there! Welcome to Pizza Bella. What can I do for you?",'
            ' "Hello! This is Pizza Bella. How can I help you today?"]}}]',
        ),
        failing=_steps(ORDER, "[{text: {one_of: [Howdy, Yo]}}]"),
        shows=(f"    payload.text: expected one of ['Howdy', 'Yo'], got {SIZE!r}",),
    ),
    "text not": Case(
        passing=_steps(HELLO, "[{text: {not: {contains: Sorry}}}]"),
        failing=_steps(ORDER, "[{text: {not: {contains: Which size}}}]"),
        shows=(f"    payload.text: expected text not containing 'Which size', got {SIZE!r}",),
    ),
    "text icase": Case(
        passing=_steps(ORDER, "[{text: {contains: GREAT CHOICE, icase: true}}]"),
        failing=_steps(ORDER, "[{text: {contains: GREAT CHOICE}}]"),
        shows=(f"    payload.text: expected text containing 'GREAT CHOICE', got {SIZE!r}",),
    ),
    "text similar": Case(
        passing=_steps(ORDER, '[{text: {similar: "great choice - which size would you like", icase: true}}]'),
        failing=_steps(ORDER, '[{text: {similar: "Which colour would you like today?"}}]'),
        shows=(
            "    payload.text: expected text at least 0.85 similar to 'Which colour would you like today?',"
            f" got {SIZE!r} (0.75 similar)",
        ),
    ),
    "text similar min": Case(
        passing=_steps(ORDER, '[{text: {similar: "Which colour would you like today?", min: 0.7}}]'),
        failing=_steps(ORDER, '[{text: {similar: "Great choice! Which sizes would you like?", min: 0.99}}]'),
        shows=(
            "    payload.text: expected text at least 0.99 similar to"
            f" 'Great choice! Which sizes would you like?', got {SIZE!r} (0.98 similar)",
        ),
    ),
    "text all_of": Case(
        passing=_steps(ORDER, '[{text: {all_of: [{contains: Great}, {regex: "(?P<what>size)"}]}}]')
        + "  - say: '{what}'\n",
        failing=_steps(ORDER, "[{text: {all_of: [{contains: Great}, {contains: colour}]}}]"),
        shows=(
            "    payload.text: expected text containing 'Great' and containing 'colour',"
            f" got {SIZE!r} (not containing 'colour')",
        ),
    ),
    "text any_of": Case(
        passing=_steps(ORDER, "[{text: {any_of: [Howdy, {contains: Which size}]}}]"),
        failing=_steps(ORDER, '[{text: {any_of: [Howdy, {similar: "Pick a colour"}]}}]'),
        shows=(
            "    payload.text: expected text 'Howdy' or at least 0.85 similar to 'Pick a colour',"
            f" got {SIZE!r} (0.35 similar)",
        ),
    ),
    "quickReplies labels": Case(
        passing=_steps(ORDER, "[{quickReplies: [Small, Medium, Large]}]"),
        failing=_steps(ORDER, "[{quickReplies: [Small, Large]}]"),
        shows=(
            "    payload.quickReplies: expected 2 quick replies ['Small', 'Large'],"
            " got 3 ['Small', 'Medium', 'Large']",
        ),
    ),
    "quickReplies objects": Case(
        passing=_steps(
            ORDER, "[{quickReplies: [{label: Small, value: small}, {value: medium}, {label: Large}]}]"
        ),
        failing=_steps(
            ORDER, "[{quickReplies: [{label: Small, value: large}, {label: Medium}, {label: Large}]}]"
        ),
        shows=("    payload.quickReplies[0].value: expected 'large', got 'small'",),
    ),
    "quickReplies subset": Case(
        passing=_steps(ORDER, "[{quickReplies: {subset: [Large, Small]}}]"),
        failing=_steps(ORDER, "[{quickReplies: {subset: [Extra large]}}]"),
        shows=(
            "    payload.quickReplies: expected quick replies to include 'Extra large',"
            " got ['Small', 'Medium', 'Large']",
        ),
    ),
    "buttons": Case(
        passing=_steps(SHIPPED, "[{type: text}, {buttons: [Track order, Call the driver]}]"),
        failing=_steps(SHIPPED, "[{type: text}, {buttons: [Track order]}]"),
        shows=(
            "    payload.buttons: expected 1 buttons ['Track order'],"
            " got 2 ['Track order', 'Call the driver']",
        ),
    ),
    "card": Case(
        passing=ADDRESS + "[{type: text}, {card: {title: Order 1042, subtitle: Delivery to Damrak 1,"
        " buttons: [Track order, Talk to a human]}}]\n",
        failing=ADDRESS + "[{type: text}, {card: {title: Order 1043}}]\n",
        shows=(
            "  expected: a card titled 'Order 1043'",
            "  closest: bubble #2 (card 'Order 1042')",
            "    payload.title: expected 'Order 1043', got 'Order 1042'",
        ),
    ),
    "payload": Case(
        passing=_steps(
            SHIPPED,
            "[{type: text}, {payload: {title: Follow your pizza, buttons: [{type: url}, {type: phone}]}}]",
        ),
        failing=_steps(SHIPPED, "[{type: text}, {payload: {title: Follow the pizza}}]"),
        shows=("    payload.title: expected 'Follow the pizza', got 'Follow your pizza'",),
    ),
    "schema": Case(
        passing=_steps(HELLO, "[{schema: {properties: {type: {const: text}}, required: [payload]}}]"),
        failing=_steps(HELLO, "[{schema: {properties: {type: {const: card}}}}]"),
        shows=("  expected: a reply, matching the inline schema", "    type: schema: 'card' was expected"),
    ),
    "flow": Case(
        passing=_steps(HELLO, "[{flow: Greeting}]"),
        failing=_steps(HELLO, "[{flow: Order}]"),
        shows=("    message.flow.title: expected 'Order' (title or id), got 'Greeting' (id 'greeting')",),
    ),
    "step": Case(
        passing=_steps(HELLO, "[{step: hello}]"),
        failing=_steps(HELLO, "[{step: Menu}]"),
        shows=("    message.step.title: expected 'Menu' (title or id), got 'Hello' (id 'hello')",),
    ),
    "params": Case(
        passing=_steps(SHIPPED, '[{params: {orderId: "42"}}, {params: {orderId: [{value: "42"}]}}]'),
        failing=_steps(SHIPPED, '[{params: {orderId: "43"}}, {type: buttons}]'),
        shows=("    message.params.orderId[0].value: expected '43', got '42'",),
    ),
    "fallback": Case(
        passing=_steps("say: nonsense blah", "[{fallback: true}]"),
        failing=_steps(HELLO, "[{fallback: true}]"),
        shows=(
            "    message.step.type: expected the fallback (an UNKNOWN step), got a step of type 'INTENT'",
        ),
    ),
    "silent": Case(
        passing=_steps(HELLO, "[{silent: false}]"),
        failing=_steps(HELLO, "[{silent: true}]"),
        shows=("    message.silent: expected True, got False",),
    ),
    "save": Case(
        passing=_steps(HELLO, "[{save: {first: 'payload.quickReplies[0].label', where: message.step.title}}]")
        + "  - say: '{first}'\n    expect: [{text: {contains: Which size}}]\n",
        failing=_steps(HELLO, "[{save: {x: payload.nothing}}]"),
        shows=("    payload.nothing: save: 'payload.nothing' not found",),
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_expect_key_passes_and_fails(flowai: FlowaiTester, case: Case) -> None:
    """A conversation meeting the key passes; one breaking it fails showing expected, closest and mismatch."""
    holds = f"name: holds\ntimeout: 3\nsettle: 0.05\n{case.passing}"
    flowai.spec(f"{holds}---\nname: breaks\ntransport: rest\n{case.failing}")
    result = flowai.run()
    result.assert_outcomes(passed=1, failed=1)
    shows = [glob.escape(line) for line in case.shows]
    result.stdout.fnmatch_lines(
        [
            "test_x.flowai.yaml:*: turn * of 'breaks' failed:"
            " an expected reply is not in the answer (sync REST: the HTTP answer is the whole reply)",
            *shows,
        ]
    )
    result.stdout.fnmatch_lines(["FAILED test_x.flowai.yaml::breaks - *"])
