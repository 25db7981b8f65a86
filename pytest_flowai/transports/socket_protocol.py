"""The Web socket protocol without I/O: messages in, frames (text) out; frames in, events out. Matches
``message.delivered`` to sends by ``traceId``, replies to threads by ``threadId`` (a frame text received twice
since the last send is a duplicate), and checks every frame. Imports base and checks only: no I/O, no clock.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_flowai.errors import FlowaiError, SchemaViolation, TransportError, quote
from pytest_flowai.transports.base import Incoming, Outgoing, OutgoingKind
from pytest_flowai.transports.checks import TooDeep, check_schema, parse_json

if TYPE_CHECKING:
    from pytest_flowai._json import JSON, JSONObject

EVENT_SPEECH = "event attachment"  # the speech the SDK sends with an event and no text
PING_FRAME = json.dumps({"type": "ping"})


@dataclass(frozen=True, slots=True, kw_only=True)
class OutgoingFrame:
    """A ``message.send`` frame to write, and the ``traceId`` its ``message.delivered`` will carry."""

    trace_id: int
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivered:
    """The server confirmed the send of ``trace_id``."""

    trace_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Pong:
    """The answer to a ping: proof the connection is alive, nothing to pass on."""

    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtocolFailure:
    """A frame the conversation cannot go on after: an error frame, not JSON, off-schema."""

    error: FlowaiError


SocketEvent = Incoming | Delivered | Pong | ProtocolFailure

# Where a prepared frame's text takes its trace id: the frame is encoded with this one, then split at it.
_TRACE_KEY = '"traceId": 0'


# Not frozen: one is made per turn and never changed, and a frozen init costs twice as much.
@dataclass(slots=True)
class _Prepared:
    """A message's frame text encoded ahead, but for its trace id, under the secret it was encoded with."""

    message: Outgoing
    nonce: str | None
    head: str
    tail: str


def check_sendable(message: Outgoing) -> None:
    """Raise ``TransportError`` for a message the Web socket API cannot carry (it takes text and events)."""
    if message.kind not in (OutgoingKind.TEXT, OutgoingKind.EVENT):
        raise TransportError(
            f"the Web socket API cannot send a {message.kind.value} message (it carries text and events "
            "only); use the REST transport"
        )


def send_frame(message: Outgoing, *, trace_id: int, nonce: str | None = None) -> JSONObject:
    """The ``message.send`` frame for a text or event ``message``, shaped as the SDK sends it."""
    check_sendable(message)
    payload: JSONObject = {"threadId": message.thread_id, "traceId": trace_id}
    if message.kind is OutgoingKind.EVENT:
        payload["speech"] = EVENT_SPEECH
        payload["attachment"] = {"type": "event", "payload": {"name": message.event_name}}
    else:
        payload["speech"] = message.speech
    payload["originator"] = message.wire_originator()
    payload["metadata"] = message.wire_metadata()
    if nonce is not None:
        payload["nonce"] = nonce
    return {"type": "message.send", "payload": payload}


