"""The REST API v1 routes (``/rest/v1/...``): send, history, threads, takeover, handover, trigger, pause.

Each answers inline with ``?sync=true``, else through the webhooks."""

from __future__ import annotations

import asyncio
import copy

from starlette.requests import Request
from starlette.responses import Response

from pytest_flowai._json import JSON, JSONObject
from pytest_flowai.emulator.engine import EVENT_SPEECH, Inbound, InboundKind
from pytest_flowai.emulator.faults import FAULT_ERROR, GARBAGE, hold
from pytest_flowai.emulator.replies import reply_payload
from pytest_flowai.emulator.routes.common import (
    error_answer,
    flag,
    json_body,
    ok,
    page_count,
    page_number,
    path_thread,
    runtime_of,
)
from pytest_flowai.emulator.runtime import Runtime, thread_event
from pytest_flowai.emulator.settings import Fault
from pytest_flowai.emulator.webhooks import Outbound
from pytest_flowai.emulator.wire import (
    DEFAULT_ORIGINATOR,
    BadInput,
    Sent,
    as_number,
    as_obj,
    check_schema,
    parse_rest_send,
)


async def _answer_sent(request: Request, sent: Sent, *, event: str = "message") -> Response:
    """The common end of every REST send: run the bot, then answer inline (sync) or through the webhooks."""
    runtime = runtime_of(request)
    sync = flag(request, "sync")
    turn = runtime.converse(sent)
    pause_events = [thread_event("paused", sent.thread_id)] if turn.paused else []
    if runtime.fault is Fault.ERROR:
        runtime.publish(sent.thread_id, pause_events)
        return error_answer(503, FAULT_ERROR)
    if not sync:
        items = runtime.reply_events(event, sent.thread_id, turn.messages) if turn.messages else []
        runtime.publish(sent.thread_id, [*items, *pause_events])
        return ok()
    runtime.publish(sent.thread_id, pause_events)
    if runtime.fault is Fault.HANG:
        await hold(request, runtime.stopping)
        return error_answer(503, "the emulator is stopping")
    if runtime.latency > 0:
        await asyncio.sleep(runtime.latency)
    if runtime.fault is Fault.GARBAGE:
        return Response(GARBAGE, status_code=200, media_type="application/json")
    # Sync mode ignores delays, as Flow.ai documents: one message list with every response.
    return ok({"result": reply_payload(sent.thread_id, runtime.outgoing(turn.messages))})


async def rest_send(request: Request) -> Response:
    """POST rest/v1/messages/:threadId: send text, event, location or media."""
    thread_id = path_thread(request)
    sent = parse_rest_send(await json_body(request), thread_id)
    return await _answer_sent(request, sent)


async def rest_history(request: Request) -> Response:
    """GET rest/v1/messages/:threadId: one page (20 entries) of the thread's history, oldest first."""
    runtime = runtime_of(request)
    thread_id = path_thread(request)
    page = page_number(request)
    size = runtime.settings.page_size
    total = runtime.store.count_history(thread_id)
    entries = runtime.store.history(thread_id, offset=(page - 1) * size, limit=size)
    result: JSONObject = {
        "history": [entry.to_wire() for entry in entries],
        "threadId": thread_id,
        "page": page,
        "pages": page_count(total, size),
    }
    return _result_or_webhook(request, "history", thread_id, result)


def _result_or_webhook(
    request: Request, event: str, thread_id: str | None, result: JSONObject, *, nested: bool = True
) -> Response:
    """Sync: ``{status, result}`` (``nested=False``: the result's fields beside ``status``); otherwise
    ``{status: ok}`` and the result goes to the webhooks."""
    if flag(request, "sync"):
        return ok({"result": result} if nested else result)
    runtime_of(request).publish(thread_id, [Outbound(event=event, payload=result)])
    return ok()


async def rest_threads(request: Request) -> Response:
    """GET rest/v1/threads: one page of thread ids, in creation order."""
    runtime = runtime_of(request)
    page = page_number(request)
    size = runtime.settings.page_size
    ids = runtime.store.thread_ids(offset=(page - 1) * size, limit=size)
    result: JSONObject = {
        "threads": list[JSON](ids),
        "page": page,
        "pages": page_count(runtime.store.count_threads(), size),
    }
    return _result_or_webhook(request, "threads", None, result)


