"""The asynchronous transports: REST without sync (``webhook``) and the Messaging API (``messaging``).
A send is acknowledged with ``{"status": "ok"}``; replies come later as webhook calls, through the receiver.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import TYPE_CHECKING

from pytest_flowai.errors import ConfigurationError, TransportError, cut
from pytest_flowai.transports.base import Incoming, Notice, Outgoing, OutgoingKind, Transport, TransportConfig
from pytest_flowai.transports.http import new_http_client, request, thread_path
from pytest_flowai.transports.rest import rest_payload

if TYPE_CHECKING:
    from collections.abc import Callable

    import httpx

    from pytest_flowai._json import JSONObject
    from pytest_flowai.transports.hub import WebhookHub
    from pytest_flowai.transports.receiver import Delivery, WebhookReceiver

# How the control events read in a transcript.
_CONTROL_TEXT = {
    "paused": "webhook event paused: the bot is paused for this thread",
    "resumed": "webhook event resumed: the bot answers this thread again",
    "takeover": "webhook event takeover: a human took over this thread",
    "control.handover": "webhook event control.handover: the bot handed this thread over to a human",
}


class _WebhookTransport(Transport):
    """What both asynchronous transports share: the inbox of one thread and turning deliveries into replies
    (the ``reply_event``) and notices (every other event)."""

    name = "webhook"
    # How the key goes in the Authorization header: bare (REST API) or as a bearer token (Messaging API).
    bearer = False
    streaming = True
    reply_event = "message"

    def __init__(
        self,
        config: TransportConfig,
        hub: WebhookHub,
        receiver: WebhookReceiver,
        http: httpx.AsyncClient | None,
    ) -> None:
        if not config.api_key:
            raise ConfigurationError(
                f"transport {self.name!r} needs an API key; none is configured", credential="API key"
            )
        self._config = config
        self._hub = hub
        self._receiver = receiver
        self._owns_http = http is None
        self._http = http if http is not None else new_http_client()
        self._thread: str | None = None
        self._queue: asyncio.Queue[Delivery] | None = None
        self._seen: set[str] = set()
        self._closed = False

    @classmethod
    async def open(
        cls,
        config: TransportConfig,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
        hub: WebhookHub | None = None,
    ) -> _WebhookTransport:
        """A transport whose receiver runs (and is registered where this run registers it)."""
        if hub is None:
            raise ConfigurationError(f"transport {cls.name!r} needs the session's webhook receiver")
        receiver = await hub.ready(cls.name, http, timeout or config.connect_timeout)
        return cls(config, hub, receiver, http)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self._config.url!r})"

    def listen(self, thread_id: str) -> None:
        """Take ``thread_id``'s deliveries from now on (before the first send, so none is missed)."""
        if self._queue is None:
            self._thread = thread_id
            self._queue = self._receiver.subscribe(thread_id)

    def quiet_reason(self, timeout: float) -> str | None:
        """Why nothing came, when no webhook call reached the receiver at all this session."""
        if self._receiver.received:
            return None
        return f"no webhook delivery within {timeout:g}s; {self._hub.where()}"

    async def send(
        self,
        message: Outgoing,
        *,
        timeout: float,  # noqa: ASYNC109
        on_sent: Callable[[], object] | None = None,
    ) -> None:
        if self._closed:
            raise TransportError(f"the {self.name} transport is closed", url=self._config.url)
        self.listen(message.thread_id)
        self._seen.clear()
        what = f"sending a {message.kind.value} message"
        path, body = self._request(message)
        answer = await request(
            self._http,
            "POST",
            f"{self._config.url}/{path}",
            timeout=timeout,
            max_bytes=self._config.max_reply_bytes,
            api_key=self._config.api_key,
            bearer=self.bearer,
            body=body,
            what=what,
        )
        answer.checked_body(what, "rest.ok")
        if on_sent is not None:
            on_sent()  # accepted: the replies come by webhook, after this returns

    def _request(self, message: Outgoing) -> tuple[str, JSONObject]:
        return f"rest/v1/messages/{thread_path(message.thread_id)}", {"payload": rest_payload(message)}

    async def receive(self, timeout: float) -> Incoming | Notice | None:  # noqa: ASYNC109
        if self._queue is None:
            await asyncio.sleep(timeout)
            return None
        try:
            async with asyncio.timeout(timeout):
                delivery = await self._queue.get()
        except TimeoutError:
            return None
        return self._read(delivery)

    def _read(self, delivery: Delivery) -> Incoming | Notice:
        if delivery.violation is not None:
            raise delivery.violation
        if delivery.problem is not None:
            raise TransportError(delivery.problem)
        key = json.dumps([delivery.event, delivery.payload], sort_keys=True)
        again = key in self._seen
        self._seen.add(key)
        if delivery.event == self.reply_event:
            return Incoming(payload=delivery.payload, at=delivery.at, duplicate=again)
        text = self._notice_text(delivery)
        return Notice(text=text + (" (delivered again)" if again else ""), at=delivery.at)

    def _notice_text(self, delivery: Delivery) -> str:
        return _CONTROL_TEXT.get(delivery.event, f"webhook event {cut(delivery.event, 60)!r}")

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._receiver.unsubscribe(self._thread)
        if self._owns_http:
            await self._http.aclose()


