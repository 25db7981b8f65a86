"""Pure tests of pytest_flowai.expect: each `expect` key, compile errors, and matching a turn's bubbles."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import pytest

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.errors import Span, SpecError
from pytest_flowai.expect import Bubble, Expectation, Mismatch, TurnMatcher, bubbles_of, compile_entry
from pytest_flowai.expect._assign import assign_any_order, assign_in_order
from pytest_flowai.spec.model import ExtraMode

SPAN = Span(path="specs/test_shop.flowai.yaml", line=12, column=9)


def text(value: str, **payload: JSON) -> JSONObject:
    """A wire text response."""
    return {"type": "text", "payload": {"text": value, **payload}, "delay": 0}


def quick_replies(*labels: str) -> list[JSON]:
    return [{"label": label, "value": label.lower(), "type": "text"} for label in labels]


def message(
    *responses: JSONObject,
    flow: str = "Greeting",
    step: str = "hello",
    step_type: str = "INTENT",
    **extra: JSON,
) -> JSONObject:
    """A wire message holding ``responses``, answered by ``step`` of ``flow``."""
    return {
        "fallback": "speech",
        "responses": list(responses),
        "flow": {"flowId": f"{flow.lower()}-id", "title": flow},
        "step": {"stepId": f"{step.lower()}-id", "title": step, "type": step_type},
        **extra,
    }


def bubble(response: JSONObject, held_by: JSONObject | None = None, index: int = 0) -> Bubble:
    return Bubble(
        response=response, message=held_by if held_by is not None else message(response), index=index
    )


def entry(data: Mapping[str, JSON], key_spans: Mapping[str, Span] | None = None) -> Expectation:
    return compile_entry(dict(data), SPAN, key_spans)


def problems(data: Mapping[str, JSON], response: JSONObject, held_by: JSONObject | None = None) -> list[str]:
    """The mismatches of one entry against one bubble, as the report prints them."""
    return [str(m) for m in entry(data).check(bubble(response, held_by))]


def spec_error(data: Mapping[str, JSON], key_spans: Mapping[str, Span] | None = None) -> SpecError:
    with pytest.raises(SpecError) as info:
        entry(data, key_spans)
    return info.value


def bubbles(*responses: JSONObject) -> list[Bubble]:
    """One bubble per response, each in its own message, numbered in order."""
    return bubbles_of([{"threadId": "t", "messages": [message(r)]} for r in responses])


def run_turn(
    entries: list[Mapping[str, JSON]],
    responses: list[JSONObject],
    *,
    unordered: bool = False,
    extra: ExtraMode = ExtraMode.FAIL,
) -> TurnMatcher:
    matcher = TurnMatcher([entry(e) for e in entries], unordered=unordered, extra=extra)
    matcher.feed(bubbles(*responses))
    return matcher


# -- bubbles -------------------------------------------------------------------------------------------------


def test_bubbles_of_flattens_payloads_in_arrival_order_with_their_message() -> None:
    """Each response becomes a bubble holding its message, numbered from `start` across payloads."""
    first = message(text("a"), text("b"), step="one")
    second = message(text("c"), step="two")
    payloads: list[JSONObject] = [
        {"threadId": "t", "messages": [first]},
        {"threadId": "t", "messages": [second, "junk"], "originator": {}},
    ]
    found = bubbles_of(payloads, start=3)
    assert [(b.index, b.response["payload"], b.message is first) for b in found] == [
        (3, {"text": "a"}, True),
        (4, {"text": "b"}, True),
        (5, {"text": "c"}, False),
    ]
    assert found[2].message is second


def test_bubbles_of_ignores_malformed_parts_instead_of_raising() -> None:
    """A payload without messages, or a message without a list of responses, yields no bubbles."""
    payloads: list[JSONObject] = [{"threadId": "t"}, {"messages": [{"responses": "x"}, {"responses": [3]}]}]
    assert bubbles_of(payloads) == []


# -- type and text -------------------------------------------------------------------------------------------


def test_type_matches_exactly() -> None:
    """`type` passes on the same template type and names both types otherwise."""
    assert problems({"type": "text"}, text("Hi")) == []
    assert problems({"type": "card"}, text("Hi")) == ["type: expected 'card', got 'text'"]


def test_text_string_is_an_exact_match() -> None:
    """A plain string must equal payload.text exactly."""
    assert problems({"text": "Yes"}, text("Yes")) == []
    assert problems({"text": "Yes"}, text("Yeah")) == ["payload.text: expected 'Yes', got 'Yeah'"]
    assert problems({"text": {"equals": "Yes"}}, text("yes")) == ["payload.text: expected 'Yes', got 'yes'"]


def test_text_on_a_response_without_text_says_so() -> None:
    """A text expectation against an image reports that there was no text."""
    image: JSONObject = {"type": "image", "payload": {"title": "Dam", "url": "https://x/y.png"}}
    assert problems({"text": {"contains": "Dam"}}, image) == [
        "payload.text: expected text containing 'Dam', got no text"
    ]


def test_text_contains_and_icase() -> None:
    """`contains` finds a part; with `icase` the case of either side does not matter."""
    assert problems({"text": {"contains": "Order"}}, text("Your Order is in")) == []
    assert problems({"text": {"contains": "order"}}, text("Your Order is in")) == [
        "payload.text: expected text containing 'order', got 'Your Order is in'"
    ]
    assert problems({"text": {"contains": "ORDER", "icase": True}}, text("Your Order is in")) == []


def test_text_regex_is_searched_and_named_groups_become_captures() -> None:
    """A regex matches anywhere in the text and its named groups are captured; a miss quotes both sides."""
    expectation = entry({"text": {"regex": r"Order (?P<order>\d+)(?P<note> urgent)?"}})
    hit = bubble(text("Thanks! Order 4711 placed"))
    assert expectation.check(hit) == []
    assert expectation.captures(hit) == {"order": "4711"}  # the group that took no part is not set
    assert problems({"text": {"regex": r"Order \d+"}}, text("no luck")) == [
        r"payload.text: expected text matching regex 'Order \\d+', got 'no luck'"
    ]


def test_text_regex_with_icase_ignores_case() -> None:
    """`icase` compiles the regex case-insensitively."""
    assert problems({"text": {"regex": "^hello", "icase": True}}, text("HELLO there")) == []
    assert problems({"text": {"regex": "^hello"}}, text("HELLO there")) != []


def test_text_one_of() -> None:
    """`one_of` accepts any listed text exactly, or ignoring case with `icase`."""
    assert problems({"text": {"one_of": ["Hi there!", "Hello!"]}}, text("Hello!")) == []
    assert problems({"text": {"one_of": ["Hi there!", "Hello!"]}}, text("hello!")) == [
        "payload.text: expected one of ['Hi there!', 'Hello!'], got 'hello!'"
    ]
    assert problems({"text": {"one_of": ["Hi there!", "Hello!"], "icase": True}}, text("hello!")) == []


def test_text_not_negates_a_string_or_a_mapping() -> None:
    """`not` passes when the inner expectation fails, and explains itself when it holds."""
    assert problems({"text": {"not": "Error"}}, text("All good")) == []
    assert problems({"text": {"not": "Error"}}, text("Error")) == [
        "payload.text: expected text not 'Error', got 'Error'"
    ]
    assert problems({"text": {"not": {"contains": "sorry"}}}, text("Sorry, no")) == []
    assert problems({"text": {"not": {"contains": "sorry", "icase": True}}}, text("Sorry, no")) == [
        "payload.text: expected text not containing 'sorry' (ignoring case), got 'Sorry, no'"
    ]


def test_outer_icase_reaches_a_not_string() -> None:
    """`{not: x, icase: true}` compares the negated string ignoring case."""
    assert problems({"text": {"not": "error", "icase": True}}, text("ERROR")) != []
    assert problems({"text": {"not": "error"}}, text("ERROR")) == []


def test_a_negated_regex_captures_nothing() -> None:
    """Groups inside `not` never define variables, since the regex did not match."""
    expectation = entry({"text": {"not": {"regex": "(?P<x>zzz)"}}})
    assert expectation.captures(bubble(text("abc"))) == {}


# -- tolerant and combined text ------------------------------------------------------------------------------

GREETING = "Hi there! Welcome to Pizza Bella. What can I do for you?"


def test_text_similar_passes_on_varied_wording_and_ignores_punctuation_and_order() -> None:
    """`similar` passes on the same words in other punctuation or order, and on a reply holding them all."""
    assert (
        problems({"text": {"similar": "Welcome to Pizza Bella, what can I do for you"}}, text(GREETING)) == []
    )
    assert problems({"text": {"similar": "What can I do for you? Hi there!"}}, text(GREETING)) == []
    assert problems({"text": {"similar": "Welcome to Pizza Bella"}}, text(GREETING)) == []


def test_text_similar_failure_shows_the_score_the_text_and_the_minimum() -> None:
    """A text below the minimum fails quoting it with its score (rounded down) and the minimum it needs."""
    assert problems(
        {"text": {"similar": "Pick a colour"}}, text("Great choice! Which size would you like?")
    ) == [
        "payload.text: expected text at least 0.85 similar to 'Pick a colour',"
        " got 'Great choice! Which size would you like?' (0.35 similar)"
    ]


def test_text_similar_min_sets_the_threshold() -> None:
    """`min` lowers or raises the score a text needs (0..1)."""
    reply = text("Great choice! Which size would you like?")
    assert problems({"text": {"similar": "Which colour would you like today?", "min": 0.7}}, reply) == []
    assert problems({"text": {"similar": "Which colour would you like today?"}}, reply) == [
        "payload.text: expected text at least 0.85 similar to 'Which colour would you like today?',"
        " got 'Great choice! Which size would you like?' (0.75 similar)"
    ]
    assert problems({"text": {"similar": GREETING, "min": 1}}, text(GREETING.lower())) != []


def test_text_similar_counts_case_unless_icase() -> None:
    """Case counts in `similar` as in every text test; `icase: true` compares ignoring it."""
    assert problems({"text": {"similar": "hi there, welcome to pizza bella"}}, text(GREETING)) != []
    assert (
        problems({"text": {"similar": "hi there, welcome to pizza bella", "icase": True}}, text(GREETING))
        == []
    )
    assert (
        entry({"text": {"similar": "hi", "icase": True, "min": 0.9}}).describe()
        == "a text reply at least 0.9 similar to 'hi' (ignoring case)"
    )


def test_closest_bubble_is_the_most_similar_among_equals() -> None:
    """Of several bubbles failing one `similar`, the failure shows the one that came nearest."""
    responses = [text("Opening hours"), text("Welcome back"), text("Goodbye")]
    (failure,) = (
        run_turn([{"text": {"similar": "Hello! Welcome to Pizza Bella"}}], responses).result().failures
    )
    assert failure.bubble is not None
    assert failure.bubble.index == 1


def test_text_all_of_needs_every_element() -> None:
    """`all_of` passes when every element holds and names the first that does not."""
    reply = text("Order 4711 placed, thank you")
    spec: JSON = {"all_of": [{"contains": "thank you"}, {"regex": r"Order \d+"}]}
    assert problems({"text": spec}, reply) == []
    assert problems(
        {"text": {"all_of": [{"contains": "Order"}, {"similar": "Your order is on its way"}]}}, reply
    ) == [
        "payload.text: expected text containing 'Order' and at least 0.85 similar to"
        " 'Your order is on its way', got 'Order 4711 placed, thank you'"
        " (not at least 0.85 similar to 'Your order is on its way': 0.31 similar)"
    ]


def test_text_any_of_needs_one_element_and_a_plain_string_is_exact() -> None:
    """`any_of` passes when one element holds; a string element is an exact text."""
    assert problems({"text": {"any_of": ["Hello!", {"contains": "Welcome"}]}}, text(GREETING)) == []
    assert problems({"text": {"any_of": ["Hello!", {"contains": "Bye"}]}}, text("Hello!")) == []
    assert problems({"text": {"any_of": ["Hello!", {"contains": "Bye"}]}}, text("Hi")) == [
        "payload.text: expected text 'Hello!' or containing 'Bye', got 'Hi'"
    ]


def test_combinations_nest_and_read_with_parentheses() -> None:
    """`not`, `all_of` and `any_of` nest; a nested combination is parenthesised in the description."""
    spec: JSON = {
        "all_of": [{"any_of": ["Yes", "Yep"]}, {"not": {"all_of": [{"contains": "a"}, {"contains": "b"}]}}]
    }
    assert entry({"text": spec}).describe() == (
        "a text reply ('Yes' or 'Yep') and not (containing 'a' and containing 'b')"
    )
    assert problems({"text": spec}, text("Yes")) == []
    assert problems({"text": spec}, text("Nope")) != []


def test_outer_icase_reaches_the_elements_of_all_of_and_any_of() -> None:
    """`icase` beside `all_of`/`any_of` applies to each element unless the element says otherwise."""
    assert (
        problems({"text": {"any_of": ["hello!", {"contains": "bye"}], "icase": True}}, text("HELLO!")) == []
    )
    spec: JSON = {"all_of": [{"contains": "hello"}, {"contains": "World", "icase": False}], "icase": True}
    assert problems({"text": spec}, text("HELLO World")) == []
    assert problems({"text": spec}, text("HELLO WORLD")) != []


def test_all_of_captures_its_regex_groups_and_any_of_captures_none() -> None:
    """Named groups of regexes inside `all_of` become captures; inside `any_of` they do not."""
    reply = bubble(text("Order 4711 for Anna"))
    both: JSON = {"all_of": [{"regex": r"Order (?P<order>\d+)"}, {"regex": r"for (?P<name>\w+)"}]}
    assert entry({"text": both}).captures(reply) == {"order": "4711", "name": "Anna"}
    either: JSON = {"any_of": [{"regex": r"Order (?P<order>\d+)"}, "x"]}
    assert entry({"text": either}).captures(reply) == {}


def test_a_turns_result_carries_the_captures_of_every_matched_entry() -> None:
    """The verdict on a turn holds what its matched entries define (regex groups, alone or in `all_of`, and
    `save`), and nothing from entries that define nothing."""
    entries: list[Mapping[str, JSON]] = [
        {"text": {"regex": r"Order (?P<order>\d+)"}},
        {"text": {"all_of": [{"regex": r"for (?P<name>\w+)"}, {"contains": "for"}]}},
        {"text": {"contains": "Total"}, "save": {"total": "payload.text"}},
        {"text": {"regex": r"Bye"}},
        {"text": {"any_of": [{"regex": r"(?P<never>Thanks)"}, "x"]}},
    ]
    responses = [text("Order 4711"), text("for Anna"), text("Total 9"), text("Bye"), text("Thanks")]
    result = run_turn(entries, responses).result()
    assert result.ok
    assert dict(result.captures) == {"order": "4711", "name": "Anna", "total": "Total 9"}


# -- quick replies, buttons, card ----------------------------------------------------------------------------


def test_quick_reply_labels_are_the_exact_list_in_order() -> None:
    """A list of labels must equal the wire labels, in order and count."""
    response = text("Soda?", quickReplies=quick_replies("Yes", "No"))
    assert problems({"quickReplies": ["Yes", "No"]}, response) == []
    assert problems({"quickReplies": ["Yes", "Nope"]}, response) == [
        "payload.quickReplies[1].label: expected 'Nope', got 'No'"
    ]
    assert problems({"quickReplies": ["No", "Yes", "Maybe"]}, response) == [
        "payload.quickReplies: expected 3 quick replies ['No', 'Yes', 'Maybe'], got 2 ['Yes', 'No']"
    ]


def test_quick_replies_absent_count_as_none() -> None:
    """A response without quick replies fails a list of labels and passes an empty list."""
    assert problems({"quickReplies": ["Yes"]}, text("Hi")) == [
        "payload.quickReplies: expected 1 quick replies ['Yes'], got none"
    ]
    assert problems({"quickReplies": []}, text("Hi")) == []


def test_quick_reply_mappings_match_each_wire_object_as_a_subset() -> None:
    """Mappings compare only the keys they name, element by element."""
    response = text("Soda?", quickReplies=quick_replies("Yes", "No"))
    assert problems({"quickReplies": [{"label": "Yes"}, {"value": "no", "type": "text"}]}, response) == []
    assert problems({"quickReplies": [{"label": "Yes", "value": "YES"}, {"label": "No"}]}, response) == [
        "payload.quickReplies[0].value: expected 'YES', got 'yes'"
    ]


def test_quick_replies_subset_allows_any_order_and_others() -> None:
    """`subset` passes when the named replies are present anywhere, and names the first one missing."""
    response = text("Pick", quickReplies=quick_replies("Cola", "Fanta", "Water"))
    assert problems({"quickReplies": {"subset": ["Water", {"value": "cola"}]}}, response) == []
    assert problems({"quickReplies": {"subset": ["Water", "Sprite"]}}, response) == [
        "payload.quickReplies: expected quick replies to include 'Sprite', got ['Cola', 'Fanta', 'Water']"
    ]


def test_quick_replies_subset_is_not_greedy() -> None:
    """A broad item taking the only bubble a narrow item fits must not make the subset fail."""
    response = text("Pick", quickReplies=quick_replies("Yes", "No"))
    assert problems({"quickReplies": {"subset": [{"type": "text"}, "Yes"]}}, response) == []


def test_buttons_read_payload_buttons() -> None:
    """`buttons` applies the same rules to payload.buttons."""
    response: JSONObject = {
        "type": "buttons",
        "payload": {"title": "Menu", "buttons": [{"type": "url", "label": "Site", "value": "https://x"}]},
    }
    assert problems({"buttons": ["Site"]}, response) == []
    assert problems({"buttons": [{"type": "postback"}]}, response) == [
        "payload.buttons[0].type: expected 'postback', got 'url'"
    ]


def test_card_checks_type_title_subtitle_and_buttons() -> None:
    """`card` needs a card response and compares only the fields it names."""
    card: JSONObject = {
        "type": "card",
        "payload": {
            "title": "Cola",
            "subtitle": "cold",
            "buttons": [{"type": "postback", "label": "Buy", "value": "buy"}],
        },
    }
    assert problems({"card": {"title": "Cola", "buttons": ["Buy"]}}, card) == []
    assert problems({"card": {"title": "Cola"}}, text("Cola")) == [
        "type: expected a 'card' response, got 'text'"
    ]
    assert problems({"card": {"subtitle": "warm"}}, card) == ["payload.subtitle: expected 'warm', got 'cold'"]
    assert problems({"card": {"buttons": {"subset": ["Sell"]}}}, card) == [
        "payload.buttons: expected buttons to include 'Sell', got ['Buy']"
    ]


# -- payload and schema --------------------------------------------------------------------------------------


def test_payload_is_a_json_subset() -> None:
    """Mappings match by key, lists element-wise with the same length, scalars by JSON value."""
    location: JSONObject = {
        "type": "location",
        "payload": {"title": "Dam", "lat": "52.37", "long": "4.89", "tags": ["a", "b"], "n": 1, "ok": True},
    }
    assert problems({"payload": {"title": "Dam", "tags": ["a", "b"], "n": 1.0}}, location) == []
    assert problems({"payload": {"tags": ["a"]}}, location) == [
        "payload.tags: expected 1 items ['a'], got 2 ['a', 'b']"
    ]
    assert problems({"payload": {"address": {"city": "Amsterdam"}}}, location) == [
        "payload.address: expected an object {'city': 'Amsterdam'}, got nothing"
    ]
    assert problems({"payload": {"ok": 1}}, location) == ["payload.ok: expected 1, got True"]


def test_inline_schema_reports_the_failing_path() -> None:
    """`schema` validates the response object and reports the schema's path and message."""
    schema: JSON = {
        "type": "object",
        "required": ["payload"],
        "properties": {"payload": {"properties": {"text": {"type": "string", "maxLength": 5}}}},
    }
    assert problems({"schema": schema}, text("Hi")) == []
    assert problems({"schema": schema}, text("Too long")) == ["payload.text: schema: 'Too long' is too long"]


