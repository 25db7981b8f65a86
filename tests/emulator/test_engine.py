"""The emulator's pure engine: which step answers, what the reply looks like, and how the thread changes."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pytest_flowai import schemas
from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.emulator.engine import BOT_ORIGINATOR, Inbound, InboundKind, Outcome, ThreadState, respond
from pytest_flowai.emulator.flows import Bot, bot_from_data, load_bot
from tests.helpers.dig import dig
from tests.helpers.paths import DEMO_BOT

NOW = datetime(2024, 5, 17, 12, 30, 15, 123456, tzinfo=UTC)


def text_action(*texts: str, **payload: JSON) -> JSONObject:
    return {"type": "TEXT", "payload": {"texts": list(texts), **payload}}


def step(
    title: str, kind: str = "INTENT", *examples: str, contexts: Sequence[str] = (), **extra: JSON
) -> JSONObject:
    """A step that answers with its own title (handy to see which step answered)."""
    data: JSONObject = {
        "title": title,
        "type": kind,
        "contexts": list(contexts),
        "actions": [text_action(title)],
    }
    if kind == "INTENT":
        data["intent"] = {"title": f"{title}_intent", "examples": [{"query": e} for e in examples]}
    data.update(extra)
    return data


def bot_of(*steps: JSONObject, title: str = "Test") -> Bot:
    return bot_from_data({"title": title, "steps": list(steps)})


def send(bot: Bot, inbound: Inbound, state: ThreadState | None = None, seed: int = 0) -> Outcome:
    return respond(bot, state or ThreadState(), inbound, now=NOW, rng=random.Random(seed))


def say(bot: Bot, speech: str, state: ThreadState | None = None, **inbound: JSON) -> Outcome:
    return send(bot, Inbound(kind=InboundKind.TEXT, speech=speech, **inbound), state)  # type: ignore[arg-type]


def after(step_id: str | None, **params: str) -> ThreadState:
    return ThreadState(last_step_id=step_id, params={k: ({"value": v},) for k, v in params.items()})


def answered(outcome: Outcome) -> str | None:
    """The title of the step that answered, or None for silence."""
    if not outcome.messages:
        return None
    step_ref = outcome.messages[0]["step"]
    assert isinstance(step_ref, dict)
    return str(step_ref["title"])


def responses(outcome: Outcome) -> list[JSONObject]:
    found = outcome.messages[0]["responses"]
    assert isinstance(found, list)
    return [r for r in found if isinstance(r, dict)]


def first_text(outcome: Outcome) -> str:
    payload = responses(outcome)[0]["payload"]
    assert isinstance(payload, dict)
    return str(payload["text"])


# --- step selection for texts ---


def test_exact_normalised_example_scores_full_confidence() -> None:
    """Case, punctuation and extra spaces do not matter: " HELLO,  there!! " is the example "hello there"."""
    outcome = say(bot_of(step("Greet", "INTENT", "hello there")), "  HELLO,   there!! ")
    assert answered(outcome) == "Greet"
    assert outcome.messages[0]["intents"] == [
        {"name": "Greet_intent", "title": "Greet_intent", "confidence": 1.0}
    ]


def test_token_overlap_at_threshold_matches() -> None:
    """A text sharing half of the combined words with an example (Jaccard 0.5) matches it."""
    outcome = say(bot_of(step("Order", "INTENT", "order a pizza")), "pizza order now please")
    assert answered(outcome) is None  # 2 shared of 5 words: 0.4
    outcome = say(bot_of(step("Order", "INTENT", "order a pizza")), "order pizza")
    assert answered(outcome) == "Order"  # 2 shared of 3 words
    assert dig(outcome.messages[0], "intents", 0, "confidence") == pytest.approx(0.6667)


def test_overlap_below_threshold_does_not_match() -> None:
    """One shared word out of three is below 0.5: the intent does not answer."""
    assert answered(say(bot_of(step("Order", "INTENT", "order pizza")), "pizza hut")) is None


def test_best_score_wins_and_ties_go_to_file_order() -> None:
    """The highest-scoring intent answers; between equal scores the step earlier in the file wins."""
    bot = bot_of(
        step("First", "INTENT", "big pizza"),
        step("Second", "INTENT", "big pizza"),
        step("Exact", "INTENT", "big pizza please"),
    )
    assert answered(say(bot, "big pizza please")) == "Exact"
    assert answered(say(bot, "big pizza")) == "First"


def test_children_of_last_step_win_over_better_top_level_steps() -> None:
    """A matching child of the thread's last step answers even when a top-level step scores higher."""
    bot = bot_of(
        step("Ask size", "INTENT", "order"),
        step("Large pizza", "INTENT", "large pizza please"),
        step("Large", "INTENT", "large", "large pizza", contexts=["ask-size"]),
    )
    assert answered(say(bot, "large pizza please", after("ask-size"))) == "Large"
    assert answered(say(bot, "large pizza please")) == "Large pizza"


