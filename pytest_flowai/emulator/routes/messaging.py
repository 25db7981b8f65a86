"""The Messaging API v1 routes: ``POST /v1/messaging/message`` and the ``/v1/messaging/webhooks`` registry.

Replies to messaging sends go to the webhooks; webhook URLs must be on this machine."""

from __future__ import annotations

from typing import cast
from uuid import uuid4

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.emulator.faults import FAULT_ERROR
from pytest_flowai.emulator.replies import has_handover
from pytest_flowai.emulator.routes.common import error_answer, json_body, ok, runtime_of
from pytest_flowai.emulator.runtime import Runtime, thread_event
from pytest_flowai.emulator.settings import Fault
from pytest_flowai.emulator.store import WebhookRecord
from pytest_flowai.emulator.webhooks import Outbound, is_loopback_url
from pytest_flowai.emulator.wire import ApiError, BadInput, as_str, check_schema, parse_messaging_send
from pytest_flowai.errors import quote


async def messaging_send(request: Request) -> Response:
    """POST /v1/messaging/message: webhooks get message.delivered, then message.reply (+ control.handover)."""
    runtime = runtime_of(request)
    sent = parse_messaging_send(await json_body(request))
    turn = runtime.converse(sent)
    delivered: JSONObject = {"threadId": sent.thread_id}
    if sent.trace_id is not None:
        delivered["traceId"] = sent.trace_id
    items = [Outbound(event="message.delivered", payload=delivered)]
    if runtime.fault is not Fault.ERROR and turn.messages:
        items += runtime.reply_events("message.reply", sent.thread_id, turn.messages)
        if has_handover(turn.messages):
            items.append(thread_event("control.handover", sent.thread_id))
    if turn.paused:
        items.append(thread_event("paused", sent.thread_id))
    runtime.publish(sent.thread_id, items)
    if runtime.fault is Fault.ERROR:
        return error_answer(503, FAULT_ERROR)
    return ok()


_WEBHOOK_FIELDS = ("url", "verifyKey", "events")


def _webhook_fields(body: JSON, *, partial: bool) -> JSONObject:
    if not isinstance(body, dict):
        raise BadInput("request body: must be a JSON object with url, verifyKey and events")
    if partial:
        # An update changes only the fields it names; check them as a create body would.
        current: JSONObject = {"url": "http://127.0.0.1/", "verifyKey": "", "events": ["message"]}
        check_schema(
            {**current, **{k: v for k, v in body.items() if k in _WEBHOOK_FIELDS}},
            "messaging.webhook-create",
            "webhook",
        )
    else:
        check_schema(body, "messaging.webhook-create", "webhook")
    if "organisationId" in body and not isinstance(body["organisationId"], str):
        raise BadInput("invalid webhook: organisationId: must be a string")
    url = body.get("url")
    if isinstance(url, str) and not is_loopback_url(url):
        raise BadInput(
            f"url: the emulator only calls webhooks on this machine (http://127.0.0.1, ::1 or localhost), "
            f"got {quote(url, 120)}"
        )
    return body


async def _verified(runtime: Runtime, url: str) -> None:
    """Flow.ai GETs a new webhook URL and wants a 2xx; the emulator does the same (loopback only)."""
    if not runtime.settings.verify_webhooks:
        return
    problem = await runtime.dispatcher.verify(url)
    if problem is not None:
        raise BadInput(f"url: the webhook did not verify: GET {quote(url, 120)} failed: {problem}")


async def webhooks_create(request: Request) -> Response:
    """POST /v1/messaging/webhooks: 201 with a Location header and the Webhook object."""
    runtime = runtime_of(request)
    body = _webhook_fields(await json_body(request), partial=False)
    await _verified(runtime, cast(str, body["url"]))
    webhook = WebhookRecord(
        webhook_id=str(uuid4()),
        organisation_id=as_str(body.get("organisationId")) or runtime.settings.organisation_id,
        url=cast(str, body["url"]),
        verify_key=cast(str, body["verifyKey"]),
        events=tuple(cast("list[str]", body["events"])),
    )
    runtime.store.add_webhook(webhook)
    location = f"/v1/messaging/webhooks/{webhook.webhook_id}"
    return JSONResponse(webhook.to_wire(), status_code=201, headers={"Location": location})


async def webhooks_list(request: Request) -> Response:
    """GET /v1/messaging/webhooks: every webhook, newest first."""
    items = [hook.to_wire() for hook in runtime_of(request).store.webhooks()]
    return JSONResponse({"items": list[JSON](items)})


def _webhook_or_404(runtime: Runtime, request: Request) -> WebhookRecord:
    webhook_id = str(request.path_params.get("webhook_id", ""))
    webhook = runtime.store.webhook(webhook_id)
    if webhook is None:
        raise ApiError(404, f"no webhook with id {quote(webhook_id, 80)}")
    return webhook


async def webhooks_get(request: Request) -> Response:
    """GET /v1/messaging/webhooks/:id."""
    return JSONResponse(_webhook_or_404(runtime_of(request), request).to_wire())


async def webhooks_update(request: Request) -> Response:
    """POST or PUT /v1/messaging/webhooks/:id: change the fields given, keep the others."""
    runtime = runtime_of(request)
    webhook = _webhook_or_404(runtime, request)
    body = _webhook_fields(await json_body(request), partial=True)
    url = as_str(body.get("url")) or webhook.url
    if url != webhook.url:
        await _verified(runtime, url)
    events = body.get("events")
    updated = WebhookRecord(
        webhook_id=webhook.webhook_id,
        organisation_id=as_str(body.get("organisationId")) or webhook.organisation_id,
        url=url,
        verify_key=as_str(body.get("verifyKey")) if "verifyKey" in body else webhook.verify_key,  # type: ignore[arg-type]
        events=tuple(cast("list[str]", events)) if isinstance(events, list) else webhook.events,
    )
    runtime.store.replace_webhook(updated)
    return JSONResponse(updated.to_wire())


async def webhooks_delete(request: Request) -> Response:
    """DELETE /v1/messaging/webhooks/:id: 204, no body."""
    runtime = runtime_of(request)
    webhook = _webhook_or_404(runtime, request)
    runtime.store.delete_webhook(webhook.webhook_id)
    return Response(status_code=204)


__all__ = [
    "messaging_send",
    "webhooks_create",
    "webhooks_delete",
    "webhooks_get",
    "webhooks_list",
    "webhooks_update",
]