def test_inline_schema_local_refs_resolve() -> None:
    """A schema may refer to its own `$defs`."""
    schema: JSON = {
        "$defs": {"short": {"type": "string", "maxLength": 2}},
        "properties": {"payload": {"properties": {"text": {"$ref": "#/$defs/short"}}}},
    }
    assert problems({"schema": schema}, text("Hi")) == []
    assert problems({"schema": schema}, text("Hey")) == ["payload.text: schema: 'Hey' is too long"]


def test_a_bad_inline_schema_is_a_spec_error_at_the_schema_line() -> None:
    """An invalid schema, or a reference that cannot resolve, fails at compile time with the key's span."""
    where = Span(path="specs/test_shop.flowai.yaml", line=14, column=11)
    error = spec_error({"schema": {"type": "strnig"}}, {"schema": where})
    assert error.span == where
    assert error.message.startswith("schema: not a valid JSON Schema: ")
    error = spec_error({"schema": {"$ref": "https://example.com/s.json"}}, {"schema": where})
    assert error.message == "schema: cannot resolve $ref 'https://example.com/s.json'"
    assert (
        spec_error({"schema": {"$ref": "#/$defs/missing"}}).message
        == "schema: cannot resolve $ref '#/$defs/missing'"
    )


# -- message keys --------------------------------------------------------------------------------------------


