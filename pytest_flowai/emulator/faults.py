"""Shaping the failures the emulator makes on purpose (``--fault``).

The broken reply, the non-JSON body, the error text, and holding a request until the client gives up."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence

from starlette.requests import Request

from pytest_flowai._json import JSONObject
from pytest_flowai.emulator.replies import responses_of

# Fault ``garbage``: what arrives instead of a reply (a socket text frame, a sync REST body).
GARBAGE = "<html><body>502 Bad Gateway: this is not JSON (emulator fault 'garbage')"
# Fault ``error``: the text of the socket error frame or the REST 503 that replaces the reply.
FAULT_ERROR = "emulator fault 'error': the reply was replaced by this error"
# Fault ``wrong-once``: the text of a conversation's first answer.
WRONG_TEXT = "emulator fault 'wrong-once': a wrong first answer"
_BROKEN_RESPONSE: JSONObject = {
    "type": "image",
    "payload": {"title": "no url (emulator fault 'invalid-reply')"},
}


def break_replies(messages: Sequence[JSONObject]) -> list[JSONObject]:
    """Fault ``invalid-reply``: each message gets a response that breaks its template schema."""
    return [
        {**message, "responses": [*responses_of(message), copy.deepcopy(_BROKEN_RESPONSE)]}
        for message in messages
    ]


def answer_wrong(messages: Sequence[JSONObject]) -> tuple[JSONObject, ...]:
    """Fault ``wrong-once``: every text response of the messages says something else."""
    return tuple(
        {
            **message,
            "responses": [
                {**response, "payload": {**_payload(response), "text": WRONG_TEXT}}
                if isinstance(response, dict) and response.get("type") == "text"
                else response
                for response in responses_of(message)
            ],
        }
        for message in messages
    )


def _payload(response: JSONObject) -> JSONObject:
    payload = response.get("payload")
    return payload if isinstance(payload, dict) else {}


async def hold(request: Request, stopping: asyncio.Event) -> None:
    """Fault ``hang``: hold the request until the client gives up or ``stopping`` is set."""
    stop = asyncio.ensure_future(stopping.wait())
    gone = asyncio.ensure_future(_client_gone(request))
    try:
        await asyncio.wait({stop, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (stop, gone):
            task.cancel()
        await asyncio.gather(stop, gone, return_exceptions=True)


async def _client_gone(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


__all__ = ["FAULT_ERROR", "GARBAGE", "break_replies", "hold"]
