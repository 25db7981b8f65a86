"""Webhook delivery: POST ``{type, verifyKey, payload}`` to every subscribed webhook, in order per thread,
retrying with exponential backoff; final failures are logged (never with keys) and kept in the store."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

if TYPE_CHECKING:
    from pytest_flowai._json import JSONObject
    from pytest_flowai.emulator.store import Store, WebhookRecord

log = logging.getLogger(__name__)

_NO_THREAD = "\x00no-thread"


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How hard to try: ``attempts`` in all, waiting ``backoff`` seconds doubling up to ``backoff_max``."""

    attempts: int = 6
    backoff: float = 0.5
    backoff_max: float = 30.0
    timeout: float = 10.0

    def wait_before(self, attempt: int) -> float:
        """Seconds to wait before attempt number ``attempt`` (2, 3, ...)."""
        return float(min(self.backoff * 2 ** (attempt - 2), self.backoff_max))


@dataclass(frozen=True, slots=True, kw_only=True)
class Outbound:
    """One webhook event to send, ``delay`` seconds after the previous event of the same thread."""

    event: str
    payload: JSONObject
    delay: float = 0.0


@dataclass(slots=True)
class _Lane:
    """The queue of one thread; one worker drains it, so a thread's events keep their order."""

    items: deque[Outbound] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def is_loopback_url(url: str) -> bool:
    """Whether an http(s) URL names this machine: host ``127.0.0.1``, ``::1`` or ``localhost`` exactly.

    No other name is accepted (``*.localhost`` would be left to the system resolver), nor other 127/8
    addresses.
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and host in LOOPBACK_HOSTS


def _describe(exc: httpx.HTTPError) -> str:
    text = str(exc) or "no detail"
    return f"{type(exc).__name__}: {text}"


class WebhookDispatcher:
    """Sends events to the webhooks in a ``Store`` through one shared ``httpx.AsyncClient``."""

    def __init__(
        self,
        store: Store,
        client: httpx.AsyncClient,
        policy: RetryPolicy,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._client = client
        self._policy = policy
        self._clock = clock
        self._lanes: dict[str, _Lane] = {}

    def publish(self, thread_id: str | None, items: Sequence[Outbound]) -> None:
        """Queue events for delivery after those already queued for the same thread."""
        if not items:
            return
        key = _NO_THREAD if thread_id is None else thread_id
        lane = self._lanes.setdefault(key, _Lane())
        lane.items.extend(items)
        if lane.worker is None:
            lane.worker = asyncio.get_running_loop().create_task(self._drain(key, thread_id, lane))

    def busy(self) -> bool:
        """Whether any event is queued or being delivered."""
        return bool(self._lanes)

    def cancel_all(self) -> None:
        """Drop everything queued and stop every delivery in flight (used by reset and shutdown)."""
        lanes, self._lanes = self._lanes, {}
        for lane in lanes.values():
            lane.items.clear()
            if lane.worker is not None:
                lane.worker.cancel()

    async def aclose(self) -> None:
        workers = [lane.worker for lane in self._lanes.values() if lane.worker is not None]
        self.cancel_all()
        await asyncio.gather(*workers, return_exceptions=True)

    async def verify(self, url: str) -> str | None:
        """GET a webhook URL as Flow.ai does on registration; None when it answered 2xx, else why not."""
        try:
            response = await self._client.get(url, timeout=self._policy.timeout)
        except httpx.HTTPError as exc:
            return _describe(exc)
        if response.is_success:
            return None
        return f"HTTP {response.status_code}"

    async def _drain(self, key: str, thread_id: str | None, lane: _Lane) -> None:
        try:
            while lane.items:
                item = lane.items.popleft()
                if item.delay > 0:
                    await asyncio.sleep(item.delay)
                hooks = [hook for hook in self._store.webhooks() if item.event in hook.events]
                await asyncio.gather(*(self._deliver(hook, item, thread_id) for hook in hooks))
        finally:
            if self._lanes.get(key) is lane:
                del self._lanes[key]

    async def _deliver(self, hook: WebhookRecord, item: Outbound, thread_id: str | None) -> None:
        body: JSONObject = {"type": item.event, "verifyKey": hook.verify_key, "payload": item.payload}
        delivery_id = self._store.add_delivery(
            webhook_id=hook.webhook_id, url=hook.url, event=item.event, thread_id=thread_id, now=self._clock()
        )
        error = "not attempted"
        for attempt in range(1, self._policy.attempts + 1):
            if attempt > 1:
                await asyncio.sleep(self._policy.wait_before(attempt))
            try:
                response = await self._client.post(hook.url, json=body, timeout=self._policy.timeout)
            except httpx.HTTPError as exc:
                error = _describe(exc)
            else:
                if response.is_success:
                    self._store.delivered(delivery_id)
                    return
                error = f"HTTP {response.status_code}"
            self._store.note_attempt(delivery_id, attempts=attempt, error=error)
        self._store.give_up(delivery_id, attempts=self._policy.attempts, error=error)
        # The verify key travels in the body only; the log names the hook, the event and the last error.
        log.warning(
            "webhook %s (%s) gave up on event %r after %d attempts: %s",
            hook.webhook_id,
            hook.url,
            item.event,
            self._policy.attempts,
            error,
        )


__all__ = ["Outbound", "RetryPolicy", "WebhookDispatcher", "is_loopback_url"]