def test_flow_and_step_match_title_or_id() -> None:
    """`flow` and `step` accept the title or the id, and show both when neither matches."""
    response = text("Hi")
    held_by = message(response, flow="Greeting", step="hello")
    for data in ({"flow": "Greeting"}, {"flow": "greeting-id"}, {"step": "hello"}, {"step": "hello-id"}):
        assert problems(data, response, held_by) == []
    assert problems({"step": "goodbye"}, response, held_by) == [
        "message.step.title: expected 'goodbye' (title or id), got 'hello' (id 'hello-id')"
    ]
    assert problems({"flow": "Shop"}, response, {"responses": [response]}) == [
        "message.flow: expected 'Shop', got no flow"
    ]


def test_params_simple_values_compare_to_the_first_wire_value() -> None:
    """A simply written param (string or number) equals the first wire value's `value`."""
    response = text("Shipped")
    held_by = message(response, params={"orderId": [{"value": "42", "match": "42"}, {"value": "7"}]})
    assert problems({"params": {"orderId": "42"}}, response, held_by) == []
    assert problems({"params": {"orderId": 42}}, response, held_by) == []
    assert problems({"params": {"orderId": "7"}}, response, held_by) == [
        "message.params.orderId[0].value: expected '7', got '42'"
    ]
    assert problems({"params": {"city": "Amsterdam"}}, response, held_by) == [
        "message.params.city[0].value: expected 'Amsterdam', got nothing"
    ]


