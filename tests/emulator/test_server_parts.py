"""The emulator server's pure parts: settings, the SQLite store, reply splitting, endpoint tokens, parsing."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from pytest_flowai import schemas
from pytest_flowai._json import JSONObject
from pytest_flowai.emulator.faults import break_replies
from pytest_flowai.emulator.replies import split_by_delays
from pytest_flowai.emulator.runtime import EndpointTokens
from pytest_flowai.emulator.settings import EmulatorSettings, Fault, parse_fault
from pytest_flowai.emulator.store import FAILED, PENDING, Store, WebhookRecord
from pytest_flowai.emulator.webhooks import RetryPolicy, is_loopback_url
from pytest_flowai.emulator.wire import BadInput, parse_json
from pytest_flowai.errors import EmulatorError
from tests.helpers.dig import dig
from tests.helpers.paths import DEMO_BOT

# --- settings -------------------------------------------------------------------------------------


def test_settings_generate_a_key_only_when_none_is_given() -> None:
    """resolved() fills in a random key when api_key is None and keeps a given one."""
    generated = EmulatorSettings(flows=DEMO_BOT).resolved()
    assert generated.api_key
    assert generated.api_key != EmulatorSettings(flows=DEMO_BOT).resolved().api_key
    assert EmulatorSettings(flows=DEMO_BOT, api_key="mine").resolved().api_key == "mine"


def test_settings_reject_bad_values_all_at_once() -> None:
    """Every bad setting is named in one EmulatorError."""
    with pytest.raises(EmulatorError) as raised:
        EmulatorSettings(flows=DEMO_BOT, port=-1, idle_timeout=0, webhook_attempts=0)
    message = str(raised.value)
    assert "port" in message
    assert "idle_timeout" in message
    assert "webhook_attempts" in message


def test_fault_names() -> None:
    """Faults parse from their names; an unknown name lists the valid ones."""
    assert parse_fault("drop") is Fault.DROP
    assert parse_fault(None) is None
    with pytest.raises(EmulatorError, match="invalid-reply, garbage, drop, hang, error"):
        parse_fault("explode")


def test_settings_take_a_fault_by_its_name() -> None:
    """A fault given as its command-line name becomes the enum; an unknown name is refused."""
    assert EmulatorSettings(flows=DEMO_BOT, fault="drop").fault is Fault.DROP  # type: ignore[arg-type]
    with pytest.raises(EmulatorError, match="fault must be one of"):
        EmulatorSettings(flows=DEMO_BOT, fault="explode")  # type: ignore[arg-type]


# --- store ----------------------------------------------------------------------------------------


def test_threads_state_and_pauses() -> None:
    """Threads are created once, keep their state, and report pauses against the given time."""
    store = Store()
    record = store.ensure_thread("a|b", now=10.0)
    assert (record.state, record.paused_until, record.created) == ({}, None, 10.0)
    store.save_state("a|b", {"lastStepId": "hello"})
    store.set_paused_until("a|b", 20.0)
    again = store.ensure_thread("a|b", now=99.0)
    assert (again.state, again.created) == ({"lastStepId": "hello"}, 10.0)
    assert again.paused_at(19.9)
    assert not again.paused_at(20.0)
    store.set_paused_until("a|b", math.inf)
    assert store.ensure_thread("a|b", now=1e12).paused_at(1e12)
    store.close()


def test_history_pages_in_order() -> None:
    """History comes back oldest first, sliced by offset and limit, per thread."""
    store = Store()
    for index in range(5):
        store.append_history("t", originator={"name": f"u{index}"}, messages=[{"responses": []}], now=index)
    store.append_history("other", originator={"name": "x"}, messages=[], now=0)
    page = store.history("t", offset=2, limit=2)
    assert [entry.originator["name"] for entry in page] == ["u2", "u3"]
    assert page[0].to_wire() == {"originator": {"name": "u2"}, "messages": [{"responses": []}]}
    assert store.count_history("t") == 5


def test_webhooks_newest_first_and_replace() -> None:
    """Webhooks list newest first; replacing keeps the id; deleting twice reports the second miss."""
    store = Store()
    for name in ("one", "two"):
        store.add_webhook(
            WebhookRecord(
                webhook_id=name, organisation_id="o", url="http://127.0.0.1/", verify_key=name, events=("m",)
            )
        )
    assert [hook.webhook_id for hook in store.webhooks()] == ["two", "one"]
    store.replace_webhook(
        WebhookRecord(
            webhook_id="one", organisation_id="o", url="http://127.0.0.1/x", verify_key="k", events=("a", "b")
        )
    )
    one = store.webhook("one")
    assert one is not None
    assert (one.url, one.events) == ("http://127.0.0.1/x", ("a", "b"))
    assert schemas.violations(one.to_wire(), "messaging.webhook") == []
    assert store.delete_webhook("one") is True
    assert store.delete_webhook("one") is False


def test_deliveries_lifecycle_and_reset() -> None:
    """A delivery is pending, then gone when delivered or failed when given up; reset empties everything."""
    store = Store()
    done = store.add_delivery(webhook_id="w", url="u", event="message", thread_id="t", now=1.0)
    lost = store.add_delivery(webhook_id="w", url="u", event="paused", thread_id=None, now=2.0)
    store.note_attempt(lost, attempts=1, error="HTTP 500")
    assert [(d.state, d.attempts) for d in store.deliveries()] == [(PENDING, 0), (PENDING, 1)]
    store.delivered(done)
    store.give_up(lost, attempts=3, error="HTTP 502")
    (left,) = store.deliveries()
    assert (left.state, left.attempts, left.last_error, left.event) == (FAILED, 3, "HTTP 502", "paused")
    store.ensure_thread("t", now=0)
    store.reset()
    assert (store.deliveries(), store.count_threads()) == ([], 0)


def test_pending_deliveries_fail_when_the_database_is_reopened(tmp_path: Path) -> None:
    """A delivery still pending when the emulator stopped is marked failed on the next start."""
    path = str(tmp_path / "e.db")
    store = Store(path)
    store.add_delivery(webhook_id="w", url="u", event="message", thread_id="t", now=1.0)
    store.close()
    reopened = Store(path)
    (delivery,) = reopened.deliveries()
    assert delivery.state == FAILED
    assert "stopped" in (delivery.last_error or "")
    reopened.close()


# --- the wire -------------------------------------------------------------------------------------


def _message(*delays: int) -> JSONObject:
    return {
        "fallback": "x",
        "responses": [
            {"type": "text", "payload": {"text": f"r{i}"}, "delay": d} for i, d in enumerate(delays)
        ],
    }


def _shape(chunks: list[tuple[float, list[JSONObject]]]) -> list[tuple[float, list[list[str]]]]:
    return [
        (wait, [[dig(r, "payload", "text") for r in dig(m, "responses")] for m in messages])
        for wait, messages in chunks
    ]


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([_message(0, 0)], [(0.0, [["r0", "r1"]])]),
        ([_message(0, 300)], [(0.0, [["r0"]]), (300.0, [["r1"]])]),
        ([_message(500, 0)], [(500.0, [["r0", "r1"]])]),
        ([_message(0, 100, 0, 200)], [(0.0, [["r0"]]), (100.0, [["r1", "r2"]]), (200.0, [["r3"]])]),
        ([_message(0), _message(0)], [(0.0, [["r0"], ["r0"]])]),
        ([_message(0), _message(50)], [(0.0, [["r0"]]), (50.0, [["r0"]])]),
    ],
)
def test_split_by_delays(messages: list[JSONObject], expected: list[tuple[float, list[list[str]]]]) -> None:
    """A response with a delay starts a new chunk after that wait; the rest stays together."""
    assert _shape(split_by_delays(messages)) == expected


def test_split_copies_keep_the_message_fields() -> None:
    """Each chunk's message keeps the original's other fields (flow, step, fallback)."""
    chunks = split_by_delays([{**_message(0, 10), "step": {"stepId": "s"}}])
    assert [messages[0]["step"] for _, messages in chunks] == [{"stepId": "s"}, {"stepId": "s"}]


def test_break_replies_breaks_the_template_schema() -> None:
    """Every broken message fails the message schema at its added response."""
    (broken,) = break_replies([_message(0)])
    assert [str(v) for v in schemas.violations(broken, "message")] == ["responses[1].payload.url: required"]


def test_endpoint_tokens_are_single_use_and_expire() -> None:
    """A token works once; an expired or unknown one is refused with a reason."""
    now = [100.0]
    tokens = EndpointTokens(ttl=60, clock=lambda: now[0])
    first, second = tokens.issue(), tokens.issue()
    assert first is not None
    assert second is not None
    assert tokens.redeem(first) is None
    assert "already used" in (tokens.redeem(first) or "")
    now[0] += 61
    assert "expired" in (tokens.redeem(second) or "")
    assert "unknown" in (tokens.redeem("made-up") or "")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{", "not valid JSON"),
        ("[NaN]", "NaN"),
        ("1e999", "too large"),
        ("[" * 70 + "]" * 70, "deeper than 64"),
        ("1" * 5000, "not valid JSON"),
        ('{"speech": "\\ud800"}', "lone UTF-16 surrogate"),
        ('{"\\udfff": 1}', "lone UTF-16 surrogate"),
    ],
)
def test_parse_json_refuses_what_json_cannot_carry(text: str, words: str) -> None:
    """Bad syntax, NaN, infinite or absurd numbers and deep nesting are BadInput, never a crash."""
    with pytest.raises(BadInput, match=words):
        parse_json(text, "body")


def test_parse_json_keeps_escaped_surrogate_pairs() -> None:
    """A surrogate pair written as two escapes is one real character and is kept."""
    assert parse_json('["\\ud83d\\ude00 ok"]', "body") == ["\U0001f600 ok"]


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8000/hook", True),
        ("http://127.5.5.5/hook", False),
        ("http://localhost/hook", True),
        ("http://LOCALHOST:9/hook", True),
        ("http://evil.localhost/hook", False),
        ("http://a.b.localhost:8000/hook", False),
        ("http://[::ffff:127.0.0.1]/hook", False),
        ("http://[::1]:9/hook", True),
        ("https://example.com/hook", False),
        ("http://10.1.2.3/hook", False),
        ("ftp://127.0.0.1/hook", False),
        ("http://127.0.0.1.evil.com/hook", False),
        ("not a url", False),
    ],
)
def test_only_loopback_webhooks(url: str, loopback: bool) -> None:
    """Only http(s) URLs whose host is exactly 127.0.0.1, ::1 or localhost count as loopback."""
    assert is_loopback_url(url) is loopback


def test_retry_backoff_doubles_up_to_the_cap() -> None:
    """Waits between attempts double from the first backoff and stop growing at the cap."""
    policy = RetryPolicy(attempts=6, backoff=0.5, backoff_max=3)
    assert [policy.wait_before(n) for n in range(2, 7)] == [0.5, 1.0, 2.0, 3.0, 3.0]