def test_step_with_contexts_is_reachable_only_after_them() -> None:
    """A child step does not answer at top level, whatever the text."""
    bot = bot_of(step("Ask", "INTENT", "ask"), step("Yes", "INTENT", "yes", contexts=["ask"]))
    assert answered(say(bot, "yes")) is None
    assert answered(say(bot, "yes", after("ask"))) == "Yes"


def test_top_level_intent_answers_when_no_child_matches() -> None:
    """When no child matches, the best top-level step answers and becomes the context."""
    bot = bot_of(
        step("Ask", "INTENT", "ask"),
        step("Yes", "INTENT", "yes", contexts=["ask"]),
        step("Hi", "INTENT", "hi"),
    )
    outcome = say(bot, "hi", after("ask"))
    assert answered(outcome) == "Hi"
    assert outcome.state.last_step_id == "hi"


def test_contextual_unknown_answers_and_keeps_the_context() -> None:
    """A child UNKNOWN answers unmatched text and the thread stays at the question, so the user may retry."""
    bot = bot_of(
        step("Ask", "INTENT", "ask"),
        step("Retry", "UNKNOWN", contexts=["ask"]),
        step("Fallback", "UNKNOWN"),
    )
    outcome = say(bot, "gibberish", after("ask"))
    assert answered(outcome) == "Retry"
    assert outcome.state.last_step_id == "ask"
    assert outcome.messages[0]["contexts"] == ["ask"]


def test_top_level_unknown_answers_when_no_contextual_one() -> None:
    """Without a child UNKNOWN the top-level UNKNOWN answers and becomes the last step."""
    bot = bot_of(step("Ask", "INTENT", "ask"), step("Fallback", "UNKNOWN"))
    outcome = say(bot, "gibberish", after("ask"))
    assert answered(outcome) == "Fallback"
    assert outcome.state.last_step_id == "fallback"
    assert outcome.messages[0]["intents"] == []


def test_unanswered_text_is_silence_and_changes_nothing() -> None:
    """With no matching step and no UNKNOWN the bot is silent and the thread's state is unchanged."""
    state = after("ask", city="Rome")
    outcome = say(bot_of(step("Ask", "INTENT", "ask")), "gibberish", state, params={"x": [{"value": "1"}]})
    assert outcome.messages == ()
    assert outcome.state is state
    assert outcome.pause_bot is False


def test_nothing_steps_are_never_matched() -> None:
    """A NOTHING step never answers, neither as a child nor at top level."""
    bot = bot_of(
        step("Ask", "INTENT", "ask"), step("Idle", "NOTHING", contexts=["ask"]), step("Idle top", "NOTHING")
    )
    assert answered(say(bot, "ask", after("ask"))) == "Ask"
    assert answered(say(bot, "anything at all", after("ask"))) is None