class SocketProtocol:
    """The state of one Flow.ai socket session: trace ids, the sends awaiting delivery, the secret.

    It outlives a reconnect: trace ids keep counting and the secret is sent again to ``socket.info``.
    """

    def __init__(self) -> None:
        self._trace_ids = itertools.count(1)
        self._awaiting: set[int] = set()
        # The threads this connection sent on: a reply naming another one answers someone else.
        self._threads: set[str] = set()
        # The texts of the reply frames since the last send, to tell a payload delivered twice. A redelivery
        # repeats the frame as it was (the server serialises it once); a payload serialised again with its
        # keys in another order is not one, and comparing texts spares a canonical dump of every reply.
        self._seen: set[str] = set()
        # Flow.ai's `secret.generated` (or socket.info's `secret`): the nonce of later sends.
        self.secret: str | None = None
        self.pongs_received = 0
        self._prepared: _Prepared | None = None

    def send_message(self, message: Outgoing) -> OutgoingFrame:
        """The frame that sends ``message``, awaiting its delivery. Raises ``TransportError`` for a
        message kind the socket cannot carry."""
        trace_id = next(self._trace_ids)
        prepared = self._prepared
        if prepared is not None and prepared.message is message and prepared.nonce == self.secret:
            self._prepared = None
            text = f"{prepared.head}{trace_id}{prepared.tail}"
        else:
            text = json.dumps(send_frame(message, trace_id=trace_id, nonce=self.secret))
        self._awaiting.add(trace_id)
        self._threads.add(message.thread_id)
        self._seen.clear()
        return OutgoingFrame(trace_id=trace_id, text=text)

    def prepare(self, message: Outgoing) -> None:
        """Encode the frame of ``message``, the next to be sent, ahead (while the server works on the last);
        ``send_message`` then only puts in its trace id. A message the socket cannot carry is left to it."""
        try:
            text = json.dumps(send_frame(message, trace_id=0, nonce=self.secret))
        except TransportError:
            return
        # The first match is the frame's key: a quote within a JSON string is escaped, and the payload's trace
        # id comes before its metadata, whose keys are the spec's.
        head, key, tail = text.partition(_TRACE_KEY)
        if key:
            self._prepared = _Prepared(message=message, nonce=self.secret, head=head + key[:-1], tail=tail)

    def forget(self, trace_id: int) -> None:
        """Stop awaiting the delivery of ``trace_id`` (the send gave up, or will be made again)."""
        self._awaiting.discard(trace_id)

    def ping(self) -> str:
        """The keep-alive frame: the protocol's own ``{"type": "ping"}``, as the SDK sends it."""
        return PING_FRAME

    def receive_frame(self, data: str | bytes, *, at: float) -> list[SocketEvent]:
        """The events a frame from the server brings, ``at`` being its ``time.monotonic()``."""
        if isinstance(data, str):
            text = data  # websockets has checked a text frame's UTF-8 (1007 otherwise)
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                reason = f"{exc.reason} at byte {exc.start}"
                error = TransportError(f"the server sent a binary frame that is not UTF-8 ({reason})")
                return [ProtocolFailure(error=error)]
        try:
            frame: JSON = parse_json(text)
        except TooDeep as exc:
            return [ProtocolFailure(error=TransportError(f"the server sent a frame of {exc}"))]
        except ValueError as exc:
            error = TransportError(f"the server sent a frame that is not JSON: {quote(text)}")
            error.__cause__ = exc
            return [ProtocolFailure(error=error)]
        try:
            check_schema(frame, "server-frame")
        except SchemaViolation as exc:
            return [ProtocolFailure(error=exc)]
        if not isinstance(frame, dict):
            return []  # unreachable: the schema requires an object
        kind = frame.get("type")
        payload = frame.get("payload")
        if kind == "message.received" and isinstance(payload, dict):
            return [self._reply(payload, text, at)]
        if kind == "message.delivered" and isinstance(payload, dict):
            trace_id = payload.get("traceId")
            if isinstance(trace_id, int) and trace_id in self._awaiting:
                self._awaiting.discard(trace_id)
                return [Delivered(trace_id=trace_id)]
            return []  # the echo of a send that gave up, or a repeated echo
        if kind == "error":
            return [
                ProtocolFailure(error=TransportError(f"the server sent an error: {frame.get('message')}"))
            ]
        if kind == "pong":
            self.pongs_received += 1
            return [Pong(at=at)]
        if kind == "secret.generated" and isinstance(payload, dict):
            secret = payload.get("secret")
            if isinstance(secret, str):
                self.secret = secret
        # agent.typing, interruption.occurred: nothing a test waits for.
        return []

    def _reply(self, payload: JSONObject, text: str, at: float) -> Incoming:
        thread = payload.get("threadId")
        foreign = not (isinstance(thread, str) and thread in self._threads)
        duplicate = text in self._seen
        self._seen.add(text)
        return Incoming(payload=payload, at=at, foreign=foreign, duplicate=duplicate)


__all__ = [
    "EVENT_SPEECH",
    "PING_FRAME",
    "Delivered",
    "OutgoingFrame",
    "Pong",
    "ProtocolFailure",
    "SocketEvent",
    "SocketProtocol",
    "check_sendable",
    "send_frame",
]