def test_params_in_wire_form_compare_as_a_subset() -> None:
    """A param written as a list of {value, match} compares as a JSON subset of the wire list."""
    response = text("Shipped")
    held_by = message(response, params={"orderId": [{"value": "42", "match": "order 42"}]})
    assert problems({"params": {"orderId": [{"value": "42"}]}}, response, held_by) == []
    assert problems({"params": {"orderId": [{"value": "42", "match": "42"}]}}, response, held_by) == [
        "message.params.orderId[0].match: expected '42', got 'order 42'"
    ]


def test_fallback_is_true_only_for_an_unknown_step() -> None:
    """`fallback: true` needs step type UNKNOWN and `fallback: false` rejects it; the wire text is ignored."""
    response = text("Sorry?")
    unknown = message(response, step="fallback", step_type="UNKNOWN")
    intent = message(response, step="hello", step_type="INTENT")
    assert problems({"fallback": True}, response, unknown) == []
    assert problems({"fallback": False}, response, intent) == []
    assert problems({"fallback": True}, response, intent) == [
        "message.step.type: expected the fallback (an UNKNOWN step), got a step of type 'INTENT'"
    ]
    assert problems({"fallback": False}, response, unknown) == [
        "message.step.type: expected a step other than the fallback, got an UNKNOWN step"
    ]


def test_silent_absent_means_false() -> None:
    """`silent` compares message.silent, taking a missing flag as false."""
    response = text("...")
    assert problems({"silent": False}, response, message(response)) == []
    assert problems({"silent": True}, response, message(response, silent=True)) == []
    assert problems({"silent": True}, response, message(response)) == [
        "message.silent: expected True, got False"
    ]