def test_anything_in_context_takes_any_text_but_intent_children_come_first() -> None:
    """An ANYTHING child takes any text (even one a top-level intent matches); a child intent wins."""
    bot = bot_of(
        step("Rate us", "INTENT", "thanks"),
        step("Hi", "INTENT", "hi"),
        step("Great", "INTENT", "five stars", contexts=["rate-us"]),
        step("Feedback", "ANYTHING", contexts=["rate-us"]),
    )
    assert answered(say(bot, "hi", after("rate-us"))) == "Feedback"
    assert answered(say(bot, "five stars", after("rate-us"))) == "Great"
    assert answered(say(bot, "hi")) == "Hi"


def test_disabled_flows_never_answer() -> None:
    """Steps of a disabled flow do not answer, even an exact example."""
    flow: JSONObject = {"title": "Off", "disabled": True, "steps": [step("Hi", "INTENT", "hi")]}
    bot = bot_from_data([flow, {"title": "On", "steps": [step("Fallback", "UNKNOWN")]}])
    assert answered(say(bot, "hi")) == "Fallback"


def test_unknown_last_step_id_falls_back_to_top_level() -> None:
    """A thread whose last step no longer exists is treated as having no context."""
    assert answered(say(bot_of(step("Hi", "INTENT", "hi")), "hi", after("gone"))) == "Hi"


# --- SLOT ---


def slot_bot(validation: str | None = "REQUIRED") -> Bot:
    slot: JSONObject = {"label": "city"}
    if validation:
        slot["validation"] = validation
    return bot_of(
        step("Ask city", "INTENT", "weather"),
        step("City", "SLOT", contexts=["ask-city"], slot=slot, actions=[text_action("Weather in {city}")]),
        step("Thanks", "INTENT", "thanks", contexts=["city"]),
        step("Retry", "UNKNOWN", contexts=["ask-city"]),
    )


def test_slot_stores_the_answer_under_its_label_and_becomes_the_context() -> None:
    """The text after the asking step fills the slot param; the SLOT's actions reply; its children follow."""
    outcome = say(slot_bot(), " Amsterdam ", after("ask-city"))
    assert first_text(outcome) == "Weather in Amsterdam"
    assert outcome.state.params["city"] == ({"value": "Amsterdam"},)
    assert outcome.messages[0]["params"] == {"city": [{"value": "Amsterdam"}]}
    assert answered(say(slot_bot(), "thanks", outcome.state)) == "Thanks"


def test_required_slot_rejects_an_empty_answer() -> None:
    """With validation REQUIRED an empty (blank) answer is not taken: the contextual UNKNOWN asks again."""
    outcome = say(slot_bot(), "   ", after("ask-city"))
    assert answered(outcome) == "Retry"
    assert "city" not in outcome.state.params
    assert outcome.state.last_step_id == "ask-city"


def test_optional_slot_accepts_an_empty_answer() -> None:
    """Without REQUIRED an empty answer fills the slot with an empty value."""
    outcome = say(slot_bot(validation=None), "", after("ask-city"))
    assert answered(outcome) == "City"
    assert outcome.state.params["city"] == ({"value": ""},)


# --- params and placeholders ---


def test_incoming_params_merge_into_thread_params_and_win() -> None:
    """metadata params join the thread's params; a name sent again replaces the old value."""
    bot = bot_of(step("Hi", "INTENT", "hi", actions=[text_action("Hi {name} from {city}, {unknown}!")]))
    state = after(None, name="Ann", city="Rome")
    outcome = say(bot, "hi", state, params={"city": [{"value": "Oslo"}], "age": [{"value": 40}]})
    assert first_text(outcome) == "Hi Ann from Oslo, {unknown}!"
    assert outcome.messages[0]["params"] == {
        "name": [{"value": "Ann"}],
        "city": [{"value": "Oslo"}],
        "age": [{"value": 40}],
    }


