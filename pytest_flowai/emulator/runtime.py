"""The application service every route calls: running messages through the bot, pauses, endpoint tokens.

One ``Runtime`` per running emulator holds the bot, the store, the webhook dispatcher and the tokens."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import random
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pytest_flowai._json import JSONObject
from pytest_flowai.emulator.engine import ThreadState, bot_originator, respond, timestamp
from pytest_flowai.emulator.faults import answer_wrong, break_replies
from pytest_flowai.emulator.replies import reply_payload, split_by_delays
from pytest_flowai.emulator.settings import EmulatorSettings, Fault
from pytest_flowai.emulator.store import Store, ThreadRecord
from pytest_flowai.emulator.webhooks import Outbound, WebhookDispatcher
from pytest_flowai.emulator.wire import Sent, as_obj, as_str

if TYPE_CHECKING:
    from pytest_flowai.emulator.flows import Bot

MAX_OPEN_ENDPOINTS = 10_000
# CPU seconds of message.send work the turnstile lets run in one loop pass (others wait at most about this).
TURN_BUDGET = 0.005
# Pending endpoints one socket.info session id may hold; a reconnecting SDK holds one at a time.
MAX_ENDPOINTS_PER_SESSION = 32


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
    """Single-use WebSocket endpoint tokens that expire after ``ttl`` seconds (monotonic clock).

    Each owner (a socket.info session id) holds at most ``per_owner`` pending tokens: asking for more evicts
    its own oldest, never another's. Past ``total`` pending tokens in all, ``issue`` refuses (None).
    """

    def __init__(
        self,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        per_owner: int = MAX_ENDPOINTS_PER_SESSION,
        total: int = MAX_OPEN_ENDPOINTS,
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._per_owner = per_owner
        self._total = total
        # token -> (expiry, owner); insertion order is expiry order (one ttl, a monotonic clock).
        self._expiry: dict[str, tuple[float, str]] = {}
        self._owned: dict[str, dict[str, None]] = {}

    def issue(self, owner: str = "") -> str | None:
        """A new token for ``owner``, or None when ``total`` tokens are pending (the caller says retry)."""
        now = self._clock()
        while self._expiry:
            oldest = next(iter(self._expiry))
            if self._expiry[oldest][0] > now:
                break
            self._forget(oldest)
        mine = self._owned.get(owner, {})
        while len(mine) >= self._per_owner:
            self._forget(next(iter(mine)))
        if len(self._expiry) >= self._total:
            return None
        token = secrets.token_urlsafe(24)
        self._expiry[token] = (now + self._ttl, owner)
        self._owned.setdefault(owner, {})[token] = None
        return token

    def retry_after(self) -> float:
        """Seconds until the oldest pending token expires (when ``issue`` may succeed again)."""
        if not self._expiry:
            return 0.0
        until, _owner = next(iter(self._expiry.values()))
        return max(0.0, until - self._clock())

    def _forget(self, token: str) -> tuple[float, str] | None:
        entry = self._expiry.pop(token, None)
        if entry is not None:
            mine = self._owned.get(entry[1])
            if mine is not None:
                mine.pop(token, None)
                if not mine:
                    del self._owned[entry[1]]
        return entry

    def redeem(self, token: str) -> str | None:
        """None when the token is good (it is used up now), else why it is not."""
        entry = self._forget(token)
        if entry is None:
            return "unknown or already used endpoint; ask socket.info for a new one"
        if entry[0] <= self._clock():
            return f"expired endpoint (valid for {self._ttl:g} s); ask socket.info for a new one"
        return None

    def clear(self) -> None:
        self._expiry.clear()
        self._owned.clear()


class Turnstile:
    """Lets tasks through in turns, first come first served, with about ``budget`` seconds of work a turn.

    A message.send is a few milliseconds of CPU with no await inside; without turns, a connection whose
    frames arrived together would run them all in one go while every other client waits. Entering always
    yields, and a turn lets through only as many tasks as fit the budget (by their average time), so between
    two turns the loop answers everyone else (pings, REST, other sockets' I/O).
    """

    def __init__(self, budget: float = TURN_BUDGET) -> None:
        self._budget = budget
        self._queue: collections.deque[asyncio.Future[None]] = collections.deque()
        self._scheduled = False
        self._inside = 0
        self._average = budget / 4
        self._entered = 0.0  # bodies hold no await, so the ones let in run one after the other

    async def __aenter__(self) -> None:
        loop = asyncio.get_running_loop()
        turn = loop.create_future()
        self._queue.append(turn)
        self._schedule()
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._leave(0.0)  # let in just as it was cancelled: it takes no time
            else:
                with contextlib.suppress(ValueError):
                    self._queue.remove(turn)
            raise
        self._entered = time.perf_counter()

    async def __aexit__(self, *exc_info: object) -> None:
        self._leave(time.perf_counter() - self._entered)

    def _leave(self, took: float) -> None:
        self._average = 0.8 * self._average + 0.2 * took
        self._inside -= 1
        self._schedule()

    def _schedule(self) -> None:
        # The next turn starts on a later loop pass, after what became ready meanwhile.
        if not self._scheduled and self._inside == 0 and self._queue:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._open)

    def _open(self) -> None:
        self._scheduled = False
        room = max(1, int(self._budget / max(self._average, 1e-6)))
        while self._queue and room:
            turn = self._queue.popleft()
            if not turn.done():
                turn.set_result(None)
                self._inside += 1
                room -= 1
        self._schedule()


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
    # One message.send's CPU-bound work at a time, first come first served, so that sockets take turns.
    turnstile: Turnstile = field(default_factory=Turnstile)
    # Open WebSocket sessions; ``sockets_closed`` is set whenever there are none.
    open_sockets: int = 0
    sockets_closed: asyncio.Event = field(default_factory=asyncio.Event)
    internal_errors: int = 0
    # Fault ``wrong-once``: the conversations (variant keys) that already got their wrong answer.
    answered_wrong: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.sockets_closed.set()

    def socket_opened(self) -> None:
        self.open_sockets += 1
        self.sockets_closed.clear()

    def socket_closed(self) -> None:
        self.open_sockets -= 1
        if self.open_sockets == 0:
            self.sockets_closed.set()

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
        self.answered_wrong.clear()

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
        # ``respond`` builds every reply message afresh (only immutable leaves are shared with the bot, the
        # state or the inbound message), so they are used as they are: a deep copy was a tenth of a turn.
        messages = outcome.messages
        key = variant_key(sent.thread_id)
        if self.fault is Fault.WRONG_ONCE and messages and key not in self.answered_wrong:
            self.answered_wrong.add(key)
            messages = answer_wrong(messages)
        if messages:
            self.store.append_history(
                sent.thread_id, originator=bot_originator(), messages=list(messages), now=now
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


__all__ = ["EndpointTokens", "Runtime", "Turn", "Turnstile", "iso", "thread_event", "variant_key"]