def test_delay_compares_the_wire_value_exactly_or_in_a_range() -> None:
    """`delay` is the response's delay in milliseconds as sent (absent: 0), exactly or within min/max."""
    delayed = {**text("..."), "delay": 300}
    assert problems({"delay": 300}, delayed) == []
    assert problems({"delay": {"min": 200}}, delayed) == []
    assert problems({"delay": 0}, {"type": "text", "payload": {"text": "x"}}) == []
    assert problems({"delay": 100}, delayed) == ["delay: expected 100, got 300"]
    assert problems({"delay": {"max": 100}}, delayed) == ["delay: expected between 0 and 100, got 300"]
    assert problems({"delay": {"min": 400}}, delayed) == ["delay: expected at least 400, got 300"]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (-1, "delay: expected a number >= 0, got -1"),
        ("300", "delay: expected a number >= 0, got '300'"),
        ({"least": 1}, "delay: expected a number or a mapping with min and/or max, got {'least': 1}"),
        ({"min": 5, "max": 1}, "delay: min 5 is over max 1"),
    ],
)
def test_delay_refuses_what_is_not_a_delay(value: JSON, reason: str) -> None:
    """A `delay` that is not a number >= 0 or a {min, max} range is a spec error naming the value."""
    assert spec_error({"delay": value}).message == reason


# -- save ----------------------------------------------------------------------------------------------------


def test_save_reads_response_paths_indexes_and_the_message() -> None:
    """`save` paths reach into the response with [i] indexes, and into the message with `message.`."""
    response = text("Order 7", quickReplies=quick_replies("Track", "Cancel"))
    expectation = entry(
        {
            "save": {
                "said": "payload.text",
                "second": "payload.quickReplies[1].value",
                "where": "message.step.title",
                "order.first": "payload.quickReplies[0]",
            }
        }
    )
    hit = bubble(response, message(response, step="ordered"))
    assert expectation.check(hit) == []
    assert expectation.captures(hit) == {
        "said": "Order 7",
        "second": "cancel",
        "where": "ordered",
        "order.first": {"label": "Track", "value": "track", "type": "text"},
    }


def test_a_save_path_that_does_not_resolve_is_a_mismatch() -> None:
    """A bubble without the saved path does not match the entry, pointing at the save key's line."""
    where = Span(path="specs/test_shop.flowai.yaml", line=15, column=11)
    expectation = entry({"text": "Shipped", "save": {"order": "payload.orderId"}}, {"save": where})
    found = expectation.check(bubble(text("Shipped")))
    assert [str(m) for m in found] == ["payload.orderId: save: 'payload.orderId' not found"]
    assert expectation.span_of(found[0]) == where
    assert problems({"save": {"x": "payload.quickReplies[3].label"}}, text("Hi")) == [
        "payload.quickReplies[3].label: save: 'payload.quickReplies[3].label' not found"
    ]


@pytest.mark.parametrize(
    ("save", "message"),
    [
        ({"x": "payload..text"}, "save.x: 'payload..text' is not a path"),
        ({"x": "payload.items[a]"}, "save.x: 'payload.items[a]' is not a path"),
        ({"x": 3}, "save.x: 3 is not a path"),
        ({"1x": "payload.text"}, "save: '1x' is not a usable variable name"),
        ({"env.HOME": "payload.text"}, "save: 'env.HOME' is not a usable variable name"),
    ],
)
def test_bad_save_entries_are_spec_errors(save: JSON, message: str) -> None:
    """A save with a malformed path or an unusable variable name is rejected when compiled."""
    assert spec_error({"save": save}).message == message


# -- compile errors and spans --------------------------------------------------------------------------------


def test_a_bad_regex_is_a_spec_error_at_the_text_line() -> None:
    """A regex that does not compile names the pattern and the position, at the `text` key's line."""
    where = Span(path="specs/test_shop.flowai.yaml", line=13, column=11)
    error = spec_error({"type": "text", "text": {"regex": "Order (\\d+"}}, {"text": where})
    assert error.span == where
    assert (
        error.message == "text.regex: invalid regular expression 'Order (\\\\d+': "
        "missing ), unterminated subpattern at position 6"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"text": {"contains": "a", "regex": "b"}},
            "text: needs exactly one of equals, contains, regex, one_of, not, similar, all_of, any_of"
            " (found contains, regex)",
        ),
        (
            {"text": {"icase": True}},
            "text: needs exactly one of equals, contains, regex, one_of, not, similar, all_of, any_of"
            " (found none)",
        ),
        ({"text": {"contain": "a"}}, "text: unknown key 'contain'"),
        ({"text": {"one_of": []}}, "text.one_of: expected a non-empty list of strings, got []"),
        ({"text": {"contains": "a", "icase": "yes"}}, "text.icase: expected true or false, got 'yes'"),
        ({"text": 42}, "text: expected a string or a mapping, got 42"),
        ({"text": {"similar": "a", "min": 1.5}}, "text.min: expected a number from 0 to 1, got 1.5"),
        ({"text": {"similar": "a", "min": True}}, "text.min: expected a number from 0 to 1, got True"),
        ({"text": {"contains": "a", "min": 0.5}}, "text.min: belongs to similar, not to contains"),
        ({"text": {"similar": 3}}, "text.similar: expected a string, got 3"),
        (
            {"text": {"all_of": []}},
            "text.all_of: expected a non-empty list of texts or text mappings, got []",
        ),
        ({"text": {"any_of": [{"contain": "a"}]}}, "text.any_of[0]: unknown key 'contain'"),
        (
            {"text": {"all_of": ["a", {"any_of": [7]}]}},
            "text.all_of[1].any_of[0]: expected a string or a mapping, got 7",
        ),
        (
            {"quickReplies": {"any": ["a"]}},
            "quickReplies: a mapping here takes only the key 'subset', got ['any']",
        ),
        ({"quickReplies": [1]}, "quickReplies[0]: expected a label or a mapping, got 1"),
        ({"card": {"titel": "x"}}, "card: unknown key 'titel' (card takes title, subtitle, buttons)"),
        ({"fallback": "yes"}, "fallback: expected true or false, got 'yes'"),
        ({"params": ["a"]}, "params: expected a mapping of parameter names, got ['a']"),
        ({"step": 3}, "step: expected a string, got 3"),
    ],
)
def test_malformed_values_are_spec_errors(data: Mapping[str, JSON], message: str) -> None:
    """Every malformed value gives a message naming the key and the value, never a traceback."""
    assert spec_error(data).message == message