def test_placeholders_are_filled_in_every_string_of_every_payload() -> None:
    """{name} is filled in nested payload strings and quick replies; non-string values stay as they are."""
    card: JSONObject = {
        "type": "CARD",
        "payload": {
            "title": "Order {order}",
            "buttons": [{"type": "url", "label": "Track", "value": "u/{order}"}],
        },
    }
    quick: JSON = [{"label": "Track {order}"}]
    actions: list[JSON] = [text_action("#{order}", quickReplies=quick), card]
    outcome = say(bot_of(step("Hi", "INTENT", "hi", actions=actions)), "hi", after(None, order="42"))
    text_response, card_response = responses(outcome)
    assert text_response["payload"] == {
        "text": "#42",
        "quickReplies": [{"label": "Track 42", "value": "Track 42", "type": "text"}],
    }
    assert card_response["payload"] == {
        "title": "Order 42",
        "buttons": [{"type": "url", "label": "Track", "value": "u/42"}],
    }


def test_non_text_param_values_fill_as_text_and_objects_stay_unfilled() -> None:
    """Numbers and booleans fill placeholders as text; an object value leaves the placeholder as written."""
    bot = bot_of(step("Hi", "INTENT", "hi", actions=[text_action("{n} {b} {o}")]))
    params = {"n": [{"value": 3}], "b": [{"value": True}], "o": [{"value": {"x": 1}}]}
    assert first_text(say(bot, "hi", params=params)) == "3 true {o}"  # type: ignore[arg-type]


# --- events, location, media ---


def event_bot() -> Bot:
    return bot_of(
        step("Ask", "INTENT", "ask"),
        step("SHIPPED", "EVENT", actions=[text_action("Order {orderId} shipped")]),
        step("PING", "EVENT", contexts=["ask"]),
        step("Fallback", "UNKNOWN"),
    )


def test_event_matches_the_event_step_by_title_with_its_params() -> None:
    """An event answers from the EVENT step of its name; its params and an `event` param join the thread."""
    inbound = Inbound(kind=InboundKind.EVENT, event_name="SHIPPED", params={"orderId": [{"value": "42"}]})
    outcome = send(event_bot(), inbound)
    assert first_text(outcome) == "Order 42 shipped"
    message = outcome.messages[0]
    assert message["replyTo"] == "event attachment"
    assert message["params"] == {
        "orderId": [{"value": "42"}],
        "event": [{"type": "custom", "value": {"name": "SHIPPED"}}],
    }
    assert message["step"] == {"stepId": "shipped", "title": "SHIPPED", "type": "EVENT"}


def test_event_no_step_takes_gets_no_reply_even_with_an_unknown_step() -> None:
    """An unknown event is silence (UNKNOWN answers texts, not events); a child EVENT needs its context."""
    assert send(event_bot(), Inbound(kind=InboundKind.EVENT, event_name="NOPE")).messages == ()
    assert send(event_bot(), Inbound(kind=InboundKind.EVENT, event_name="PING")).messages == ()
    assert (
        answered(send(event_bot(), Inbound(kind=InboundKind.EVENT, event_name="PING"), after("ask")))
        == "PING"
    )


def media_bot() -> Bot:
    return bot_of(
        step("Ask photo", "INTENT", "photo"),
        step("Photo", "IMAGE"),
        step("Photo in context", "IMAGE", contexts=["ask-photo"]),
        step("Clip", "VIDEO"),
        step("Place", "LOCATION"),
        step("Fallback", "UNKNOWN"),
    )


@pytest.mark.parametrize(
    ("media_type", "expected"),
    [("image", "Photo"), ("IMAGE", "Photo"), ("video", "Clip"), ("audio", "Fallback"), ("file", "Fallback")],
)
def test_media_goes_to_the_step_of_its_type_else_unknown(media_type: str, expected: str) -> None:
    """A media message answers from the IMAGE/VIDEO/AUDIO/FILE step of its type, else from UNKNOWN."""
    inbound = Inbound(kind=InboundKind.MEDIA, media_type=media_type, url="https://x.example/a")
    assert answered(send(media_bot(), inbound)) == expected