class WebhookTransport(_WebhookTransport):
    """``POST rest/v1/messages/:threadId`` without ``sync``; replies are the REST webhook's ``message``."""


class MessagingTransport(_WebhookTransport):
    """``POST /v1/messaging/message``; replies are ``message.reply``, receipts ``message.delivered`` (matched
    by ``traceId``), handovers ``control.handover``."""

    name = "messaging"
    bearer = True
    reply_event = "message.reply"

    def __init__(
        self,
        config: TransportConfig,
        hub: WebhookHub,
        receiver: WebhookReceiver,
        http: httpx.AsyncClient | None,
    ) -> None:
        super().__init__(config, hub, receiver, http)
        self._trace = itertools.count(1)
        self._traces: set[int] = set()

    def _request(self, message: Outgoing) -> tuple[str, JSONObject]:
        trace = next(self._trace)
        self._traces.add(trace)
        return "v1/messaging/message", messaging_body(message, trace)

    def _notice_text(self, delivery: Delivery) -> str:
        if delivery.event != "message.delivered":
            return super()._notice_text(delivery)
        trace = delivery.payload.get("traceId")
        if trace is None:
            return "message.delivered: the bot got a message (no traceId)"
        if isinstance(trace, int | float) and trace in self._traces:
            return f"message.delivered: the bot got message traceId {trace:g}"
        return f"message.delivered for traceId {cut(repr(trace), 40)}, which this conversation did not send"


def messaging_body(message: Outgoing, trace: int) -> JSONObject:
    """The body of ``POST /v1/messaging/message`` (001_*.txt): location uses ``lng``; media sends its URL."""
    body: JSONObject = {"threadId": message.thread_id, "traceId": trace, "type": message.kind.value}
    if message.kind is OutgoingKind.TEXT:
        body["text"] = message.speech
    elif message.kind is OutgoingKind.EVENT:
        body["eventName"] = message.event_name
    elif message.kind is OutgoingKind.LOCATION:
        body["lat"] = message.lat
        body["lng"] = message.long
    else:
        body["mediaType"] = message.media_type
        body["url"] = message.url
        if message.mime_type is not None:
            body["mimeType"] = message.mime_type
    if message.title is not None and message.kind in (OutgoingKind.LOCATION, OutgoingKind.MEDIA):
        body["title"] = message.title
    metadata = message.wire_metadata()
    for wire, name in (("lang", "language"), ("timezone", "timezone")):
        if name in metadata:
            body[wire] = metadata[name]
    params = metadata.get("params")
    if isinstance(params, dict) and params:
        body["params"] = params
    if message.originator:
        # The Messaging API documents list no originator; one a spec sets (an agent's) is sent as REST does.
        body["originator"] = dict(message.originator)
    return body


__all__ = ["MessagingTransport", "WebhookTransport", "messaging_body"]