def test_an_unknown_key_suggests_the_closest_one() -> None:
    """A misspelt key is a SpecError at its line with a did-you-mean hint."""
    where = Span(path="specs/test_shop.flowai.yaml", line=16, column=9)
    error = spec_error({"quickReply": ["Yes"]}, {"quickReply": where})
    assert (error.span, error.message, error.hint) == (
        where,
        "unknown expect key 'quickReply'",
        "did you mean 'quickReplies'?",
    )


def test_span_of_points_at_the_failing_key_else_the_entry() -> None:
    """A mismatch maps to its key's line when the key has a span, else to the entry's line."""
    text_line = Span(path="specs/test_shop.flowai.yaml", line=13, column=11)
    expectation = entry({"text": "Hi", "step": "hello"}, {"text": text_line})
    text_miss, step_miss = expectation.check(bubble(text("Ho"), message(text("Ho"), step="bye")))
    assert expectation.span_of(text_miss) == text_line
    assert expectation.span_of(step_miss) == SPAN
    assert expectation.span_of(Mismatch(path="x", reason="y")) == SPAN


# -- describe ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (
            {"text": {"contains": "Order"}, "quickReplies": ["Yes", "No"], "step": "hello"},
            "a text reply containing 'Order', quick replies ['Yes', 'No'], from step 'hello'",
        ),
        ({"type": "text", "text": "Hi"}, "a text reply 'Hi'"),
        ({"text": {"one_of": ["a", "b"], "icase": True}}, "a text reply one of ['a', 'b'] (ignoring case)"),
        ({"text": {"not": {"regex": "err"}}}, "a text reply not matching regex 'err'"),
        ({"type": "image"}, "an image reply"),
        ({}, "a reply"),
        (
            {"card": {"title": "Cola", "buttons": {"subset": ["Buy"]}}},
            "a card titled 'Cola' with buttons including ['Buy']",
        ),
        (
            {"fallback": True, "flow": "Main"},
            "a reply, answered by the fallback (UNKNOWN) step, from flow 'Main'",
        ),
        ({"silent": False, "params": {"id": "1"}}, "a reply, not silent, params including {'id': '1'}"),
        (
            {"payload": {"lat": "1"}, "schema": {"title": "loc"}},
            "a reply, payload including {'lat': '1'}, matching schema 'loc'",
        ),
        (
            {"text": "Hi", "save": {"greeting": "payload.text"}},
            "a text reply 'Hi', saving greeting from payload.text",
        ),
    ],
)
def test_describe_states_the_entry_in_plain_words(data: Mapping[str, JSON], words: str) -> None:
    """describe() gives one readable line, in the entry's key order."""
    assert entry(data).describe() == words


# -- turns ---------------------------------------------------------------------------------------------------


def test_entries_match_an_in_order_subsequence() -> None:
    """In-order entries may skip bubbles between them, and take the earliest fitting ones."""
    matcher = run_turn(
        [{"text": "a"}, {"text": "c"}],
        [text("a"), text("b"), text("c"), text("c")],
        extra=ExtraMode.IGNORE,
    )
    result = matcher.result()
    assert result.ok
    assert result.matches == ((0, 0), (1, 2))
    assert [b.index for b in result.extras] == [1, 3]


def test_in_order_matching_rejects_replies_out_of_order() -> None:
    """Two fitting bubbles in the wrong order fail, and the report says the order was the problem."""
    result = run_turn([{"text": "a"}, {"text": "b"}], [text("b"), text("a")]).result()
    assert not result.ok
    assert result.matches == ((0, 1),)
    (failure,) = result.failures
    assert failure.index == 1
    assert failure.bubble is not None
    assert failure.bubble.index == 0
    assert failure.mismatches == ()
    assert "entries match replies in order" in failure.note


def test_in_order_failures_place_as_many_entries_as_possible() -> None:
    """When not every entry fits, the report names the fewest unmet entries (not a greedy first pick)."""
    result = run_turn(
        [{"text": "a"}, {"text": "b"}, {"text": "c"}], [text("b"), text("c"), text("a")]
    ).result()
    assert result.matches == ((1, 0), (2, 1))
    assert [f.index for f in result.failures] == [0]


def test_unordered_finds_an_assignment_where_greedy_fails() -> None:
    """A broad entry that would grab the only bubble a later entry fits is moved by an augmenting path."""
    entries: list[Mapping[str, JSON]] = [{"text": {"contains": "a"}}, {"text": "a"}]
    result = run_turn(entries, [text("a"), text("ab")], unordered=True).result()
    assert result.ok
    assert result.matches == ((0, 1), (1, 0))
    assert not run_turn(entries, [text("a"), text("ab")]).result().ok


def test_unordered_assignment_follows_long_augmenting_chains() -> None:
    """A displacement chain longer than Python's recursion limit still yields the complete assignment."""
    count = 1500
    # Bubbles arrive x(n-1) .. x0; entry i fits x(i) and x(i+1) and tries x(i+1) first, the last entry only
    # fits x(n-1): placing it shifts every other entry down by one.
    position = {value: count - 1 - value for value in range(count)}
    fits = [[False] * count for _ in range(count)]
    for i in range(count):
        for value in (i, i + 1) if i < count - 1 else (i,):
            fits[i][position[value]] = True
    assignment = assign_any_order(fits, count)
    assert assignment == {i: position[i] for i in range(count)}


def test_in_order_assignment_is_the_earliest_complete_one_whenever_one_exists() -> None:
    """For every fit relation of up to 3 entries and 4 bubbles with a complete in-order assignment, the
    assignment made is the earliest such one (smallest bubble indexes first), as the order rule says."""
    for entries in range(1, 4):
        for bubbles in range(5):
            for bits in itertools.product((False, True), repeat=entries * bubbles):
                fits = [list(bits[i * bubbles : (i + 1) * bubbles]) for i in range(entries)]
                complete = [
                    chosen
                    for chosen in itertools.combinations(range(bubbles), entries)
                    if all(fits[i][j] for i, j in enumerate(chosen))
                ]
                assignment = assign_in_order(fits, bubbles)
                if complete:
                    assert assignment == dict(enumerate(min(complete)))
                else:
                    assert len(assignment) < entries