def test_media_step_in_context_comes_first() -> None:
    """A media step that is a child of the last step answers before a top-level one."""
    inbound = Inbound(kind=InboundKind.MEDIA, media_type="image", url="https://x.example/a.png")
    assert answered(send(media_bot(), inbound, after("ask-photo"))) == "Photo in context"


def test_location_goes_to_the_location_step_else_unknown() -> None:
    """A shared location answers from the LOCATION step; a bot without one answers with UNKNOWN."""
    inbound = Inbound(kind=InboundKind.LOCATION, lat="52.37", long="4.89", title="Dam")
    assert answered(send(media_bot(), inbound)) == "Place"
    assert answered(send(bot_of(step("Fallback", "UNKNOWN")), inbound)) == "Fallback"


def test_inbound_rejects_an_event_without_name_and_media_without_type() -> None:
    """An event needs a name and a media message a media type; building one without them fails at once."""
    with pytest.raises(ValueError, match="event_name"):
        Inbound(kind=InboundKind.EVENT)
    with pytest.raises(ValueError, match="media_type"):
        Inbound(kind=InboundKind.MEDIA)


# --- the reply message and its responses ---


def test_reply_message_has_every_protocol_field() -> None:
    """A reply carries every message field: fallback, replyTo, the bot originator, flow, step, params, ..."""
    bot = bot_of(
        step("Hi", "INTENT", "hi", actions=[text_action("Hello"), text_action("there")]), title="Greeting"
    )
    message = say(bot, "Hi!").messages[0]
    assert message == {
        "fallback": "Hello there",
        "silent": False,
        "replyTo": "Hi!",
        "originator": BOT_ORIGINATOR,
        "actions": [],
        "responses": [
            {"type": "text", "payload": {"text": "Hello"}, "delay": 0},
            {"type": "text", "payload": {"text": "there"}, "delay": 0},
        ],
        "flow": {"flowId": "greeting", "title": "Greeting"},
        "step": {"stepId": "hi", "title": "Hi", "type": "INTENT"},
        "params": {},
        "contexts": ["hi"],
        "intents": [{"name": "Hi_intent", "title": "Hi_intent", "confidence": 1.0}],
        "createdAt": "2024-05-17T12:30:15.123Z",
    }
    assert schemas.violations(message, "message") == []


def test_created_at_is_utc_with_milliseconds() -> None:
    """createdAt is converted to UTC; a naive time is taken as UTC."""
    bot = bot_of(step("Hi", "INTENT", "hi"))
    plus_two = datetime(2024, 1, 1, 2, 0, 0, 5000, tzinfo=timezone(timedelta(hours=2)))
    outcome = respond(
        bot, ThreadState(), Inbound(kind=InboundKind.TEXT, speech="hi"), now=plus_two, rng=random.Random()
    )
    assert outcome.messages[0]["createdAt"] == "2024-01-01T00:00:00.005Z"
    naive = datetime(2024, 1, 1, 9, 8, 7)
    outcome = respond(
        bot, ThreadState(), Inbound(kind=InboundKind.TEXT, speech="hi"), now=naive, rng=random.Random()
    )
    assert outcome.messages[0]["createdAt"] == "2024-01-01T09:08:07.000Z"


def test_replies_do_not_share_mutable_state() -> None:
    """Changing a reply's originator or params leaves BOT_ORIGINATOR and the thread's state untouched."""
    outcome = say(bot_of(step("Hi", "INTENT", "hi")), "hi", after(None, city="Rome"))
    message = outcome.messages[0]
    dig(message, "originator")["name"] = "changed"
    dig(message, "params", "city", 0)["value"] = "changed"
    assert BOT_ORIGINATOR["name"] == "system"
    assert outcome.state.params["city"] == ({"value": "Rome"},)


