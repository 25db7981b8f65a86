"""The asynchronous transports (webhook, messaging) through the plugin's webhook receiver: retries, verify
keys, other threads' deliveries, broken bodies, duplicates, registration and its removal, delays."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import httpx
import pytest

from pytest_flowai._json import JSONObject
from pytest_flowai.emulator import EmulatorThread
from tests.helpers.emulators import API_KEY, new_emulator
from tests.helpers.paths import DEMO_BOT
from tests.helpers.plugin import FAST, FlowaiTester, output
from tests.helpers.webhook_relay import Relay, free_port

REST_EVENTS = ["message", "paused", "resumed", "takeover"]
KEY = "dashboard-verify-key-5d1f"

HELLO = f"""
name: hello
transport: webhook
{FAST}
steps:
  - say: hello
    expect:
      - step: hello
"""


@pytest.fixture
def service() -> Iterator[EmulatorThread]:
    """An emulator standing in for Flow.ai (the plugin is pointed at it with flowai_url), quick retries."""
    with new_emulator(webhook_backoff=0.02) as emu:
        yield emu


def _register(service: EmulatorThread, url: str, key: str = KEY, events: list[str] = REST_EVENTS) -> None:
    """What a user does in the Flow.ai dashboard: a REST API webhook with its verify key."""
    answer = httpx.post(
        f"{service.url}/v1/messaging/webhooks",
        json={"url": url, "verifyKey": key, "events": events},
        headers={"Authorization": API_KEY},
        timeout=5,
    )
    assert answer.status_code == 201, answer.text


def _webhooks(service: EmulatorThread) -> list[JSONObject]:
    answer = httpx.get(f"{service.url}/v1/messaging/webhooks", headers={"Authorization": API_KEY}, timeout=5)
    items: list[JSONObject] = answer.json()["items"]
    return items


def _run(flowai: FlowaiTester, service: EmulatorThread, port: int, *args: str) -> pytest.RunResult:
    flowai.url = service.url
    return flowai.run(
        "--flowai-webhook-bind", f"127.0.0.1:{port}", "--flowai-webhook-verify-key", KEY, "-rA", *args
    )


def test_a_delivery_answered_500_is_retried_and_matched_once(
    flowai: FlowaiTester, service: EmulatorThread
) -> None:
    """The receiver's first answer is a 500 (at the tunnel): Flow.ai retries and the spec passes once."""
    port = free_port()
    with Relay(f"http://127.0.0.1:{port}/", fail_first=1) as relay:
        _register(service, relay.url)
        flowai.spec(HELLO)
        result = _run(flowai, service, port, "--flowai-webhook-url", relay.url)
    result.assert_outcomes(passed=1)
    assert relay.failed == 1
    assert relay.calls >= 2
    assert "arrived twice" not in output(result)


def test_a_wrong_verify_key_fails_the_test_saying_so(flowai: FlowaiTester, service: EmulatorThread) -> None:
    """A delivery whose verifyKey is not flowai_webhook_verify_key is refused (403) and fails its test."""
    port = free_port()
    with Relay(f"http://127.0.0.1:{port}/") as relay:
        _register(service, relay.url, key="some-other-key")
        flowai.spec(HELLO)
        result = _run(flowai, service, port, "--flowai-webhook-url", relay.url)
    result.assert_outcomes(failed=1)
    assert "carried a wrong verifyKey, answered 403" in output(result)
    assert "some-other-key" not in output(result)


def test_a_delivery_for_another_thread_is_not_matched(flowai: FlowaiTester, service: EmulatorThread) -> None:
    """A forged reply for another thread, carrying the expected text, does not satisfy the turn."""
    port = free_port()

    def forge(body: JSONObject) -> list[JSONObject]:
        other = copy.deepcopy(body)
        payload = other["payload"]
        assert isinstance(payload, dict)
        payload["threadId"] = "pytest-flowai-someone-else"
        return [other, body]

    with Relay(f"http://127.0.0.1:{port}/", rewrite=forge) as relay:
        _register(service, relay.url)
        flowai.spec(HELLO.replace("step: hello", "flow: Order"))
        result = _run(flowai, service, port, "--flowai-webhook-url", relay.url)
    result.assert_outcomes(failed=1)
    text = output(result)
    assert "no matching reply within 1s" in text
    assert "for unknown thread pytest-flowai-someone-else" in text