@pytest.mark.parametrize(
    ("mode", "ok"),
    [(ExtraMode.FAIL, False), (ExtraMode.WARN, True), (ExtraMode.IGNORE, True)],
)
def test_extra_modes_decide_about_unmatched_bubbles(mode: ExtraMode, ok: bool) -> None:
    """An unmatched bubble fails the turn with `extra: fail` and is only listed with `warn` and `ignore`."""
    result = run_turn([{"text": "b"}], [text("a"), text("b")], extra=mode).result()
    assert result.ok is ok
    assert result.extra_mode is mode
    assert [b.index for b in result.extras] == [0]
    assert ("unexpected: bubble #1 (text 'a')" in result.describe_failure()) is not ok


def test_satisfied_follows_the_bubbles_fed_so_far() -> None:
    """The matcher is satisfied only once every entry can be assigned, and stays so as extras arrive."""
    matcher = TurnMatcher([entry({"text": "a"}), entry({"text": "b"})])
    assert not matcher.satisfied
    matcher.feed(bubbles(text("a")))
    assert not matcher.satisfied
    later = bubbles(text("x"), text("x"), text("b"))[1:]
    matcher.feed(later)
    assert matcher.satisfied
    assert matcher.result().matches == ((0, 0), (1, 2))


def test_no_entries_pass_only_without_bubbles() -> None:
    """An empty entry list (expect: none) is satisfied at once and fails on any bubble when extras fail."""
    assert TurnMatcher([]).satisfied
    assert TurnMatcher([]).result().ok
    result = run_turn([], [text("hi")]).result()
    assert not result.ok
    assert result.describe_failure().splitlines()[0] == "  unexpected: bubble #1 (text 'hi')"


def test_captures_come_from_all_matched_entries_in_entry_order() -> None:
    """Captures of every matched entry are merged, a later entry's value winning."""
    entries: list[Mapping[str, JSON]] = [
        {"text": {"regex": r"(?P<n>\d+)"}, "save": {"first": "payload.text"}},
        {"text": {"regex": r"(?P<n>\d+)!"}},
    ]
    result = run_turn(entries, [text("1"), text("2!")]).result()
    assert dict(result.captures) == {"n": "2", "first": "1"}


def test_unmatched_entries_do_not_capture() -> None:
    """A turn that fails still reports the captures of the entries that matched, and none of the others."""
    entries: list[Mapping[str, JSON]] = [{"text": {"regex": "(?P<a>a)"}}, {"text": {"regex": "(?P<b>b)"}}]
    assert dict(run_turn(entries, [text("a")]).result().captures) == {"a": "a"}


def test_closest_bubble_has_the_fewest_mismatches_among_unused_ones() -> None:
    """The closest bubble skips bubbles other entries took, prefers fewer mismatches, then earlier ones."""
    entries: list[Mapping[str, JSON]] = [{"text": "Hello"}, {"text": "Bye", "quickReplies": ["Yes"]}]
    responses = [
        text("Hello", quickReplies=quick_replies("Yes")),  # taken by entry 0
        text("Nope"),  # two mismatches
        text("Bye!", quickReplies=quick_replies("Yes")),  # one mismatch
        text("Bye?", quickReplies=quick_replies("Yes")),  # one mismatch, later
    ]
    (failure,) = run_turn(entries, responses, extra=ExtraMode.IGNORE).result().failures
    assert failure.bubble is not None
    assert failure.bubble.index == 2
    assert [str(m) for m in failure.mismatches] == ["payload.text: expected 'Bye', got 'Bye!'"]


def test_describe_failure_lists_expected_closest_and_mismatches() -> None:
    """The failure text names the entry, the closest bubble and one line per mismatch."""
    result = run_turn(
        [{"text": {"contains": "Order"}, "quickReplies": ["Yes", "No"], "step": "hello"}],
        [text("Hi there!", quickReplies=quick_replies("Yes"))],
    ).result()
    assert result.describe_failure().splitlines() == [
        "  expected: a text reply containing 'Order', quick replies ['Yes', 'No'], from step 'hello'",
        "  closest: bubble #1 (text 'Hi there!')",
        "    payload.text: expected text containing 'Order', got 'Hi there!'",
        "    payload.quickReplies: expected 2 quick replies ['Yes', 'No'], got 1 ['Yes']",
    ]
    assert result.failures[0].span == SPAN


def test_describe_failure_without_any_reply() -> None:
    """With no bubble at all the text says that no reply arrived, then what was expected."""
    result = TurnMatcher([entry({"text": "Hi"})]).result()
    assert not result.ok
    assert result.failures[0].bubble is None
    assert result.describe_failure().splitlines() == ["  no reply arrived", "  expected: a text reply 'Hi'"]


def test_describe_failure_when_every_bubble_is_taken() -> None:
    """An unmet entry whose candidates were all taken by other entries says so."""
    result = run_turn([{"text": "a"}, {"text": {"contains": "a"}}], [text("a")]).result()
    assert result.describe_failure().splitlines() == [
        "  expected: a text reply containing 'a'",
        "  closest: none (every reply was taken by another entry)",
    ]


def test_a_passing_turn_describes_no_failure() -> None:
    """describe_failure() of an ok turn is empty."""
    assert run_turn([{"text": "a"}], [text("a")]).result().describe_failure() == ""


