"""The application service every route calls: running messages through the bot, pauses, endpoint tokens.

One ``Runtime`` per running emulator holds the bot, the store, the webhook dispatcher and the tokens."""

from __future__ import annotations

import asyncio
import copy
import math
import random
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pytest_flowai._json import JSONObject
from pytest_flowai.emulator.engine import BOT_ORIGINATOR, ThreadState, respond, timestamp
from pytest_flowai.emulator.faults import break_replies
from pytest_flowai.emulator.replies import reply_payload, split_by_delays
from pytest_flowai.emulator.settings import EmulatorSettings, Fault
from pytest_flowai.emulator.store import Store, ThreadRecord
from pytest_flowai.emulator.webhooks import Outbound, WebhookDispatcher
from pytest_flowai.emulator.wire import Sent, as_obj, as_str

if TYPE_CHECKING:
    from pytest_flowai.emulator.flows import Bot

MAX_OPEN_ENDPOINTS = 10_000


RUN_TAG_SEPARATOR = "~"


def variant_key(thread_id: str) -> str:
    """The part of a thread id that seeds its text variants: all before the last ``~`` (the run tag).

    ``pytest-flowai-3fa2c1d0~a1b2c3`` and ``pytest-flowai-3fa2c1d0~d4e5f6`` are two threads that get the
    same replies; a thread id without ``~`` is its own key.
    """
    key, separator, _run_tag = thread_id.rpartition(RUN_TAG_SEPARATOR)
    return key if separator else thread_id


def _state_to_json(state: ThreadState) -> JSONObject:
    return {
        "lastStepId": state.last_step_id,
        "params": {name: list(values) for name, values in state.params.items()},
    }


def _state_from_json(data: JSONObject) -> ThreadState:
    params = {
        name: tuple(values) for name, values in as_obj(data.get("params")).items() if isinstance(values, list)
    }
    return ThreadState(last_step_id=as_str(data.get("lastStepId")), params=params)


def iso(epoch: float) -> str:
    """An epoch time as the protocol's ISO timestamp."""
    return timestamp(datetime.fromtimestamp(epoch, UTC))


class EndpointTokens:
    """Single-use WebSocket endpoint tokens that expire after ``ttl`` seconds (monotonic clock)."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._expiry: dict[str, float] = {}

    def issue(self) -> str:
        now = self._clock()
        self._expiry = {token: until for token, until in self._expiry.items() if until > now}
        while len(self._expiry) >= MAX_OPEN_ENDPOINTS:
            # Oldest first: dicts keep insertion order.
            del self._expiry[next(iter(self._expiry))]
        token = secrets.token_urlsafe(24)
        self._expiry[token] = now + self._ttl
        return token

    def redeem(self, token: str) -> str | None:
        """None when the token is good (it is used up now), else why it is not."""
        until = self._expiry.pop(token, None)
        if until is None:
            return "unknown or already used endpoint; ask socket.info for a new one"
        if until <= self._clock():
            return "expired endpoint (valid for 60 s); ask socket.info for a new one"
        return None

    def clear(self) -> None:
        self._expiry.clear()


@dataclass(frozen=True, slots=True, kw_only=True)
class Turn:
    """What one user message led to: the bot's reply messages, and whether the thread got paused by it."""

    messages: tuple[JSONObject, ...]
    paused: bool = False