def test_text_action_quick_replies_get_type_and_value_defaults() -> None:
    """Quick replies default to type "text" and to their label as value; given fields are kept."""
    quick: JSON = [{"label": "Yes"}, {"label": "Where", "type": "location", "value": "loc"}]
    outcome = say(
        bot_of(step("Hi", "INTENT", "hi", actions=[text_action("Sure?", quickReplies=quick)])), "hi"
    )
    assert responses(outcome)[0]["payload"] == {
        "text": "Sure?",
        "quickReplies": [
            {"label": "Yes", "type": "text", "value": "Yes"},
            {"label": "Where", "type": "location", "value": "loc"},
        ],
    }


def test_other_actions_become_templates_of_their_type_with_delay() -> None:
    """A non-TEXT action becomes a response of its type in lower case: its payload minus delay, and delay."""
    actions: list[JSON] = [
        {"type": "IMAGE", "payload": {"title": "Pic", "url": "https://x.example/p.png", "delay": 300}},
        {"type": "LOCATION", "delay": 50, "payload": {"title": "Dam", "lat": "52.37", "long": "4.89"}},
        {"type": "WHATSAPP_LIST", "payload": {"anything": [1, 2]}},
        text_action("Hi", delay=1.5),
    ]
    outcome = say(bot_of(step("Hi", "INTENT", "hi", actions=actions)), "hi")
    assert responses(outcome) == [
        {"type": "image", "payload": {"title": "Pic", "url": "https://x.example/p.png"}, "delay": 300},
        {"type": "location", "payload": {"title": "Dam", "lat": "52.37", "long": "4.89"}, "delay": 50},
        {"type": "whatsapp_list", "payload": {"anything": [1, 2]}, "delay": 0},
        {"type": "text", "payload": {"text": "Hi"}, "delay": 1.5},
    ]
    assert outcome.messages[0]["fallback"] == "Hi"


def test_handover_with_set_bot_to_pause_pauses_the_bot() -> None:
    """A HANDOVER action with setBotToPause asks to pause the thread; its template gets all required flags."""
    handover: JSON = {"type": "HANDOVER", "payload": {"setBotToPause": True}}
    outcome = say(bot_of(step("Human", "INTENT", "human", actions=[handover])), "human")
    assert outcome.pause_bot is True
    assert responses(outcome)[0]["payload"] == {
        "setBotToPause": True,
        "resetContext": False,
        "indefinitePause": False,
    }


def test_handover_without_set_bot_to_pause_does_not_pause() -> None:
    """A HANDOVER that does not set setBotToPause leaves the bot running."""
    handover: JSON = {"type": "HANDOVER", "payload": {"resetContext": True}}
    assert say(bot_of(step("Human", "INTENT", "human", actions=[handover])), "human").pause_bot is False


def test_text_variant_choice_is_deterministic_for_a_seed() -> None:
    """The same seed picks the same variant every time; different seeds reach every variant."""
    variants = ["one", "two", "three"]
    bot = bot_of(step("Hi", "INTENT", "hi", actions=[text_action(*variants)]))
    inbound = Inbound(kind=InboundKind.TEXT, speech="hi")
    picks = [first_text(send(bot, inbound, seed=seed)) for seed in range(40)]
    assert picks == [first_text(send(bot, inbound, seed=seed)) for seed in range(40)]
    assert set(picks) == set(variants)


# --- the demo bot ---