def test_odd_wire_shapes_are_mismatches_not_errors() -> None:
    """Responses with missing or mistyped parts never raise; they just do not match."""
    weird: list[JSONObject] = [
        {"type": "text"},
        {"type": "text", "payload": "not an object"},
        {"type": 3, "payload": {"text": 5, "quickReplies": "Yes"}},
    ]
    every_key: Mapping[str, JSON] = {
        "type": "text",
        "text": {"regex": "x"},
        "quickReplies": ["Yes"],
        "buttons": {"subset": ["A"]},
        "card": {"title": "t", "buttons": ["b"]},
        "payload": {"a": [1]},
        "schema": {"required": ["payload"], "properties": {"payload": {"type": "object"}}},
        "flow": "f",
        "step": "s",
        "params": {"p": "1"},
        "fallback": True,
        "silent": True,
        "save": {"v": "payload.text"},
    }
    expectation = entry(every_key)
    odd_message: JSONObject = {"flow": 1, "step": [], "params": "x", "silent": "no"}
    for response in weird:
        plain: JSONObject = {"responses": [response]}
        for held_by in (plain, odd_message):
            assert expectation.check(bubble(response, held_by)) != []


def test_describe_failure_explains_a_reply_out_of_order() -> None:
    """When the closest bubble fits but came in the wrong order, the failure text says so."""
    result = run_turn([{"text": "a"}, {"text": "b"}], [text("b"), text("a")]).result()
    assert result.describe_failure().splitlines() == [
        "  expected: a text reply 'b'",
        "  closest: bubble #1 (text 'b')",
        "    it matches, but out of order: entries match replies in order "
        "(set `unordered: true` to allow any order)",
    ]


def test_the_documented_intro_reply_matches_a_full_entry() -> None:
    """The `message.received` example of Flow.ai's socket documents meets an entry using each message key."""
    payload: JSONObject = {
        "threadId": "EXAMPLE327348ed3bd1439e7b",
        "messages": [
            {
                "fallback": "Hi, how can we help?",
                "silent": False,
                "replyTo": "event attachment",
                "actions": [],
                "responses": [
                    {
                        "type": "text",
                        "payload": {
                            "text": "Hi, how can we help?",
                            "quickReplies": [
                                {"label": "Chat with flow.ai", "value": "Chat with someone", "type": "text"},
                                {
                                    "label": "Call flow.ai",
                                    "value": "What is your phone number?",
                                    "type": "text",
                                },
                                {
                                    "label": "Ask a question",
                                    "value": "I want to ask a question",
                                    "type": "text",
                                },
                            ],
                        },
                        "delay": 0,
                    }
                ],
                "flow": {"flowId": "EXAMPLE-9335-4e74-abb3-5745d26707f7", "title": "Intro"},
                "step": {"stepId": "EXAMPLE-e526-4252-b70c-e6e5af3338e0", "title": "INTRO", "type": "EVENT"},
                "params": {"event": [{"type": "custom", "value": {"name": "INTRO"}}]},
            }
        ],
        "originator": {"userId": "flowai|system", "name": "system", "role": "bot"},
    }
    data: Mapping[str, JSON] = {
        "type": "text",
        "text": {"regex": "(?P<greeting>^Hi)"},
        "quickReplies": {"subset": ["Call flow.ai"]},
        "flow": "Intro",
        "step": "INTRO",
        "params": {"event": [{"value": {"name": "INTRO"}}]},
        "fallback": False,
        "silent": False,
        "save": {"choice": "payload.quickReplies[2].value"},
    }
    matcher = TurnMatcher([entry(data)])
    matcher.feed(bubbles_of([payload]))
    result = matcher.result()
    assert result.ok
    assert dict(result.captures) == {"greeting": "Hi", "choice": "I want to ask a question"}


# -- forbid --------------------------------------------------------------------------------------------------

FALLBACK = "Sorry, I did not get that"


def forbid_turn(
    entries: list[Mapping[str, JSON]], forbid: list[Mapping[str, JSON]], responses: list[JSONObject]
) -> TurnMatcher:
    matcher = TurnMatcher([entry(e) for e in entries], forbid=[entry(f) for f in forbid])
    matcher.feed(bubbles(*responses))
    return matcher


def test_a_forbidden_bubble_fails_the_turn_before_its_expectations() -> None:
    """A bubble matching a forbid entry decides the turn, even when every expectation is met."""
    matcher = forbid_turn(
        [{"text": "Hi"}], [{"text": "Error"}, {"text": {"contains": "Sorry"}}], [text("Hi"), text(FALLBACK)]
    )
    assert matcher.satisfied
    forbidden = matcher.forbidden
    assert forbidden is not None
    assert (forbidden.index, forbidden.bubble.index, forbidden.span) == (1, 1, SPAN)
    assert forbidden.reason() == (
        "a forbidden reply arrived: bubble #2 (text 'Sorry, I did not get that') matches forbid entry 2"
    )
    result = matcher.result()
    assert not result.ok
    assert result.describe_failure() == "  forbidden: a text reply containing 'Sorry'"


def test_the_first_forbidden_bubble_is_the_one_reported() -> None:
    """Of several forbidden bubbles the earliest is kept, so the report names what came first."""
    matcher = forbid_turn([], [{"text": {"contains": "Sorry"}}], [text("Sorry A"), text("Sorry B")])
    assert matcher.forbidden is not None
    assert matcher.forbidden.bubble.index == 0


def test_a_forbid_entry_needs_every_key_to_match() -> None:
    """A forbid entry is an entry: a bubble matching only some of its keys is not forbidden."""
    matcher = forbid_turn([{"text": FALLBACK}], [{"text": FALLBACK, "fallback": True}], [text(FALLBACK)])
    assert matcher.forbidden is None
    assert matcher.result().ok


def test_rapidfuzz_loads_only_when_a_similar_test_scores_a_text() -> None:
    """Compiling and checking text entries leaves rapidfuzz unloaded until a `similar` test scores a text."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from pytest_flowai.errors import Span\n"
        "from pytest_flowai.expect import bubbles_of, compile_entry\n"
        "span = Span(path='s.flowai.yaml', line=1, column=1)\n"
        "reply = {'messages': [{'responses': [{'type': 'text', 'payload': {'text': 'Hi there'}}]}]}\n"
        "bubble = bubbles_of([reply])[0]\n"
        "similar = compile_entry({'text': {'similar': 'Hi there, friend'}}, span)\n"
        "compile_entry({'text': {'regex': 'Hi'}}, span).check(bubble)\n"
        "print('rapidfuzz' in sys.modules)\n"
        "similar.check(bubble)\n"
        "print('rapidfuzz' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["False", "True"]
