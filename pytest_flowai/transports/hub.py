"""The session's webhook hub: starts the receiver on first use and registers it with Flow.ai through the
Messaging API's webhook registry (``/v1/messaging/webhooks``), removing the registration at the end.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pytest_flowai.errors import ConfigurationError, TransportError
from pytest_flowai.transports.http import new_http_client, request

if TYPE_CHECKING:
    import httpx

    from pytest_flowai.transports.base import TransportConfig
    from pytest_flowai.transports.receiver import WebhookReceiver

# What each transport kind listens to: the REST API's events, the older Messaging API's.
REST_EVENTS = ("message", "paused", "resumed", "takeover")
MESSAGING_EVENTS = ("message.reply", "message.delivered", "control.handover")
REGISTER_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookSettings:
    """``url``: what Flow.ai calls (default: the receiver's own loopback URL); ``bind``: ``host:port`` to
    listen on (default ``127.0.0.1:0``); ``verify_key``: the key Flow.ai sends (default: a random one, which
    only a webhook this run registers can know)."""

    url: str | None = None
    bind: str | None = None
    verify_key: str | None = field(default=None, repr=False)


def parse_bind(value: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:port`` for IPv6) as a pair; raises ``ValueError`` saying what is wrong."""
    host, sep, port = value.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"flowai_webhook_bind must be host:port (e.g. 127.0.0.1:8787), got {value!r}")
    return host, int(port)


class WebhookHub:
    """One per session: the receiver, and the webhook registered for it (``embedded``: the emulator, which
    gets every event; else only the Messaging API, whose webhooks can be registered by API)."""

    def __init__(self, config: TransportConfig, settings: WebhookSettings, *, embedded: bool) -> None:
        self._config = config
        self.settings = settings
        self._embedded = embedded
        self.verify_key = settings.verify_key or secrets.token_urlsafe(18)
        self._receiver: WebhookReceiver | None = None
        self._registered: dict[str, str] = {}  # webhook id -> its URL, to delete at the end
        self._lock: asyncio.Lock | None = None

    @property
    def receiver(self) -> WebhookReceiver:
        """The receiver, started on first use (uvicorn is imported only then)."""
        if self._receiver is None:
            from pytest_flowai.transports.receiver import WebhookReceiver

            host, port = parse_bind(self.settings.bind) if self.settings.bind else ("127.0.0.1", 0)
            receiver = WebhookReceiver(host=host, port=port, verify_keys=frozenset({self.verify_key}))
            receiver.start()
            self._receiver = receiver
        return self._receiver

    @property
    def public_url(self) -> str:
        return self.settings.url or self.receiver.url

    def where(self) -> str:
        """What to check when nothing arrives, for failure messages."""
        if self.settings.url:
            return f"is flowai_webhook_url forwarding to {self.receiver.bind}?"
        return f"nothing called the receiver at {self.receiver.url}"

    def warnings(self) -> list[str]:
        """Deliveries the receiver could give to no conversation."""
        return self._receiver.warnings() if self._receiver is not None else []

    async def ready(self, kind: str, http: httpx.AsyncClient | None, timeout: float) -> WebhookReceiver:  # noqa: ASYNC109
        """The running receiver, with a webhook registered for ``kind`` where this run registers one."""
        receiver = self.receiver
        if not self._embedded and kind == "webhook" and not self.settings.verify_key:
            raise ConfigurationError(
                "transport 'webhook' against Flow.ai needs flowai_webhook_verify_key: the verify key of the"
                " REST API webhook configured in the Flow.ai dashboard",
                hint="set FLOWAI_WEBHOOK_VERIFY_KEY in the environment, or flowai_webhook_verify_key"
                " in the ini file or --flowai-webhook-verify-key",
            )
        wants = self._embedded or kind == "messaging"
        if not wants:
            return receiver
        self._lock = self._lock or asyncio.Lock()
        async with self._lock:
            if not self._registered:
                await self._register(http, timeout)
        return receiver

    async def _register(self, http: httpx.AsyncClient | None, timeout: float) -> None:  # noqa: ASYNC109
        events = [*REST_EVENTS, *MESSAGING_EVENTS] if self._embedded else list(MESSAGING_EVENTS)
        client = http or new_http_client()
        what = f"registering the webhook receiver ({self.public_url}) at /v1/messaging/webhooks"
        try:
            answer = await request(
                client,
                "POST",
                f"{self._config.url}/v1/messaging/webhooks",
                timeout=min(timeout, REGISTER_TIMEOUT),
                api_key=self._config.api_key,
                bearer=True,
                body={"url": self.public_url, "verifyKey": self.verify_key, "events": list(events)},
                what=what,
            )
        finally:
            if http is None:
                await client.aclose()
        body = answer.checked_body(what, "messaging.webhook")
        webhook_id = body.get("webhookId") if isinstance(body, dict) else None
        if not isinstance(webhook_id, str):
            raise TransportError(
                f"{what}: the answer names no webhook id: {answer.excerpt()}", affects_all=True
            )
        self._registered[webhook_id] = self.public_url

    @property
    def registered(self) -> bool:
        """Whether this run registered a webhook that it must remove."""
        return bool(self._registered)

    async def unregister(self) -> list[str]:
        """Remove the webhooks this run registered; returns what could not be removed (for a warning)."""
        problems: list[str] = []
        registered, self._registered = self._registered, {}
        if not registered:
            return problems
        async with new_http_client() as client:
            for webhook_id in registered:
                try:
                    answer = await request(
                        client,
                        "DELETE",
                        f"{self._config.url}/v1/messaging/webhooks/{webhook_id}",
                        timeout=REGISTER_TIMEOUT,
                        api_key=self._config.api_key,
                        bearer=True,
                        what="removing the webhook this run registered",
                    )
                except TransportError as exc:
                    problems.append(f"webhook {webhook_id} was not removed: {exc.message}")
                    continue
                if not 200 <= answer.status < 300 and answer.status != 404:
                    problems.append(f"webhook {webhook_id} was not removed: HTTP {answer.status}")
        return problems

    def stop(self) -> None:
        if self._receiver is not None:
            self._receiver.stop()


__all__ = ["MESSAGING_EVENTS", "REST_EVENTS", "WebhookHub", "WebhookSettings", "parse_bind"]