async def _switch_bot(request: Request, *, active: bool, event: str) -> Response:
    """Takeover, pause and resume: pause the bot until resumed (or resume it), then tell the webhooks."""
    runtime = runtime_of(request)
    thread_id = path_thread(request)
    await json_body(request, required=False)
    if active:
        runtime.resume(thread_id)
    else:
        runtime.pause(thread_id, None)
    runtime.publish(thread_id, [thread_event(event, thread_id)])
    return ok()


async def rest_takeover(request: Request) -> Response:
    """POST rest/v1/takeover/:threadId: a human takes over; the bot pauses until resumed."""
    return await _switch_bot(request, active=False, event="takeover")


async def rest_handover(request: Request) -> Response:
    """POST rest/v1/handover/:threadId: pause the bot for ``secondsToPause`` seconds, or until resumed."""
    runtime = runtime_of(request)
    thread_id = path_thread(request)
    body = await json_body(request, required=False)
    seconds: float | None = None
    if body is not None:
        check_schema(body, "rest.handover", "handover body")
        value = as_number(as_obj(body).get("secondsToPause"))
        if value is not None:
            seconds = float(value)
    runtime.pause(thread_id, seconds)
    runtime.publish(thread_id, [thread_event("paused", thread_id)])
    return ok()


async def rest_events(request: Request) -> Response:
    """GET rest/v1/trigger/event: names of the events that may be triggered by hand."""
    result: JSONObject = {"items": list[JSON](runtime_of(request).bot.event_names())}
    return _result_or_webhook(request, "trigger.events", None, result)


async def rest_trigger(request: Request) -> Response:
    """POST rest/v1/trigger/event/:threadId?eventName=...: run an event as if the user sent it."""
    thread_id = path_thread(request)
    name = request.query_params.get("eventName", "").strip()
    if not name:
        raise BadInput("eventName: required query parameter, e.g. ?eventName=MY_EVENT")
    await json_body(request, required=False)
    inbound = Inbound(
        kind=InboundKind.EVENT,
        speech=EVENT_SPEECH,
        event_name=name,
        originator=copy.deepcopy(DEFAULT_ORIGINATOR),
    )
    sent = Sent(thread_id=thread_id, inbound=inbound, metadata={})
    return await _answer_sent(request, sent)


async def rest_business_hours(request: Request) -> Response:
    """GET rest/v1/businesshours: the configured business hours."""
    hours = list(copy.deepcopy(runtime_of(request).settings.business_hours))
    return _result_or_webhook(request, "businessHours", None, {"businessHours": hours}, nested=False)


def _pause_status(runtime: Runtime, thread_id: str) -> JSONObject:
    paused = runtime.is_paused(thread_id)
    # The documents spell the flag isPaued; both spellings are sent (PROTOCOL-NOTES.md).
    return {"isPaused": paused, "isPaued": paused, "threadId": thread_id}


async def rest_pause(request: Request) -> Response:
    """POST rest/v1/pause/:threadId: pause the bot for the thread until resumed."""
    return await _switch_bot(request, active=False, event="paused")


async def rest_resume(request: Request) -> Response:
    """DELETE rest/v1/pause/:threadId: resume the bot for the thread."""
    return await _switch_bot(request, active=True, event="resumed")


async def rest_pause_status(request: Request) -> Response:
    """GET rest/v1/pause/:threadId: is the bot paused for the thread (sync inline, else webhook isPaused)."""
    thread_id = path_thread(request)
    status = _pause_status(runtime_of(request), thread_id)
    return _result_or_webhook(request, "isPaused", thread_id, status, nested=False)


__all__ = [
    "rest_business_hours",
    "rest_events",
    "rest_handover",
    "rest_history",
    "rest_pause",
    "rest_pause_status",
    "rest_resume",
    "rest_send",
    "rest_takeover",
    "rest_threads",
    "rest_trigger",
]