@dataclass(slots=True)
class Runtime:
    """Everything one running emulator holds; lives in the lifespan, used only from the event loop thread."""

    settings: EmulatorSettings
    bot: Bot
    store: Store
    dispatcher: WebhookDispatcher
    tokens: EndpointTokens
    clock: Callable[[], float] = time.time
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    internal_errors: int = 0

    @property
    def fault(self) -> Fault | None:
        return self.settings.fault

    @property
    def latency(self) -> float:
        return self.settings.latency_ms / 1000

    def reset(self) -> None:
        """Forget every thread, message, webhook and delivery; queued webhook calls are dropped."""
        self.dispatcher.cancel_all()
        self.store.reset()
        self.tokens.clear()

    def begin_shutdown(self) -> None:
        """Release held requests (fault ``hang``) and stop webhook deliveries, before the server stops."""
        self.stopping.set()
        self.dispatcher.cancel_all()

    def converse(self, sent: Sent) -> Turn:
        """Run one user message through the bot: history, pause rules, engine, new state. No awaits inside,
        so the messages of one thread are handled strictly in arrival order."""
        now = self.clock()
        created = iso(now)
        record = self.store.ensure_thread(sent.thread_id, now=now)
        turn_number = self.store.count_history(sent.thread_id)
        self.store.append_history(
            sent.thread_id, originator=sent.originator, messages=[sent.as_message(created)], now=now
        )
        if sent.from_moderator:
            self.store.set_paused_until(sent.thread_id, math.inf)
            return Turn(messages=(), paused=not record.paused_at(now))
        if record.paused_at(now):
            return Turn(messages=())
        if record.paused_until is not None:
            self.store.set_paused_until(sent.thread_id, None)
        # A per-thread, per-turn seed: replies do not depend on how concurrent conversations interleave,
        # nor on the run (the run tag of a thread id is left out), so a suite gets the same replies each run.
        rng = random.Random(f"{self.settings.seed}|{variant_key(sent.thread_id)}|{turn_number}")
        outcome = respond(
            self.bot,
            _state_from_json(record.state),
            sent.inbound,
            now=datetime.fromtimestamp(now, UTC),
            rng=rng,
        )
        self.store.save_state(sent.thread_id, _state_to_json(outcome.state))
        messages = tuple(copy.deepcopy(dict(m)) for m in outcome.messages)
        if messages:
            self.store.append_history(
                sent.thread_id, originator=copy.deepcopy(BOT_ORIGINATOR), messages=list(messages), now=now
            )
        if outcome.pause_bot:
            self.store.set_paused_until(sent.thread_id, math.inf)
        return Turn(messages=messages, paused=outcome.pause_bot)

    def thread(self, thread_id: str) -> ThreadRecord:
        return self.store.ensure_thread(thread_id, now=self.clock())

    def pause(self, thread_id: str, seconds: float | None) -> None:
        self.thread(thread_id)
        until = math.inf if seconds is None else self.clock() + seconds
        self.store.set_paused_until(thread_id, until)

    def resume(self, thread_id: str) -> None:
        self.thread(thread_id)
        self.store.set_paused_until(thread_id, None)

    def is_paused(self, thread_id: str) -> bool:
        return self.thread(thread_id).paused_at(self.clock())

    def outgoing(self, messages: Sequence[JSONObject]) -> list[JSONObject]:
        """Reply messages as they go on the wire: broken on purpose under fault ``invalid-reply``."""
        return break_replies(messages) if self.fault is Fault.INVALID_REPLY else list(messages)

    def publish(self, thread_id: str | None, items: Sequence[Outbound]) -> None:
        self.dispatcher.publish(thread_id, items)

    def reply_chunks(self, thread_id: str, messages: Sequence[JSONObject]) -> list[tuple[float, JSONObject]]:
        """A reply as the webhooks get it over time: ``(seconds to wait, reply payload)`` pairs cut at
        delays, the first after the latency. Flow.ai applies delays itself when it calls webhooks (they are
        what sync mode cannot do); see "Delays" in docs/PROTOCOL.md."""
        return [
            (wait_ms / 1000 + (self.latency if index == 0 else 0.0), reply_payload(thread_id, chunk))
            for index, (wait_ms, chunk) in enumerate(split_by_delays(self.outgoing(messages)))
        ]

    def socket_reply(self, thread_id: str, messages: Sequence[JSONObject]) -> JSONObject:
        """A reply as the socket gets it: one payload with every response, each keeping its ``delay`` for
        the client to apply (Flow.ai's SDK hands ``delay`` to the application; see docs/PROTOCOL.md)."""
        return reply_payload(thread_id, self.outgoing(messages))

    def reply_events(self, event: str, thread_id: str, messages: Sequence[JSONObject]) -> list[Outbound]:
        """Webhook events carrying a reply, a later call for each delayed response."""
        chunks = self.reply_chunks(thread_id, messages)
        return [Outbound(event=event, payload=payload, delay=wait) for wait, payload in chunks]


def thread_event(event: str, thread_id: str) -> Outbound:
    """A webhook event that names only its thread (paused, resumed, takeover, control.handover)."""
    return Outbound(event=event, payload={"threadId": thread_id})


__all__ = ["EndpointTokens", "Runtime", "Turn", "iso", "thread_event", "variant_key"]