def test_a_body_breaking_the_webhook_schema_fails_the_turn(
    flowai: FlowaiTester, service: EmulatorThread
) -> None:
    """A webhook body that breaks the 'webhook' schema fails its conversation's turn, naming the schema."""
    port = free_port()

    def spoil(body: JSONObject) -> list[JSONObject]:
        payload = body["payload"]
        assert isinstance(payload, dict)
        payload["messages"] = "not a list"
        return [body]

    with Relay(f"http://127.0.0.1:{port}/", rewrite=spoil) as relay:
        _register(service, relay.url)
        flowai.spec(HELLO)
        result = _run(flowai, service, port, "--flowai-webhook-url", relay.url)
    result.assert_outcomes(failed=1)
    assert "breaks the protocol schema 'webhook'" in output(result)


def test_a_duplicated_delivery_is_matched_once_and_shown(
    flowai: FlowaiTester, service: EmulatorThread
) -> None:
    """A reply delivered twice is matched once; the transcript says it arrived twice."""
    port = free_port()
    with Relay(f"http://127.0.0.1:{port}/", rewrite=lambda body: [body, body]) as relay:
        _register(service, relay.url)
        # A settle long enough for the second copy to come within the turn.
        flowai.spec(HELLO.replace("steps:", "extra: warn\nsteps:").replace("settle: 0.05", "settle: 0.5"))
        result = _run(flowai, service, port, "--flowai-webhook-url", relay.url)
    result.assert_outcomes(passed=1)
    assert "the reply above arrived twice (delivered again); not matched a second time" in output(result)


def test_no_delivery_says_what_to_check(flowai: FlowaiTester, service: EmulatorThread) -> None:
    """When no call reaches the receiver, the turn says so and names the bind address to forward to."""
    port = free_port()
    with Relay(f"http://127.0.0.1:{port}/", rewrite=lambda body: []) as relay:
        _register(service, relay.url)
        flowai.spec(HELLO)
        result = _run(flowai, service, port, "--flowai-webhook-url", relay.url)
    result.assert_outcomes(failed=1)
    expected = f"no webhook delivery within 1s; is flowai_webhook_url forwarding to 127.0.0.1:{port}?"
    assert expected in output(result)


def test_webhook_against_a_service_needs_the_verify_key(
    flowai: FlowaiTester, service: EmulatorThread
) -> None:
    """Against Flow.ai, transport webhook without flowai_webhook_verify_key is one configuration error."""
    flowai.url = service.url
    flowai.spec(HELLO)
    result = flowai.run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: flowai_webhook_verify_key is not set: transport 'webhook' against Flow.ai needs it (*)"]
    )


MESSAGING = """
name: messaging {index}
transport: messaging
timeout: 2
settle: 0.05
steps:
  - say: hello
    expect:
      - step: hello
  - say: talk to a human
    # The control.handover event is a webhook call of its own, after the reply's: listen long enough that a
    # loaded machine still delivers it within the turn.
    settle: 1
"""


def test_messaging_registers_its_webhook_and_removes_it(
    flowai: FlowaiTester, service: EmulatorThread
) -> None:
    """Over the Messaging API the plugin registers its receiver, gets receipts, and leaves no webhook."""
    for index in range(4):
        flowai.spec(MESSAGING.format(index=index), name=f"test_m{index}")
    flowai.url = service.url
    result = flowai.run("--flowai-concurrency", "8", "-rA")
    result.assert_outcomes(passed=4)
    text = output(result)
    assert "message.delivered: the bot got message traceId 1" in text
    assert "webhook event control.handover: the bot handed this thread over to a human" in text
    assert _webhooks(service) == []


DELAYED = """
name: delayed carousel
transport: {transport}
timeout: 2
settle: 0.05
steps:
  - say: show me the menu
    expect:
      - text: Here is our menu.
        delay: 0
      - type: carousel
        delay: {delay}
"""


@pytest.mark.parametrize("transport", ["webhook", "messaging"])
def test_a_delayed_response_arrives_later_and_its_delay_is_asserted(
    flowai: FlowaiTester, transport: str
) -> None:
    """The carousel (delay 300) comes in a later webhook call and matches `delay: 300`, not `delay: 100`."""
    flowai.spec(DELAYED.format(transport=transport, delay=300), name="test_right")
    flowai.spec(DELAYED.format(transport=transport, delay="{min: 0, max: 100}"), name="test_wrong")
    flowai.pytester.makeini(f"[pytest]\nflowai_emulator_flows = {DEMO_BOT}\n")
    result = flowai.pytester.runpytest("-rA")
    result.assert_outcomes(passed=1, failed=1)
    text = output(result)
    assert "delay: expected between 0 and 100, got 300" in text
    # Two arrivals in the transcript: the text, then the carousel in its own later call.
    assert "< [Greeting / Menu] carousel of 3: Margherita, Diavola, Quattro Formaggi (delay 300ms)" in text