def tour() -> list[tuple[Inbound, str | None]]:
    """A walk through the demo bot (what is sent, and the step id that must answer)."""

    def text(speech: str, **params: str) -> Inbound:
        wire = {name: [{"value": value}] for name, value in params.items()}
        return Inbound(kind=InboundKind.TEXT, speech=speech, params=wire)  # type: ignore[arg-type]

    def event(name: str, **params: str) -> Inbound:
        wire = {key: [{"value": value}] for key, value in params.items()}
        return Inbound(kind=InboundKind.EVENT, event_name=name, params=wire)  # type: ignore[arg-type]

    return [
        (event("INTRO"), "intro"),
        (text("Hello!"), "hello"),
        (text("See the menu"), "menu"),
        (text("Opening hours"), "opening-hours"),
        (text("I want to order a pizza"), "order-pizza"),
        (text("banana"), "unknown-size"),
        (text("a large one"), "large"),
        (text(""), "no-address"),
        (text("Damrak 1, Amsterdam", orderNumber="1042"), "delivery-address"),
        (event("ORDER_SHIPPED", orderId="1042"), "order-shipped"),
        (event("DAILY_DEAL"), "daily-deal"),
        (event("NO_SUCH_EVENT"), None),
        (text("order pizza"), "order-pizza"),
        (text("small please"), "small"),
        (text("Dam 2"), "delivery-address"),
        (text("order"), "order-pizza"),
        (text("medium"), "medium"),
        (text("Main street 3"), "delivery-address"),
        (text("nearest store"), "find-a-store"),
        (Inbound(kind=InboundKind.LOCATION, lat="52.37", long="4.89"), "nearest-store"),
        (
            Inbound(kind=InboundKind.MEDIA, media_type="image", url="https://x.example/p.jpg"),
            "photo-received",
        ),
        (Inbound(kind=InboundKind.MEDIA, media_type="file", url="https://x.example/f.pdf"), "fallback"),
        (text("thanks"), "thanks"),
        (text("5"), "feedback"),
        (text("bye"), "goodbye"),
        (text("what is the meaning of life"), "fallback"),
        (text("talk to a human"), "talk-to-a-human"),
    ]


def test_demo_bot_tour_reaches_every_reachable_step_with_valid_replies() -> None:
    """Every demo step but NOTHING answers somewhere on the tour, and every reply is schema-valid."""
    bot = load_bot(DEMO_BOT)
    state = ThreadState()
    reached: set[str] = set()
    rng = random.Random(7)
    for inbound, expected in tour():
        outcome = respond(bot, state, inbound, now=NOW, rng=rng)
        got = None
        if outcome.messages:
            step_ref = outcome.messages[0]["step"]
            assert isinstance(step_ref, dict)
            got = str(step_ref["stepId"])
        assert got == expected, inbound
        for message in outcome.messages:
            assert schemas.violations(message, "message") == [], message
            reached.add(str(dig(message, "step", "stepId")))
        payload: JSON = {"threadId": "t-1", "messages": list(outcome.messages), "originator": BOT_ORIGINATOR}
        assert schemas.violations(payload, "reply-payload") == []
        state = outcome.state
    assert outcome.pause_bot is True  # the tour ends with the handover
    every = {s.step_id for s in bot.steps() if s.type != "NOTHING"}
    assert reached == every


def test_demo_bot_order_confirmation_uses_address_and_order_number() -> None:
    """The order flow's confirmation fills {address} and {orderNumber} and offers a tracking card."""
    bot = load_bot(DEMO_BOT)
    state = after("large")
    outcome = say(bot, "Damrak 1", state, params={"orderNumber": [{"value": "1042"}]})
    assert first_text(outcome) == "Thanks! Order 1042 placed. We deliver to Damrak 1 within 30 minutes."
    card = responses(outcome)[1]
    assert card["type"] == "card"
    assert dig(card, "payload", "title") == "Order 1042"


def test_demo_bot_greeting_offers_two_variants_and_quick_replies() -> None:
    """The greeting picks one of two texts and offers the four main quick replies."""
    bot = load_bot(DEMO_BOT)
    texts = {first_text(send(bot, Inbound(kind=InboundKind.TEXT, speech="hi"), seed=s)) for s in range(20)}
    assert len(texts) == 2
    payload = responses(say(bot, "hi"))[0]["payload"]
    labels = [dig(q, "label") for q in dig(payload, "quickReplies")]
    assert labels == ["Order pizza", "See the menu", "Opening hours", "Talk to a human"]
